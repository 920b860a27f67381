//! Starts the showcase: `HOST`, `PORT`, `WORKERS` and `RUST_LOG` as the items contract says.

fn main() {
    let app = match showcase::app() {
        Ok(app) => app,
        Err(e) => {
            eprintln!("showcase: {e}");
            std::process::exit(2);
        }
    };
    if let Err(e) = brisk::run(app) {
        eprintln!("showcase: {e}");
        std::process::exit(1);
    }
}

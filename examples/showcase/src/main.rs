//! Starts the showcase: `HOST`, `PORT`, `WORKERS` and `RUST_LOG` as the items contract says.

fn main() {
    if let Err(e) = brisk::run(showcase::app()) {
        eprintln!("showcase: {e}");
        std::process::exit(1);
    }
}

//! Starts the showcase: `HOST`, `PORT`, `WORKERS` and `RUST_LOG` as the items contract says.

fn main() {
    let app = match showcase::app() {
        Ok(app) => app,
        Err(e) => {
            eprintln!("showcase: {e}");
            std::process::exit(2);
        }
    };
    // `showcase` serves; `showcase migrate`, `showcase makemigrations --check` ... manage.
    brisk::cli::main(app)
}

//! `cargo run -p notes-web`, then open http://127.0.0.1:8000/notes. Management commands too:
//! `cargo run -p notes-web -- migrate`, `-- collectstatic`, `-- routes` ...
fn main() {
    let app = match notes_web::app() {
        Ok(app) => app,
        Err(e) => {
            eprintln!("Error: {e}");
            std::process::exit(1)
        }
    };
    brisk::cli::main(app)
}

//! Hello world in ten lines: `cargo run -p hello`, then `curl localhost:8000/hello/you`.
use brisk::prelude::*;

async fn hello(Path(name): Path<String>) -> String {
    format!("Hello, {name}!")
}

fn main() -> Result<(), brisk::ServeError> {
    brisk::run(App::new().route("/hello/{name}", get(hello)))
}

// (e) `-> impl IntoResponse` hides the type brisk documents.
use brisk::prelude::*;

async fn plain() -> impl IntoResponse {
    "hello"
}

#[brisk::endpoint]
async fn annotated() -> impl IntoResponse {
    "hello"
}

fn main() {
    let _ = App::new().route("/", get(plain));
}

// A return type that does not describe its responses cannot be returned from a handler.
use brisk::prelude::*;
use brisk::response::Response;

struct Teapot;

impl IntoResponse for Teapot {
    fn into_response(self) -> Response {
        StatusCode::IM_A_TEAPOT.into_response()
    }
}

async fn handler() -> Teapot {
    Teapot
}

fn main() {
    let _ = App::new().route("/", get(handler));
}

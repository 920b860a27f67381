//! The showcase app: the items API of `shared/contracts/items-api.md`, in memory.

pub mod items;
pub mod store;

use brisk::prelude::*;

/// The body of `GET /json`.
#[derive(Serialize, JsonSchema)]
pub struct Message {
    /// Always "Hello, World!".
    pub message: &'static str,
}

async fn plaintext() -> &'static str {
    "Hello, World!"
}

async fn hello_json() -> Json<Message> {
    Json(Message { message: "Hello, World!" })
}

/// The whole app, ready to serve or to test.
pub fn app() -> App {
    App::new()
        .title("brisk showcase")
        .version(env!("CARGO_PKG_VERSION"))
        .description("The items API of the brisk contract, served in memory.")
        .route("/plaintext", get(plaintext))
        .route("/json", get(hello_json))
        .merge(items::router())
        .with_state(store::Store::default())
}

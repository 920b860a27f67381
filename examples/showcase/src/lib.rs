//! The showcase app: the items API of `shared/contracts/items-api.md`, in memory.

pub mod items;
pub mod store;

use brisk::prelude::*;
use serde_json::json;

async fn plaintext() -> &'static str {
    "Hello, World!"
}

async fn hello_json() -> Json<serde_json::Value> {
    Json(json!({ "message": "Hello, World!" }))
}

/// The whole app, ready to serve or to test.
pub fn app() -> App {
    App::new()
        .route("/plaintext", get(plaintext))
        .route("/json", get(hello_json))
        .merge(items::router())
        .with_state(store::Store::default())
}

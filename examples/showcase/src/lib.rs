//! The showcase app: the items API of `shared/contracts/items-api.md`, in memory.

pub mod auth;
pub mod chat;
pub mod items;
pub mod model;
pub mod store;
pub mod ws;

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

/// The whole app, ready to serve or to test, with the demo users of the environment
/// (see [`auth`]).
pub fn app() -> Result<App, String> {
    Ok(app_with(auth::AuthConfig::from_env()?))
}

/// The whole app with the given users and token keys.
pub fn app_with(auth: auth::AuthConfig) -> App {
    App::new()
        .title("brisk showcase")
        .version(env!("CARGO_PKG_VERSION"))
        .description("The items API of the brisk contract, served in memory.")
        .route("/plaintext", get(plaintext))
        .route("/json", get(hello_json))
        .merge(items::router())
        .merge(auth::router())
        .merge(chat::router())
        .merge(ws::router())
        .with_state(store::Store::default())
        .with_state(auth)
        .with_state(chat::model())
}

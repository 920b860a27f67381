//! The items endpoints on axum 0.8, the way axum's docs and examples teach: a `Router` of
//! async handlers with `State`, `Path` and `Json` extractors, served by `axum::serve` with
//! TCP_NODELAY set through `ListenerExt::tap_io`. Single-threaded runtime, no logging.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::serve::ListenerExt;
use axum::{Json, Router};
use items::{ItemIn, ItemOut, Message, Store};
use serde_json::json;

async fn plaintext() -> &'static str {
    "Hello, World!"
}

async fn hello_json() -> Json<Message> {
    Json(items::HELLO)
}

async fn create_item(State(store): State<Arc<Store>>, Json(item): Json<ItemIn>) -> Response {
    match item.validate() {
        Ok(()) => (StatusCode::CREATED, Json(store.create(item))).into_response(),
        Err(errors) => (StatusCode::UNPROCESSABLE_ENTITY, Json(errors)).into_response(),
    }
}

async fn read_item(
    State(store): State<Arc<Store>>,
    Path(item_id): Path<i64>,
) -> Result<Json<ItemOut>, (StatusCode, Json<serde_json::Value>)> {
    if item_id <= 0 {
        let detail = json!({"detail": "item_id must be an integer greater than 0"});
        return Err((StatusCode::BAD_REQUEST, Json(detail)));
    }
    store
        .get(item_id as u64)
        .map(Json)
        .ok_or((StatusCode::NOT_FOUND, Json(json!({"detail": "Item not found"}))))
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let app = Router::new()
        .route("/plaintext", get(plaintext))
        .route("/json", get(hello_json))
        .route("/items", axum::routing::post(create_item))
        .route("/items/{item_id}", get(read_item))
        .with_state(Arc::new(Store::default()));
    let listener = tokio::net::TcpListener::bind(items::listen_addr()).await.unwrap().tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app).await.unwrap();
}

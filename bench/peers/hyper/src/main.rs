//! The items endpoints on raw hyper 1.x, the way hyper's server guide teaches: one
//! `http1::Builder` connection task per accepted socket and a `service_fn` that matches on
//! method and path. Single-threaded runtime, TCP_NODELAY as brisk sets it, no logging.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Incoming};
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use items::{ItemIn, Store};
use tokio::net::TcpListener;

const BODY_LIMIT: u64 = 2 * 1024 * 1024;

fn respond(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut res = Response::new(Full::new(body.into()));
    *res.status_mut() = status;
    res.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    res
}

fn json(status: StatusCode, value: &impl serde::Serialize) -> Response<Full<Bytes>> {
    match serde_json::to_vec(value) {
        Ok(body) => respond(status, "application/json", body),
        Err(_) => detail(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error"),
    }
}

fn detail(status: StatusCode, detail: &'static str) -> Response<Full<Bytes>> {
    respond(status, "application/json", format!(r#"{{"detail":"{detail}"}}"#))
}

async fn create_item(req: Request<Incoming>, store: &Store) -> Response<Full<Bytes>> {
    let is_json = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !is_json {
        return detail(StatusCode::UNSUPPORTED_MEDIA_TYPE, "Unsupported Media Type");
    }
    if req.body().size_hint().upper().unwrap_or(u64::MAX) > BODY_LIMIT {
        return detail(StatusCode::PAYLOAD_TOO_LARGE, "Payload Too Large");
    }
    let body = match req.into_body().collect().await {
        Ok(body) => body.to_bytes(),
        Err(_) => return detail(StatusCode::BAD_REQUEST, "Bad Request"),
    };
    let item: ItemIn = match serde_json::from_slice(&body) {
        Ok(item) => item,
        Err(_) => return detail(StatusCode::UNPROCESSABLE_ENTITY, "Invalid item"),
    };
    match item.validate() {
        Ok(()) => json(StatusCode::CREATED, &store.create(item)),
        Err(errors) => json(StatusCode::UNPROCESSABLE_ENTITY, &errors),
    }
}

fn read_item(raw_id: &str, store: &Store) -> Response<Full<Bytes>> {
    match raw_id.parse::<i64>() {
        Ok(id) if id > 0 => match store.get(id as u64) {
            Some(item) => json(StatusCode::OK, &item),
            None => detail(StatusCode::NOT_FOUND, "Item not found"),
        },
        _ => detail(StatusCode::UNPROCESSABLE_ENTITY, "item_id must be an integer greater than 0"),
    }
}

async fn route(req: Request<Incoming>, store: Arc<Store>) -> Result<Response<Full<Bytes>>, Infallible> {
    let res = match (req.method(), req.uri().path()) {
        (&Method::GET, "/plaintext") => respond(StatusCode::OK, "text/plain", "Hello, World!"),
        (&Method::GET, "/json") => json(StatusCode::OK, &items::HELLO),
        (&Method::POST, "/items") => create_item(req, &store).await,
        (&Method::GET, path) if path.starts_with("/items/") => read_item(&path["/items/".len()..], &store),
        _ => detail(StatusCode::NOT_FOUND, "Not Found"),
    };
    Ok(res)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let listener = TcpListener::bind(items::listen_addr()).await?;
    let store = Arc::new(Store::default());
    loop {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        let io = TokioIo::new(stream);
        let store = store.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| route(req, store.clone()));
            let _ = http1::Builder::new().serve_connection(io, service).await;
        });
    }
}

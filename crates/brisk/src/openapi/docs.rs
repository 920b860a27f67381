//! Where the document and the docs pages are served, and the app's title and version.

use std::sync::Arc;

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderMap, HeaderValue};

use super::model::{Info, OpenApi, Server};
use super::served::Served;
use super::ui;
use crate::extract::Path;
use crate::response::{IntoResponse, Response};
use crate::routing::{get, Router};

/// The document's metadata and the URLs of `/openapi.json`, `/docs` and `/redoc`
/// (each can be moved, or switched off with `None`).
#[derive(Debug, Clone)]
pub struct DocsConfig {
    /// Title, version, description.
    pub info: Info,
    /// Servers to list.
    pub servers: Vec<Server>,
    /// The spec's URL (default `/openapi.json`).
    pub openapi_url: Option<String>,
    /// Swagger UI's URL (default `/docs`).
    pub docs_url: Option<String>,
    /// ReDoc's URL (default `/redoc`).
    pub redoc_url: Option<String>,
    /// Whether WebSocket routes are in the document (default: no, as in FastAPI).
    pub websockets: bool,
}

impl Default for DocsConfig {
    fn default() -> Self {
        DocsConfig {
            info: Info { title: "brisk".to_owned(), version: "0.1.0".to_owned(), description: None },
            servers: Vec::new(),
            openapi_url: Some("/openapi.json".to_owned()),
            docs_url: Some("/docs".to_owned()),
            redoc_url: Some("/redoc".to_owned()),
            websockets: false,
        }
    }
}

fn bytes_with_type(bytes: Bytes, content_type: &'static str) -> Response {
    let mut res = Response::new(bytes.into());
    res.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    res
}

/// The routes that serve the document (serialised here, once) and the docs pages.
pub(crate) fn docs_router(config: &DocsConfig, doc: &OpenApi) -> Result<Router, String> {
    let mut router = Router::new();
    let Some(openapi_url) = config.openapi_url.clone() else {
        return Ok(router);
    };
    let spec = Bytes::from(
        serde_json::to_vec(doc).map_err(|e| format!("cannot serialise the OpenAPI document: {e}"))?,
    );
    router =
        router.route(&openapi_url, get(move || async move { bytes_with_type(spec, "application/json") }));
    let title = config.info.title.clone();
    if let Some(docs_url) = &config.docs_url {
        let assets = format!("{}/assets", docs_url.trim_end_matches('/'));
        let page = Arc::new(Served::page(ui::swagger_ui_html(
            &format!("{title} - Swagger UI"),
            &openapi_url,
            &assets,
        )));
        router = router
            .route(docs_url, get(move |headers: HeaderMap| async move { page.respond(&headers) }))
            .route(&format!("{assets}/{{file}}"), get(asset));
    }
    if let Some(redoc_url) = &config.redoc_url {
        let assets = match &config.docs_url {
            Some(docs_url) => format!("{}/assets", docs_url.trim_end_matches('/')),
            None => format!("{}/assets", redoc_url.trim_end_matches('/')),
        };
        let page = Arc::new(Served::page(ui::redoc_html(&format!("{title} - ReDoc"), &openapi_url, &assets)));
        router =
            router.route(redoc_url, get(move |headers: HeaderMap| async move { page.respond(&headers) }));
        if config.docs_url.is_none() {
            router = router.route(&format!("{assets}/{{file}}"), get(asset));
        }
    }
    Ok(router)
}

/// One Swagger UI or ReDoc file: its ETag and compressed copies are made on its first request
/// (off the async workers) and kept; see [`super::served`].
async fn asset(Path(file): Path<String>, headers: HeaderMap) -> Response {
    static SERVED: [tokio::sync::OnceCell<Option<Served>>; ui::FILE_COUNT] =
        [const { tokio::sync::OnceCell::const_new() }; ui::FILE_COUNT];
    let not_found = || crate::error::Error::not_found().into_response();
    let Some(index) = ui::asset_index(&file) else { return not_found() };
    let Some(cell) = SERVED.get(index) else { return not_found() };
    let prepared = cell
        .get_or_try_init(|| async move {
            tokio::task::spawn_blocking(move || {
                ui::asset_at(index).map(|asset| Served::asset(asset.content_type, asset.bytes))
            })
            .await
        })
        .await;
    match prepared {
        Ok(Some(served)) => served.respond(&headers),
        Ok(None) => not_found(),
        Err(e) => crate::error::Error::internal(e).into_response(),
    }
}

//! Answering a static file request: the collected folder (hashed names immutable), else the
//! app's own folder, else a battery's embedded files; 404 for anything else, including every
//! path that could leave the folder and symbolic links that lead out of it.

use std::convert::Infallible;
use std::path::{Path, PathBuf};

use http::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use http::{HeaderValue, Method, StatusCode};
use tower::ServiceExt;
use tower_http::services::ServeFile;

use super::path::safe_relative;
use super::StaticFiles;
use crate::body::Body;
use crate::extract::Request;
use crate::response::{IntoResponse, Response};
use crate::Error;

/// A year, for names that change with their content.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Other names may change in place: cache, but ask again (a 304 when unchanged).
const REVALIDATE: &str = "no-cache";

/// The route mounted at `{prefix}/{*path}`.
pub(crate) fn route(files: StaticFiles) -> crate::routing::Route {
    crate::routing::Route::from_service(tower::service_fn(move |req: Request| {
        let files = files.clone();
        async move { Ok::<_, Infallible>(answer(files, req).await) }
    }))
}

/// `root/relative`, when it is a file inside `root` once every symbolic link is followed.
fn inside(root: &Path, relative: &str) -> Option<PathBuf> {
    let root = root.canonicalize().ok()?;
    let file = root.join(relative).canonicalize().ok()?;
    (file.starts_with(&root) && file.is_file()).then_some(file)
}

async fn answer(files: StaticFiles, req: Request) -> Response {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return Error::from_status(StatusCode::METHOD_NOT_ALLOWED)
            .with_header(http::header::ALLOW, HeaderValue::from_static("GET, HEAD"))
            .into_response();
    }
    let rest = req.uri().path().strip_prefix(files.prefix()).unwrap_or("");
    let Some(relative) = safe_relative(rest) else {
        return Error::not_found().into_response();
    };
    let inner = files.inner();
    if let Some((root, manifest)) = &inner.collected {
        let Some(file) = inside(root, &relative) else {
            return Error::not_found().into_response();
        };
        let cache = if manifest.is_hashed_name(&relative) { IMMUTABLE } else { REVALIDATE };
        return serve_file(file, cache, req).await;
    }
    if let Some(file) = inner.dir.as_deref().and_then(|dir| inside(dir, &relative)) {
        return serve_file(file, REVALIDATE, req).await;
    }
    if let Some((namespace, rest)) = relative.split_once('/') {
        if let Some(file) = inner.embedded.get(&(namespace, rest)) {
            return serve_embedded(rest, file, &req);
        }
    }
    Error::not_found().into_response()
}

/// A file on disk through tower-http's `ServeFile`: `.br`/`.gz` siblings when the client takes
/// them, `ETag` and `Last-Modified` with 304s, byte ranges.
async fn serve_file(file: PathBuf, cache: &'static str, req: Request) -> Response {
    let service = ServeFile::new(file).precompressed_br().precompressed_gzip();
    match service.oneshot(req).await {
        Ok(res) if res.status() == StatusCode::NOT_FOUND => Error::not_found().into_response(),
        Ok(res) => {
            let mut res = res.map(Body::new);
            if res.status().is_success() || res.status() == StatusCode::NOT_MODIFIED {
                res.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static(cache));
            }
            res
        }
        Err(e) => Error::internal(e).into_response(),
    }
}

/// A battery's file from the binary, with its content ETag (304 when it matches).
fn serve_embedded(name: &str, file: &super::Embedded, req: &Request) -> Response {
    let (bytes, etag) = (file.bytes, file.etag.as_str());
    let matches = req
        .headers()
        .get_all(IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|tag| {
            let tag = tag.trim();
            tag == "*" || tag.trim_start_matches("W/") == etag
        });
    let mut res = if matches {
        let mut res = Response::new(Body::empty());
        *res.status_mut() = StatusCode::NOT_MODIFIED;
        res
    } else if req.method() == Method::HEAD {
        Response::new(Body::empty())
    } else {
        Response::new(Body::from(bytes))
    };
    let mime = mime_guess::from_path(name).first_or_octet_stream();
    if let Ok(value) = HeaderValue::from_str(mime.as_ref()) {
        res.headers_mut().insert(CONTENT_TYPE, value);
    }
    if let Ok(value) = HeaderValue::from_str(etag) {
        res.headers_mut().insert(ETAG, value);
    }
    res.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static(REVALIDATE));
    res
}

//! Responses whose status is part of their type, so the docs can say it.

use http::StatusCode;

use super::{IntoResponse, Response};

/// 201 Created with a body: `Created(Json(item))`.
///
/// ```
/// use brisk::prelude::*;
/// use brisk::response::Created;
///
/// async fn create() -> Created<Json<serde_json::Value>> {
///     Created(Json(serde_json::json!({"id": 1})))
/// }
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Created<T>(pub T);

impl<T: IntoResponse> IntoResponse for Created<T> {
    fn into_response(self) -> Response {
        (StatusCode::CREATED, self.0).into_response()
    }
}

/// 204 No Content.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoContent;

impl IntoResponse for NoContent {
    fn into_response(self) -> Response {
        StatusCode::NO_CONTENT.into_response()
    }
}

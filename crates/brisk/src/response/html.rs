use super::{with_content_type, IntoResponse, Response};
use crate::body::Body;

/// An HTML response (`text/html; charset=utf-8`).
///
/// ```
/// use brisk::response::Html;
/// async fn page() -> Html<&'static str> {
///     Html("<h1>Hello</h1>")
/// }
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Html<T>(pub T);

impl<T: Into<Body>> IntoResponse for Html<T> {
    fn into_response(self) -> Response {
        with_content_type(self.0, "text/html; charset=utf-8")
    }
}

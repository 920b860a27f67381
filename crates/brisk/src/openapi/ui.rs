//! Temporary: replaced by the embedded Swagger UI / ReDoc module being written now.
pub(crate) struct DocsAsset {
    pub(crate) content_type: &'static str,
    pub(crate) bytes: &'static [u8],
}
pub(crate) fn asset(_name: &str) -> Option<DocsAsset> {
    None
}
pub(crate) fn swagger_ui_html(title: &str, openapi_url: &str, _assets_prefix: &str) -> String {
    format!("<title>{title}</title>{openapi_url}")
}
pub(crate) fn redoc_html(title: &str, openapi_url: &str, _assets_prefix: &str) -> String {
    format!("<title>{title}</title>{openapi_url}")
}

//! OpenAPI 3.1 from the handler signatures.
//!
//! When the app is built, every route asks its handler's argument types
//! ([`DescribeInput`]) and return type ([`DescribeOutput`]) what they add to the operation;
//! schemas come from `schemars` (JSON Schema 2020-12) with the `#[derive(Validate)]` rules
//! written in, so the documented bounds are the enforced ones. The document is serialised once
//! and served as bytes at `/openapi.json`, with Swagger UI at `/docs` and ReDoc at `/redoc`,
//! their assets embedded in the binary.
//!
//! ```
//! use brisk::prelude::*;
//!
//! #[derive(Deserialize, JsonSchema, Validate)]
//! struct ItemPath {
//!     #[validate(gt = 0)]
//!     item_id: u64,
//! }
//!
//! async fn get_item(Path(p): Path<ItemPath>) -> String {
//!     p.item_id.to_string()
//! }
//!
//! let doc = App::new().route("/items/{item_id}", get(get_item)).openapi().unwrap();
//! let op = &doc.paths["/items/{item_id}"]["get"];
//! assert_eq!(op["parameters"][0]["schema"]["exclusiveMinimum"], 0);
//! assert!(op["responses"].get("422").is_some());
//! ```

mod build;
mod describe;
mod docs;
mod documented;
mod formats;
mod model;
mod route_errors;
mod schemas;
mod served;
pub(crate) mod ui;
mod undocumented;

pub use describe::{DescribeInput, DescribeOutput, DocContext, HasJsonSchema};
pub use docs::DocsConfig;
pub use documented::{Documented, EndpointDocs};
pub use model::{
    Components, Info, OpenApi, Operation, Parameter, ParameterIn, RequestBody, ResponseDoc, Server,
};
pub use route_errors::{document_error_variants, DeclaredError, ErrorVariantDoc, ErrorVariants};
pub use undocumented::Undocumented;

pub(crate) use build::build_document;
pub(crate) use schemas::http_error as http_error_schema;

/// Documents an error response: `status` with FastAPI's `{"detail": ...}` body
/// (used by `#[derive(ApiError)]`).
pub fn document_error(cx: &mut DocContext, op: &mut Operation, status: u16, description: &str) {
    let schema = schemas::http_error(cx);
    op.add_response(
        &status.to_string(),
        ResponseDoc::new(description).with_content("application/json", schema),
    );
}

pub use brisk_macros::{endpoint, ApiError};
pub(crate) use docs::docs_router;

/// A handler's documentation hook, stored with its route.
pub(crate) type DescribeFn = fn(&mut DocContext, &mut Operation);

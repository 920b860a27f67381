use http::request::Parts;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use smallvec::SmallVec;

use super::{FromRequestParts, RequestContext};
use crate::error::Error;
use crate::validation::{from_strings, StringSource, Validate};

/// The path parameters of the matched route, typed and validated.
///
/// `T` is a struct whose fields are named like the `{params}`, a single value when the route
/// has one parameter, or a tuple in the parameters' order.
///
/// ```
/// use brisk::prelude::*;
///
/// #[derive(Deserialize, JsonSchema, Validate)]
/// struct ItemPath {
///     #[validate(gt = 0)]
///     item_id: u64,
/// }
///
/// async fn get_item(Path(p): Path<ItemPath>) -> String {
///     format!("item {}", p.item_id)
/// }
///
/// let app = App::new().route("/items/{item_id}", get(get_item));
/// ```
///
/// Values are percent-decoded. A value that does not parse or breaks a rule is a 422 at
/// `["path", "<name>"]`; one whose percent-escapes decode to bytes that are not UTF-8
/// (`/files/caf%E9`) is a 400 naming the parameter, answered when the route is matched
/// (``{"detail": "Invalid path parameter `name`: `caf%E9` decodes to bytes that are not valid UTF-8"}``).
#[derive(Debug, Clone, Copy, Default)]
pub struct Path<T>(pub T);

impl<T> FromRequestParts for Path<T>
where
    T: DeserializeOwned + JsonSchema + Validate + Send + 'static,
{
    async fn from_request_parts(_parts: &mut Parts, cx: &RequestContext) -> Result<Self, Error> {
        let pairs: SmallVec<[(&str, &str); 4]> = cx.path_params().collect();
        from_strings(&pairs, StringSource::Path).map(Path)
    }
}

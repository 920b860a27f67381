use http::request::Parts;

use super::{FromRequestParts, RequestContext};
use crate::error::Error;

/// A value shared by the whole app, added with [`App::with_state`](crate::App::with_state).
///
/// ```
/// use brisk::prelude::*;
///
/// #[derive(Clone)]
/// struct Greeting(&'static str);
///
/// async fn hello(State(greeting): State<Greeting>) -> &'static str {
///     greeting.0
/// }
///
/// let app = App::new().route("/", get(hello)).with_state(Greeting("hi"));
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct State<T>(pub T);

impl<T: Clone + Send + Sync + 'static> FromRequestParts for State<T> {
    async fn from_request_parts(_parts: &mut Parts, cx: &RequestContext) -> Result<Self, Error> {
        match cx.state.get::<T>() {
            Some(value) => Ok(State(value.clone())),
            None => Err(Error::internal(format!(
                "no state of type `{}`: add it with App::with_state",
                std::any::type_name::<T>()
            ))),
        }
    }
}

//! Resolving a dependency: overrides first, then the request's cache, then its inputs.

use std::any::{Any, TypeId};
use std::sync::Arc;

use http::request::Parts;

use super::{Dependency, Overrides};
use crate::error::Error;
use crate::extract::{FromRequestParts, RequestContext};
use crate::handler::BoxFuture;

/// The dependencies resolved so far in one request, and those being resolved (to catch cycles).
/// A request has a handful at most, so a list searched in order beats hashing.
#[derive(Clone, Default)]
struct DepCache {
    values: Vec<(TypeId, Arc<dyn Any + Send + Sync>)>,
    resolving: Vec<TypeId>,
}

fn cached<D: Dependency>(parts: &Parts) -> Option<D> {
    let id = TypeId::of::<D>();
    let cache = parts.extensions.get::<DepCache>()?;
    let (_, value) = cache.values.iter().find(|(key, _)| *key == id)?;
    value.downcast_ref::<D>().cloned()
}

/// Resolves `D` for this request. Boxed: dependencies nest, and a future cannot contain itself.
pub(super) fn resolve<'a, D: Dependency>(
    parts: &'a mut Parts,
    cx: &'a RequestContext,
    use_cache: bool,
) -> BoxFuture<'a, Result<D, Error>> {
    Box::pin(async move {
        if let Some(overrides) = cx.state::<Overrides>() {
            if let Some(value) = overrides.get::<D>() {
                return Ok(value);
            }
        }
        if use_cache {
            if let Some(value) = cached::<D>(parts) {
                return Ok(value);
            }
        }
        let id = TypeId::of::<D>();
        let cache = parts.extensions.get_or_insert_default::<DepCache>();
        if cache.resolving.contains(&id) {
            return Err(Error::internal(format!(
                "dependency cycle through `{}`",
                std::any::type_name::<D>()
            )));
        }
        cache.resolving.push(id);
        let inputs = D::Inputs::from_request_parts(parts, cx).await;
        let value = match inputs {
            Ok(inputs) => D::provide(inputs, cx.scope()).await,
            Err(e) => Err(e),
        };
        let cache = parts.extensions.get_or_insert_default::<DepCache>();
        cache.resolving.retain(|r| *r != id);
        let value = value?;
        if use_cache {
            cache.values.push((id, Arc::new(value.clone())));
        }
        Ok(value)
    })
}

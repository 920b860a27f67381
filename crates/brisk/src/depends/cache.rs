//! Resolving a dependency: overrides first, then the request's cache, then its inputs.

use std::any::{Any, TypeId};
use std::sync::{Arc, MutexGuard, PoisonError};

use http::request::Parts;
use smallvec::SmallVec;

use super::{Dependency, Overrides};
use crate::error::Error;
use crate::extract::{FromRequestParts, RequestContext};
use crate::handler::BoxFuture;

/// The dependencies resolved so far in one request, and those being resolved (to catch cycles).
/// A request has a handful at most, so a list searched in order beats hashing, and the first two
/// live inline (no allocation for the common request with one or two).
#[derive(Clone, Default)]
pub(crate) struct DepCache(SmallVec<[(TypeId, Slot); 2]>);

#[derive(Clone)]
enum Slot {
    /// Being resolved now: meeting it again is a cycle.
    Resolving,
    Ready(Arc<dyn Any + Send + Sync>),
}

impl DepCache {
    fn ready(&self, id: TypeId) -> Option<&Arc<dyn Any + Send + Sync>> {
        self.0.iter().find_map(|(key, slot)| match slot {
            Slot::Ready(value) if *key == id => Some(value),
            _ => None,
        })
    }

    fn resolving(&self, id: TypeId) -> Option<usize> {
        self.0.iter().position(|(key, slot)| *key == id && matches!(slot, Slot::Resolving))
    }
}

impl RequestContext {
    fn dep_cache(&self) -> MutexGuard<'_, DepCache> {
        self.deps.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Why a dependency could not be had.
pub(crate) enum Failure {
    /// Reading its inputs failed (a 422 here may wait for the handler's own errors).
    Inputs(Error),
    /// Its `provide` (or the dependency machinery) failed: the answer, at once.
    Provide(Error),
}

impl Failure {
    pub(crate) fn into_error(self) -> Error {
        match self {
            Failure::Inputs(e) | Failure::Provide(e) => e,
        }
    }
}

/// Resolves `D` for this request. Boxed: dependencies nest, and a future cannot contain itself.
pub(super) fn resolve<'a, D: Dependency>(
    parts: &'a mut Parts,
    cx: &'a RequestContext,
    use_cache: bool,
) -> BoxFuture<'a, Result<D, Error>> {
    Box::pin(async move { resolve_detailed::<D>(parts, cx, use_cache).await.map_err(Failure::into_error) })
}

/// [`resolve`], saying whether the inputs or the provider failed.
pub(crate) fn resolve_detailed<'a, D: Dependency>(
    parts: &'a mut Parts,
    cx: &'a RequestContext,
    use_cache: bool,
) -> BoxFuture<'a, Result<D, Failure>> {
    Box::pin(async move {
        if let Some(overrides) = cx.state::<Overrides>() {
            if let Some(value) = overrides.get::<D>() {
                return Ok(value);
            }
        }
        let id = TypeId::of::<D>();
        {
            // One lock for the cache lookup, the cycle check and the claim.
            let mut cache = cx.dep_cache();
            if use_cache {
                if let Some(value) = cache.ready(id).and_then(|v| v.downcast_ref::<D>()) {
                    return Ok(value.clone());
                }
            }
            if cache.resolving(id).is_some() {
                return Err(Failure::Provide(Error::internal(format!(
                    "dependency cycle through `{}`",
                    std::any::type_name::<D>()
                ))));
            }
            cache.0.push((id, Slot::Resolving));
        }
        let inputs = D::Inputs::from_request_parts(parts, cx).await;
        let value = match inputs {
            Ok(inputs) => D::provide(inputs, cx.scope()).await.map_err(Failure::Provide),
            Err(e) => Err(Failure::Inputs(e)),
        };
        let mut cache = cx.dep_cache();
        match (cache.resolving(id), &value) {
            (Some(at), Ok(value)) if use_cache => cache.0[at].1 = Slot::Ready(Arc::new(value.clone())),
            (Some(at), _) => {
                cache.0.remove(at);
            }
            (None, _) => {}
        }
        value
    })
}

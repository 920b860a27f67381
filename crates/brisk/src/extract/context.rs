//! What the app hands every handler besides the request: state, path parameters, limits.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, Mutex, OnceLock};

use super::PathParams;
use crate::background::TaskTracker;
use crate::depends::{DepCache, Scope};

/// Hashes a `TypeId` as the number it already is (it is random enough); SipHash would cost
/// more than the lookup on every request.
#[derive(Default)]
pub(crate) struct TypeIdHasher(u64);

impl Hasher for TypeIdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 ^= n;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// A map keyed by type.
pub(crate) type TypeMap<V> = HashMap<TypeId, V, BuildHasherDefault<TypeIdHasher>>;

/// The app's state values, one per type (see [`App::with_state`](crate::App::with_state)).
#[derive(Default)]
pub(crate) struct StateMap(TypeMap<Box<dyn Any + Send + Sync>>);

impl StateMap {
    pub(crate) fn insert<T: Clone + Send + Sync + 'static>(&mut self, value: T) {
        self.0.insert(TypeId::of::<T>(), Box::new(value));
    }

    pub(crate) fn get<T: 'static>(&self) -> Option<&T> {
        self.0.get(&TypeId::of::<T>()).and_then(|v| v.downcast_ref())
    }

    pub(crate) fn contains(&self, id: TypeId) -> bool {
        self.0.contains_key(&id)
    }
}

/// Per-request context an extractor may read: the app state, the matched path parameters and
/// the body limit in force for the route.
pub struct RequestContext {
    pub(crate) state: Arc<StateMap>,
    pub(crate) params: PathParams,
    pub(crate) body_limit: usize,
    tasks: Arc<TaskTracker>,
    scope: OnceLock<Scope>,
    /// The dependencies resolved so far (extractors see the context by shared reference).
    pub(crate) deps: Mutex<DepCache>,
}

impl Clone for RequestContext {
    fn clone(&self) -> Self {
        let deps = match self.deps.lock() {
            Ok(deps) => deps.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        RequestContext {
            state: self.state.clone(),
            params: self.params.clone(),
            body_limit: self.body_limit,
            tasks: self.tasks.clone(),
            scope: self.scope.clone(),
            deps: Mutex::new(deps),
        }
    }
}

impl RequestContext {
    pub(crate) fn new(
        state: Arc<StateMap>,
        params: PathParams,
        body_limit: usize,
        tasks: Arc<TaskTracker>,
    ) -> Self {
        RequestContext { state, params, body_limit, tasks, scope: OnceLock::new(), deps: Mutex::default() }
    }

    /// The request's teardown scope, created on first use (requests without teardown pay nothing).
    pub fn scope(&self) -> &Scope {
        self.scope.get_or_init(|| Scope::new(self.tasks.clone()))
    }

    /// Takes the scope out, to keep it alive as long as the response body.
    pub(crate) fn take_scope(&mut self) -> Option<Scope> {
        self.scope.take()
    }

    /// The state value of type `T`, if the app has one.
    pub fn state<T: 'static>(&self) -> Option<&T> {
        self.state.get::<T>()
    }

    /// The matched path parameters, in the order of the route's pattern.
    pub fn path_params(&self) -> impl Iterator<Item = (&str, &str)> {
        self.params.iter()
    }

    /// The largest request body this route accepts, in bytes.
    pub fn body_limit(&self) -> usize {
        self.body_limit
    }
}

impl Default for RequestContext {
    fn default() -> Self {
        RequestContext::new(
            Arc::default(),
            PathParams::default(),
            crate::app::DEFAULT_BODY_LIMIT,
            Arc::default(),
        )
    }
}

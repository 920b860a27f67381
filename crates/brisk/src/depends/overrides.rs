//! Replacing dependencies in tests: [`App::override_dependency`](crate::App::override_dependency).

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::Arc;

type Factory = Arc<dyn Fn() -> Box<dyn Any + Send> + Send + Sync>;

/// Dependency type → a factory of its replacement value.
#[derive(Clone, Default)]
pub(crate) struct Overrides(HashMap<TypeId, Factory>);

impl Overrides {
    pub(crate) fn insert<D: Send + 'static>(&mut self, factory: impl Fn() -> D + Send + Sync + 'static) {
        self.0.insert(TypeId::of::<D>(), Arc::new(move || Box::new(factory()) as Box<dyn Any + Send>));
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn get<D: 'static>(&self) -> Option<D> {
        let value = (self.0.get(&TypeId::of::<D>())?)();
        value.downcast::<D>().ok().map(|d| *d)
    }
}

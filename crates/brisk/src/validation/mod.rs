//! Validation: rules declared once on a type, enforced at runtime and published in its schema.
//!
//! Derive [`Validate`] next to `Deserialize` and `JsonSchema`, and put pydantic's rules on the
//! fields:
//!
//! ```
//! use brisk::prelude::*;
//!
//! #[derive(Deserialize, JsonSchema, Validate)]
//! struct ItemIn {
//!     #[validate(min_length = 1, max_length = 100)]
//!     name: String,
//!     #[validate(gt = 0)]
//!     price: f64,
//!     #[validate(max_length = 10)]
//!     #[serde(default)]
//!     tags: Vec<String>,
//! }
//! ```
//!
//! The rules are `gt`, `ge`, `lt`, `le` (numbers), `min_length`, `max_length` (strings count
//! characters, lists and maps count items) and `pattern` (a regular expression a string must
//! match somewhere, as in JSON Schema). Floats must also be finite.
//!
//! How a request is checked: the extractor deserializes the input with serde and asks
//! [`Validate::is_valid`] — one pass, no allocation. Only when that fails does brisk walk the raw
//! input against the type's JSON Schema (which carries the same rules) and list *every* failure
//! with its location, in FastAPI's format. Errors are the rare path, so the happy path pays
//! nothing for them.

mod json_tree;
mod messages;
mod model;
pub mod rules;
mod schema;
mod strings;
mod walk;

pub use brisk_macros::Validate;
pub use model::{model_schema, validate_json};
pub use rules::{Bound, Rule, RuleTarget};

pub(crate) use model::{from_json, from_strings};
pub(crate) use walk::StringSource;

/// A type whose values can be checked against rules declared on it.
///
/// Derive it (see the [module docs](self)). Implement it by hand only for types with no rules
/// (`impl Validate for MyType {}`) or to forward to inner types.
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no validation rules declared",
    label = "add `#[derive(brisk::Validate)]` to this type",
    note = "every type brisk extracts from a request derives `Validate` (it may declare no rules)"
)]
pub trait Validate {
    /// True when every rule holds, this value's and its fields'.
    fn is_valid(&self) -> bool {
        true
    }

    /// Writes this type's rules into its JSON Schema (called once per type, at build time).
    fn apply_rules(_target: &mut RuleTarget<'_>) {}

    /// Writes this type's rules wherever its schema lives: inline, or as a named definition.
    fn apply_rules_nested(target: &mut RuleTarget<'_>)
    where
        Self: schemars::JsonSchema,
    {
        target.nested::<Self>();
    }
}

macro_rules! no_rules {
    ($($t:ty),* $(,)?) => { $(impl Validate for $t {})* };
}

no_rules!(
    bool,
    char,
    i8,
    i16,
    i32,
    i64,
    i128,
    isize,
    u8,
    u16,
    u32,
    u64,
    u128,
    usize,
    String,
    str,
    serde_json::Value,
    (),
);

impl Validate for f32 {
    fn is_valid(&self) -> bool {
        self.is_finite()
    }
}

impl Validate for f64 {
    fn is_valid(&self) -> bool {
        self.is_finite()
    }
}

macro_rules! forward_one {
    ($($container:ident),*) => {$(
        impl<T: Validate + schemars::JsonSchema> Validate for $container<T> {
            fn is_valid(&self) -> bool {
                self.iter().all(T::is_valid)
            }
            fn apply_rules(target: &mut RuleTarget<'_>) {
                target.nested::<T>();
            }
        }
    )*};
}

use std::collections::{BTreeSet, HashSet, VecDeque};
forward_one!(Vec, VecDeque, BTreeSet, HashSet, Option);

impl<T: Validate + schemars::JsonSchema + ?Sized> Validate for Box<T> {
    fn is_valid(&self) -> bool {
        T::is_valid(self)
    }
    fn apply_rules(target: &mut RuleTarget<'_>) {
        target.nested::<T>();
    }
}

impl<T: Validate + schemars::JsonSchema, const N: usize> Validate for [T; N] {
    fn is_valid(&self) -> bool {
        self.iter().all(T::is_valid)
    }
    fn apply_rules(target: &mut RuleTarget<'_>) {
        target.nested::<T>();
    }
}

impl<K, V: Validate + schemars::JsonSchema, S> Validate for std::collections::HashMap<K, V, S> {
    fn is_valid(&self) -> bool {
        self.values().all(V::is_valid)
    }
    fn apply_rules(target: &mut RuleTarget<'_>) {
        target.nested::<V>();
    }
}

impl<K, V: Validate + schemars::JsonSchema> Validate for std::collections::BTreeMap<K, V> {
    fn is_valid(&self) -> bool {
        self.values().all(V::is_valid)
    }
    fn apply_rules(target: &mut RuleTarget<'_>) {
        target.nested::<V>();
    }
}

macro_rules! tuples {
    ($($name:ident)+) => {
        impl<$($name: Validate + schemars::JsonSchema),+> Validate for ($($name,)+) {
            #[allow(non_snake_case)]
            fn is_valid(&self) -> bool {
                let ($($name,)+) = self;
                true $(&& $name.is_valid())+
            }
            fn apply_rules(target: &mut RuleTarget<'_>) {
                $(target.nested::<$name>();)+
            }
        }
    };
}

tuples!(A);
tuples!(A B);
tuples!(A B C);
tuples!(A B C D);
tuples!(A B C D E);
tuples!(A B C D E F);

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
//! ## Custom validation
//!
//! What a rule cannot say, a function can: pydantic's `field_validator` is
//! `#[validate(with = function)]` on a field, its "after" `model_validator` is
//! `#[validate(model = function)]` on the type. A field validator takes `&FieldType` (a `&str`
//! for a `String` field works too), a model validator `&Self`; both return
//! `Result<(), ValidationIssue>`, or `Result<(), Vec<ValidationIssue>>` to report several
//! failures.
//!
//! ```
//! use brisk::prelude::*;
//! use brisk::validation::ValidationIssue;
//!
//! fn is_slug(slug: &str) -> Result<(), ValidationIssue> {
//!     if slug.chars().all(|c| c.is_ascii_lowercase() || c == '-') {
//!         Ok(())
//!     } else {
//!         Err(ValidationIssue::value_error("only lowercase letters and dashes"))
//!     }
//! }
//!
//! fn ends_after_start(b: &Booking) -> Result<(), ValidationIssue> {
//!     if b.end > b.start {
//!         Ok(())
//!     } else {
//!         Err(ValidationIssue::new("date_order", "end must come after start").at("end"))
//!     }
//! }
//!
//! #[derive(Deserialize, JsonSchema, Validate)]
//! #[validate(model = ends_after_start)]
//! struct Booking {
//!     #[validate(min_length = 1, with = is_slug)]
//!     room: String,
//!     start: u32,
//!     end: u32,
//! }
//!
//! let err = brisk::validation::validate_json::<Booking>(br#"{"room": "Blue", "start": 5, "end": 3}"#);
//! let errors = err.err().and_then(|e| e.validation_errors().map(<[_]>::to_vec)).unwrap_or_default();
//! assert_eq!(errors.len(), 1); // the model validator waits until every field is valid
//! assert_eq!(errors[0].loc.to_string(), "body.room");
//! assert_eq!(errors[0].msg, "Value error, only lowercase letters and dashes");
//! assert_eq!(errors[0].input, "Blue");
//! ```
//!
//! As in pydantic, a field's validators run (in order, until one fails) only when the field's
//! built-in rules and its own inner validators passed, and the model validators only when every
//! field is valid. Failures join the built-in rules' errors in the same 422 (built-in ones first),
//! located where the value came from: `["body", "items", 2, "slug"]`, `["query", "q"]`, a model
//! validator's issue at the model (its `input` the whole model) or, with
//! [`at`](ValidationIssue::at), at one of its fields. The validators run for every source
//! (JSON, form, query, path, headers, cookies) and for nested types, lists and options; a value
//! inside a map reports at the map. When serde cannot build the value at all (a field of the
//! wrong type, a missing one), each part that reads on its own is still checked, as pydantic
//! checks every field. What cannot be read apart (an enum that does not read as a whole, the
//! `with` validators of a field whose type is a generic parameter or that serde reads with
//! `deserialize_with`, anything past 32 levels of such parts) waits until the built-in errors
//! are fixed. Custom validation is code, so it is not in the OpenAPI schema. A validator that
//! panics answers 500, like a handler that does.
//!
//! How a request is checked: the extractor deserializes the input with serde and asks
//! [`Validate::is_valid`] — one pass, no allocation. Only when that fails does brisk walk the raw
//! input against the type's JSON Schema (which carries the same rules) and list *every* failure
//! with its location, in FastAPI's format. Errors are the rare path, so the happy path pays
//! nothing for them. Custom validators run on the typed value once it passed.

mod custom;
mod json_tree;
mod messages;
mod model;
mod objects_only;
pub mod rules;
mod schema;
mod strings;
mod walk;

pub use brisk_macros::Validate;
#[doc(hidden)]
pub use custom::{Here, Issues, Probe, ReadTyped, ReadUntyped};
pub use custom::{ValidationIssue, ValidatorOutput};
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

    /// Runs the custom validators (`#[validate(with = ...)]`, `#[validate(model = ...)]`) of
    /// this value and of the values inside it, reporting into `issues` at `here`. Generated by
    /// the derive; a hand-written impl of a container forwards to its items.
    #[doc(hidden)]
    fn check_custom(&self, _here: &Here<'_>, _issues: &mut Issues) {}

    /// Runs the custom validators of the parts of `raw` (an input serde refused as a whole)
    /// that read as their types on their own. Generated by the derive; containers forward.
    #[doc(hidden)]
    fn check_custom_raw(_raw: &serde_json::Value, _here: &Here<'_>, _issues: &mut Issues) {}

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
            fn check_custom(&self, here: &Here<'_>, issues: &mut Issues) {
                for (i, item) in self.iter().enumerate() {
                    item.check_custom(&here.index(i), issues);
                }
            }
            fn check_custom_raw(raw: &serde_json::Value, here: &Here<'_>, issues: &mut Issues) {
                raw_items::<T>(raw, here, issues);
            }
        }
    )*};
}

/// A list's items, each on its own.
fn raw_items<T: Validate + ?Sized>(raw: &serde_json::Value, here: &Here<'_>, issues: &mut Issues) {
    if let serde_json::Value::Array(items) = raw {
        for (i, item) in items.iter().enumerate() {
            T::check_custom_raw(item, &here.index(i), issues);
        }
    }
}

/// A map's values, each on its own (located at the map, as in a typed value).
fn raw_values<V: Validate + ?Sized>(raw: &serde_json::Value, here: &Here<'_>, issues: &mut Issues) {
    if let serde_json::Value::Object(map) = raw {
        for value in map.values() {
            V::check_custom_raw(value, here, issues);
        }
    }
}

use std::collections::{BTreeSet, HashSet, VecDeque};
forward_one!(Vec, VecDeque, BTreeSet, HashSet);

impl<T: Validate + schemars::JsonSchema> Validate for Option<T> {
    fn is_valid(&self) -> bool {
        self.iter().all(T::is_valid)
    }
    fn apply_rules(target: &mut RuleTarget<'_>) {
        target.nested::<T>();
    }
    fn check_custom(&self, here: &Here<'_>, issues: &mut Issues) {
        if let Some(value) = self {
            value.check_custom(here, issues);
        }
    }
    fn check_custom_raw(raw: &serde_json::Value, here: &Here<'_>, issues: &mut Issues) {
        if !raw.is_null() {
            T::check_custom_raw(raw, here, issues);
        }
    }
}

impl<T: Validate + schemars::JsonSchema + ?Sized> Validate for Box<T> {
    fn is_valid(&self) -> bool {
        T::is_valid(self)
    }
    fn apply_rules(target: &mut RuleTarget<'_>) {
        target.nested::<T>();
    }
    fn check_custom(&self, here: &Here<'_>, issues: &mut Issues) {
        T::check_custom(self, here, issues);
    }
    fn check_custom_raw(raw: &serde_json::Value, here: &Here<'_>, issues: &mut Issues) {
        T::check_custom_raw(raw, here, issues);
    }
}

impl<T: Validate + schemars::JsonSchema, const N: usize> Validate for [T; N] {
    fn is_valid(&self) -> bool {
        self.iter().all(T::is_valid)
    }
    fn apply_rules(target: &mut RuleTarget<'_>) {
        target.nested::<T>();
    }
    fn check_custom(&self, here: &Here<'_>, issues: &mut Issues) {
        for (i, item) in self.iter().enumerate() {
            item.check_custom(&here.index(i), issues);
        }
    }
    fn check_custom_raw(raw: &serde_json::Value, here: &Here<'_>, issues: &mut Issues) {
        raw_items::<T>(raw, here, issues);
    }
}

impl<K, V: Validate + schemars::JsonSchema, S> Validate for std::collections::HashMap<K, V, S> {
    fn is_valid(&self) -> bool {
        self.values().all(V::is_valid)
    }
    fn apply_rules(target: &mut RuleTarget<'_>) {
        target.nested::<V>();
    }
    /// A value's issues are located at the map (its key type need not be printable).
    fn check_custom(&self, here: &Here<'_>, issues: &mut Issues) {
        for value in self.values() {
            value.check_custom(here, issues);
        }
    }
    fn check_custom_raw(raw: &serde_json::Value, here: &Here<'_>, issues: &mut Issues) {
        raw_values::<V>(raw, here, issues);
    }
}

impl<K, V: Validate + schemars::JsonSchema> Validate for std::collections::BTreeMap<K, V> {
    fn is_valid(&self) -> bool {
        self.values().all(V::is_valid)
    }
    fn apply_rules(target: &mut RuleTarget<'_>) {
        target.nested::<V>();
    }
    /// A value's issues are located at the map (its key type need not be printable).
    fn check_custom(&self, here: &Here<'_>, issues: &mut Issues) {
        for value in self.values() {
            value.check_custom(here, issues);
        }
    }
    fn check_custom_raw(raw: &serde_json::Value, here: &Here<'_>, issues: &mut Issues) {
        raw_values::<V>(raw, here, issues);
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
            #[allow(non_snake_case, unused_assignments)]
            fn check_custom(&self, here: &Here<'_>, issues: &mut Issues) {
                let ($($name,)+) = self;
                let mut i = 0;
                $($name.check_custom(&here.index(i), issues); i += 1;)+
            }
            #[allow(unused_assignments)]
            fn check_custom_raw(raw: &serde_json::Value, here: &Here<'_>, issues: &mut Issues) {
                let serde_json::Value::Array(items) = raw else { return };
                let mut i = 0;
                $(
                    if let Some(item) = items.get(i) {
                        $name::check_custom_raw(item, &here.index(i), issues);
                    }
                    i += 1;
                )+
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

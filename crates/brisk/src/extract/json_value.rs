//! [`Json<T>`] as a value inside other types (a model's JSON column, a field of a body): it is
//! serde-transparent, its schema is `T`'s, and `T`'s validation rules apply through it.

use std::borrow::Cow;
use std::ops::{Deref, DerefMut};

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::Json;
use crate::validation::rules::Length;
use crate::validation::{RuleTarget, Validate};

impl<T> Deref for Json<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> DerefMut for Json<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

impl<T: PartialEq> PartialEq for Json<T> {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

impl<T: Serialize> Serialize for Json<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Json<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        T::deserialize(d).map(Json)
    }
}

impl<T: JsonSchema> JsonSchema for Json<T> {
    fn schema_name() -> Cow<'static, str> {
        T::schema_name()
    }
    fn schema_id() -> Cow<'static, str> {
        T::schema_id()
    }
    fn inline_schema() -> bool {
        T::inline_schema()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        T::json_schema(generator)
    }
}

impl<T: Validate + JsonSchema> Validate for Json<T> {
    fn is_valid(&self) -> bool {
        self.0.is_valid()
    }
    fn apply_rules(target: &mut RuleTarget<'_>) {
        T::apply_rules(target)
    }
}

impl<T: Length> Length for Json<T> {
    fn length(&self) -> Option<usize> {
        self.0.length()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_transparent_as_a_value() {
        let tags: Json<Vec<String>> = serde_json::from_str(r#"["a","b"]"#).unwrap();
        assert_eq!(tags.len(), 2);
        assert_eq!(serde_json::to_string(&tags).unwrap(), r#"["a","b"]"#);
        let schema = schemars::schema_for!(Json<Vec<String>>);
        assert_eq!(schema.get("type"), Some(&serde_json::json!("array")));
    }
}

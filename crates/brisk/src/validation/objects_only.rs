//! A deserializer adapter that reads a struct only from a JSON object.
//!
//! serde's derived `Deserialize` for a struct also accepts a sequence of its fields in order,
//! and serde_json hands it one when the body has an array there: `{"stream_options": []}`
//! filled a struct whose fields all have defaults, and `[1, "x"]` passed for `{"a": 1, "b":
//! "x"}`. The schema (and FastAPI) say an object. [`ObjectsOnly`] wraps a deserializer, at
//! every depth, so that a struct (or a struct variant) given an array is refused as serde's
//! `invalid type: sequence`; the caller then reports it from the schema, as any other 422.
//!
//! Limit: serde reads an `#[serde(untagged)]` enum's or a `#[serde(flatten)]` field's input
//! into a buffer of its own first and deserializes the struct from that buffer, out of this
//! adapter's reach; a struct there still takes an array of its fields (checked: `[1]` fills
//! `struct Inner { a: i32 }` inside an untagged variant or a flattened map).

use std::fmt;

use serde::de::{
    DeserializeSeed, Deserializer, EnumAccess, Error as _, MapAccess, SeqAccess, Unexpected, VariantAccess,
    Visitor,
};

/// `D`, except that structs are read only from maps.
pub(crate) struct ObjectsOnly<D>(pub(crate) D);

/// A visitor passed on by [`ObjectsOnly`]: wraps what it is handed so the rule holds deeper
/// down; for a struct (`struct_only`), refuses a sequence.
struct Wrapped<V> {
    inner: V,
    struct_only: bool,
}

fn wrap<V>(inner: V) -> Wrapped<V> {
    Wrapped { inner, struct_only: false }
}

macro_rules! forward_deserialize {
    ($($method:ident)*) => {
        $(fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
            self.0.$method(wrap(visitor))
        })*
    };
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for ObjectsOnly<D> {
    type Error = D::Error;

    forward_deserialize!(
        deserialize_any deserialize_bool deserialize_i8 deserialize_i16 deserialize_i32
        deserialize_i64 deserialize_i128 deserialize_u8 deserialize_u16 deserialize_u32
        deserialize_u64 deserialize_u128 deserialize_f32 deserialize_f64 deserialize_char
        deserialize_str deserialize_string deserialize_bytes deserialize_byte_buf
        deserialize_option deserialize_unit deserialize_seq deserialize_map
        deserialize_identifier deserialize_ignored_any
    );

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_unit_struct(name, wrap(visitor))
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_newtype_struct(name, wrap(visitor))
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_tuple(len, wrap(visitor))
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_tuple_struct(name, len, wrap(visitor))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_struct(name, fields, Wrapped { inner: visitor, struct_only: true })
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_enum(name, variants, wrap(visitor))
    }

    fn is_human_readable(&self) -> bool {
        self.0.is_human_readable()
    }
}

macro_rules! forward_visit {
    ($($method:ident: $ty:ty)*) => {
        $(fn $method<E: serde::de::Error>(self, v: $ty) -> Result<Self::Value, E> {
            self.inner.$method(v)
        })*
    };
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Wrapped<V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.expecting(f)
    }

    forward_visit!(
        visit_bool: bool visit_i8: i8 visit_i16: i16 visit_i32: i32 visit_i64: i64 visit_i128: i128
        visit_u8: u8 visit_u16: u16 visit_u32: u32 visit_u64: u64 visit_u128: u128
        visit_f32: f32 visit_f64: f64 visit_char: char visit_str: &str visit_borrowed_str: &'de str
        visit_string: String visit_bytes: &[u8] visit_borrowed_bytes: &'de [u8] visit_byte_buf: Vec<u8>
    );

    fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        self.inner.visit_none()
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        self.inner.visit_unit()
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        self.inner.visit_some(ObjectsOnly(d))
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        self.inner.visit_newtype_struct(ObjectsOnly(d))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        if self.struct_only {
            return Err(A::Error::invalid_type(Unexpected::Seq, &self.inner));
        }
        self.inner.visit_seq(Seq(seq))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        self.inner.visit_map(Map(map))
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Self::Value, A::Error> {
        self.inner.visit_enum(Enum(data))
    }
}

/// A seed whose deserializer is wrapped.
struct Seed<S>(S);

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Seed<S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<S::Value, D::Error> {
        self.0.deserialize(ObjectsOnly(d))
    }
}

struct Seq<A>(A);

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for Seq<A> {
    type Error = A::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, A::Error> {
        self.0.next_element_seed(Seed(seed))
    }

    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

struct Map<A>(A);

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Map<A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, A::Error> {
        self.0.next_key_seed(Seed(seed))
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        self.0.next_value_seed(Seed(seed))
    }

    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

struct Enum<A>(A);

impl<'de, A: EnumAccess<'de>> EnumAccess<'de> for Enum<A> {
    type Error = A::Error;
    type Variant = Variant<A::Variant>;

    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Self::Variant), A::Error> {
        let (value, variant) = self.0.variant_seed(Seed(seed))?;
        Ok((value, Variant(variant)))
    }
}

struct Variant<A>(A);

impl<'de, A: VariantAccess<'de>> VariantAccess<'de> for Variant<A> {
    type Error = A::Error;

    fn unit_variant(self) -> Result<(), A::Error> {
        self.0.unit_variant()
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, A::Error> {
        self.0.newtype_variant_seed(Seed(seed))
    }

    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, A::Error> {
        self.0.tuple_variant(len, wrap(visitor))
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        self.0.struct_variant(fields, Wrapped { inner: visitor, struct_only: true })
    }
}

/// `T` from JSON text, structs only from objects (and the whole text read).
pub(crate) fn from_str<'a, T: serde::Deserialize<'a>>(text: &'a str) -> Result<T, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value = T::deserialize(ObjectsOnly(&mut de))?;
    de.end()?;
    Ok(value)
}

/// `T` from a JSON value, structs only from objects.
pub(crate) fn from_value<T: serde::de::DeserializeOwned>(
    value: serde_json::Value,
) -> Result<T, serde_json::Error> {
    T::deserialize(ObjectsOnly(value))
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Options {
        #[serde(default)]
        include_usage: Option<bool>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Request {
        model: String,
        #[serde(default)]
        options: Option<Options>,
        #[serde(default)]
        list: Vec<Options>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    enum Shape {
        Point { x: i32 },
        Pair(i32, i32),
    }

    #[test]
    fn objects_pass_and_arrays_are_refused_for_structs_at_any_depth() {
        let ok: Request =
            super::from_str(r#"{"model": "m", "options": {"include_usage": true}, "list": [{}]}"#)
                .expect("an object");
        assert_eq!(ok.options, Some(Options { include_usage: Some(true) }));
        assert_eq!(ok.list, vec![Options { include_usage: None }]);
        // Plain serde_json takes each of these; the adapter does not.
        for refused in [r#"["m"]"#, r#"{"model": "m", "options": []}"#, r#"{"model": "m", "list": [[]]}"#] {
            assert!(serde_json::from_str::<Request>(refused).is_ok(), "serde's own rule: {refused}");
            let e = super::from_str::<Request>(refused).expect_err(refused);
            assert!(e.to_string().contains("invalid type: sequence"), "{e}");
            let value: serde_json::Value = serde_json::from_str(refused).expect("JSON");
            assert!(super::from_value::<Request>(value).is_err(), "{refused}");
        }
        // Sequences stay sequences, tuples and tuple variants too; a struct variant wants a map.
        assert_eq!(super::from_str::<Vec<i32>>("[1, 2]").expect("a list"), vec![1, 2]);
        assert_eq!(super::from_str::<(i32, String)>(r#"[1, "a"]"#).expect("a tuple"), (1, "a".into()));
        assert_eq!(
            super::from_str::<Shape>(r#"{"Pair": [1, 2]}"#).expect("a tuple variant"),
            Shape::Pair(1, 2)
        );
        assert_eq!(
            super::from_str::<Shape>(r#"{"Point": {"x": 3}}"#).expect("a struct variant"),
            Shape::Point { x: 3 }
        );
        assert!(super::from_str::<Shape>(r#"{"Point": [3]}"#).is_err());
        assert!(super::from_str::<Request>(r#"{"model": "m"} x"#).is_err(), "trailing text");
    }
}

//! The fast path for string sources (path, query, headers, cookies, forms): a serde
//! `Deserializer` straight over the `(name, value)` pairs, with no intermediate JSON value.
//!
//! It reads only the plain spellings (`42`, `-1.5`, `true`, one value per scalar field). Anything
//! else — `1_000`, `yes`, a repeated key for a single field, a missing field — is an error here,
//! and the caller falls back to the schema walk, which accepts pydantic's lax spellings and
//! reports every failure. So this path may refuse more than the walk, never accept more.

use std::fmt;

use serde::de::value::BorrowedStrDeserializer;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

/// Above this many pairs the fast path is skipped (its repeated-key check is quadratic).
const MAX_PAIRS: usize = 32;

/// Why the fast path gave up; never shown to a client.
#[derive(Debug)]
pub(crate) struct GiveUp;

impl fmt::Display for GiveUp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not a plain string input")
    }
}

impl std::error::Error for GiveUp {}

impl de::Error for GiveUp {
    fn custom<T: fmt::Display>(_msg: T) -> Self {
        GiveUp
    }
}

/// Deserializes `T` from string pairs, or gives up (see the module docs).
pub(crate) fn from_pairs<'de, T: de::Deserialize<'de>>(pairs: &[(&'de str, &'de str)]) -> Result<T, GiveUp> {
    if pairs.len() > MAX_PAIRS {
        return Err(GiveUp);
    }
    T::deserialize(Pairs(pairs))
}

/// The whole input: a map of names (a struct), a sequence in order (a tuple), or one value.
struct Pairs<'a, 'de>(&'a [(&'de str, &'de str)]);

impl<'de> Pairs<'_, 'de> {
    fn only_value(&self) -> Result<Value<'_, 'de>, GiveUp> {
        match self.0 {
            [(name, _)] => Ok(Value { name, pairs: self.0 }),
            _ => Err(GiveUp),
        }
    }
}

macro_rules! through_single_value {
    ($($method:ident)*) => {
        $(fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, GiveUp> {
            self.only_value()?.$method(visitor)
        })*
    };
}

impl<'de> Deserializer<'de> for Pairs<'_, 'de> {
    type Error = GiveUp;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, GiveUp> {
        self.deserialize_map(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, GiveUp> {
        visitor.visit_map(Fields { pairs: self.0, next: 0, current: None })
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, GiveUp> {
        self.deserialize_map(visitor)
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, GiveUp> {
        if len != self.0.len() {
            return Err(GiveUp);
        }
        visitor.visit_seq(Ordered { pairs: self.0.iter() })
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, GiveUp> {
        visitor.visit_newtype_struct(self)
    }

    through_single_value!(
        deserialize_bool deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64
        deserialize_i128 deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64
        deserialize_u128 deserialize_f32 deserialize_f64 deserialize_char deserialize_str
        deserialize_string
    );

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, GiveUp> {
        self.only_value()?.deserialize_enum(name, variants, visitor)
    }

    serde::forward_to_deserialize_any! {
        bytes byte_buf option unit unit_struct seq tuple_struct identifier ignored_any
    }
}

/// The values of a tuple, in the pairs' order (path parameters).
struct Ordered<'a, 'de> {
    pairs: std::slice::Iter<'a, (&'de str, &'de str)>,
}

impl<'de> SeqAccess<'de> for Ordered<'_, 'de> {
    type Error = GiveUp;

    fn next_element_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<Option<S::Value>, GiveUp> {
        match self.pairs.next() {
            Some(&(_, text)) => seed.deserialize(Text(text)).map(Some),
            None => Ok(None),
        }
    }
}

/// The distinct names, each once, in the order they first appear.
struct Fields<'a, 'de> {
    pairs: &'a [(&'de str, &'de str)],
    next: usize,
    current: Option<&'de str>,
}

impl<'de> MapAccess<'de> for Fields<'_, 'de> {
    type Error = GiveUp;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, GiveUp> {
        while let Some(&(name, _)) = self.pairs.get(self.next) {
            let seen = self.pairs[..self.next].iter().any(|(earlier, _)| *earlier == name);
            self.next += 1;
            if !seen {
                self.current = Some(name);
                return seed.deserialize(BorrowedStrDeserializer::new(name)).map(Some);
            }
        }
        Ok(None)
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, GiveUp> {
        let name = self.current.take().ok_or(GiveUp)?;
        seed.deserialize(Value { name, pairs: self.pairs })
    }
}

/// Every value given for one name: one for a scalar, any number for a sequence.
struct Value<'a, 'de> {
    name: &'de str,
    pairs: &'a [(&'de str, &'de str)],
}

impl<'de> Value<'_, 'de> {
    fn values(&self) -> impl Iterator<Item = &'de str> + '_ {
        let name = self.name;
        self.pairs.iter().filter(move |(n, _)| *n == name).map(|&(_, v)| v)
    }

    /// The one value of a scalar field; a repeated name gives up.
    fn single(&self) -> Result<Text<'de>, GiveUp> {
        let mut values = self.values();
        match (values.next(), values.next()) {
            (Some(text), None) => Ok(Text(text)),
            _ => Err(GiveUp),
        }
    }
}

macro_rules! through_single_text {
    ($($method:ident)*) => {
        $(fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, GiveUp> {
            self.single()?.$method(visitor)
        })*
    };
}

impl<'de> Deserializer<'de> for Value<'_, 'de> {
    type Error = GiveUp;

    /// A self-describing read (untagged enums, flatten, free-form values) is the walk's job:
    /// it knows from the schema whether `5` is a number or a string.
    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, GiveUp> {
        Err(GiveUp)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, GiveUp> {
        visitor.visit_unit()
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, GiveUp> {
        visitor.visit_some(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, GiveUp> {
        visitor.visit_seq(Many { values: self.pairs.iter(), name: self.name })
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, GiveUp> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, GiveUp> {
        self.single()?.deserialize_enum(name, variants, visitor)
    }

    through_single_text!(
        deserialize_bool deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64
        deserialize_i128 deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64
        deserialize_u128 deserialize_f32 deserialize_f64 deserialize_char deserialize_str
        deserialize_string
    );

    serde::forward_to_deserialize_any! {
        bytes byte_buf unit unit_struct tuple tuple_struct map struct identifier
    }
}

/// The values of a repeated name, as a sequence.
struct Many<'a, 'de> {
    values: std::slice::Iter<'a, (&'de str, &'de str)>,
    name: &'de str,
}

impl<'de> SeqAccess<'de> for Many<'_, 'de> {
    type Error = GiveUp;

    fn next_element_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<Option<S::Value>, GiveUp> {
        for &(name, text) in self.values.by_ref() {
            if name == self.name {
                return seed.deserialize(Text(text)).map(Some);
            }
        }
        Ok(None)
    }
}

/// One string, read as the type asks: a number or `true`/`false` in Rust's plain spelling.
struct Text<'de>(&'de str);

macro_rules! parsed {
    ($($method:ident $visit:ident $ty:ty;)*) => {
        $(fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, GiveUp> {
            visitor.$visit(self.0.parse::<$ty>().map_err(|_| GiveUp)?)
        })*
    };
}

impl<'de> Deserializer<'de> for Text<'de> {
    type Error = GiveUp;

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, GiveUp> {
        Err(GiveUp)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, GiveUp> {
        visitor.visit_borrowed_str(self.0)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, GiveUp> {
        visitor.visit_borrowed_str(self.0)
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, GiveUp> {
        visitor.visit_borrowed_str(self.0)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, GiveUp> {
        visitor.visit_unit()
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, GiveUp> {
        match self.0 {
            "true" => visitor.visit_bool(true),
            "false" => visitor.visit_bool(false),
            _ => Err(GiveUp),
        }
    }

    parsed! {
        deserialize_i8 visit_i8 i8;
        deserialize_i16 visit_i16 i16;
        deserialize_i32 visit_i32 i32;
        deserialize_i64 visit_i64 i64;
        deserialize_i128 visit_i128 i128;
        deserialize_u8 visit_u8 u8;
        deserialize_u16 visit_u16 u16;
        deserialize_u32 visit_u32 u32;
        deserialize_u64 visit_u64 u64;
        deserialize_u128 visit_u128 u128;
        deserialize_f32 visit_f32 f32;
        deserialize_f64 visit_f64 f64;
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, GiveUp> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, GiveUp> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, GiveUp> {
        BorrowedStrDeserializer::<GiveUp>::new(self.0).deserialize_enum(name, variants, visitor)
    }

    serde::forward_to_deserialize_any! {
        bytes byte_buf unit unit_struct seq tuple tuple_struct map struct identifier
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Page {
        #[serde(default)]
        skip: i64,
        limit: Option<u8>,
        q: Option<String>,
        #[serde(default)]
        tag: Vec<String>,
        #[serde(default)]
        exact: bool,
    }

    #[test]
    fn reads_plain_fields_options_and_repeated_keys() {
        let page: Page =
            from_pairs(&[("skip", "5"), ("tag", "a"), ("limit", "20"), ("tag", "b"), ("exact", "true")])
                .unwrap();
        assert_eq!(
            page,
            Page { skip: 5, limit: Some(20), q: None, tag: vec!["a".into(), "b".into()], exact: true }
        );
    }

    #[test]
    fn gives_up_on_what_only_the_lax_walk_accepts() {
        for pairs in [
            &[("skip", "1_000")][..],
            &[("exact", "yes")],
            &[("skip", " 5")],
            &[("skip", "1"), ("skip", "2")],
            &[("limit", "300")],
            &[("limit", "")],
        ] {
            assert!(from_pairs::<Page>(pairs).is_err(), "{pairs:?}");
        }
    }

    #[test]
    fn tuples_and_single_values_follow_the_pairs_order() {
        let (id, name): (u32, String) = from_pairs(&[("id", "7"), ("name", "x y")]).unwrap();
        assert_eq!((id, name.as_str()), (7, "x y"));
        assert_eq!(from_pairs::<u64>(&[("id", "9")]).unwrap(), 9);
        assert!(from_pairs::<u64>(&[("a", "1"), ("b", "2")]).is_err());
        assert!(from_pairs::<(u32, u32)>(&[("a", "1")]).is_err());
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "lowercase")]
    enum Color {
        Red,
        Blue,
    }

    #[test]
    fn unit_enums_read_their_names() {
        #[derive(Deserialize)]
        struct Pick {
            color: Color,
        }
        assert_eq!(from_pairs::<Pick>(&[("color", "blue")]).unwrap().color, Color::Blue);
        assert!(from_pairs::<Pick>(&[("color", "green")]).is_err());
        assert_eq!(from_pairs::<Color>(&[("c", "red")]).unwrap(), Color::Red);
    }

    #[test]
    fn unknown_names_are_ignored_and_self_describing_reads_give_up() {
        let page: Page = from_pairs(&[("utm", "x"), ("utm", "y"), ("skip", "2")]).unwrap();
        assert_eq!(page.skip, 2);

        #[derive(Debug, Deserialize)]
        #[serde(untagged)]
        #[allow(dead_code)]
        enum IdOrName {
            Id(u64),
            Name(String),
        }
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Lookup {
            key: IdOrName,
        }
        // Whether "5" is the number or the string is the schema's call, not this path's.
        assert!(from_pairs::<Lookup>(&[("key", "5")]).is_err());
    }
}

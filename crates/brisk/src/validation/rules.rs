//! The rules `#[derive(Validate)]` understands, how they are checked, and how they enter a schema.

use std::cmp::Ordering;
use std::collections::HashSet;

use schemars::JsonSchema;
use serde_json::{Map, Value};

use super::Validate;

/// A number in a rule, kept as written: `gt = 0` stays an integer in the schema and in `ctx`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Bound {
    /// An integer bound.
    Int(i128),
    /// A floating-point bound.
    Float(f64),
}

impl Bound {
    fn to_json(self) -> Value {
        match self {
            Bound::Int(i) => i64::try_from(i).map(Value::from).unwrap_or_else(|_| Value::from(i as f64)),
            Bound::Float(f) => Value::from(f),
        }
    }
}

/// One rule on a field.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rule {
    /// `> bound`
    Gt(Bound),
    /// `>= bound`
    Ge(Bound),
    /// `< bound`
    Lt(Bound),
    /// `<= bound`
    Le(Bound),
    /// At least this many characters (strings) or items (lists, maps).
    MinLength(usize),
    /// At most this many characters (strings) or items (lists, maps).
    MaxLength(usize),
    /// A regular expression the string must match (anywhere, as in JSON Schema).
    Pattern(&'static str),
}

/// A value with a length: strings count characters, collections count items. `None` passes.
pub trait Length {
    /// The length, or `None` when there is nothing to measure.
    fn length(&self) -> Option<usize>;
}

impl Length for str {
    fn length(&self) -> Option<usize> {
        Some(self.chars().count())
    }
}
impl Length for String {
    fn length(&self) -> Option<usize> {
        self.as_str().length()
    }
}
impl<T> Length for Vec<T> {
    fn length(&self) -> Option<usize> {
        Some(self.len())
    }
}
impl<T> Length for std::collections::VecDeque<T> {
    fn length(&self) -> Option<usize> {
        Some(self.len())
    }
}
impl<T, S> Length for std::collections::HashSet<T, S> {
    fn length(&self) -> Option<usize> {
        Some(self.len())
    }
}
impl<T> Length for std::collections::BTreeSet<T> {
    fn length(&self) -> Option<usize> {
        Some(self.len())
    }
}
impl<K, V, S> Length for std::collections::HashMap<K, V, S> {
    fn length(&self) -> Option<usize> {
        Some(self.len())
    }
}
impl<K, V> Length for std::collections::BTreeMap<K, V> {
    fn length(&self) -> Option<usize> {
        Some(self.len())
    }
}
impl<T: Length + ?Sized> Length for Box<T> {
    fn length(&self) -> Option<usize> {
        T::length(self)
    }
}
impl<T: Length> Length for Option<T> {
    fn length(&self) -> Option<usize> {
        self.as_ref().and_then(T::length)
    }
}

/// A number a bound can be compared with. `None` passes.
pub trait Numeric {
    /// How this value compares with `bound`; `None` for NaN.
    fn compare(&self, bound: Bound) -> Option<Ordering>;

    /// True for an absent optional value, which passes every bound.
    fn is_absent(&self) -> bool {
        false
    }
}

macro_rules! numeric_int {
    ($($t:ty),*) => {$(
        impl Numeric for $t {
            fn compare(&self, bound: Bound) -> Option<Ordering> {
                match bound {
                    Bound::Int(b) => Some((*self as i128).cmp(&b)),
                    Bound::Float(b) => (*self as f64).partial_cmp(&b),
                }
            }
        }
    )*};
}
numeric_int!(i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, usize);

macro_rules! numeric_float {
    ($($t:ty),*) => {$(
        impl Numeric for $t {
            fn compare(&self, bound: Bound) -> Option<Ordering> {
                let b = match bound { Bound::Int(b) => b as f64, Bound::Float(b) => b };
                (*self as f64).partial_cmp(&b)
            }
        }
    )*};
}
numeric_float!(f32, f64);

impl Numeric for u128 {
    fn compare(&self, bound: Bound) -> Option<Ordering> {
        match bound {
            Bound::Int(b) if b < 0 => Some(Ordering::Greater),
            Bound::Int(b) => Some(self.cmp(&(b as u128))),
            Bound::Float(b) => (*self as f64).partial_cmp(&b),
        }
    }
}

impl<T: Numeric> Numeric for Option<T> {
    fn compare(&self, bound: Bound) -> Option<Ordering> {
        self.as_ref().and_then(|v| v.compare(bound))
    }

    fn is_absent(&self) -> bool {
        self.as_ref().is_none_or(T::is_absent)
    }
}

/// Checks one numeric rule; `None` (an absent optional value) passes.
pub fn check_bound<T: Numeric + ?Sized>(value: &T, rule: Rule) -> bool {
    let (bound, ok): (Bound, fn(Ordering) -> bool) = match rule {
        Rule::Gt(b) => (b, |o| o == Ordering::Greater),
        Rule::Ge(b) => (b, |o| o != Ordering::Less),
        Rule::Lt(b) => (b, |o| o == Ordering::Less),
        Rule::Le(b) => (b, |o| o != Ordering::Greater),
        _ => return true,
    };
    value.is_absent() || value.compare(bound).is_some_and(ok)
}

/// Checks one length rule; an absent optional value passes.
pub fn check_length<T: Length + ?Sized>(value: &T, rule: Rule) -> bool {
    match (rule, value.length()) {
        (_, None) => true,
        (Rule::MinLength(n), Some(len)) => len >= n,
        (Rule::MaxLength(n), Some(len)) => len <= n,
        _ => true,
    }
}

/// A value a pattern can be matched against. `None` passes.
pub trait Matchable {
    /// The text to match, or `None` when absent.
    fn text(&self) -> Option<&str>;
}
impl Matchable for str {
    fn text(&self) -> Option<&str> {
        Some(self)
    }
}
impl Matchable for String {
    fn text(&self) -> Option<&str> {
        Some(self)
    }
}
impl<T: Matchable> Matchable for Option<T> {
    fn text(&self) -> Option<&str> {
        self.as_ref().and_then(T::text)
    }
}

/// Checks a pattern rule with a regex compiled once by the derive.
pub fn check_pattern<T: Matchable + ?Sized>(value: &T, regex: &regex_lite::Regex) -> bool {
    value.text().is_none_or(|text| regex.is_match(text))
}

/// Compiles a derive's pattern; the derive checks the pattern at compile time is a string, and
/// brisk checks here, once, that it is a valid regular expression.
pub fn compile_pattern(pattern: &'static str) -> regex_lite::Regex {
    match regex_lite::Regex::new(pattern) {
        Ok(regex) => regex,
        Err(e) => panic!("invalid #[validate(pattern = {pattern:?})]: {e}"),
    }
}

/// Where [`Validate::apply_rules`] writes: a schema being built and the named schemas it
/// refers to, positioned on one type.
pub struct RuleTarget<'a> {
    root: &'a mut Value,
    defs: &'a mut Map<String, Value>,
    current: Option<String>,
    visited: HashSet<String>,
}

impl<'a> RuleTarget<'a> {
    /// A target on `root`, whose `$ref`s point into `defs`.
    pub(crate) fn new(root: &'a mut Value, defs: &'a mut Map<String, Value>) -> Self {
        RuleTarget { root, defs, current: None, visited: HashSet::new() }
    }

    fn current_schema(&mut self) -> Option<&mut Map<String, Value>> {
        let schema = match &self.current {
            None => &mut *self.root,
            Some(name) => self.defs.get_mut(name.as_str())?,
        };
        schema.as_object_mut()
    }

    /// Adds `rules` to the property `name` of the current type's object schema.
    pub fn property(&mut self, name: &str, rules: &[Rule]) {
        let Some(property) = self
            .current_schema()
            .and_then(|s| s.get_mut("properties"))
            .and_then(|p| p.get_mut(name))
            .and_then(Value::as_object_mut)
        else {
            return;
        };
        for rule in rules {
            add_rule(property, *rule);
        }
    }

    /// Adds `rules` to the current type's own schema (a newtype like `struct ItemId(u64)`).
    pub fn itself(&mut self, rules: &[Rule]) {
        if let Some(schema) = self.current_schema() {
            for rule in rules {
                add_rule(schema, *rule);
            }
        }
    }

    /// Applies `T`'s rules where `T`'s schema lives: inline here, or in `$defs`.
    pub fn nested<T: Validate + JsonSchema + ?Sized>(&mut self) {
        if T::inline_schema() {
            T::apply_rules(self);
            return;
        }
        let name = T::schema_name().into_owned();
        let in_defs = self.defs.contains_key(name.as_str());
        if !in_defs || !self.visited.insert(name.clone()) {
            return;
        }
        let outer = self.current.replace(name);
        T::apply_rules(self);
        self.current = outer;
    }
}

fn types_of(schema: &Map<String, Value>) -> Vec<&str> {
    match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

fn add_rule(schema: &mut Map<String, Value>, rule: Rule) {
    let types = types_of(schema);
    let length_key = |min: bool| {
        let (string, array, object) = if min {
            ("minLength", "minItems", "minProperties")
        } else {
            ("maxLength", "maxItems", "maxProperties")
        };
        if types.contains(&"array") {
            array
        } else if types.contains(&"object") {
            object
        } else {
            string
        }
    };
    let (key, value) = match rule {
        Rule::Gt(b) => ("exclusiveMinimum", b.to_json()),
        Rule::Ge(b) => ("minimum", b.to_json()),
        Rule::Lt(b) => ("exclusiveMaximum", b.to_json()),
        Rule::Le(b) => ("maximum", b.to_json()),
        Rule::MinLength(n) => (length_key(true), Value::from(n)),
        Rule::MaxLength(n) => (length_key(false), Value::from(n)),
        Rule::Pattern(p) => ("pattern", Value::from(p)),
    };
    // A declared `ge = 1` on a `u32` (schemars says `minimum: 0`) replaces the weaker bound.
    schema.insert(key.to_owned(), value);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_compare_across_int_and_float() {
        assert!(check_bound(&1_i64, Rule::Gt(Bound::Int(0))));
        assert!(!check_bound(&0_i64, Rule::Gt(Bound::Int(0))));
        assert!(check_bound(&0.5_f64, Rule::Gt(Bound::Int(0))));
        assert!(!check_bound(&0.0_f64, Rule::Gt(Bound::Float(0.0))));
        assert!(check_bound(&0.0_f64, Rule::Ge(Bound::Int(0))));
        assert!(!check_bound(&f64::NAN, Rule::Ge(Bound::Int(0))));
        assert!(check_bound(&None::<f64>, Rule::Ge(Bound::Int(0))));
        assert!(!check_bound(&Some(-1.0), Rule::Ge(Bound::Int(0))));
        assert!(check_bound(&u128::MAX, Rule::Gt(Bound::Int(-5))));
    }

    #[test]
    fn lengths_count_characters_and_items() {
        assert!(check_length("héllo", Rule::MaxLength(5)));
        assert!(!check_length("", Rule::MinLength(1)));
        assert!(!check_length(&vec![1, 2, 3], Rule::MaxLength(2)));
        assert!(check_length(&None::<String>, Rule::MinLength(1)));
    }

    #[test]
    fn rules_land_on_the_right_keywords() {
        let mut root = serde_json::json!({
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "tags": {"type": "array", "items": {"type": "string"}},
                "price": {"type": "number"}
            }
        });
        let mut defs = Map::new();
        let mut target = RuleTarget::new(&mut root, &mut defs);
        target.property("name", &[Rule::MinLength(1), Rule::Pattern("^a")]);
        target.property("tags", &[Rule::MaxLength(10)]);
        target.property("price", &[Rule::Gt(Bound::Int(0)), Rule::Le(Bound::Float(9.5))]);
        target.property("absent", &[Rule::MinLength(1)]);
        let p = &root["properties"];
        assert_eq!(p["name"]["minLength"], 1);
        assert_eq!(p["name"]["pattern"], "^a");
        assert_eq!(p["tags"]["maxItems"], 10);
        assert_eq!(p["price"]["exclusiveMinimum"], 0);
        assert_eq!(p["price"]["maximum"], 9.5);
    }
}

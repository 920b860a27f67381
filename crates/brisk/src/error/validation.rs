//! One validation failure, in FastAPI's (pydantic's) format.

use std::borrow::Cow;
use std::fmt;

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

/// Where a value came from, and the path into it: `["body", "tags", 3]`.
///
/// The first item is the source (`path`, `query`, `header`, `cookie`, `body`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Loc(pub Vec<LocItem>);

/// One step of a [`Loc`]: an object key or a list index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LocItem {
    /// A field name (or the source, as the first item).
    Key(Cow<'static, str>),
    /// A position in a list.
    Index(usize),
}

impl Loc {
    /// A location that starts at `source` (`"body"`, `"query"` ...).
    pub fn root(source: &'static str) -> Self {
        Loc(vec![LocItem::Key(Cow::Borrowed(source))])
    }

    /// This location extended by a key.
    pub fn key(&self, key: impl Into<Cow<'static, str>>) -> Self {
        let mut items = self.0.clone();
        items.push(LocItem::Key(key.into()));
        Loc(items)
    }

    /// This location extended by a list index.
    pub fn index(&self, index: usize) -> Self {
        let mut items = self.0.clone();
        items.push(LocItem::Index(index));
        Loc(items)
    }
}

impl Serialize for Loc {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for item in &self.0 {
            match item {
                LocItem::Key(k) => seq.serialize_element(k.as_ref())?,
                LocItem::Index(i) => seq.serialize_element(i)?,
            }
        }
        seq.end()
    }
}

impl fmt::Display for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, item) in self.0.iter().enumerate() {
            if n > 0 {
                f.write_str(".")?;
            }
            match item {
                LocItem::Key(k) => f.write_str(k)?,
                LocItem::Index(i) => write!(f, "{i}")?,
            }
        }
        Ok(())
    }
}

/// One entry of FastAPI's 422 `detail` list:
/// `{"type": "greater_than", "loc": ["path", "item_id"], "msg": "...", "input": "0", "ctx": {"gt": 0}}`.
///
/// `kind` uses pydantic's type names so that clients written against FastAPI keep working.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidationError {
    /// pydantic's error type, e.g. `missing`, `int_parsing`, `string_too_long`.
    pub kind: Cow<'static, str>,
    /// Where the offending value is.
    pub loc: Loc,
    /// A human sentence.
    pub msg: Cow<'static, str>,
    /// The offending value as received.
    pub input: Value,
    /// The rule's parameters (`{"gt": 0}`), when it has any.
    pub ctx: Option<Map<String, Value>>,
}

impl ValidationError {
    /// A new error with no `ctx`.
    ///
    /// ```
    /// use brisk::error::{Loc, ValidationError};
    /// let e = ValidationError::new("missing", Loc::root("body").key("name"), "Field required", serde_json::Value::Null);
    /// assert_eq!(e.loc.to_string(), "body.name");
    /// ```
    pub fn new(
        kind: impl Into<Cow<'static, str>>,
        loc: Loc,
        msg: impl Into<Cow<'static, str>>,
        input: Value,
    ) -> Self {
        ValidationError { kind: kind.into(), loc, msg: msg.into(), input, ctx: None }
    }

    /// Adds one `ctx` entry.
    pub fn with_ctx(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.ctx.get_or_insert_with(Map::new).insert(key.to_owned(), value.into());
        self
    }
}

impl Serialize for ValidationError {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("type", &self.kind)?;
        map.serialize_entry("loc", &self.loc)?;
        map.serialize_entry("msg", &self.msg)?;
        map.serialize_entry("input", &self.input)?;
        if let Some(ctx) = &self.ctx {
            map.serialize_entry("ctx", ctx)?;
        }
        map.end()
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} [{}]", self.loc, self.msg, self.kind)
    }
}

/// Adds `new` errors to `errors`, skipping exact repeats (two dependencies reading the same
/// parameter report its failure once).
pub(crate) fn extend_unique(errors: &mut Vec<ValidationError>, new: Vec<ValidationError>) {
    for error in new {
        if !errors.contains(&error) {
            errors.push(error);
        }
    }
}

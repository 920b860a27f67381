//! The field types brisk-orm adds: [`AutoId`], [`DateTime`], [`Date`] and [`Uuid`]. Each is
//! serde-transparent, documents itself in the JSON Schema with its format, and is a column.

use std::borrow::Cow;
use std::fmt;

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::backend::Dialect;
use crate::error::Error;
use crate::value::{sqlite_text, ColumnKind, RowRef, SqlType, Value};

/// An integer primary key the database assigns (Django's `AutoField`): unset until the row
/// is inserted. In JSON it is the integer (`null` before saving); in the schema it is
/// `readOnly`, so a client never has to send it, and a value a client sends is ignored by
/// [`QuerySet::create`](crate::QuerySet::create).
///
/// ```
/// use brisk_orm::AutoId;
/// let id = AutoId::default();
/// assert_eq!(id.get(), None);
/// assert_eq!(AutoId::from(7).get(), Some(7));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AutoId(Option<i64>);

impl AutoId {
    /// The id, once the row exists.
    pub fn get(&self) -> Option<i64> {
        self.0
    }

    /// The id; 0 before the row is saved.
    pub fn value(&self) -> i64 {
        self.0.unwrap_or(0)
    }
}

impl From<i64> for AutoId {
    fn from(id: i64) -> Self {
        AutoId(Some(id))
    }
}

impl fmt::Display for AutoId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(id) => write!(f, "{id}"),
            None => f.write_str("(unsaved)"),
        }
    }
}

impl Serialize for AutoId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de> Deserialize<'de> for AutoId {
    /// An integer sets the id; anything else (absent, null, a string) leaves it unset, as a
    /// server ignores a read-only field a client sends. An absent field needs no
    /// `#[serde(default)]`.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = Option::<serde_json::Value>::deserialize(d)?;
        Ok(AutoId(value.and_then(|v| v.as_i64())))
    }
}

impl JsonSchema for AutoId {
    fn schema_name() -> Cow<'static, str> {
        "AutoId".into()
    }
    fn inline_schema() -> bool {
        true
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "integer", "format": "int64", "readOnly": true })
    }
    // Optional in a request body (a client need not send it), required in a response (the
    // server always has it), with no `"default": null` that would contradict the type. This is
    // how schemars treats `Option<T>` fields; AutoId deserializes an absent field the same way.
    fn _schemars_private_is_option() -> bool {
        true
    }
}

impl brisk::Validate for AutoId {}

impl SqlType for AutoId {
    type Inner = i64;
    const KIND: ColumnKind = ColumnKind::AutoBigInt;
    fn to_value(&self) -> Value {
        Value::BigInt(self.0)
    }
    fn null() -> Value {
        Value::BigInt(None)
    }
    fn read(row: &RowRef<'_>, idx: usize) -> Result<Self, Error> {
        i64::read(row, idx).map(AutoId::from)
    }
    fn is_unset(&self) -> bool {
        self.0.is_none()
    }
    fn unset(&mut self) {
        self.0 = None;
    }
}

macro_rules! newtype {
    ($(#[$doc:meta])* $name:ident($inner:ty), $format:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub $inner);

        impl std::ops::Deref for $name {
            type Target = $inner;
            fn deref(&self) -> &$inner {
                &self.0
            }
        }

        impl From<$inner> for $name {
            fn from(v: $inner) -> Self {
                $name(v)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl JsonSchema for $name {
            fn schema_name() -> Cow<'static, str> {
                stringify!($name).into()
            }
            fn inline_schema() -> bool {
                true
            }
            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                json_schema!({ "type": "string", "format": $format })
            }
        }

        impl brisk::Validate for $name {}
    };
}

newtype!(
    /// A UTC point in time, stored with microseconds (finer digits are dropped on both backends).
    ///
    /// ```
    /// let now = brisk_orm::DateTime::now();
    /// assert!(now.timestamp() > 0);
    /// ```
    DateTime(chrono::DateTime<chrono::Utc>),
    "date-time"
);
newtype!(
    /// A calendar date.
    Date(chrono::NaiveDate),
    "date"
);
newtype!(
    /// A UUID; [`Uuid::new_v4`] makes a random one (a good default for a UUID primary key).
    Uuid(uuid::Uuid),
    "uuid"
);
newtype!(
    /// A time of day, with microseconds.
    Time(chrono::NaiveTime),
    "time"
);

/// A length of time, stored as whole microseconds (`BIGINT` on both backends, so sums and
/// comparisons are exact and the same); in JSON, a number of seconds (`1.5`).
///
/// ```
/// let d = brisk_orm::Duration::from_micros(1_500_000);
/// assert_eq!(d.as_secs_f64(), 1.5);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Duration(i64);

impl Duration {
    /// `micros` microseconds (negative for a duration backwards).
    pub const fn from_micros(micros: i64) -> Self {
        Duration(micros)
    }
    /// The whole microseconds.
    pub const fn as_micros(&self) -> i64 {
        self.0
    }
    /// The seconds, with their fraction.
    pub fn as_secs_f64(&self) -> f64 {
        self.0 as f64 / 1e6
    }
}

impl From<std::time::Duration> for Duration {
    /// Saturates at about 292,000 years.
    fn from(d: std::time::Duration) -> Self {
        Duration(i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
    }
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.as_secs_f64())
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let secs = f64::deserialize(d)?;
        let micros = (secs * 1e6).round();
        if !micros.is_finite() || micros.abs() > i64::MAX as f64 {
            return Err(serde::de::Error::custom("a duration out of range"));
        }
        Ok(Duration(micros as i64))
    }
}

impl JsonSchema for Duration {
    fn schema_name() -> Cow<'static, str> {
        "Duration".into()
    }
    fn inline_schema() -> bool {
        true
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "number", "description": "seconds" })
    }
}

impl brisk::Validate for Duration {}

impl SqlType for Duration {
    type Inner = Duration;
    const KIND: ColumnKind = ColumnKind::Duration;
    fn to_value(&self) -> Value {
        Value::BigInt(Some(self.0))
    }
    fn null() -> Value {
        Value::BigInt(None)
    }
    fn read(row: &RowRef<'_>, idx: usize) -> Result<Self, Error> {
        i64::read(row, idx).map(Duration)
    }
}

impl SqlType for Time {
    type Inner = Time;
    const KIND: ColumnKind = ColumnKind::Time;
    fn to_value(&self) -> Value {
        Value::ChronoTime(Some(self.0))
    }
    fn null() -> Value {
        Value::ChronoTime(None)
    }
    fn read(row: &RowRef<'_>, idx: usize) -> Result<Self, Error> {
        match row.dialect() {
            Dialect::Sqlite => {
                let text = sqlite_text(row, idx)?;
                chrono::NaiveTime::parse_from_str(text, "%H:%M:%S%.6f")
                    .map(Time)
                    .map_err(|e| Error::decode(idx, format!("not a time ({e}): {text:?}")))
            }
            Dialect::Postgres => row.pg(idx).map(Time),
        }
    }
}

/// An exact decimal number (up to 28 significant digits), as money wants: `NUMERIC` on
/// PostgreSQL; on SQLite its exact text, compared, ordered, added and summed by functions
/// brisk registers (never `REAL`). In JSON it is a string (`"12.50"`), as pydantic writes a
/// `Decimal`; a JSON number is accepted too.
///
/// ```
/// let price: brisk_orm::Decimal = "12.50".parse().unwrap();
/// assert_eq!(price.to_string(), "12.50");
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Decimal(pub rust_decimal::Decimal);

impl std::str::FromStr for Decimal {
    type Err = rust_decimal::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        rust_decimal::Decimal::from_str_exact(s.trim()).map(Decimal)
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl From<rust_decimal::Decimal> for Decimal {
    fn from(d: rust_decimal::Decimal) -> Self {
        Decimal(d)
    }
}

impl From<i64> for Decimal {
    fn from(i: i64) -> Self {
        Decimal(rust_decimal::Decimal::from(i))
    }
}

impl Serialize for Decimal {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Decimal {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = match serde_json::Value::deserialize(d)? {
            serde_json::Value::String(s) => s,
            serde_json::Value::Number(n) => n.to_string(),
            other => {
                return Err(serde::de::Error::custom(format!(
                    "a decimal is a string or a number, not {other}"
                )))
            }
        };
        text.parse().map_err(|e| serde::de::Error::custom(format!("not a decimal ({e}): {text:?}")))
    }
}

impl JsonSchema for Decimal {
    fn schema_name() -> Cow<'static, str> {
        "Decimal".into()
    }
    fn inline_schema() -> bool {
        true
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": ["string", "number"], "format": "decimal", "pattern": "^-?[0-9]+(\\.[0-9]+)?$" })
    }
}

impl brisk::Validate for Decimal {}

impl SqlType for Decimal {
    type Inner = Decimal;
    const KIND: ColumnKind = ColumnKind::Decimal;
    fn to_value(&self) -> Value {
        Value::Decimal(Some(self.0))
    }
    fn null() -> Value {
        Value::Decimal(None)
    }
    fn read(row: &RowRef<'_>, idx: usize) -> Result<Self, Error> {
        match row.dialect() {
            Dialect::Sqlite => {
                let text = sqlite_text(row, idx)?;
                text.parse().map_err(|e| Error::decode(idx, format!("not a decimal ({e}): {text:?}")))
            }
            Dialect::Postgres => row.pg(idx).map(Decimal),
        }
    }
}

impl Time {
    /// `hour:minute:second.micro`, if it exists.
    pub fn from_hms_micro(hour: u32, minute: u32, second: u32, micro: u32) -> Option<Self> {
        chrono::NaiveTime::from_hms_micro_opt(hour, minute, second, micro).map(Time)
    }
}

/// The SQLite text form of a timestamp: fixed width, so text order is time order.
pub(crate) const SQLITE_DATETIME: &str = "%Y-%m-%d %H:%M:%S%.6f";

impl DateTime {
    /// Now, truncated to microseconds (what the database keeps).
    pub fn now() -> Self {
        DateTime::from_micros(chrono::Utc::now().timestamp_micros())
    }

    /// The instant `micros` microseconds after 1970-01-01 UTC.
    pub fn from_micros(micros: i64) -> Self {
        DateTime(chrono::DateTime::from_timestamp_micros(micros).unwrap_or_default())
    }
}

impl Date {
    /// The date `year`-`month`-`day`, if it exists.
    pub fn from_ymd(year: i32, month: u32, day: u32) -> Option<Self> {
        chrono::NaiveDate::from_ymd_opt(year, month, day).map(Date)
    }
}

impl Uuid {
    /// A random (version 4) UUID.
    pub fn new_v4() -> Self {
        Uuid(uuid::Uuid::new_v4())
    }
}

impl SqlType for DateTime {
    type Inner = DateTime;
    const KIND: ColumnKind = ColumnKind::DateTime;
    fn to_value(&self) -> Value {
        Value::ChronoDateTimeUtc(Some(self.0))
    }
    fn null() -> Value {
        Value::ChronoDateTimeUtc(None)
    }
    fn read(row: &RowRef<'_>, idx: usize) -> Result<Self, Error> {
        match row.dialect() {
            Dialect::Sqlite => {
                let text = sqlite_text(row, idx)?;
                chrono::NaiveDateTime::parse_from_str(text, SQLITE_DATETIME)
                    .map(|t| DateTime(t.and_utc()))
                    .map_err(|e| Error::decode(idx, format!("not a timestamp ({e}): {text:?}")))
            }
            Dialect::Postgres => row.pg(idx).map(DateTime),
        }
    }
}

impl SqlType for Date {
    type Inner = Date;
    const KIND: ColumnKind = ColumnKind::Date;
    fn to_value(&self) -> Value {
        Value::ChronoDate(Some(self.0))
    }
    fn null() -> Value {
        Value::ChronoDate(None)
    }
    fn read(row: &RowRef<'_>, idx: usize) -> Result<Self, Error> {
        match row.dialect() {
            Dialect::Sqlite => {
                let text = sqlite_text(row, idx)?;
                chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
                    .map(Date)
                    .map_err(|e| Error::decode(idx, format!("not a date ({e}): {text:?}")))
            }
            Dialect::Postgres => row.pg(idx).map(Date),
        }
    }
}

impl SqlType for Uuid {
    type Inner = Uuid;
    const KIND: ColumnKind = ColumnKind::Uuid;
    fn to_value(&self) -> Value {
        Value::Uuid(Some(self.0))
    }
    fn null() -> Value {
        Value::Uuid(None)
    }
    fn read(row: &RowRef<'_>, idx: usize) -> Result<Self, Error> {
        match row.dialect() {
            Dialect::Sqlite => {
                let text = sqlite_text(row, idx)?;
                uuid::Uuid::parse_str(text).map(Uuid).map_err(|e| Error::decode(idx, e.to_string()))
            }
            Dialect::Postgres => row.pg(idx).map(Uuid),
        }
    }
}

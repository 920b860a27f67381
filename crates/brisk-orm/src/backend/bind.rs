//! Binding [`Value`]s as parameters of each driver.
//!
//! Written here rather than taken from sea-query's binder crates for two reasons: PostgreSQL
//! prepares every statement, so the server decides each parameter's type and an `i64` sent for
//! an `INTEGER` parameter must be narrowed (with a range check) rather than sent as 8 bytes it
//! would refuse; and SQLite has no date, UUID or JSON types, so their text forms are chosen
//! here, once, to sort the way PostgreSQL sorts them.

use std::error::Error as StdError;

use bytes::{BufMut, BytesMut};
use rusqlite::types::{ToSqlOutput, Value as SqliteValue};
use tokio_postgres::types::{IsNull, ToSql, Type};

use crate::field_types::SQLITE_DATETIME;
use crate::value::Value;

/// A value bound to a SQLite statement.
pub(crate) struct SqliteParam<'a>(pub &'a Value);

impl rusqlite::ToSql for SqliteParam<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        let owned = |v: SqliteValue| Ok(ToSqlOutput::Owned(v));
        let int = |v: Option<i64>| owned(v.map_or(SqliteValue::Null, SqliteValue::Integer));
        let text = |v: Option<String>| owned(v.map_or(SqliteValue::Null, SqliteValue::Text));
        match self.0 {
            Value::Bool(v) => int(v.map(i64::from)),
            Value::TinyInt(v) => int(v.map(i64::from)),
            Value::SmallInt(v) => int(v.map(i64::from)),
            Value::Int(v) => int(v.map(i64::from)),
            Value::BigInt(v) => int(*v),
            Value::TinyUnsigned(v) => int(v.map(i64::from)),
            Value::SmallUnsigned(v) => int(v.map(i64::from)),
            Value::Unsigned(v) => int(v.map(i64::from)),
            Value::BigUnsigned(v) => int(v.map(|v| i64::try_from(v).unwrap_or(i64::MAX))),
            Value::Double(v) => owned(v.map_or(SqliteValue::Null, SqliteValue::Real)),
            Value::Float(v) => owned(v.map_or(SqliteValue::Null, |f| SqliteValue::Real(f64::from(f)))),
            Value::String(Some(s)) => {
                Ok(ToSqlOutput::Borrowed(rusqlite::types::ValueRef::Text(s.as_bytes())))
            }
            Value::String(None) => text(None),
            Value::Char(v) => text(v.map(String::from)),
            Value::Bytes(Some(b)) => Ok(ToSqlOutput::Borrowed(rusqlite::types::ValueRef::Blob(b))),
            Value::Bytes(None) => owned(SqliteValue::Null),
            Value::Json(v) => text(v.as_ref().map(|j| j.to_string())),
            Value::ChronoDateTimeUtc(v) => text(v.map(|t| t.format(SQLITE_DATETIME).to_string())),
            Value::ChronoDate(v) => text(v.map(|d| d.format("%Y-%m-%d").to_string())),
            Value::ChronoTime(v) => text(v.map(|t| t.format("%H:%M:%S%.6f").to_string())),
            Value::Decimal(v) => text(v.map(|d| d.to_string())),
            Value::Uuid(v) => text(v.map(|u| u.hyphenated().to_string())),
            other => Err(rusqlite::Error::ToSqlConversionFailure(
                format!("brisk-orm does not bind {other:?} on SQLite").into(),
            )),
        }
    }
}

/// A value bound to a prepared PostgreSQL statement, converted to the type the server chose.
#[derive(Debug)]
pub(crate) struct PgParam<'a>(pub &'a Value);

type BoxError = Box<dyn StdError + Sync + Send>;

fn int_to(v: i64, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
    match *ty {
        Type::INT2 => {
            i16::try_from(v).map_err(|_| format!("{v} is out of range for smallint"))?.to_sql(ty, out)
        }
        Type::INT4 => {
            i32::try_from(v).map_err(|_| format!("{v} is out of range for integer"))?.to_sql(ty, out)
        }
        Type::INT8 => v.to_sql(ty, out),
        Type::FLOAT8 => (v as f64).to_sql(ty, out),
        Type::FLOAT4 => (v as f32).to_sql(ty, out),
        Type::BOOL => (v != 0).to_sql(ty, out),
        _ => Err(format!("an integer cannot be bound as {ty}").into()),
    }
}

impl ToSql for PgParam<'_> {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        match self.0 {
            // The commonest parameters, an INTEGER or BIGINT key sent as what it is, written
            // straight (as postgres-types writes them: big-endian) rather than through
            // `int_to`'s range checks and a second `to_sql`.
            Value::Int(Some(v)) if *ty == Type::INT4 => {
                out.put_i32(*v);
                Ok(IsNull::No)
            }
            Value::BigInt(Some(v)) if *ty == Type::INT8 => {
                out.put_i64(*v);
                Ok(IsNull::No)
            }
            Value::Bool(Some(b)) => b.to_sql(ty, out),
            Value::TinyInt(Some(v)) => int_to(i64::from(*v), ty, out),
            Value::SmallInt(Some(v)) => int_to(i64::from(*v), ty, out),
            Value::Int(Some(v)) => int_to(i64::from(*v), ty, out),
            Value::BigInt(Some(v)) => int_to(*v, ty, out),
            Value::TinyUnsigned(Some(v)) => int_to(i64::from(*v), ty, out),
            Value::SmallUnsigned(Some(v)) => int_to(i64::from(*v), ty, out),
            Value::Unsigned(Some(v)) => int_to(i64::from(*v), ty, out),
            Value::BigUnsigned(Some(v)) => int_to(i64::try_from(*v).unwrap_or(i64::MAX), ty, out),
            Value::Double(Some(f)) => match *ty {
                Type::FLOAT4 => (*f as f32).to_sql(ty, out),
                _ => f.to_sql(ty, out),
            },
            Value::Float(Some(f)) => f64::from(*f).to_sql(ty, out),
            Value::String(Some(s)) => s.as_str().to_sql(ty, out),
            Value::Char(Some(c)) => c.to_string().to_sql(ty, out),
            Value::Bytes(Some(b)) => b.as_slice().to_sql(ty, out),
            Value::Json(Some(j)) => match *ty {
                Type::TEXT | Type::VARCHAR => j.to_string().to_sql(ty, out),
                _ => j.as_ref().to_sql(ty, out),
            },
            Value::ChronoDateTimeUtc(Some(t)) => match *ty {
                Type::TIMESTAMP => t.naive_utc().to_sql(ty, out),
                _ => t.to_sql(ty, out),
            },
            Value::ChronoDate(Some(d)) => d.to_sql(ty, out),
            Value::ChronoTime(Some(t)) => t.to_sql(ty, out),
            Value::Decimal(Some(d)) => match *ty {
                Type::TEXT | Type::VARCHAR => d.to_string().to_sql(ty, out),
                _ => d.to_sql(ty, out),
            },
            Value::Uuid(Some(u)) => u.to_sql(ty, out),
            _ if is_null(self.0) => Ok(IsNull::Yes),
            other => Err(format!("brisk-orm does not bind {other:?} on PostgreSQL").into()),
        }
    }

    fn accepts(_ty: &Type) -> bool {
        true
    }

    tokio_postgres::types::to_sql_checked!();
}

/// A value owned by a streaming query's parameters.
#[derive(Debug)]
pub(crate) struct PgOwned(pub Value);

impl ToSql for PgOwned {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        PgParam(&self.0).to_sql(ty, out)
    }

    fn accepts(_ty: &Type) -> bool {
        true
    }

    tokio_postgres::types::to_sql_checked!();
}

fn is_null(v: &Value) -> bool {
    matches!(
        v,
        Value::Bool(None)
            | Value::TinyInt(None)
            | Value::SmallInt(None)
            | Value::Int(None)
            | Value::BigInt(None)
            | Value::TinyUnsigned(None)
            | Value::SmallUnsigned(None)
            | Value::Unsigned(None)
            | Value::BigUnsigned(None)
            | Value::Float(None)
            | Value::Double(None)
            | Value::String(None)
            | Value::Char(None)
            | Value::Bytes(None)
            | Value::Json(None)
            | Value::ChronoDateTimeUtc(None)
            | Value::ChronoDate(None)
            | Value::ChronoTime(None)
            | Value::Decimal(None)
            | Value::Uuid(None)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bound(value: Value, ty: &Type) -> Vec<u8> {
        let mut out = BytesMut::new();
        PgParam(&value).to_sql(ty, &mut out).expect("binds");
        out.to_vec()
    }

    fn driver(value: &dyn ToSql, ty: &Type) -> Vec<u8> {
        let mut out = BytesMut::new();
        value.to_sql_checked(ty, &mut out).expect("binds");
        out.to_vec()
    }

    /// The written-out integers are the driver's bytes, and a narrower or wider parameter
    /// still goes through the range check.
    #[test]
    fn integers_bind_as_the_driver_writes_them() {
        for v in [0, 1, -1, i32::MIN, i32::MAX, 10_000] {
            assert_eq!(bound(Value::Int(Some(v)), &Type::INT4), driver(&v, &Type::INT4));
            assert_eq!(
                bound(Value::BigInt(Some(i64::from(v) * 3)), &Type::INT8),
                driver(&(i64::from(v) * 3), &Type::INT8)
            );
            assert_eq!(bound(Value::Int(Some(v)), &Type::INT8), driver(&i64::from(v), &Type::INT8));
        }
        assert_eq!(bound(Value::BigInt(Some(7)), &Type::INT4), driver(&7i32, &Type::INT4));
        let mut out = BytesMut::new();
        let too_big = PgParam(&Value::BigInt(Some(i64::from(i32::MAX) + 1))).to_sql(&Type::INT4, &mut out);
        assert!(too_big.is_err_and(|e| e.to_string().contains("out of range for integer")));
        let mut out = BytesMut::new();
        assert!(PgParam(&Value::Int(Some(40_000))).to_sql(&Type::INT2, &mut out).is_err());
    }
}

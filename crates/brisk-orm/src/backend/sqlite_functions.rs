//! SQL functions brisk-orm adds to every SQLite connection, so a query answers as it does on
//! PostgreSQL: SQLite's own `lower()` and `upper()` fold ASCII letters only, PostgreSQL's
//! fold every letter (`É` → `é`); SQLite's `/` answers NULL for a division by zero, where
//! PostgreSQL fails.

use rusqlite::functions::FunctionFlags;
use rusqlite::types::ValueRef;
use rusqlite::Connection;

/// Registers `brisk_lower(text)` and `brisk_upper(text)` (NULL stays NULL).
pub(crate) fn register(conn: &Connection) -> rusqlite::Result<()> {
    let flags =
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC | FunctionFlags::SQLITE_INNOCUOUS;
    conn.create_scalar_function("brisk_lower", 1, flags, |ctx| fold(ctx.get_raw(0), str::to_lowercase))?;
    conn.create_scalar_function("brisk_upper", 1, flags, |ctx| fold(ctx.get_raw(0), upper))?;
    conn.create_scalar_function("brisk_div", 2, flags, |ctx| divide(ctx.get_raw(0), ctx.get_raw(1)))?;
    decimals::register(conn, flags)?;
    Ok(())
}

/// The message both backends' division-by-zero errors carry.
pub(crate) const DIVISION_BY_ZERO: &str = "division by zero";

/// `a / b` as SQLite computes it (integers truncate), but a zero divisor is an error and an
/// overflow too, as on PostgreSQL; NULL stays NULL.
fn divide(a: ValueRef<'_>, b: ValueRef<'_>) -> rusqlite::Result<rusqlite::types::Value> {
    use rusqlite::types::Value;
    let fail = |m: &str| Err(rusqlite::Error::UserFunctionError(m.to_owned().into()));
    let real = |v: ValueRef<'_>| match v {
        ValueRef::Integer(i) => Some(i as f64),
        ValueRef::Real(r) => Some(r),
        _ => None,
    };
    match (a, b) {
        (ValueRef::Null, _) | (_, ValueRef::Null) => Ok(Value::Null),
        (ValueRef::Integer(_), ValueRef::Integer(0)) => fail(DIVISION_BY_ZERO),
        (ValueRef::Integer(x), ValueRef::Integer(y)) => match x.checked_div(y) {
            Some(q) => Ok(Value::Integer(q)),
            None => fail("integer out of range"),
        },
        (x, y) => match (real(x), real(y)) {
            (Some(_), Some(0.0)) => fail(DIVISION_BY_ZERO),
            (Some(n), Some(d)) => Ok(Value::Real(n / d)),
            _ => fail("brisk_div takes numbers"),
        },
    }
}

/// Upper case letter by letter, as PostgreSQL's `upper()` does: `ß` stays `ß` (Rust's
/// `to_uppercase` would make it `SS`, a different length).
fn upper(s: &str) -> String {
    s.chars()
        .map(|c| {
            let mut up = c.to_uppercase();
            match (up.next(), up.next()) {
                (Some(u), None) => u,
                _ => c,
            }
        })
        .collect()
}

fn fold(value: ValueRef<'_>, f: fn(&str) -> String) -> rusqlite::Result<Option<String>> {
    match value {
        ValueRef::Null => Ok(None),
        ValueRef::Text(t) => {
            Ok(Some(f(std::str::from_utf8(t).map_err(|e| rusqlite::Error::UserFunctionError(e.into()))?)))
        }
        other => Err(rusqlite::Error::UserFunctionError(
            format!("brisk_lower/brisk_upper take text, not {:?}", other.data_type()).into(),
        )),
    }
}

/// Exact decimals on SQLite, which stores them as their text: a sortable key for comparing
/// and ordering, arithmetic, and aggregates, all with rust_decimal.
mod decimals {
    use rusqlite::functions::{Aggregate, Context, FunctionFlags};
    use rusqlite::types::ValueRef;
    use rusqlite::Connection;
    use rust_decimal::Decimal;

    use super::DIVISION_BY_ZERO;

    fn fail<T>(message: impl Into<String>) -> rusqlite::Result<T> {
        Err(rusqlite::Error::UserFunctionError(message.into().into()))
    }

    /// The decimal of an argument; NULL is `None`.
    fn arg(value: ValueRef<'_>) -> rusqlite::Result<Option<Decimal>> {
        match value {
            ValueRef::Null => Ok(None),
            ValueRef::Text(t) => {
                match std::str::from_utf8(t).ok().and_then(|s| Decimal::from_str_exact(s.trim()).ok()) {
                    Some(d) => Ok(Some(d)),
                    None => fail(format!("not a decimal: {:?}", String::from_utf8_lossy(t))),
                }
            }
            ValueRef::Integer(i) => Ok(Some(Decimal::from(i))),
            ValueRef::Real(r) => match Decimal::try_from(r) {
                Ok(d) => Ok(Some(d)),
                Err(_) => fail(format!("{r} has no exact decimal")),
            },
            ValueRef::Blob(_) => fail("a blob is not a decimal"),
        }
    }

    /// A text that sorts as the number does: sign, then 30 integer and 28 fraction digits
    /// (a negative number's digits complemented, so that -2 sorts before -1).
    pub(super) fn key(d: Decimal) -> String {
        let text = d.abs().to_string();
        let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
        let digits = format!("{int:0>30}{frac:0<28}");
        if d.is_sign_negative() && !d.is_zero() {
            let complement: String = digits.chars().map(|c| char::from(b'9' - (c as u8 - b'0'))).collect();
            format!("0{complement}")
        } else {
            format!("1{digits}")
        }
    }

    fn binary(
        ctx: &Context<'_>,
        op: fn(Decimal, Decimal) -> rusqlite::Result<Decimal>,
    ) -> rusqlite::Result<Option<String>> {
        match (arg(ctx.get_raw(0))?, arg(ctx.get_raw(1))?) {
            (Some(a), Some(b)) => op(a, b).map(|d| Some(d.to_string())),
            _ => Ok(None),
        }
    }

    fn checked(result: Option<Decimal>) -> rusqlite::Result<Decimal> {
        result.map_or_else(|| fail("numeric field overflow"), Ok)
    }

    /// `SUM`, `MIN`, `MAX` or `AVG` of decimals.
    struct Fold(fn(&mut (Option<Decimal>, u64), Decimal) -> rusqlite::Result<()>, bool);

    impl Aggregate<(Option<Decimal>, u64), Option<String>> for Fold {
        fn init(&self, _: &mut Context<'_>) -> rusqlite::Result<(Option<Decimal>, u64)> {
            Ok((None, 0))
        }
        fn step(&self, ctx: &mut Context<'_>, acc: &mut (Option<Decimal>, u64)) -> rusqlite::Result<()> {
            match arg(ctx.get_raw(0))? {
                Some(d) => {
                    acc.1 += 1;
                    (self.0)(acc, d)
                }
                None => Ok(()),
            }
        }
        fn finalize(
            &self,
            _: &mut Context<'_>,
            acc: Option<(Option<Decimal>, u64)>,
        ) -> rusqlite::Result<Option<String>> {
            match acc {
                Some((Some(total), n)) if self.1 => {
                    checked(total.checked_div(Decimal::from(n))).map(|d| Some(d.to_string()))
                }
                Some((Some(d), _)) => Ok(Some(d.to_string())),
                _ => Ok(None),
            }
        }
    }

    pub(super) fn register(conn: &Connection, flags: FunctionFlags) -> rusqlite::Result<()> {
        conn.create_scalar_function("brisk_dec_key", 1, flags, |ctx| Ok(arg(ctx.get_raw(0))?.map(key)))?;
        conn.create_scalar_function("brisk_dec_add", 2, flags, |ctx| {
            binary(ctx, |a, b| checked(a.checked_add(b)))
        })?;
        conn.create_scalar_function("brisk_dec_sub", 2, flags, |ctx| {
            binary(ctx, |a, b| checked(a.checked_sub(b)))
        })?;
        conn.create_scalar_function("brisk_dec_mul", 2, flags, |ctx| {
            binary(ctx, |a, b| checked(a.checked_mul(b)))
        })?;
        conn.create_scalar_function("brisk_dec_div", 2, flags, |ctx| {
            binary(ctx, |a, b| if b.is_zero() { fail(DIVISION_BY_ZERO) } else { checked(a.checked_div(b)) })
        })?;
        let add = |acc: &mut (Option<Decimal>, u64), d: Decimal| {
            acc.0 = Some(checked(acc.0.unwrap_or_default().checked_add(d))?);
            Ok(())
        };
        conn.create_aggregate_function("brisk_dec_sum", 1, flags, Fold(add, false))?;
        conn.create_aggregate_function("brisk_dec_avg", 1, flags, Fold(add, true))?;
        let min = |acc: &mut (Option<Decimal>, u64), d: Decimal| {
            acc.0 = Some(acc.0.map_or(d, |m| m.min(d)));
            Ok(())
        };
        let max = |acc: &mut (Option<Decimal>, u64), d: Decimal| {
            acc.0 = Some(acc.0.map_or(d, |m| m.max(d)));
            Ok(())
        };
        conn.create_aggregate_function("brisk_dec_min", 1, flags, Fold(min, false))?;
        conn.create_aggregate_function("brisk_dec_max", 1, flags, Fold(max, false))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_non_ascii_letters_like_postgres() {
        let conn = Connection::open_in_memory().unwrap();
        register(&conn).unwrap();
        let (lower, upper): (String, String) = conn
            .query_row("SELECT brisk_lower('ÉCOLE Straße'), brisk_upper('école straße')", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!(lower, "école straße");
        assert_eq!(upper, "ÉCOLE STRAßE");
        let null: Option<String> = conn.query_row("SELECT brisk_lower(NULL)", [], |r| r.get(0)).unwrap();
        assert_eq!(null, None);
    }

    #[test]
    fn decimal_keys_sort_as_numbers() {
        let mut values: Vec<rust_decimal::Decimal> =
            ["-100.5", "-2", "-1.99", "0", "0.001", "1.1", "1.10", "10", "79228162514264337593543950335"]
                .iter()
                .map(|s| s.parse().unwrap())
                .collect();
        values.reverse();
        let mut keyed: Vec<(String, rust_decimal::Decimal)> =
            values.iter().map(|d| (decimals::key(*d), *d)).collect();
        keyed.sort();
        let sorted: Vec<String> = keyed.iter().map(|(_, d)| d.to_string()).collect();
        assert_eq!(
            sorted,
            ["-100.5", "-2", "-1.99", "0", "0.001", "1.10", "1.1", "10", "79228162514264337593543950335"]
        );
        assert_eq!(decimals::key("1.1".parse().unwrap()), decimals::key("1.10".parse().unwrap()));
    }

    #[test]
    fn division_truncates_integers_and_refuses_zero() {
        let conn = Connection::open_in_memory().unwrap();
        register(&conn).unwrap();
        let (i, r): (i64, f64) = conn
            .query_row("SELECT brisk_div(-7, 2), brisk_div(7.0, 2)", [], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap();
        assert_eq!((i, r), (-3, 3.5));
        let e = conn.query_row("SELECT brisk_div(1, 0)", [], |r| r.get::<_, i64>(0)).unwrap_err();
        assert!(e.to_string().contains(DIVISION_BY_ZERO), "{e}");
        assert!(conn.query_row("SELECT brisk_div(1.5, 0.0)", [], |r| r.get::<_, f64>(0)).is_err());
        assert!(conn
            .query_row("SELECT brisk_div(-9223372036854775808, -1)", [], |r| r.get::<_, i64>(0))
            .is_err());
    }
}

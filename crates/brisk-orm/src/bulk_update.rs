//! [`QuerySet::bulk_update`]: many rows, each with its own values, in one UPDATE statement
//! (Django's `bulk_update`, written as TechEmpower's leaders write it: a join with a VALUES
//! list, not one CASE per column).

use std::any::TypeId;
use std::cell::RefCell;
use std::fmt::Write as _;
use std::sync::Arc;

use crate::backend::{Dialect, Executor, Sql};
use crate::condition::Operand;
use crate::error::Error;
use crate::model::Model;
use crate::queryset::{Columns, QuerySet};
use crate::schema::column_type;
use crate::start_over::StartOver;
use crate::value::{ColumnKind, Value};
use smallvec::SmallVec;

/// At most this many bound values per statement (PostgreSQL allows 65535, SQLite 32766).
const MAX_VALUES: usize = 30_000;

impl<M: Model> QuerySet<M> {
    /// Writes `fields` of every row in `rows` to the row with its primary key, each row its
    /// own values, in one statement per 30 000 values; returns how many rows were updated
    /// (rows whose key is not in the table are skipped). `auto_now` fields are not touched
    /// unless listed.
    ///
    /// ```ignore
    /// for w in &mut worlds { w.random_number = rng.random_range(1..=10_000); }
    /// World::objects().bulk_update(&worlds, (World::random_number(),), &db).await?;
    /// // PostgreSQL: UPDATE "world" SET "randomnumber" = "v"."randomnumber"
    /// //   FROM (VALUES ($1::BIGINT, $2::INTEGER), ...) AS "v"("id", "randomnumber") WHERE "world"."id" = "v"."id"
    /// ```
    ///
    /// It updates the rows by key: call it on `M::objects()`, not on a filtered QuerySet
    /// (refused with [`Error::Config`]). Listing the primary key, a related field's column or
    /// a date part is refused too. Rows in several statements are not one transaction unless
    /// the call runs in [`Database::atomic`](crate::Database::atomic).
    pub async fn bulk_update<C: Columns<M>>(
        &self,
        rows: &[M],
        fields: C,
        ex: &impl Executor,
    ) -> Result<u64, Error> {
        if !self.is_whole_table() {
            return Err(Error::Config(
                "bulk_update() on a filtered or sliced QuerySet: call it on M::objects()".into(),
            ));
        }
        let meta = M::META;
        let pk = meta.primary_key();
        let pk_at = meta.fields.iter().position(|f| f.primary_key).unwrap_or(0);
        let mut set: SmallVec<[u16; 8]> = SmallVec::new();
        for (operand, _, _) in fields.operands().0 {
            let column = match operand {
                Operand::Column { column, path, .. } if path.len() == 0 => column,
                _ => {
                    return Err(Error::Config(
                        "bulk_update() sets the model's own fields, not related ones".into(),
                    ))
                }
            };
            let at =
                meta.fields.iter().position(|f| f.column == column && !f.primary_key).ok_or_else(|| {
                    Error::Config(format!(
                        "bulk_update() cannot set {column}: it is the primary key or not a column"
                    ))
                })?;
            // A model's fields are counted by the derive; u16 holds any real model's.
            let at = u16::try_from(at).map_err(|_| Error::Config("bulk_update(): too many fields".into()))?;
            if !set.contains(&at) {
                set.push(at);
            }
        }
        if rows.is_empty() || set.is_empty() {
            return Ok(0);
        }
        let target = ex.target();
        let dialect = target.dialect();
        let per_row = set.len() + 1;
        let mut updated = 0;
        for chunk in rows.chunks((MAX_VALUES / per_row).max(1)) {
            let mut values = Vec::with_capacity(chunk.len() * per_row);
            for row in chunk {
                if row.pk_is_unset() {
                    return Err(Error::Config(format!(
                        "bulk_update() of a {} never saved (no primary key)",
                        meta.name
                    )));
                }
                values.push(row.value_at(pk_at).unwrap_or_else(|| row.pk_value()));
                values.extend(set.iter().map(|&i| row.value_at(usize::from(i)).unwrap_or(Value::Bool(None))));
            }
            let key = (TypeId::of::<M>(), dialect, set.clone(), chunk.len());
            let sql = cached_statement(key, || {
                let kinds: Vec<(ColumnKind, &'static str)> = std::iter::once((pk.kind, pk.column))
                    .chain(
                        set.iter()
                            .map(|&i| (meta.fields[usize::from(i)].kind, meta.fields[usize::from(i)].column)),
                    )
                    .collect();
                statement(dialect, meta.table, &kinds, chunk.len())
            });
            updated += target.execute_sql(Sql::Shared(sql), values).await?;
        }
        Ok(updated)
    }
}

/// What a statement of [`statement`] depends on: the model (its table and columns), the
/// dialect, the fields set (their indexes, in order) and the number of rows.
type StatementKey = (TypeId, Dialect, SmallVec<[u16; 8]>, usize);

/// Statements kept per thread before the cache starts over (a model's updates come in a few
/// shapes: its fields and the batch sizes the app uses).
const CACHED_STATEMENTS: usize = 256;

thread_local! {
    static STATEMENTS: RefCell<StartOver<StatementKey, Arc<str>>> = RefCell::new(StartOver::new(CACHED_STATEMENTS));
}

/// The statement of `key`, written by `write` once per thread: the same `bulk_update` of 20
/// rows is the same text every time (writing it was a tenth of a TechEmpower `/updates`
/// request's instructions). The key is numbers only: keyed by column names and kinds it was
/// hashed with SipHash and compared string by string on every call.
fn cached_statement(key: StatementKey, write: impl FnOnce() -> String) -> Arc<str> {
    STATEMENTS.with(|cache| {
        let mut cache = cache.borrow_mut();
        if let Some(sql) = cache.get(&key) {
            return sql.clone();
        }
        let sql: Arc<str> = write().into();
        cache.insert(key, sql.clone());
        sql
    })
}

fn quote(out: &mut String, ident: &str) {
    out.push('"');
    out.push_str(&ident.replace('"', "\"\""));
    out.push('"');
}

/// `UPDATE t SET c = v.c ... FROM (VALUES ...) AS v(...) WHERE t.pk = v.pk` for `rows` rows of
/// the columns `kinds` (the primary key first). PostgreSQL casts each value to its column's
/// type, so the VALUES list is typed (TEXT for text: an explicit cast to VARCHAR(n) would cut a
/// long value where the assignment refuses it); SQLite names the VALUES columns itself.
fn statement(dialect: Dialect, table: &str, kinds: &[(ColumnKind, &str)], rows: usize) -> String {
    let sqlite = dialect == Dialect::Sqlite;
    let alias = |i: usize, out: &mut String| {
        if sqlite {
            let _ = write!(out, "\"v\".\"column{}\"", i + 1);
        } else {
            out.push_str("\"v\".");
            quote(out, kinds[i].1);
        }
    };
    let mut sql = String::from("UPDATE ");
    quote(&mut sql, table);
    sql.push_str(" SET ");
    for (i, (_, column)) in kinds.iter().enumerate().skip(1) {
        if i > 1 {
            sql.push_str(", ");
        }
        quote(&mut sql, column);
        sql.push_str(" = ");
        alias(i, &mut sql);
    }
    sql.push_str(" FROM (VALUES ");
    let mut n = 0;
    for r in 0..rows {
        sql.push_str(if r == 0 { "(" } else { ", (" });
        for (i, (kind, _)) in kinds.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            n += 1;
            if sqlite {
                sql.push('?');
            } else {
                let _ = write!(sql, "CAST(${n} AS {})", column_type(*kind, None, dialect));
            }
        }
        sql.push(')');
    }
    sql.push_str(") AS \"v\"");
    if !sqlite {
        sql.push('(');
        for (i, (_, column)) in kinds.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            quote(&mut sql, column);
        }
        sql.push(')');
    }
    sql.push_str(" WHERE ");
    quote(&mut sql, table);
    sql.push('.');
    quote(&mut sql, kinds[0].1);
    sql.push_str(" = ");
    alias(0, &mut sql);
    sql
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_statement_is_written_once_per_shape() {
        let kinds = [(ColumnKind::AutoBigInt, "id"), (ColumnKind::Int, "randomNumber")];
        let key =
            |dialect, fields: &[u16], rows| (TypeId::of::<u8>(), dialect, SmallVec::from_slice(fields), rows);
        let written = std::cell::Cell::new(0);
        let write = |dialect, rows| {
            written.set(written.get() + 1);
            statement(dialect, "world", &kinds, rows)
        };
        let first = cached_statement(key(Dialect::Postgres, &[1], 20), || write(Dialect::Postgres, 20));
        let again = cached_statement(key(Dialect::Postgres, &[1], 20), || write(Dialect::Postgres, 20));
        assert!(Arc::ptr_eq(&first, &again), "the same text, not written again");
        assert_eq!(written.get(), 1);
        assert_eq!(&*first, statement(Dialect::Postgres, "world", &kinds, 20));
        for (dialect, fields, rows) in [
            (Dialect::Postgres, &[1][..], 19),
            (Dialect::Sqlite, &[1][..], 20),
            (Dialect::Postgres, &[1, 2][..], 20),
            (Dialect::Postgres, &[2, 1][..], 20),
        ] {
            let other = cached_statement(key(dialect, fields, rows), || write(dialect, rows));
            assert!(!Arc::ptr_eq(&first, &other), "{dialect:?} {fields:?} {rows} is a shape of its own");
        }
        assert_eq!(written.get(), 5);
        let model = cached_statement(
            (TypeId::of::<u16>(), Dialect::Postgres, SmallVec::from_slice(&[1]), 20),
            || write(Dialect::Postgres, 20),
        );
        assert!(!Arc::ptr_eq(&first, &model), "another model's statement is its own");
    }

    #[test]
    fn one_statement_joins_a_typed_values_list() {
        let kinds = [(ColumnKind::AutoBigInt, "id"), (ColumnKind::Int, "randomNumber")];
        assert_eq!(
            statement(Dialect::Postgres, "world", &kinds, 2),
            "UPDATE \"world\" SET \"randomNumber\" = \"v\".\"randomNumber\" FROM (VALUES (CAST($1 AS BIGINT), CAST($2 AS INTEGER)), (CAST($3 AS BIGINT), CAST($4 AS INTEGER))) AS \"v\"(\"id\", \"randomNumber\") WHERE \"world\".\"id\" = \"v\".\"id\""
        );
        assert_eq!(
            statement(Dialect::Sqlite, "world", &kinds, 2),
            "UPDATE \"world\" SET \"randomNumber\" = \"v\".\"column2\" FROM (VALUES (?, ?), (?, ?)) AS \"v\" WHERE \"world\".\"id\" = \"v\".\"column1\""
        );
    }
}

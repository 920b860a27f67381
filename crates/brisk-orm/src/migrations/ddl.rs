//! The SQL of each operation on each backend, from the state before it and after it.
//!
//! PostgreSQL alters in place (its DDL is transactional). SQLite's `ALTER TABLE` renames and
//! little else, so every other change rebuilds the table as Django's `_remake_table` does:
//! create the new table, copy the rows (a `STRICT` table refuses a value that does not
//! convert, so no row is silently changed), drop the old one, rename the new one, make the
//! indexes again, and check the foreign keys. The executor runs it with foreign keys off (set
//! outside the transaction, as SQLite requires), so dropping the old table deletes nothing.

use serde::{Deserialize, Serialize};

use super::operation::Operation;
use super::state::{Constraint, FieldState, ModelState, ProjectState};
use crate::backend::Dialect;
use crate::error::Error;
use crate::schema::{index_name, literal, quote, Ddl};
use crate::value::ColumnKind;

/// A value that fills the rows already there when a NOT NULL column is added or a nullable
/// one becomes NOT NULL (`fill = 0`, `fill = "draft"` in the file).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Fill {
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// Text (also dates, times, decimals and UUIDs, in their text form).
    Text(String),
}

impl Fill {
    /// `value` as a fill, in the text form the backends store (`None` for bytes and NULL).
    pub fn from_value(value: &crate::value::Value) -> Option<Fill> {
        use crate::value::Value as V;
        Some(match value {
            V::Bool(Some(b)) => Fill::Bool(*b),
            V::SmallInt(Some(i)) => Fill::Int(i64::from(*i)),
            V::Int(Some(i)) => Fill::Int(i64::from(*i)),
            V::BigInt(Some(i)) => Fill::Int(*i),
            V::Double(Some(f)) => Fill::Float(*f),
            V::String(Some(s)) => Fill::Text(s.clone()),
            V::Json(Some(j)) => Fill::Text(j.to_string()),
            V::ChronoDateTimeUtc(Some(t)) => {
                Fill::Text(t.format(crate::field_types::SQLITE_DATETIME).to_string())
            }
            V::ChronoDate(Some(d)) => Fill::Text(d.format("%Y-%m-%d").to_string()),
            V::ChronoTime(Some(t)) => Fill::Text(t.format("%H:%M:%S%.6f").to_string()),
            V::Decimal(Some(d)) => Fill::Text(d.to_string()),
            V::Uuid(Some(u)) => Fill::Text(u.hyphenated().to_string()),
            _ => return None,
        })
    }

    /// The value as an SQL literal for `dialect`.
    pub fn sql(&self, dialect: Dialect) -> String {
        match (self, dialect) {
            (Fill::Bool(b), Dialect::Postgres) => if *b { "TRUE" } else { "FALSE" }.into(),
            (Fill::Bool(b), Dialect::Sqlite) => if *b { "1" } else { "0" }.into(),
            (Fill::Int(i), _) => i.to_string(),
            (Fill::Float(f), _) => format!("{f:?}"),
            (Fill::Text(s), _) => literal(s),
        }
    }
}

/// One thing the executor does.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Run this SQL.
    Sql(String),
    /// SQLite: fail when a row of this table breaks a foreign key.
    ForeignKeyCheck(String),
    /// Run the data migration registered under this name.
    Rust(String),
}

fn sql(s: impl Into<String>) -> Step {
    Step::Sql(s.into())
}

fn model<'a>(state: &'a ProjectState, label: &str) -> Result<&'a ModelState, Error> {
    state.models.get(label).ok_or_else(|| Error::Config(format!("there is no model {label}")))
}

/// The steps of `op`, which takes the database from `before` to `after`.
pub fn steps(
    op: &Operation,
    before: &ProjectState,
    after: &ProjectState,
    dialect: Dialect,
) -> Result<Vec<Step>, Error> {
    let ddl = Ddl::new(after, dialect);
    let pg = dialect == Dialect::Postgres;
    Ok(match op {
        Operation::CreateModel { model } => {
            let mut out = vec![sql(ddl.table_sql(model, &model.table, false)?)];
            out.extend(ddl.index_sql(model).into_iter().map(sql));
            for many in model.many_to_many.iter().filter(|m| m.through_model.is_none()) {
                out.extend(ddl.through_sql(model, many)?.into_iter().map(sql));
            }
            out
        }
        Operation::DeleteModel { model } => {
            let mut out: Vec<Step> = model
                .many_to_many
                .iter()
                .filter(|m| m.through_model.is_none())
                .map(|m| sql(format!("DROP TABLE {}", quote(&m.through))))
                .collect();
            out.push(sql(format!("DROP TABLE {}", quote(&model.table))));
            out
        }
        Operation::RenameModel { old, .. } => {
            let was = model(before, old)?;
            let now = after
                .models
                .values()
                .find(|m| m.app == was.app && m.table != was.table && m.fields == was.fields)
                .or_else(|| after.models.values().find(|m| m.label() != *old && m.fields == was.fields))
                .ok_or_else(|| Error::Config(format!("the renamed model {old} is not in the state after")))?;
            if was.table == now.table {
                // A table named explicitly (`#[model(table = "...")]`) keeps its name.
                return Ok(Vec::new());
            }
            let mut out =
                vec![sql(format!("ALTER TABLE {} RENAME TO {}", quote(&was.table), quote(&now.table)))];
            out.extend(renamed_names(was, now, dialect));
            out
        }
        Operation::AddField { model: label, field, fill } => {
            let now = model(after, label)?;
            if pg {
                let mut def = ddl.column_def(field)?;
                // A column with a default of its own fills the rows with it and keeps it.
                let fill = fill.as_ref().filter(|_| field.default.is_none());
                if let Some(fill) = fill {
                    def.push_str(&format!(" DEFAULT {}", fill.sql(dialect)));
                }
                let table = quote(&now.table);
                let mut out = vec![sql(format!("ALTER TABLE {table} ADD COLUMN {def}"))];
                if fill.is_some() {
                    out.push(sql(format!(
                        "ALTER TABLE {table} ALTER COLUMN {} DROP DEFAULT",
                        quote(field.column())
                    )));
                }
                if field.index && !field.unique {
                    out.push(sql(ddl.create_index(now, std::slice::from_ref(&field.name))));
                }
                out
            } else {
                remake(model(before, label)?, now, &ddl, |f| match before_field(before, label, &f.name) {
                    Some(old) => Some(quote(old.column())),
                    None => Some(
                        fill.as_ref().or(field.default.as_ref()).map_or("NULL".into(), |v| v.sql(dialect)),
                    ),
                })?
            }
        }
        Operation::RemoveField { model: label, field } => {
            let now = model(after, label)?;
            if pg {
                vec![sql(format!("ALTER TABLE {} DROP COLUMN {}", quote(&now.table), quote(field.column())))]
            } else {
                remake(model(before, label)?, now, &ddl, |f| {
                    before_field(before, label, &f.name).map(|o| quote(o.column()))
                })?
            }
        }
        Operation::AlterField { model: label, field, fill } => {
            let was = before_field(before, label, &field.name)
                .ok_or_else(|| Error::Config(format!("{label} has no field {}", field.name)))?;
            let now = model(after, label)?;
            if pg {
                alter_postgres(&ddl, now, was, field, fill.as_ref())?
            } else {
                remake(model(before, label)?, now, &ddl, |f| {
                    let old = before_field(before, label, &f.name)?;
                    let column = quote(old.column());
                    Some(match (f.name == field.name, fill) {
                        (true, Some(fill)) if was.nullable && !field.nullable => {
                            format!("COALESCE({column}, {})", fill.sql(dialect))
                        }
                        _ => column,
                    })
                })?
            }
        }
        Operation::RenameField { model: label, old, new } => {
            let was = before_field(before, label, old)
                .ok_or_else(|| Error::Config(format!("{label} has no field {old}")))?;
            let m = model(after, label)?;
            let now = m.field(new).ok_or_else(|| Error::Config(format!("{label} has no field {new}")))?;
            let mut out = Vec::new();
            if was.column() != now.column() {
                out.push(sql(format!(
                    "ALTER TABLE {} RENAME COLUMN {} TO {}",
                    quote(&m.table),
                    quote(was.column()),
                    quote(now.column())
                )));
                // Index names follow their columns.
                let b = model(before, label)?;
                out.extend(renamed_names(b, m, dialect));
            }
            out
        }
        Operation::AddIndex { model: label, fields } => {
            vec![sql(ddl.create_index(model(after, label)?, fields))]
        }
        Operation::RemoveIndex { model: label, fields } => {
            vec![sql(ddl.drop_index(model(before, label)?, fields))]
        }
        Operation::AddConstraint { model: label, constraint }
        | Operation::RemoveConstraint { model: label, constraint } => {
            let adding = matches!(op, Operation::AddConstraint { .. });
            let now = model(after, label)?;
            if pg {
                let table = quote(&now.table);
                let name = constraint_name(if adding { now } else { model(before, label)? }, constraint);
                if adding {
                    let body = match constraint {
                        Constraint::Unique { fields } => {
                            let cols: Vec<String> = fields
                                .iter()
                                .filter_map(|n| now.field(n))
                                .map(|f| quote(f.column()))
                                .collect();
                            format!("UNIQUE ({})", cols.join(", "))
                        }
                        Constraint::Check { sql: check, .. } => format!("CHECK ({check})"),
                    };
                    vec![sql(format!("ALTER TABLE {table} ADD CONSTRAINT {} {body}", quote(&name)))]
                } else {
                    vec![sql(format!("ALTER TABLE {table} DROP CONSTRAINT {}", quote(&name)))]
                }
            } else {
                remake(model(before, label)?, now, &ddl, |f| {
                    before_field(before, label, &f.name).map(|o| quote(o.column()))
                })?
            }
        }
        // An explicit through model's table is made and dropped by its own operations.
        Operation::AddManyToMany { field, .. } | Operation::RemoveManyToMany { field, .. }
            if field.through_model.is_some() =>
        {
            Vec::new()
        }
        Operation::AddManyToMany { model: label, field } => {
            ddl.through_sql(model(after, label)?, field)?.into_iter().map(sql).collect()
        }
        Operation::RemoveManyToMany { field, .. } => {
            vec![sql(format!("DROP TABLE {}", quote(&field.through)))]
        }
        Operation::RunRust { forward, .. } => vec![Step::Rust(forward.clone())],
        Operation::RunSql { sqlite, postgres, .. } => {
            vec![sql(if pg { postgres.clone() } else { sqlite.clone() })]
        }
    })
}

fn before_field<'a>(before: &'a ProjectState, label: &str, name: &str) -> Option<&'a FieldState> {
    before.models.get(label).and_then(|m| m.field(name))
}

/// The name PostgreSQL gives a constraint, and SQLite's `CHECK` names.
fn constraint_name(model: &ModelState, constraint: &Constraint) -> String {
    match constraint {
        Constraint::Unique { fields } => {
            let cols: Vec<&str> =
                fields.iter().map(|n| model.field(n).map_or(n.as_str(), |f| f.column())).collect();
            format!("{}_{}_key", model.table, cols.join("_"))
        }
        Constraint::Check { name, .. } => format!("{}_{name}", model.table),
    }
}

/// The names that follow a table's or a column's name (indexes; on PostgreSQL also the
/// constraints it named), moved after a rename.
fn renamed_names(was: &ModelState, now: &ModelState, dialect: Dialect) -> Vec<Step> {
    let mut out = Vec::new();
    let index_sets = |m: &ModelState| -> Vec<Vec<String>> {
        let mut sets: Vec<Vec<String>> = m
            .fields
            .iter()
            .filter(|f| f.index && !f.unique && !f.primary_key)
            .map(|f| vec![f.column().to_owned()])
            .collect();
        sets.extend(m.indexes.iter().map(|set| {
            set.iter().map(|n| m.field(n).map_or(n.clone(), |f| f.column().to_owned())).collect()
        }));
        sets
    };
    for (old, new) in index_sets(was).iter().zip(index_sets(now).iter()) {
        let old_name = index_name(&was.table, &old.iter().map(String::as_str).collect::<Vec<_>>());
        let new_name = index_name(&now.table, &new.iter().map(String::as_str).collect::<Vec<_>>());
        if old_name == new_name {
            continue;
        }
        match dialect {
            Dialect::Postgres => {
                out.push(sql(format!("ALTER INDEX {} RENAME TO {}", quote(&old_name), quote(&new_name))))
            }
            Dialect::Sqlite => {
                out.push(sql(format!("DROP INDEX IF EXISTS {}", quote(&old_name))));
                let cols: Vec<String> = new.iter().map(|c| quote(c)).collect();
                out.push(sql(format!(
                    "CREATE INDEX {} ON {} ({})",
                    quote(&new_name),
                    quote(&now.table),
                    cols.join(", ")
                )));
            }
        }
    }
    if dialect == Dialect::Postgres {
        for (old, new) in was.fields.iter().zip(&now.fields) {
            for (suffix, applies) in [
                ("key", old.unique),
                ("fkey", old.references.is_some()),
                ("check", old.kind == ColumnKind::Choice),
            ] {
                let from = format!("{}_{}_{suffix}", was.table, old.column());
                let to = format!("{}_{}_{suffix}", now.table, new.column());
                if applies && from != to {
                    out.push(sql(format!(
                        "ALTER TABLE {} RENAME CONSTRAINT {} TO {}",
                        quote(&now.table),
                        quote(&from),
                        quote(&to)
                    )));
                }
            }
        }
    }
    out
}

/// PostgreSQL's ALTERs from field `was` to field `now` of `model`.
fn alter_postgres(
    ddl: &Ddl<'_>,
    model: &ModelState,
    was: &FieldState,
    now: &FieldState,
    fill: Option<&Fill>,
) -> Result<Vec<Step>, Error> {
    let table = quote(&model.table);
    let column = quote(now.column());
    let mut out = Vec::new();
    // A field has an index of its own when it is indexed and not unique (unique has one).
    let (had_index, has_index) = (was.index && !was.unique, now.index && !now.unique);
    let constraint = |suffix: &str| quote(&format!("{}_{}_{suffix}", model.table, now.column()));
    if was.kind == ColumnKind::Choice && (now.kind != ColumnKind::Choice || was.choices != now.choices) {
        out.push(sql(format!("ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {}", constraint("check"))));
    }
    if was.references.is_some() && (was.references != now.references || was.on_delete != now.on_delete) {
        out.push(sql(format!("ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {}", constraint("fkey"))));
    }
    if was.unique && !now.unique {
        out.push(sql(format!("ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {}", constraint("key"))));
    }
    if had_index && !has_index {
        out.push(sql(ddl.drop_index(model, std::slice::from_ref(&now.name))));
    }
    let (old_type, new_type) = (
        crate::schema::column_type(was.kind, was.max_length, Dialect::Postgres),
        crate::schema::column_type(now.kind, now.max_length, Dialect::Postgres),
    );
    if old_type != new_type {
        // USING converts every row, and fails the whole migration on one that does not.
        out.push(sql(format!(
            "ALTER TABLE {table} ALTER COLUMN {column} TYPE {new_type} USING {column}::{new_type}"
        )));
    }
    if was.nullable && !now.nullable {
        if let Some(fill) = fill {
            out.push(sql(format!(
                "UPDATE {table} SET {column} = {} WHERE {column} IS NULL",
                fill.sql(Dialect::Postgres)
            )));
        }
        out.push(sql(format!("ALTER TABLE {table} ALTER COLUMN {column} SET NOT NULL")));
    } else if !was.nullable && now.nullable {
        out.push(sql(format!("ALTER TABLE {table} ALTER COLUMN {column} DROP NOT NULL")));
    }
    if now.unique && !was.unique {
        out.push(sql(format!("ALTER TABLE {table} ADD CONSTRAINT {} UNIQUE ({column})", constraint("key"))));
    }
    if let Some(label) = &now.references {
        if was.references != now.references || was.on_delete != now.on_delete {
            let def = ddl.column_def(now)?;
            let references = def
                .split_once(" REFERENCES ")
                .map(|(_, r)| r.split(" CHECK (").next().unwrap_or(r).to_owned());
            if let Some(references) = references {
                out.push(sql(format!(
                    "ALTER TABLE {table} ADD CONSTRAINT {} FOREIGN KEY ({column}) REFERENCES {references}",
                    constraint("fkey")
                )));
            } else {
                return Err(Error::Config(format!("cannot point {} at {label}", now.name)));
            }
        }
    }
    if now.kind == ColumnKind::Choice && (was.kind != ColumnKind::Choice || was.choices != now.choices) {
        let check = ddl.column_checks(now).pop().unwrap_or_else(|| "TRUE".into());
        out.push(sql(format!("ALTER TABLE {table} ADD CONSTRAINT {} CHECK ({check})", constraint("check"))));
    }
    if has_index && !had_index {
        out.push(sql(ddl.create_index(model, std::slice::from_ref(&now.name))));
    }
    Ok(out)
}

/// SQLite's rebuild of `was` into `now`: `source` gives, for each new column, the expression
/// that fills it from the old table (or `None` for a column to leave empty).
fn remake(
    was: &ModelState,
    now: &ModelState,
    ddl: &Ddl<'_>,
    source: impl Fn(&FieldState) -> Option<String>,
) -> Result<Vec<Step>, Error> {
    let table = quote(&now.table);
    let temp = format!("new__{}", now.table);
    let mut out = vec![sql(ddl.table_sql(now, &temp, false)?)];
    let (mut columns, mut exprs) = (Vec::new(), Vec::new());
    for field in &now.fields {
        if let Some(expr) = source(field) {
            columns.push(quote(field.column()));
            exprs.push(expr);
        }
    }
    out.push(sql(format!(
        "INSERT INTO {} ({}) SELECT {} FROM {}",
        quote(&temp),
        columns.join(", "),
        exprs.join(", "),
        quote(&was.table)
    )));
    // AUTOINCREMENT never hands out an id again, even one whose row was deleted: keep the
    // old table's high-water mark.
    if now.fields.iter().any(|f| f.primary_key && f.kind == ColumnKind::AutoBigInt) {
        out.push(sql(format!(
            "INSERT INTO sqlite_sequence (name, seq) SELECT {}, seq FROM sqlite_sequence WHERE name = {} \
             AND NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = {})",
            literal(&temp),
            literal(&was.table),
            literal(&temp)
        )));
        out.push(sql(format!(
            "UPDATE sqlite_sequence SET seq = MAX(seq, COALESCE((SELECT seq FROM sqlite_sequence WHERE name = {}), 0)) WHERE name = {}",
            literal(&was.table),
            literal(&temp)
        )));
    }
    out.push(sql(format!("DROP TABLE {}", quote(&was.table))));
    out.push(sql(format!("ALTER TABLE {} RENAME TO {table}", quote(&temp))));
    out.extend(ddl.index_sql(now).into_iter().map(sql));
    out.push(Step::ForeignKeyCheck(now.table.clone()));
    Ok(out)
}

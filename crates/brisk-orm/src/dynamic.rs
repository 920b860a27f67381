//! Models handled by field name at run time, with values as JSON: what the admin needs to
//! list, filter, sort, search, make and change rows of any registered model. Only fields the
//! model declares can be named, and every value is bound by the field's kind, never spliced
//! into SQL.
//!
//! ```no_run
//! # async fn demo(db: brisk_orm::Database) -> Result<(), brisk_orm::Error> {
//! # #[derive(brisk_orm::Model)] struct Post { #[model(primary_key)] id: brisk_orm::AutoId, title: String }
//! use brisk_orm::dynamic::DynField;
//! use brisk_orm::Model;
//! let title = DynField::<Post>::named("title").expect("a field of Post");
//! let rows = Post::objects().filter(title.icontains("rust").expect("a text field")).order_by([title.asc()]).rows_json(&db).await?;
//! for row in rows {
//!     println!("{:?}", row.get("title"));
//! }
//! # Ok(()) }
//! ```

use std::marker::PhantomData;

use serde_json::Value as JsonValue;

use crate::backend::Executor;
use crate::condition::{CmpOp, Node, Operand, Path, TextOp, Q};
use crate::error::Error;
use crate::meta::FieldMeta;
use crate::migrations::DynRow;
use crate::model::Model;
use crate::queryset::{Assignment, Order, QuerySet};
use crate::value::{ColumnKind, RowRef, SqlType, Value};

/// A field of model `M` chosen by name at run time.
pub struct DynField<M> {
    meta: &'static FieldMeta,
    table: &'static str,
    _model: PhantomData<fn() -> M>,
}

impl<M> Clone for DynField<M> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<M> Copy for DynField<M> {}

impl<M> std::fmt::Debug for DynField<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.table, self.meta.column)
    }
}

impl<M: Model> DynField<M> {
    /// The field called `name` (the struct field's name), if `M` declares it.
    pub fn named(name: &str) -> Option<Self> {
        M::META.fields.iter().find(|f| f.name == name).map(Self::of)
    }

    /// Every field of `M`, in declaration order.
    pub fn all() -> impl Iterator<Item = Self> {
        M::META.fields.iter().map(Self::of)
    }

    fn of(meta: &'static FieldMeta) -> Self {
        DynField { meta, table: M::META.table, _model: PhantomData }
    }

    /// Its declaration.
    pub fn meta(&self) -> &'static FieldMeta {
        self.meta
    }

    fn operand(&self) -> Operand {
        Operand::Column { table: self.table, column: self.meta.column, path: Path::new_empty() }
    }

    /// `value` (JSON of the field's kind: a string for text, dates and decimals, a number, a
    /// boolean, or null) as the field's SQL value; an error naming the field otherwise.
    pub fn bind(&self, value: &JsonValue) -> Result<Value, Error> {
        bind_json(M::META.name, self.meta.name, self.meta.kind, value)
    }

    fn cmp(&self, op: CmpOp, value: &JsonValue) -> Result<Q<M>, Error> {
        let rhs = Operand::Value(self.bind(value)?);
        Ok(Q::new(Node::Cmp { lhs: self.operand(), op, rhs, kind: self.meta.kind }))
    }

    /// `= value`.
    pub fn eq(&self, value: &JsonValue) -> Result<Q<M>, Error> {
        self.cmp(CmpOp::Eq, value)
    }

    /// `>= value`.
    pub fn gte(&self, value: &JsonValue) -> Result<Q<M>, Error> {
        self.cmp(CmpOp::Gte, value)
    }

    /// `< value`.
    pub fn lt(&self, value: &JsonValue) -> Result<Q<M>, Error> {
        self.cmp(CmpOp::Lt, value)
    }

    /// `IS NULL` when `true`, `IS NOT NULL` when `false`.
    pub fn isnull(&self, is_null: bool) -> Q<M> {
        Q::new(Node::IsNull { lhs: self.operand(), is_null })
    }

    /// Contains `text` in any case (every letter folded, on both backends); `None` for a field
    /// that does not hold text.
    pub fn icontains(&self, text: &str) -> Option<Q<M>> {
        matches!(self.meta.kind, ColumnKind::Text | ColumnKind::Choice).then(|| {
            Q::new(Node::Text {
                lhs: self.operand(),
                op: TextOp::Contains,
                fold: true,
                rhs: Operand::Value(text.to_owned().to_value()),
            })
        })
    }

    /// Ascending order (NULLs last).
    pub fn asc(&self) -> Order<M> {
        Order::new(self.operand(), false, self.meta.nullable, self.meta.kind)
    }

    /// Descending order (NULLs first).
    pub fn desc(&self) -> Order<M> {
        Order::new(self.operand(), true, self.meta.nullable, self.meta.kind)
    }

    /// Sets the field to `value` in [`QuerySet::update`].
    pub fn set(&self, value: &JsonValue) -> Result<Assignment<M>, Error> {
        Ok(Assignment::new(self.meta.column, Operand::Value(self.bind(value)?)))
    }
}

impl<M: Model> QuerySet<M> {
    /// Every matching row as field name → JSON value (every field of `M`, as stored).
    pub async fn rows_json(&self, ex: &impl Executor) -> Result<Vec<DynRow>, Error> {
        let target = ex.target();
        let dialect = target.dialect();
        let fields: Vec<(&'static str, ColumnKind)> =
            M::META.fields.iter().map(|f| (f.name, f.kind)).collect();
        let columns = DynField::<M>::all().map(|f| f.operand()).collect();
        let orders = self.orders_or_pk();
        let (sql, values) = dialect.build_select(&self.select_with(dialect, columns, &orders));
        target
            .fetch_with(false, sql, values, move |row: &RowRef<'_>| {
                let mut out = DynRow::new();
                for (i, (name, kind)) in fields.iter().enumerate() {
                    out.set(name, read_json(row, i, *kind)?);
                }
                Ok(out)
            })
            .await
    }

    /// Inserts a row of `M` from `row` (field name → JSON value; fields left out get their
    /// database default) and returns it as stored.
    pub async fn insert_json(&self, row: &DynRow, ex: &impl Executor) -> Result<DynRow, Error> {
        let target = ex.target();
        let dialect = target.dialect();
        let mut columns = Vec::new();
        let mut values = Vec::new();
        for (name, value) in row.iter() {
            let field = DynField::<M>::named(name)
                .ok_or_else(|| Error::Config(format!("{} has no field {name}", M::META.name)))?;
            columns.push(quote(field.meta.column));
            values.push(field.bind(value)?);
        }
        let returning: Vec<String> = M::META.fields.iter().map(|f| quote(f.column)).collect();
        let sql = if columns.is_empty() {
            format!("INSERT INTO {} DEFAULT VALUES RETURNING {}", quote(M::META.table), returning.join(", "))
        } else {
            let marks = vec!["?"; columns.len()].join(", ");
            format!(
                "INSERT INTO {} ({}) VALUES ({marks}) RETURNING {}",
                quote(M::META.table),
                columns.join(", "),
                returning.join(", ")
            )
        };
        let sql = crate::Raw::new(sql).sql(dialect);
        let fields: Vec<(&'static str, ColumnKind)> =
            M::META.fields.iter().map(|f| (f.name, f.kind)).collect();
        let rows = target
            .fetch_with(true, sql, values, move |r: &RowRef<'_>| {
                let mut out = DynRow::new();
                for (i, (name, kind)) in fields.iter().enumerate() {
                    out.set(name, read_json(r, i, *kind)?);
                }
                Ok(out)
            })
            .await?;
        rows.into_iter().next().ok_or(Error::DoesNotExist { model: M::META.name })
    }
}

/// The rows of the model `meta` whose primary key is one of `keys`, as JSON (one query): how
/// the admin shows the related rows of a page's foreign keys without a query per row.
pub async fn rows_by_key(
    meta: &'static crate::ModelMeta,
    keys: &[JsonValue],
    ex: &impl Executor,
) -> Result<Vec<DynRow>, Error> {
    let keys: Vec<&JsonValue> = keys.iter().filter(|k| !k.is_null()).collect();
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let pk = meta.primary_key();
    let mut values = Vec::with_capacity(keys.len());
    for key in &keys {
        values.push(bind_json(meta.name, pk.name, pk.kind, key)?);
    }
    let columns: Vec<String> = meta.fields.iter().map(|f| quote(f.column)).collect();
    let marks = vec!["?"; keys.len()].join(", ");
    let sql = format!(
        "SELECT {} FROM {} WHERE {} IN ({marks})",
        columns.join(", "),
        quote(meta.table),
        quote(pk.column)
    );
    let target = ex.target();
    let sql = crate::Raw::new(sql).sql(target.dialect());
    let fields: Vec<(&'static str, ColumnKind)> = meta.fields.iter().map(|f| (f.name, f.kind)).collect();
    target
        .fetch_with(false, sql, values, move |r: &RowRef<'_>| {
            let mut out = DynRow::new();
            for (i, (name, kind)) in fields.iter().enumerate() {
                out.set(name, read_json(r, i, *kind)?);
            }
            Ok(out)
        })
        .await
}

/// How many rows of the model `meta` have `field` (a foreign key) equal to one of `keys`: what
/// deleting those keys would cascade to, or be blocked by.
pub async fn count_referring(
    meta: &'static crate::ModelMeta,
    field: &'static FieldMeta,
    keys: &[JsonValue],
    ex: &impl Executor,
) -> Result<i64, Error> {
    if keys.is_empty() {
        return Ok(0);
    }
    let mut values = Vec::with_capacity(keys.len());
    for key in keys {
        values.push(bind_json(meta.name, field.name, field.kind, key)?);
    }
    let marks = vec!["?"; keys.len()].join(", ");
    let sql =
        format!("SELECT COUNT(*) FROM {} WHERE {} IN ({marks})", quote(meta.table), quote(field.column));
    let target = ex.target();
    let sql = crate::Raw::new(sql).sql(target.dialect());
    let rows: Vec<i64> = target.fetch_with(false, sql, values, |r: &RowRef<'_>| i64::read(r, 0)).await?;
    Ok(rows.first().copied().unwrap_or(0))
}

/// Up to `limit` rows of the model `meta`, by primary key: the choices of a many-to-many
/// field's multi-select.
pub async fn first_rows(
    meta: &'static crate::ModelMeta,
    limit: u64,
    ex: &impl Executor,
) -> Result<Vec<DynRow>, Error> {
    let columns: Vec<String> = meta.fields.iter().map(|f| quote(f.column)).collect();
    let sql = format!(
        "SELECT {} FROM {} ORDER BY {} LIMIT {}",
        columns.join(", "),
        quote(meta.table),
        quote(meta.primary_key().column),
        limit.min(10_000)
    );
    let target = ex.target();
    let fields: Vec<(&'static str, ColumnKind)> = meta.fields.iter().map(|f| (f.name, f.kind)).collect();
    target
        .fetch_with(false, sql, Vec::new(), move |r: &RowRef<'_>| {
            let mut out = DynRow::new();
            for (i, (name, kind)) in fields.iter().enumerate() {
                out.set(name, read_json(r, i, *kind)?);
            }
            Ok(out)
        })
        .await
}

/// The keys `owner` (a row of `owner_meta`) is linked to through the many-to-many field `field`.
pub async fn linked_keys(
    owner_meta: &'static crate::ModelMeta,
    field: &crate::ManyToManyMeta,
    owner: &JsonValue,
    ex: &impl Executor,
) -> Result<Vec<JsonValue>, Error> {
    let pk = owner_meta.primary_key();
    let target = (field.target)();
    let to_kind = target.primary_key().kind;
    let sql = format!(
        "SELECT {} FROM {} WHERE {} = ? ORDER BY {}",
        quote(field.to_column),
        quote(field.through),
        quote(field.from_column),
        quote(field.to_column)
    );
    let ex_target = ex.target();
    let sql = crate::Raw::new(sql).sql(ex_target.dialect());
    let key = bind_json(owner_meta.name, pk.name, pk.kind, owner)?;
    ex_target.fetch_with(false, sql, vec![key], move |r: &RowRef<'_>| read_json(r, 0, to_kind)).await
}

/// Makes `owner`'s links through the many-to-many field `field` exactly `keys` (a table brisk-orm
/// made: one with an id and the two keys); run it in a transaction with the rest of a save.
pub async fn set_links(
    owner_meta: &'static crate::ModelMeta,
    field: &crate::ManyToManyMeta,
    owner: &JsonValue,
    keys: &[JsonValue],
    ex: &impl Executor,
) -> Result<(), Error> {
    if field.through_model.is_some() {
        return Err(Error::Config(format!(
            "{}.{} goes through a model of its own: edit its rows instead",
            owner_meta.name, field.name
        )));
    }
    let pk = owner_meta.primary_key();
    let target = (field.target)();
    let to = target.primary_key();
    let target_ex = ex.target();
    let dialect = target_ex.dialect();
    let owner_value = bind_json(owner_meta.name, pk.name, pk.kind, owner)?;
    let delete = format!("DELETE FROM {} WHERE {} = ?", quote(field.through), quote(field.from_column));
    ex.target().execute(crate::Raw::new(delete).sql(dialect), vec![owner_value.clone()]).await?;
    let mut seen = Vec::new();
    for key in keys {
        if seen.contains(key) {
            continue;
        }
        seen.push(key.clone());
        let insert = format!(
            "INSERT INTO {} ({}, {}) VALUES (?, ?)",
            quote(field.through),
            quote(field.from_column),
            quote(field.to_column)
        );
        let values = vec![owner_value.clone(), bind_json(target.name, to.name, to.kind, key)?];
        ex.target().execute(crate::Raw::new(insert).sql(dialect), values).await?;
    }
    Ok(())
}

fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn json<T: serde::Serialize>(value: Option<T>) -> Result<JsonValue, Error> {
    serde_json::to_value(value).map_err(|e| Error::decode(0, e.to_string()))
}

/// Column `i` of `row`, of kind `kind`, as JSON.
pub(crate) fn read_json(row: &RowRef<'_>, i: usize, kind: ColumnKind) -> Result<JsonValue, Error> {
    use ColumnKind::*;
    match kind {
        Bool => json(Option::<bool>::read(row, i)?),
        SmallInt => json(Option::<i16>::read(row, i)?),
        Int => json(Option::<i32>::read(row, i)?),
        BigInt | AutoBigInt | Duration => json(Option::<i64>::read(row, i)?),
        Double => json(Option::<f64>::read(row, i)?),
        Text | Choice => json(Option::<String>::read(row, i)?),
        Bytes => json(Option::<Vec<u8>>::read(row, i)?),
        DateTime => json(Option::<crate::DateTime>::read(row, i)?),
        Date => json(Option::<crate::Date>::read(row, i)?),
        Time => json(Option::<crate::Time>::read(row, i)?),
        Uuid => json(Option::<crate::Uuid>::read(row, i)?),
        Decimal => json(Option::<crate::Decimal>::read(row, i)?),
        Json => Ok(Option::<brisk::Json<JsonValue>>::read(row, i)?.map_or(JsonValue::Null, |j| j.0)),
    }
}

/// `value` bound as `kind` (JSON of the kind's shape, or null).
pub(crate) fn bind_json(
    model: &str,
    field: &str,
    kind: ColumnKind,
    value: &JsonValue,
) -> Result<Value, Error> {
    use ColumnKind::*;
    fn typed<T: SqlType + serde::de::DeserializeOwned>(
        value: &JsonValue,
    ) -> Result<Value, serde_json::Error> {
        Ok(match Option::<T>::deserialize(value)? {
            Some(v) => v.to_value(),
            None => T::null(),
        })
    }
    use serde::Deserialize as _;
    let bound = match kind {
        Bool => typed::<bool>(value),
        SmallInt => typed::<i16>(value),
        Int => typed::<i32>(value),
        BigInt | AutoBigInt | Duration => typed::<i64>(value),
        Double => typed::<f64>(value),
        Text | Choice => typed::<String>(value),
        Bytes => typed::<Vec<u8>>(value),
        DateTime => typed::<crate::DateTime>(value),
        Date => typed::<crate::Date>(value),
        Time => typed::<crate::Time>(value),
        Uuid => typed::<crate::Uuid>(value),
        Decimal => typed::<crate::Decimal>(value),
        Json => {
            Ok(if value.is_null() { Value::Json(None) } else { Value::Json(Some(Box::new(value.clone()))) })
        }
    };
    bound.map_err(|e| Error::Config(format!("{model}.{field}: {value} is not a value of this field ({e})")))
}

//! Many-to-many relations: a [`ManyToMany<T>`] field is no column of its own; its links live in
//! a through table brisk-orm makes (`<table>_<field>`: an id, the two keys, unique together,
//! both cascading on delete). [`ManyField`] (`Post::tags()`) adds, removes, lists and filters.

use std::any::Any;
use std::collections::HashMap;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use sea_query::{ExprTrait, OnConflict, Query};
use serde::{Serialize, Serializer};

use crate::backend::{Executor, Target};
use crate::condition::{Node, Q};
use crate::error::Error;
use crate::meta::ModelMeta;
use crate::model::Model;
use crate::queryset::QuerySet;
use crate::relation::{KeyOf, PrimaryKey};
use crate::value::{RowRef, SqlType};

/// A many-to-many relation's declaration in the registry.
#[derive(Debug, Clone, Copy)]
pub struct ManyToManyMeta {
    /// The struct field's name.
    pub name: &'static str,
    /// The through table.
    pub through: &'static str,
    /// The through table's column holding this model's key.
    pub from_column: &'static str,
    /// The through table's column holding the target's key.
    pub to_column: &'static str,
    /// The model linked to.
    pub target: fn() -> &'static ModelMeta,
    /// The through model, when the field names one (`#[model(through = PostTag)]`); `None`
    /// for the table brisk-orm makes.
    pub through_model: Option<fn() -> &'static ModelMeta>,
    /// The through table's primary key column (`id` for the table brisk-orm makes).
    pub through_key: &'static str,
}

const fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// The column of `field` in an explicit through model (what `#[derive(Model)]` generates);
/// a field it lacks stops the build.
#[doc(hidden)]
pub const fn through_column(meta: &'static ModelMeta, field: &str) -> &'static str {
    let mut i = 0;
    while i < meta.fields.len() {
        if same(meta.fields[i].name, field) {
            return meta.fields[i].column;
        }
        i += 1;
    }
    panic!("the through model has no field of this name: name its two foreign keys with through_fields = (\"from\", \"to\")")
}

/// The primary key column of an explicit through model.
#[doc(hidden)]
pub const fn through_key(meta: &'static ModelMeta) -> &'static str {
    let mut i = 0;
    while i < meta.fields.len() {
        if meta.fields[i].primary_key {
            return meta.fields[i].column;
        }
        i += 1;
    }
    panic!("the through model has no primary key")
}

/// Stops the build unless the through model declares its two foreign keys unique together
/// (`#[model(unique_together(["post", "tag"]))]`): `add` links a pair at most once.
#[doc(hidden)]
pub const fn check_through(meta: &'static ModelMeta, from: &str, to: &str) {
    let mut i = 0;
    while i < meta.unique_together.len() {
        let set = meta.unique_together[i];
        if set.len() == 2
            && ((same(set[0], from) && same(set[1], to)) || (same(set[0], to) && same(set[1], from)))
        {
            return;
        }
        i += 1;
    }
    panic!("a through model declares its two foreign keys unique together: #[model(unique_together([\"from\", \"to\"]))] with its field names")
}

/// A many-to-many field (Django's `ManyToManyField`): the linked rows, once a query loaded
/// them with `prefetch_many`; otherwise not loaded. Change the links with the model's
/// accessor (`Post::tags().add(&post, [1, 2], &db)`).
///
/// In JSON it is the list of linked keys (`null` when neither loaded nor sent). A request
/// body's list is kept as [`ManyToMany::keys`] for the handler to store once the row has its
/// key (`Post::tags().set(&post, keys, &db)`), as Django REST framework saves links after
/// the row.
///
/// With `#[model(through = Enrollment)]` the links are rows of a model of your own, which can
/// hold data of the link (a grade, a date). It has a foreign key to each side (named by the
/// models' names in lowercase, or `through_fields = ("student", "course")`), unique together,
/// and its own migrations make its table. `add` fills the two keys only (the other fields need
/// a default or NULL); create the through rows yourself to give them data.
///
/// ```
/// use brisk_orm::prelude::*;
///
/// #[derive(Model)]
/// struct Course {
///     #[model(primary_key)]
///     id: AutoId,
/// }
/// #[derive(Model)]
/// struct Student {
///     #[model(primary_key)]
///     id: AutoId,
///     #[model(through = Enrollment)]
///     courses: ManyToMany<Course>,
/// }
/// #[derive(Model)]
/// #[model(unique_together(["student", "course"]))]
/// struct Enrollment {
///     #[model(primary_key)]
///     id: AutoId,
///     #[model(on_delete = Cascade)]
///     student: ForeignKey<Student>,
///     #[model(on_delete = Cascade)]
///     course: ForeignKey<Course>,
///     grade: Option<i32>,
/// }
/// ```
///
/// A through model without the two keys unique together, or whose keys point elsewhere, stops
/// the build:
///
/// ```compile_fail
/// use brisk_orm::prelude::*;
///
/// #[derive(Model)]
/// struct Course {
///     #[model(primary_key)]
///     id: AutoId,
/// }
/// #[derive(Model)]
/// struct Student {
///     #[model(primary_key)]
///     id: AutoId,
///     #[model(through = Enrollment)]
///     courses: ManyToMany<Course>,
/// }
/// #[derive(Model)]
/// struct Enrollment {
///     #[model(primary_key)]
///     id: AutoId,
///     #[model(on_delete = Cascade)]
///     student: ForeignKey<Student>,
///     #[model(on_delete = Cascade)]
///     course: ForeignKey<Course>,
/// }
/// ```
pub struct ManyToMany<T: Model> {
    loaded: Option<Vec<Arc<T>>>,
    sent: Option<Vec<KeyOf<T>>>,
}

impl<T: Model> Default for ManyToMany<T> {
    fn default() -> Self {
        ManyToMany { loaded: None, sent: None }
    }
}

impl<T: Model> Clone for ManyToMany<T> {
    fn clone(&self) -> Self {
        ManyToMany { loaded: self.loaded.clone(), sent: self.sent.clone() }
    }
}

impl<T: Model> ManyToMany<T> {
    /// The keys: of the loaded rows, else those a request body sent.
    pub fn keys(&self) -> Option<Vec<KeyOf<T>>> {
        match &self.loaded {
            Some(rows) => Some(rows.iter().filter_map(|r| r.pk().key()).collect()),
            None => self.sent.clone(),
        }
    }
}

impl<'de, T: Model> serde::Deserialize<'de> for ManyToMany<T>
where
    KeyOf<T>: serde::Deserialize<'de>,
{
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let sent = Option::<Vec<KeyOf<T>>>::deserialize(d)?;
        Ok(ManyToMany { loaded: None, sent })
    }
}

impl<T: Model> schemars::JsonSchema for ManyToMany<T>
where
    KeyOf<T>: schemars::JsonSchema,
{
    fn schema_name() -> std::borrow::Cow<'static, str> {
        <Option<Vec<KeyOf<T>>>>::schema_name()
    }
    fn inline_schema() -> bool {
        true
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        <Option<Vec<KeyOf<T>>>>::json_schema(generator)
    }
    fn _schemars_private_is_option() -> bool {
        true
    }
}

impl<T: Model> brisk::Validate for ManyToMany<T> {}

impl<T: Model> fmt::Debug for ManyToMany<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.loaded {
            Some(rows) => write!(f, "ManyToMany<{}>({} loaded)", T::META.name, rows.len()),
            None => write!(f, "ManyToMany<{}>(not loaded)", T::META.name),
        }
    }
}

impl<T: Model> ManyToMany<T> {
    /// The linked rows, when a query loaded them.
    pub fn get(&self) -> Option<Vec<&T>> {
        self.loaded.as_ref().map(|rows| rows.iter().map(|r| r.as_ref()).collect())
    }
}

impl<T: Model> Serialize for ManyToMany<T>
where
    KeyOf<T>: Serialize,
{
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.keys() {
            Some(keys) => keys.serialize(s),
            None => s.serialize_none(),
        }
    }
}

/// The links of a many-to-many field between `M` and `T`: what `Post::tags()` returns.
pub struct ManyField<M, T> {
    meta: ManyToManyMeta,
    _types: PhantomData<fn() -> (M, T)>,
}

impl<M, T> Clone for ManyField<M, T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<M, T> Copy for ManyField<M, T> {}

fn unsaved() -> Error {
    Error::Config("a many-to-many link needs a saved row (its primary key is unset)".into())
}

impl<M: Model, T: Model> ManyField<M, T> {
    /// What the derive calls.
    #[doc(hidden)]
    pub const fn new(meta: ManyToManyMeta) -> Self {
        ManyField { meta, _types: PhantomData }
    }

    /// The through table and its columns.
    pub fn meta(&self) -> &ManyToManyMeta {
        &self.meta
    }

    fn owner_key(owner: &M) -> Result<sea_query::Value, Error> {
        owner.pk().key().map(|k| k.to_value()).ok_or_else(unsaved)
    }

    /// Links `owner` to the rows with these keys (links already there are kept, once).
    pub async fn add(
        &self,
        owner: &M,
        keys: impl IntoIterator<Item = KeyOf<T>>,
        ex: &impl Executor,
    ) -> Result<(), Error> {
        let from = Self::owner_key(owner)?;
        let mut insert = Query::insert();
        insert.into_table(self.meta.through);
        insert.columns([self.meta.from_column, self.meta.to_column]);
        let mut any = false;
        for key in keys {
            insert.values_panic([sea_query::Expr::val(from.clone()), sea_query::Expr::val(key.to_value())]);
            any = true;
        }
        if !any {
            return Ok(());
        }
        insert.on_conflict(
            OnConflict::columns([self.meta.from_column, self.meta.to_column]).do_nothing().to_owned(),
        );
        let target = ex.target();
        let (sql, values) = target.dialect().build(&insert);
        target.execute(sql, values).await.map(drop)
    }

    /// Deletes `owner`'s links, those to `keys` only (`Some`), or all but `keys` (`None`
    /// with `keep`).
    async fn unlink(
        &self,
        owner: &M,
        only: Option<Vec<sea_query::Value>>,
        keep: Vec<sea_query::Value>,
        ex: &impl Executor,
    ) -> Result<u64, Error> {
        let from = Self::owner_key(owner)?;
        let mut delete = Query::delete();
        delete.from_table(self.meta.through).and_where(sea_query::Expr::col(self.meta.from_column).eq(from));
        if let Some(only) = only {
            delete.and_where(sea_query::Expr::col(self.meta.to_column).is_in(only));
        }
        if !keep.is_empty() {
            delete.and_where(sea_query::Expr::col(self.meta.to_column).is_not_in(keep));
        }
        let target = ex.target();
        let (sql, values) = target.dialect().build(&delete);
        target.execute(sql, values).await
    }

    /// Unlinks `owner` from the rows with these keys.
    pub async fn remove(
        &self,
        owner: &M,
        keys: impl IntoIterator<Item = KeyOf<T>>,
        ex: &impl Executor,
    ) -> Result<u64, Error> {
        let keys: Vec<sea_query::Value> = keys.into_iter().map(|k| k.to_value()).collect();
        if keys.is_empty() {
            Self::owner_key(owner)?;
            return Ok(0);
        }
        self.unlink(owner, Some(keys), Vec::new(), ex).await
    }

    /// Unlinks `owner` from every row.
    pub async fn clear(&self, owner: &M, ex: &impl Executor) -> Result<u64, Error> {
        self.unlink(owner, None, Vec::new(), ex).await
    }

    /// Makes `owner`'s links exactly these keys (two statements: run it in `atomic` to make
    /// them one change).
    pub async fn set(
        &self,
        owner: &M,
        keys: impl IntoIterator<Item = KeyOf<T>>,
        ex: &impl Executor,
    ) -> Result<(), Error> {
        let keys: Vec<KeyOf<T>> = keys.into_iter().collect();
        self.unlink(owner, None, keys.iter().map(SqlType::to_value).collect(), ex).await?;
        self.add(owner, keys, ex).await
    }

    /// The rows linked to `owner`, as a QuerySet to filter further.
    pub fn of(&self, owner: &M) -> Result<QuerySet<T>, Error> {
        let from = Self::owner_key(owner)?;
        Ok(QuerySet::<T>::new().filter(Q::new(Node::Through {
            lhs: QuerySet::<T>::pk_operand(),
            through: self.meta.through,
            select: self.meta.to_column,
            join: None,
            filter: Box::new(Node::Link {
                column: self.meta.from_column,
                through: self.meta.through,
                key: from,
            }),
        })))
    }

    /// The rows of `M` linked to at least one `T` matching `q`:
    /// `Post::objects().filter(Post::tags().any(Tag::name().eq("rust")))`.
    pub fn any(&self, q: Q<T>) -> Q<M> {
        Q::new(Node::Through {
            lhs: QuerySet::<M>::pk_operand(),
            through: self.meta.through,
            select: self.meta.from_column,
            join: Some((T::META.table, T::META.primary_key().column, self.meta.to_column)),
            filter: Box::new(q.node),
        })
    }
}

/// Loads field `field`'s linked rows for every row in one query, and fills them
/// (`prefetch_many`).
pub(crate) async fn prefetch_many<M: Model, T: Model>(
    rows: &mut [M],
    meta: ManyToManyMeta,
    target: Target<'_>,
) -> Result<(), Error> {
    let owners: Vec<sea_query::Value> =
        rows.iter().filter_map(|r| r.pk().key()).map(|k| k.to_value()).collect();
    if owners.is_empty() {
        return Ok(());
    }
    let dialect = target.dialect();
    let through = meta.through;
    let mut select = Query::select();
    select.column((through, meta.from_column));
    for f in T::META.fields {
        select.column((T::META.table, f.column));
    }
    select
        .from(through)
        .inner_join(
            T::META.table,
            sea_query::Expr::col((T::META.table, T::META.primary_key().column))
                .equals((through, meta.to_column)),
        )
        .and_where(sea_query::Expr::col((through, meta.from_column)).is_in(owners))
        .order_by((through, meta.through_key), sea_query::Order::Asc);
    let (sql, values) = dialect.build(&select);
    let read = |row: &RowRef<'_>| Ok((<KeyOf<M>>::read(row, 0)?, T::from_row(&row.shifted(1))?));
    let links: Vec<(KeyOf<M>, T)> = target.fetch_with(false, sql, values, read).await?;
    let mut by_owner: HashMap<KeyOf<M>, Vec<Arc<T>>> = HashMap::new();
    for (owner, row) in links {
        by_owner.entry(owner).or_default().push(Arc::new(row));
    }
    for row in rows.iter_mut() {
        let Some(key) = row.pk().key() else { continue };
        let linked = by_owner.remove(&key).unwrap_or_default();
        if let Some(field) =
            row.related_mut(meta.name).and_then(|any: &mut dyn Any| any.downcast_mut::<ManyToMany<T>>())
        {
            field.loaded = Some(linked);
        }
    }
    Ok(())
}

//! Relations: [`ForeignKey<T>`] (and [`OneToOne<T>`], a unique one), what happens to the rows
//! that point at a deleted row ([`OnDelete`]), and the primary keys they point with.

use std::any::Any;
use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::hash::Hash;
use std::sync::Arc;

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::backend::{Executor, Target};
use crate::error::Error;
use crate::field_types::{AutoId, Uuid};
use crate::meta::ModelMeta;
use crate::model::Model;
use crate::queryset::QuerySet;
use crate::value::{ColumnKind, RowRef, SqlType, Value};

/// A primary key's type, and the value a foreign key stores to point at it.
pub trait PrimaryKey: SqlType {
    /// What a foreign key holds: `i64` for an [`AutoId`].
    type Key: SqlType + Clone + Eq + Hash + fmt::Debug + Send + Sync;
    /// The key, once the row has one.
    fn key(&self) -> Option<Self::Key>;
}

impl PrimaryKey for AutoId {
    type Key = i64;
    fn key(&self) -> Option<i64> {
        self.get()
    }
}

macro_rules! plain_key {
    ($($t:ty),*) => {$(
        impl PrimaryKey for $t {
            type Key = $t;
            fn key(&self) -> Option<$t> {
                Some(self.clone())
            }
        }
    )*};
}
plain_key!(i32, i64, String, Uuid);

/// The key type of model `T`'s primary key.
pub type KeyOf<T> = <<T as Model>::Pk as PrimaryKey>::Key;

/// What deleting a row does to the rows whose foreign key points at it. Enforced by the
/// database itself, so the same on SQLite and PostgreSQL, and also for deletes made in SQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnDelete {
    /// Delete them too.
    Cascade,
    /// Refuse the delete while any exist (409), checked at once (`ON DELETE RESTRICT`).
    Protect,
    /// Refuse the delete unless the same statement also removes them (`NO ACTION`).
    Restrict,
    /// Set their foreign key to NULL (the field must be an `Option`).
    SetNull,
}

impl OnDelete {
    /// The SQL action.
    pub fn sql(self) -> &'static str {
        match self {
            OnDelete::Cascade => "CASCADE",
            OnDelete::Protect => "RESTRICT",
            OnDelete::Restrict => "NO ACTION",
            OnDelete::SetNull => "SET NULL",
        }
    }
}

/// A relation's declaration in the registry.
#[derive(Debug, Clone, Copy)]
pub struct Relation {
    /// The model pointed at.
    pub target: fn() -> &'static ModelMeta,
    /// What deleting the target does.
    pub on_delete: OnDelete,
}

/// The declaration of `T`, as a function pointer the registry can hold in a `static`.
pub fn meta_of<T: Model>() -> &'static ModelMeta {
    T::META
}

/// A many-to-one relation (Django's `ForeignKey`): the column holds the key of a `T`; the `T`
/// itself is loaded by `select_related` (one JOIN), `prefetch_related` (one query for all
/// rows), or [`ForeignKey::fetch`].
///
/// In JSON it is the key (`"author": 3`), as Django REST framework writes it.
pub struct ForeignKey<T: Model> {
    key: KeyOf<T>,
    object: Option<Arc<T>>,
}

/// A one-to-one relation: a [`ForeignKey`] whose column is unique.
pub type OneToOne<T> = ForeignKey<T>;

impl<T: Model> ForeignKey<T> {
    /// A foreign key to the row with this key.
    pub fn new(key: KeyOf<T>) -> Self {
        ForeignKey { key, object: None }
    }

    /// A foreign key to `row`, which is then already loaded; `None` when `row` is not saved.
    pub fn of(row: T) -> Option<Self> {
        let key = row.pk().key()?;
        Some(ForeignKey { key, object: Some(Arc::new(row)) })
    }

    /// The key of the row pointed at.
    pub fn key(&self) -> &KeyOf<T> {
        &self.key
    }

    /// The row pointed at, when a query loaded it.
    pub fn get(&self) -> Option<&T> {
        self.object.as_deref()
    }

    /// The row pointed at: the loaded one, else read now.
    pub async fn fetch(&self, ex: &impl Executor) -> Result<T, Error>
    where
        T: Clone,
    {
        match &self.object {
            Some(object) => Ok(T::clone(object)),
            None => QuerySet::<T>::new().filter_pk(self.key.to_value()).get(ex).await,
        }
    }

    pub(crate) fn set_object(&mut self, object: Option<Arc<T>>) {
        self.object = object;
    }
}

impl<T: Model> Clone for ForeignKey<T> {
    fn clone(&self) -> Self {
        ForeignKey { key: self.key.clone(), object: self.object.clone() }
    }
}

impl<T: Model> PartialEq for ForeignKey<T> {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl<T: Model> fmt::Debug for ForeignKey<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ForeignKey<{}>({:?}{})",
            T::META.name,
            self.key,
            if self.object.is_some() { ", loaded" } else { "" }
        )
    }
}

impl<T: Model> Serialize for ForeignKey<T>
where
    KeyOf<T>: Serialize,
{
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.key.serialize(s)
    }
}

impl<'de, T: Model> Deserialize<'de> for ForeignKey<T>
where
    KeyOf<T>: Deserialize<'de>,
{
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        KeyOf::<T>::deserialize(d).map(ForeignKey::new)
    }
}

impl<T: Model> JsonSchema for ForeignKey<T>
where
    KeyOf<T>: JsonSchema,
{
    fn schema_name() -> Cow<'static, str> {
        KeyOf::<T>::schema_name()
    }
    fn inline_schema() -> bool {
        true
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        KeyOf::<T>::json_schema(generator)
    }
}

impl<T: Model> brisk::Validate for ForeignKey<T> {}

impl<T: Model> SqlType for ForeignKey<T> {
    type Inner = <KeyOf<T> as SqlType>::Inner;
    const KIND: ColumnKind = match <KeyOf<T> as SqlType>::KIND {
        ColumnKind::AutoBigInt => ColumnKind::BigInt,
        kind => kind,
    };
    const RELATED: Option<fn() -> &'static ModelMeta> = Some(meta_of::<T>);
    fn to_value(&self) -> Value {
        self.key.to_value()
    }
    fn null() -> Value {
        <KeyOf<T> as SqlType>::null()
    }
    fn read(row: &RowRef<'_>, idx: usize) -> Result<Self, Error> {
        KeyOf::<T>::read(row, idx).map(ForeignKey::new)
    }
}

/// A field that points at another model: `ForeignKey<T>` or `Option<ForeignKey<T>>`.
pub trait Relates: 'static {
    /// The model pointed at.
    type Target: Model;
}

impl<T: Model> Relates for ForeignKey<T> {
    type Target = T;
}

impl<T: Model> Relates for Option<ForeignKey<T>> {
    type Target = T;
}

/// A model field that is a relation (`ForeignKey<T>` or `Option<ForeignKey<T>>`): how a JOIN
/// or a prefetch fills it. Called by the code `#[derive(Model)]` writes.
#[doc(hidden)]
pub trait RelatedField: Any {
    /// Reads the target from `row` (a JOIN's columns), unless its key is NULL.
    fn fill_from_row(&mut self, row: &RowRef<'_>) -> Result<(), Error>;
}

fn read_target<T: Model>(row: &RowRef<'_>) -> Result<Option<Arc<T>>, Error> {
    let pk = T::META.fields.iter().position(|f| f.primary_key).unwrap_or(0);
    if row.is_null(pk)? {
        return Ok(None);
    }
    T::from_row(row).map(|t| Some(Arc::new(t)))
}

impl<T: Model> RelatedField for ForeignKey<T> {
    fn fill_from_row(&mut self, row: &RowRef<'_>) -> Result<(), Error> {
        self.object = read_target::<T>(row)?;
        Ok(())
    }
}

impl<T: Model> RelatedField for Option<ForeignKey<T>> {
    fn fill_from_row(&mut self, row: &RowRef<'_>) -> Result<(), Error> {
        if let Some(fk) = self {
            fk.object = read_target::<T>(row)?;
        }
        Ok(())
    }
}

/// The key a relation field (`ForeignKey<T>` or `Option<ForeignKey<T>>`) holds.
pub(crate) fn key_in<T: Model>(any: &mut dyn Any) -> Option<KeyOf<T>> {
    if let Some(fk) = any.downcast_ref::<ForeignKey<T>>() {
        return Some(fk.key.clone());
    }
    any.downcast_ref::<Option<ForeignKey<T>>>().and_then(|fk| fk.as_ref().map(|fk| fk.key.clone()))
}

/// Loads the targets of field `field` of every row in one query and fills them
/// (`prefetch_related` on a foreign key).
pub(crate) async fn prefetch_forward<M: Model, T: Model>(
    rows: &mut [M],
    field: &'static str,
    target: Target<'_>,
) -> Result<(), Error> {
    fn slot<T: Model>(any: &mut dyn Any) -> Option<&mut ForeignKey<T>> {
        if any.is::<ForeignKey<T>>() {
            return any.downcast_mut::<ForeignKey<T>>();
        }
        any.downcast_mut::<Option<ForeignKey<T>>>().and_then(Option::as_mut)
    }
    let mut keys: Vec<KeyOf<T>> = Vec::new();
    for row in rows.iter_mut() {
        if let Some(fk) = row.related_mut(field).and_then(slot::<T>) {
            if !keys.contains(&fk.key) {
                keys.push(fk.key.clone());
            }
        }
    }
    if keys.is_empty() {
        return Ok(());
    }
    let targets = QuerySet::<T>::new()
        .filter_pk_in(keys.iter().map(SqlType::to_value).collect())
        .all_on(target)
        .await?;
    let by_key: HashMap<KeyOf<T>, Arc<T>> =
        targets.into_iter().filter_map(|t| Some((t.pk().key()?, Arc::new(t)))).collect();
    for row in rows.iter_mut() {
        if let Some(fk) = row.related_mut(field).and_then(slot::<T>) {
            let object = by_key.get(&fk.key).cloned();
            fk.set_object(object);
        }
    }
    Ok(())
}

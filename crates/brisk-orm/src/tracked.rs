//! [`Tracked`]: a row that remembers what it was read as, so that `save` writes only the
//! fields that changed (Django's `save(update_fields=...)`, worked out for you).

use std::ops::{Deref, DerefMut};

use sea_query::{ExprTrait, Query};

use crate::backend::Executor;
use crate::error::Error;
use crate::model::{Model, ModelExt};
use crate::value::Value;

/// A row and the values it had when read (or last saved). [`Tracked::save`] writes only the
/// fields that differ, so two requests that change different fields of one row do not undo
/// each other's change, and a save that changes nothing runs no query. Read and change it as
/// the model itself (it dereferences to it); make one with [`ModelExt::tracked`].
///
/// ```
/// use brisk_orm::prelude::*;
///
/// #[derive(Model)]
/// struct Post {
///     #[model(primary_key)]
///     id: AutoId,
///     title: String,
///     views: i64,
/// }
///
/// # async fn demo(db: Database) -> Result<(), brisk_orm::Error> {
/// let mut post = Post::objects().get(&db).await?.tracked();
/// post.title = "New title".into();
/// assert_eq!(post.changed(), ["title"]);
/// post.save(&db).await?; // UPDATE ... SET "title" = $1 WHERE "id" = $2
/// # Ok(()) }
/// ```
///
/// A plain `row.save(&db)` writes every field, as Django's `save()` does.
#[derive(Debug, Clone)]
pub struct Tracked<M: Model> {
    row: M,
    saved: Vec<Value>,
}

impl<M: Model> Tracked<M> {
    /// Tracks `row` from its current values.
    pub fn new(row: M) -> Self {
        let saved = row.values();
        Tracked { row, saved }
    }

    /// The names of the fields changed since the row was read or last saved.
    pub fn changed(&self) -> Vec<&'static str> {
        self.changed_at().into_iter().map(|i| M::META.fields[i].name).collect()
    }

    fn changed_at(&self) -> Vec<usize> {
        let now = self.row.values();
        (0..M::META.fields.len()).filter(|&i| now.get(i) != self.saved.get(i)).collect()
    }

    /// Writes the changed fields (and `auto_now` ones, when anything changed) to the row with
    /// this primary key; nothing when nothing changed. A row never saved (an unset
    /// [`AutoId`](crate::AutoId)) is inserted whole. A changed primary key, or a row that is
    /// gone, is [`Error::DoesNotExist`]: the save writes nothing rather than a row it was not
    /// read from.
    pub async fn save<E: Executor>(&mut self, ex: &E) -> Result<(), Error> {
        if self.row.pk_is_unset() {
            self.row.save(ex).await?;
            self.saved = self.row.values();
            return Ok(());
        }
        let meta = M::META;
        let pk_at = meta.fields.iter().position(|f| f.primary_key);
        let changed = self.changed_at();
        if changed.is_empty() {
            return Ok(());
        }
        if pk_at.is_some_and(|at| changed.contains(&at)) {
            return Err(Error::DoesNotExist { model: meta.name });
        }
        self.row.touch(false);
        let now = self.row.values();
        let mut update = Query::update();
        update.table(meta.table);
        for (i, (field, value)) in meta.fields.iter().zip(now.iter()).enumerate() {
            if !field.primary_key && (field.auto_now || changed.contains(&i)) {
                update.value(field.column, value.clone());
            }
        }
        update.and_where(sea_query::Expr::col(meta.primary_key().column).eq(self.row.pk_value()));
        let target = ex.target();
        let (sql, values) = target.dialect().build(&update);
        if target.execute(sql, values).await? == 0 {
            return Err(Error::DoesNotExist { model: meta.name });
        }
        self.saved = now;
        Ok(())
    }

    /// The row, no longer tracked.
    pub fn into_inner(self) -> M {
        self.row
    }
}

impl<M: Model> Deref for Tracked<M> {
    type Target = M;
    fn deref(&self) -> &M {
        &self.row
    }
}

impl<M: Model> DerefMut for Tracked<M> {
    fn deref_mut(&mut self) -> &mut M {
        &mut self.row
    }
}

impl<M: Model + serde::Serialize> serde::Serialize for Tracked<M> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.row.serialize(serializer)
    }
}

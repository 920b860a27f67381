//! [`Model`]: what `#[derive(Model)]` implements, and [`ModelExt`]: `save`, `delete` and
//! `refresh_from_db` on an instance.

use std::future::Future;

use sea_query::{ExprTrait, Query};

use crate::backend::Executor;
use crate::error::Error;
use crate::meta::ModelMeta;
use crate::queryset::{insert_statement, QuerySet};
use crate::value::{RowRef, SqlType, Value};

/// A type read from one row: every model, and tuples of column types (`(i64, String)`).
pub trait FromRow: Sized + Send + 'static {
    /// Reads the row's columns, in order.
    fn from_row(row: &RowRef<'_>) -> Result<Self, Error>;
}

macro_rules! tuple_from_row {
    ($($name:ident $idx:tt),+) => {
        impl<$($name: SqlType),+> FromRow for ($($name,)+) {
            fn from_row(row: &RowRef<'_>) -> Result<Self, Error> {
                Ok(($($name::read(row, $idx)?,)+))
            }
        }
    };
}

tuple_from_row!(A 0);
tuple_from_row!(A 0, B 1);
tuple_from_row!(A 0, B 1, C 2);
tuple_from_row!(A 0, B 1, C 2, D 3);
tuple_from_row!(A 0, B 1, C 2, D 3, E 4);
tuple_from_row!(A 0, B 1, C 2, D 3, E 4, F 5);

/// A struct stored as a table. Derive it: `#[derive(Model)]` (see the crate docs for the
/// attributes); implementing it by hand is not supported.
pub trait Model: FromRow + Sync {
    /// The model's declaration, also in [`registry`](crate::registry).
    const META: &'static ModelMeta;

    /// The primary key's type.
    type Pk: crate::relation::PrimaryKey;

    /// The primary key.
    fn pk(&self) -> &Self::Pk;

    /// The value of every field, in declaration order.
    fn values(&self) -> Vec<Value>;

    /// The value of the field at `index` in declaration order (what `values()[index]` is,
    /// without making the others); `None` past the last field.
    fn value_at(&self, index: usize) -> Option<Value> {
        self.values().into_iter().nth(index)
    }

    /// The primary key's value.
    fn pk_value(&self) -> Value;

    /// True when the primary key is an [`AutoId`](crate::AutoId) not assigned yet.
    fn pk_is_unset(&self) -> bool;

    /// Forgets an [`AutoId`](crate::AutoId) primary key's value, so that an insert lets the
    /// database assign it.
    fn unset_pk(&mut self);

    /// Sets `auto_now` fields (and `auto_now_add` ones when `adding`).
    fn touch(&mut self, adding: bool);

    /// Fills the relation stored in `column` from a JOIN's columns (`select_related`).
    #[doc(hidden)]
    fn fill_related(&mut self, column: &str, row: &RowRef<'_>) -> Result<(), Error> {
        let _ = (column, row);
        Ok(())
    }

    /// The relation field stored in `column` (`prefetch_related`).
    #[doc(hidden)]
    fn related_mut(&mut self, column: &str) -> Option<&mut dyn std::any::Any> {
        let _ = column;
        None
    }

    /// All rows of this model, as a lazy [`QuerySet`] (Django's `Model.objects`).
    #[inline]
    fn objects() -> QuerySet<Self> {
        QuerySet::new()
    }
}

/// `save`, `delete` and `refresh_from_db` on any model.
pub trait ModelExt: Model {
    /// Inserts the row when its [`AutoId`](crate::AutoId) is unset (then sets it, and every
    /// field the database filled), else updates every field of the row with this primary key
    /// (inserting it when there is none). `auto_now` fields are set first.
    fn save<E: Executor>(&mut self, ex: &E) -> impl Future<Output = Result<(), Error>> + Send {
        async move {
            let adding = self.pk_is_unset();
            self.touch(adding);
            let target = ex.target();
            let dialect = target.dialect();
            if !adding && self.update(ex).await? {
                return Ok(());
            }
            let (sql, values) = dialect.build(&insert_statement::<Self>(std::slice::from_ref(self)));
            let saved: Vec<Self> = target.fetch(true, sql, values).await?;
            if let Some(saved) = saved.into_iter().next() {
                *self = saved;
            }
            Ok(())
        }
    }

    /// Writes every field to the row with this primary key, never inserting (Django's
    /// `save(force_update=True)`); returns whether the row was there. `auto_now` fields are
    /// set first.
    fn update<E: Executor>(&mut self, ex: &E) -> impl Future<Output = Result<bool, Error>> + Send {
        async move {
            self.touch(false);
            let meta = Self::META;
            let pk = meta.primary_key();
            let mut update = Query::update();
            update.table(meta.table);
            let mut columns = 0;
            for (field, value) in meta.fields.iter().zip(self.values()) {
                if !field.primary_key {
                    update.value(field.column, value);
                    columns += 1;
                }
            }
            let q = QuerySet::<Self>::new().filter_pk(self.pk_value());
            if columns == 0 {
                return q.exists(ex).await;
            }
            update.and_where(sea_query::Expr::col(pk.column).eq(self.pk_value()));
            let target = ex.target();
            let (sql, values) = target.dialect().build(&update);
            Ok(target.execute(sql, values).await? > 0)
        }
    }

    /// Deletes this row; returns whether there was one.
    fn delete<E: Executor>(&self, ex: &E) -> impl Future<Output = Result<bool, Error>> + Send {
        async move {
            let q = QuerySet::<Self>::new().filter_pk(self.pk_value());
            Ok(q.delete(ex).await? > 0)
        }
    }

    /// This row, remembering its current values, so that [`Tracked::save`](crate::Tracked::save)
    /// writes only the fields changed afterwards.
    fn tracked(self) -> crate::Tracked<Self> {
        crate::Tracked::new(self)
    }

    /// Reads this row again, replacing every field.
    fn refresh_from_db<E: Executor>(&mut self, ex: &E) -> impl Future<Output = Result<(), Error>> + Send {
        async move {
            *self = QuerySet::<Self>::new().filter_pk(self.pk_value()).get(ex).await?;
            Ok(())
        }
    }
}

impl<M: Model> ModelExt for M {}

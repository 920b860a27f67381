#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

// The derive names `::brisk_orm::...`, which must resolve inside this crate's tests too.
extern crate self as brisk_orm;

pub mod aggregate;
mod app;
mod backend;
mod commands;
mod condition;
mod database;
mod error;
mod field;
mod field_types;
mod many;
mod meta;
pub mod migrations;
mod model;
mod patch;
mod queryset;
mod raw;
mod relation;
pub mod schema;
mod shape;
pub mod testing;
mod transaction;
mod value;

pub use app::{atomic_requests, Db};
pub use backend::{Dialect, Executor, Target};
pub use brisk_orm_macros::{Choice, Model};
pub use commands::Migrations;
pub use condition::Q;
pub use database::{Database, DbOptions, DEFAULT_URL};
pub use error::Error;
pub use field::{Expr, Field};
pub use field_types::{AutoId, Date, DateTime, Decimal, Duration, Time, Uuid};
pub use many::{ManyField, ManyToMany, ManyToManyMeta};
pub use meta::{registry, DefaultValue, FieldMeta, ModelMeta};
pub use model::{FromRow, Model, ModelExt};
pub use patch::Patch;
pub use queryset::{Assignment, Columns, Order, QuerySet};
pub use raw::Raw;
pub use relation::{
    meta_of, ForeignKey, KeyOf, OnDelete, OneToOne, PrimaryKey, RelatedField, Relates, Relation,
};
pub use transaction::Transaction;
pub use value::{ColumnKind, Ordered, RowRef, SqlType, Value};

/// Re-exports for the derive macros; not public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::meta::Registered;
    pub use inventory;
}

/// What a module using the ORM needs: `use brisk_orm::prelude::*;`.
pub mod prelude {
    pub use crate::{
        AutoId, Choice, Database, Date, DateTime, Db, Executor, ForeignKey, ManyToMany, Model, ModelExt,
        OnDelete, OneToOne, QuerySet, Uuid, Q,
    };
}

#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

// The derive names `::brisk_orm::...`, which must resolve inside this crate's tests too.
extern crate self as brisk_orm;

pub mod aggregate;
mod app;
mod backend;
mod bulk_update;
mod commands;
mod condition;
mod control;
mod database;
pub mod dynamic;
mod error;
mod field;
mod field_types;
mod many;
mod meta;
pub mod migrations;
mod model;
mod patch;
mod pipelined;
pub mod pubsub;
mod queryset;
mod raw;
mod relation;
pub mod schema;
#[cfg(feature = "sessions")]
pub mod sessions;
mod shape;
mod start_over;
pub mod testing;
mod tracked;
mod transaction;
mod value;

pub use app::{atomic_requests, Db};
pub use backend::{Dialect, Executor, Target};
pub use brisk_orm_macros::{Choice, Model, Values};
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
pub use queryset::{Assignment, ColumnList, Columns, Order, QuerySet, Values};
pub use raw::{Bind, Raw};
pub use relation::{
    meta_of, ForeignKey, KeyOf, OnDelete, OneToOne, PrimaryKey, RelatedField, Relates, Relation,
};
pub use tracked::Tracked;
pub use transaction::Transaction;
pub use value::{ColumnKind, Ordered, RowRef, SqlType, Value};

/// The migrations `brisk_build::embed_migrations("migrations")` embedded from the package's
/// `build.rs`, parsed: a `Result<Vec<Migration>, FileError>` naming the file at fault. A release
/// binary so migrates without its source tree.
///
/// ```ignore
/// // build.rs: fn main() { brisk_build::embed_migrations("migrations"); }
/// let files = brisk_orm::embedded_migrations!()?;
/// let app = App::new().install(db.clone()).install(brisk_orm::Migrations::new(db, files));
/// ```
#[macro_export]
macro_rules! embedded_migrations {
    () => {
        $crate::migrations::parse_embedded(::core::include!(::core::concat!(
            ::core::env!("OUT_DIR"),
            "/brisk_migrations.rs"
        )))
    };
}

/// Re-exports for the derive macros; not public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::many::{check_through, through_column, through_key};
    pub use crate::meta::Registered;
    pub use brisk;
    pub use inventory;
}

/// What a module using the ORM needs: `use brisk_orm::prelude::*;`.
pub mod prelude {
    pub use crate::{
        AutoId, Choice, Database, Date, DateTime, Db, Executor, ForeignKey, ManyToMany, Model, ModelExt,
        OnDelete, OneToOne, QuerySet, Uuid, Values, Q,
    };
}

//! Data migrations in Rust (`RunRust`, Django's `RunPython`): a function registered by name
//! with [`data_migration!`](crate::data_migration), run inside the migration's transaction.
//! It sees the models as the migrations had left them at that point — not the structs of
//! today's code, which may have changed since — through rows of field values
//! ([`DynRow`]), as Django's data migrations use `apps.get_model` rather than the models.
//!
//! ```
//! use brisk_orm::migrations::{DataMigration, DynRow};
//!
//! /// Gives every post a slug made from its title.
//! async fn fill_slugs(m: &DataMigration) -> Result<(), brisk_orm::Error> {
//!     for mut post in m.rows("blog.Post").await? {
//!         let slug = post.get_str("title").unwrap_or_default().to_lowercase().replace(' ', "-");
//!         post.set("slug", slug);
//!         m.update("blog.Post", &post).await?;
//!     }
//!     Ok(())
//! }
//! brisk_orm::data_migration!("blog.fill_slugs", fill_slugs);
//! ```
//!
//! and in the migration file:
//!
//! ```toml
//! [[operations]]
//! op = "RunRust"
//! forward = "blog.fill_slugs"
//! # reverse = "blog.clear_slugs"   # without it, the migration cannot be undone
//! ```

use std::collections::BTreeMap;

use serde_json::Value as JsonValue;

use super::state::{ModelState, ProjectState};
use crate::backend::{Dialect, Executor};
use crate::error::Error;
use crate::schema::quote;
use crate::transaction::Transaction;
use crate::value::{ColumnKind, RowRef, Value};

/// What a data migration function returns.
pub type DataFuture<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), Error>> + Send + 'a>>;

/// A data migration function registered by name (see [`data_migration!`](crate::data_migration)).
pub struct RustMigration {
    /// The name a `RunRust` operation gives (`"blog.fill_slugs"`).
    pub name: &'static str,
    /// The function.
    pub run: for<'a> fn(&'a DataMigration) -> DataFuture<'a>,
}

inventory::collect!(RustMigration);

/// Registers `function` (an `async fn(&DataMigration) -> Result<(), brisk_orm::Error>`) as the
/// data migration `name`, for `RunRust` operations to call.
#[macro_export]
macro_rules! data_migration {
    ($name:literal, $function:path) => {
        $crate::__private::inventory::submit! {
            $crate::migrations::RustMigration { name: $name, run: |m| ::std::boxed::Box::pin($function(m)) }
        }
    };
}

/// The registered function called `name`.
pub(crate) fn registered(name: &str) -> Option<&'static RustMigration> {
    inventory::iter::<RustMigration>.into_iter().find(|m| m.name == name)
}

/// One row of a model as the migrations left it: its fields' values as JSON (`null` for NULL;
/// dates, times, decimals and UUIDs as their text; bytes as a list of numbers).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DynRow {
    values: BTreeMap<String, JsonValue>,
}

impl DynRow {
    /// An empty row (for [`DataMigration::insert`]).
    pub fn new() -> Self {
        DynRow::default()
    }

    /// The value of `field`.
    pub fn get(&self, field: &str) -> Option<&JsonValue> {
        self.values.get(field)
    }

    /// The text of `field`, when it is text.
    pub fn get_str(&self, field: &str) -> Option<&str> {
        self.get(field).and_then(JsonValue::as_str)
    }

    /// The integer of `field`, when it is one.
    pub fn get_i64(&self, field: &str) -> Option<i64> {
        self.get(field).and_then(JsonValue::as_i64)
    }

    /// Sets `field` (written by [`DataMigration::update`] or `insert`).
    pub fn set(&mut self, field: &str, value: impl Into<JsonValue>) {
        self.values.insert(field.to_owned(), value.into());
    }

    /// The fields and their values.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &JsonValue)> {
        self.values.iter().map(|(k, v)| (k.as_str(), v))
    }
}

/// What a data migration function works with: the migration's transaction, and the models as
/// the migrations before it left them.
pub struct DataMigration {
    tx: Transaction,
    state: ProjectState,
}

impl DataMigration {
    pub(crate) fn new(tx: Transaction, state: ProjectState) -> Self {
        DataMigration { tx, state }
    }

    /// The migration's transaction, for [`Raw`](crate::Raw) SQL of your own.
    pub fn transaction(&self) -> &Transaction {
        &self.tx
    }

    /// The backend.
    pub fn dialect(&self) -> Dialect {
        self.tx.target().dialect()
    }

    /// The model `app.Model` as it is at this point of the migrations.
    pub fn model(&self, label: &str) -> Result<&ModelState, Error> {
        self.state.models.get(label).ok_or_else(|| {
            Error::Config(format!("there is no model {label} at this point of the migrations"))
        })
    }

    /// Every row of `app.Model`, by primary key.
    pub async fn rows(&self, label: &str) -> Result<Vec<DynRow>, Error> {
        let model = self.model(label)?;
        let pk = primary_key(model)?;
        let fields: Vec<(String, ColumnKind)> =
            model.fields.iter().map(|f| (f.name.clone(), f.kind)).collect();
        let columns: Vec<String> = model.fields.iter().map(|f| quote(f.column())).collect();
        let sql = format!(
            "SELECT {} FROM {} ORDER BY {}",
            columns.join(", "),
            quote(&model.table),
            quote(pk.column())
        );
        self.tx
            .target()
            .fetch_with(true, sql, Vec::new(), move |row: &RowRef<'_>| {
                let mut out = DynRow::new();
                for (i, (name, kind)) in fields.iter().enumerate() {
                    out.values.insert(name.clone(), crate::dynamic::read_json(row, i, *kind)?);
                }
                Ok(out)
            })
            .await
    }

    /// Writes `row`'s fields (all but the primary key) to the row of `app.Model` with its key.
    pub async fn update(&self, label: &str, row: &DynRow) -> Result<(), Error> {
        let model = self.model(label)?;
        let pk = primary_key(model)?;
        let key = row.get(&pk.name).ok_or_else(|| Error::Config(format!("the row has no {}", pk.name)))?;
        let mut sets = Vec::new();
        let mut values = Vec::new();
        for (name, value) in row.iter().filter(|(n, _)| *n != pk.name) {
            let field =
                model.field(name).ok_or_else(|| Error::Config(format!("{label} has no field {name}")))?;
            sets.push(format!("{} = ?", quote(field.column())));
            values.push(crate::dynamic::bind_json(label, name, field.kind, value)?);
        }
        if sets.is_empty() {
            return Ok(());
        }
        values.push(crate::dynamic::bind_json(label, &pk.name, pk.kind, key)?);
        let sql = format!(
            "UPDATE {} SET {} WHERE {} = ?",
            quote(&model.table),
            sets.join(", "),
            quote(pk.column())
        );
        self.run(sql, values).await
    }

    /// Inserts `row` into `app.Model` (fields it leaves out get their default, or NULL).
    pub async fn insert(&self, label: &str, row: &DynRow) -> Result<(), Error> {
        let model = self.model(label)?;
        let mut columns = Vec::new();
        let mut values = Vec::new();
        for (name, value) in row.iter() {
            let field =
                model.field(name).ok_or_else(|| Error::Config(format!("{label} has no field {name}")))?;
            columns.push(quote(field.column()));
            values.push(crate::dynamic::bind_json(label, name, field.kind, value)?);
        }
        let sql = if columns.is_empty() {
            format!("INSERT INTO {} DEFAULT VALUES", quote(&model.table))
        } else {
            let marks = vec!["?"; columns.len()].join(", ");
            format!("INSERT INTO {} ({}) VALUES ({marks})", quote(&model.table), columns.join(", "))
        };
        self.run(sql, values).await
    }

    async fn run(&self, sql: String, values: Vec<Value>) -> Result<(), Error> {
        // `?` numbered as the backend wants them.
        let sql = crate::Raw::new(sql).sql(self.dialect());
        self.tx.target().execute(sql, values).await.map(|_| ())
    }
}

fn primary_key(model: &ModelState) -> Result<&super::state::FieldState, Error> {
    model
        .fields
        .iter()
        .find(|f| f.primary_key)
        .ok_or_else(|| Error::Config(format!("{} has no primary key", model.label())))
}

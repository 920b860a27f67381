//! The model registry: what `#[derive(Model)]` declares about each model, as plain public data.
//!
//! Migrations and the admin read this; so can an app (`brisk_orm::registry()`). Every
//! `#[derive(Model)]` registers its [`ModelMeta`] at link time, grouped by app label.

use crate::value::ColumnKind;

/// A model's declaration.
#[derive(Debug)]
pub struct ModelMeta {
    /// The app (crate or module) that owns the model: the crate's name unless
    /// `#[model(app_label = "...")]` says otherwise.
    pub app_label: &'static str,
    /// The struct's name.
    pub name: &'static str,
    /// The table (default `app_label` + `_` + lowercase name).
    pub table: &'static str,
    /// The fields, in declaration order; a row's columns come in this order.
    pub fields: &'static [FieldMeta],
    /// The default order (`["-created_at", "id"]`): field names, `-` for descending.
    pub ordering: &'static [&'static str],
    /// Indexes over several fields.
    pub indexes: &'static [&'static [&'static str]],
    /// Sets of fields unique together.
    pub unique_together: &'static [&'static [&'static str]],
    /// Named `CHECK` constraints: `#[model(check(price_positive = "price > 0"))]`.
    pub checks: &'static [(&'static str, &'static str)],
    /// Many-to-many fields (no column of their own: a through table each).
    pub many_to_many: &'static [crate::many::ManyToManyMeta],
    /// The singular name people read ("blog post"); default from the struct's name.
    pub verbose_name: &'static str,
    /// The plural name people read.
    pub verbose_name_plural: &'static str,
    /// The model's former name in the same app (`#[model(renamed_from = "Article")]`):
    /// `makemigrations` then writes a RenameModel without asking, also in CI. Empty when none.
    pub renamed_from: &'static str,
}

/// A field's declaration.
#[derive(Debug)]
pub struct FieldMeta {
    /// The struct field's name.
    pub name: &'static str,
    /// The column (default: the field's name).
    pub column: &'static str,
    /// What the column stores.
    pub kind: ColumnKind,
    /// Whether NULL is allowed (the field is an `Option`).
    pub nullable: bool,
    /// The primary key.
    pub primary_key: bool,
    /// Unique on its own.
    pub unique: bool,
    /// Indexed on its own.
    pub index: bool,
    /// The longest text, from the field's `#[validate(max_length = N)]`.
    pub max_length: Option<u32>,
    /// The allowed strings of a [`ColumnKind::Choice`] field.
    pub choices: &'static [&'static str],
    /// Set to now on every save.
    pub auto_now: bool,
    /// Set to now when the row is first saved.
    pub auto_now_add: bool,
    /// The name people read ("publication date"); default from the field's name.
    pub verbose_name: &'static str,
    /// Help text (the field's doc comment unless `help_text` says otherwise).
    pub help_text: &'static str,
    /// The model this field points at, for a [`ForeignKey`](crate::ForeignKey).
    pub relation: Option<crate::relation::Relation>,
    /// The column's database default (`#[model(default = 0)]`): what a row inserted without
    /// the column gets (by SQL written by hand, an older binary during a rolling deploy), and
    /// what a migration that adds the column fills the existing rows with.
    pub default: Option<DefaultValue>,
    /// A function default (`#[model(default_fn = path)]`, a `fn() -> T` of the field's type):
    /// the value a new row starts with where brisk makes one (the admin's add form), and what
    /// the rows already there get when a migration adds the column — called once when
    /// `makemigrations` writes the migration, its value written in the file for review (as
    /// Django's one-off default). Not a database default.
    pub default_fn: Option<fn() -> crate::value::Value>,
    /// The field's former name (`#[model(renamed_from = "old")]`): `makemigrations` then
    /// writes a rename without asking, also where no one can be asked (CI). Empty when none.
    pub renamed_from: &'static str,
    /// The field's `#[validate(...)]` rules (lengths, bounds, pattern): what brisk checks in a
    /// request body, and what the admin's forms check, so both refuse the same values.
    pub rules: &'static [brisk::validation::Rule],
}

/// A column's default, as `#[model(default = ...)]` declares it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DefaultValue {
    /// `true` or `false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// Text (also a date, a decimal ... in its text form).
    Text(&'static str),
}

impl ModelMeta {
    /// The primary key field.
    pub fn primary_key(&self) -> &FieldMeta {
        // The derive refuses a model without exactly one primary key.
        self.fields.iter().find(|f| f.primary_key).unwrap_or(&self.fields[0])
    }

    /// The field named `name`.
    pub fn field(&self, name: &str) -> Option<&FieldMeta> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// The field stored in column `column`.
    pub fn field_by_column(&self, column: &str) -> Option<&FieldMeta> {
        self.fields.iter().find(|f| f.column == column)
    }

    /// `app_label.Name`, as migrations and the admin name a model.
    pub fn label(&self) -> String {
        format!("{}.{}", self.app_label, self.name)
    }
}

/// One registered model: what `#[derive(Model)]` submits.
#[doc(hidden)]
pub struct Registered(pub fn() -> &'static ModelMeta);

inventory::collect!(Registered);

/// Every model in the program, ordered by app label, then name.
///
/// ```
/// for model in brisk_orm::registry() {
///     println!("{} -> {}", model.label(), model.table);
/// }
/// ```
pub fn registry() -> Vec<&'static ModelMeta> {
    let mut all: Vec<&'static ModelMeta> =
        inventory::iter::<Registered>.into_iter().map(|r| (r.0)()).collect();
    all.sort_by_key(|m| (m.app_label, m.name));
    all.dedup_by_key(|m| m.table);
    all
}

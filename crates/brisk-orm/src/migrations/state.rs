//! The project state: every model as the database should hold it, as plain data. Built from
//! the registry (what the code declares) or by replaying migrations (what the database
//! holds); the two are compared to find what changed.
//!
//! Only what the database sees is kept: verbose names, help texts, default ordering and
//! `auto_now` are not, so editing them never makes a migration.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::ddl::Fill;
use crate::meta::{DefaultValue, FieldMeta, ModelMeta};
use crate::relation::OnDelete;
use crate::value::ColumnKind;

fn is_false(b: &bool) -> bool {
    !*b
}

/// A column of a model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldState {
    /// The field's name.
    pub name: String,
    /// The column, when it is not the name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    /// What it stores.
    pub kind: ColumnKind,
    /// NULL allowed.
    #[serde(default, skip_serializing_if = "is_false")]
    pub nullable: bool,
    /// The primary key.
    #[serde(default, skip_serializing_if = "is_false")]
    pub primary_key: bool,
    /// Unique on its own.
    #[serde(default, skip_serializing_if = "is_false")]
    pub unique: bool,
    /// Indexed on its own.
    #[serde(default, skip_serializing_if = "is_false")]
    pub index: bool,
    /// The longest text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u32>,
    /// The allowed strings of a choice field.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<String>,
    /// The model pointed at (`app.Model`), for a foreign key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub references: Option<String>,
    /// What deleting the target does, for a foreign key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_delete: Option<OnDelete>,
    /// The column's database default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Fill>,
}

impl FieldState {
    /// A NOT NULL column `name` of `kind` with no other option (set them with struct update:
    /// `FieldState { nullable: true, ..FieldState::new("bio", ColumnKind::Text) }`).
    pub fn new(name: &str, kind: ColumnKind) -> Self {
        FieldState {
            name: name.to_owned(),
            column: None,
            kind,
            nullable: false,
            primary_key: false,
            unique: false,
            index: false,
            max_length: None,
            choices: Vec::new(),
            references: None,
            on_delete: None,
            default: None,
        }
    }

    /// The column's name.
    pub fn column(&self) -> &str {
        self.column.as_deref().unwrap_or(&self.name)
    }

    /// The state of a declared field.
    pub fn from_meta(field: &FieldMeta) -> Self {
        FieldState {
            name: field.name.to_owned(),
            column: (field.column != field.name).then(|| field.column.to_owned()),
            kind: field.kind,
            nullable: field.nullable,
            primary_key: field.primary_key,
            unique: field.unique && !field.primary_key,
            index: field.index && !field.unique && !field.primary_key,
            max_length: field.max_length,
            choices: field.choices.iter().map(|c| (*c).to_owned()).collect(),
            references: field.relation.as_ref().map(|r| (r.target)().label()),
            on_delete: field.relation.as_ref().map(|r| r.on_delete),
            default: field.default.map(|d| match d {
                DefaultValue::Bool(b) => Fill::Bool(b),
                DefaultValue::Int(i) => Fill::Int(i),
                DefaultValue::Float(f) => Fill::Float(f),
                DefaultValue::Text(t) => Fill::Text(t.to_owned()),
            }),
        }
    }

    /// Equal but for the name (and a column that follows the name): a rename candidate.
    pub fn same_definition(&self, other: &FieldState) -> bool {
        let strip = |f: &FieldState| FieldState { name: String::new(), column: None, ..f.clone() };
        strip(self) == strip(other) && (self.column.is_none() == other.column.is_none())
    }
}

/// A many-to-many field: a through table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManyToManyState {
    /// The field's name.
    pub name: String,
    /// The model linked to (`app.Model`).
    pub to: String,
    /// The through table.
    pub through: String,
    /// Its column holding this model's key.
    pub from_column: String,
    /// Its column holding the target's key.
    pub to_column: String,
    /// The through model (`app.Model`) when the field names one: that model's own
    /// migrations make and drop the table, so this field's operations change no table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub through_model: Option<String>,
}

/// A table-level constraint.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Constraint {
    /// These fields are unique together.
    Unique {
        /// The fields.
        fields: Vec<String>,
    },
    /// A named `CHECK`.
    Check {
        /// Its name (the table's name is prefixed in the database).
        name: String,
        /// The SQL condition.
        sql: String,
    },
}

/// A model as the database holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelState {
    /// The app label.
    pub app: String,
    /// The model's name.
    pub name: String,
    /// The table.
    pub table: String,
    /// The columns, in order.
    pub fields: Vec<FieldState>,
    /// Many-to-many fields.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub many_to_many: Vec<ManyToManyState>,
    /// Indexes over several fields.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub indexes: Vec<Vec<String>>,
    /// Constraints.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub constraints: Vec<Constraint>,
}

impl ModelState {
    /// `app.Name`.
    pub fn label(&self) -> String {
        format!("{}.{}", self.app, self.name)
    }

    /// The state of a declared model.
    pub fn from_meta(meta: &ModelMeta) -> Self {
        let mut constraints: Vec<Constraint> = meta
            .unique_together
            .iter()
            .map(|set| Constraint::Unique { fields: set.iter().map(|f| (*f).to_owned()).collect() })
            .collect();
        constraints.extend(
            meta.checks
                .iter()
                .map(|(name, sql)| Constraint::Check { name: (*name).into(), sql: (*sql).into() }),
        );
        ModelState {
            app: meta.app_label.to_owned(),
            name: meta.name.to_owned(),
            table: meta.table.to_owned(),
            fields: meta.fields.iter().map(FieldState::from_meta).collect(),
            many_to_many: meta
                .many_to_many
                .iter()
                .map(|m| ManyToManyState {
                    name: m.name.to_owned(),
                    to: (m.target)().label(),
                    through: m.through.to_owned(),
                    from_column: m.from_column.to_owned(),
                    to_column: m.to_column.to_owned(),
                    through_model: m.through_model.map(|t| t().label()),
                })
                .collect(),
            indexes: meta.indexes.iter().map(|set| set.iter().map(|f| (*f).to_owned()).collect()).collect(),
            constraints,
        }
    }

    /// The field named `name`.
    pub fn field(&self, name: &str) -> Option<&FieldState> {
        self.fields.iter().find(|f| f.name == name)
    }
}

/// Every model, by `app.Name`.
#[derive(Debug, Clone, Default)]
pub struct ProjectState {
    /// The models.
    pub models: BTreeMap<String, ModelState>,
    /// Renames the code declares (`#[model(renamed_from = "old")]`): (`app.Model`, new field)
    /// → old field. They tell the change detector without asking; the database never sees
    /// them, so two states compare equal whatever they say.
    pub renamed_from: BTreeMap<(String, String), String>,
    /// What the code's function defaults (`#[model(default_fn = path)]`) return now:
    /// (`app.Model`, field) → value. A migration adding such a NOT NULL field fills the rows
    /// there with it, without asking.
    pub function_fills: BTreeMap<(String, String), super::Fill>,
    /// Model renames the code declares (`#[model(renamed_from = "Old")]`): `app.New` →
    /// `app.Old`.
    pub renamed_models: BTreeMap<String, String>,
}

impl PartialEq for ProjectState {
    fn eq(&self, other: &Self) -> bool {
        self.models == other.models
    }
}

impl ProjectState {
    /// The state the code declares for these models (`brisk_orm::registry()` for all).
    pub fn from_registry(models: &[&ModelMeta]) -> Self {
        let mut renamed_from = BTreeMap::new();
        let mut function_fills = BTreeMap::new();
        let mut renamed_models = BTreeMap::new();
        for m in models {
            if !m.renamed_from.is_empty() {
                renamed_models.insert(m.label(), format!("{}.{}", m.app_label, m.renamed_from));
            }
            for f in m.fields.iter().filter(|f| !f.renamed_from.is_empty()) {
                renamed_from.insert((m.label(), f.name.to_owned()), f.renamed_from.to_owned());
            }
            for f in m.fields {
                if let Some(fill) = f.default_fn.and_then(|make| super::Fill::from_value(&make())) {
                    function_fills.insert((m.label(), f.name.to_owned()), fill);
                }
            }
        }
        let models = models.iter().map(|m| (m.label(), ModelState::from_meta(m))).collect();
        ProjectState { models, renamed_from, function_fills, renamed_models }
    }

    /// The models of one app.
    pub fn app<'a>(&'a self, app: &'a str) -> impl Iterator<Item = &'a ModelState> + 'a {
        self.models.values().filter(move |m| m.app == app)
    }
}

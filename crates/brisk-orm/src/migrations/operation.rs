//! The operations a migration file lists, and what each does to the project state. Applying
//! them in order rebuilds the state the database holds, with no snapshot to keep in sync.

use serde::{Deserialize, Serialize};

use super::ddl::Fill;
use super::state::{Constraint, FieldState, ManyToManyState, ModelState, ProjectState};

/// One change to the schema. In a file: `[[operations]]` with `op = "AddField"` and the
/// operation's own keys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", deny_unknown_fields)]
pub enum Operation {
    /// A new table.
    CreateModel {
        /// The whole model.
        model: ModelState,
    },
    /// A table dropped (the model as it was, so the drop can be reversed).
    DeleteModel {
        /// The model as it was.
        model: ModelState,
    },
    /// A model renamed (its table with it).
    RenameModel {
        /// `app.Old`.
        old: String,
        /// The new name (same app).
        new: String,
        /// The new table.
        table: String,
    },
    /// A column added. `default` fills the rows already there; with `preserve_default =
    /// false` it is not kept as the column's default.
    AddField {
        /// `app.Model`.
        model: String,
        /// The new field.
        field: FieldState,
        /// Fills the rows already there (for a NOT NULL field); not kept as a default.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fill: Option<Fill>,
    },
    /// A column dropped (the field as it was, for reversal).
    RemoveField {
        /// `app.Model`.
        model: String,
        /// The field as it was.
        field: FieldState,
    },
    /// A column changed: type, NULL, unique, index, length, choices, reference.
    AlterField {
        /// `app.Model`.
        model: String,
        /// The field as it is to be (its name finds it).
        field: FieldState,
        /// Fills the NULLs when a nullable field becomes NOT NULL.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fill: Option<Fill>,
    },
    /// A column renamed (its data kept).
    RenameField {
        /// `app.Model`.
        model: String,
        /// The old name.
        old: String,
        /// The new name.
        new: String,
    },
    /// An index over several fields added.
    AddIndex {
        /// `app.Model`.
        model: String,
        /// The fields.
        fields: Vec<String>,
    },
    /// An index over several fields dropped.
    RemoveIndex {
        /// `app.Model`.
        model: String,
        /// The fields.
        fields: Vec<String>,
    },
    /// A constraint added.
    AddConstraint {
        /// `app.Model`.
        model: String,
        /// The constraint.
        constraint: Constraint,
    },
    /// A constraint dropped.
    RemoveConstraint {
        /// `app.Model`.
        model: String,
        /// The constraint.
        constraint: Constraint,
    },
    /// A many-to-many field (its through table) added.
    AddManyToMany {
        /// `app.Model`.
        model: String,
        /// The field.
        field: ManyToManyState,
    },
    /// A many-to-many field (its through table) dropped.
    RemoveManyToMany {
        /// `app.Model`.
        model: String,
        /// The field as it was.
        field: ManyToManyState,
    },
    /// SQL of each backend, with its reverse (none: irreversible). Changes no state.
    RunSql {
        /// For SQLite.
        sqlite: String,
        /// For PostgreSQL.
        postgres: String,
        /// Undoes it on SQLite.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reverse_sqlite: Option<String>,
        /// Undoes it on PostgreSQL.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reverse_postgres: Option<String>,
    },
    /// A data migration in Rust: the function registered under `forward` with
    /// `brisk_orm::data_migration!`, run in the migration's transaction over
    /// [`DataMigration`](super::DataMigration)'s rows of the models as the migrations left them.
    RunRust {
        /// The registered name of the function that applies it.
        forward: String,
        /// The registered name of the function that undoes it; without one it cannot be undone.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reverse: Option<String>,
    },
}

/// Why an operation cannot apply to the state (a hand-edited or out-of-order file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateError(pub String);

impl std::fmt::Display for StateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn model_mut<'a>(state: &'a mut ProjectState, label: &str) -> Result<&'a mut ModelState, StateError> {
    state.models.get_mut(label).ok_or_else(|| StateError(format!("there is no model {label}")))
}

fn field_index(model: &ModelState, name: &str) -> Result<usize, StateError> {
    model
        .fields
        .iter()
        .position(|f| f.name == name)
        .ok_or_else(|| StateError(format!("{} has no field {name}", model.label())))
}

impl Operation {
    /// A one-line description, as `makemigrations` prints it.
    pub fn describe(&self) -> String {
        match self {
            Operation::CreateModel { model } => format!("+ model {}", model.label()),
            Operation::DeleteModel { model } => format!("- model {}", model.label()),
            Operation::RenameModel { old, new, .. } => format!("~ model {old} renamed to {new}"),
            Operation::AddField { model, field, .. } => {
                format!("+ {model}.{} ({:?})", field.name, field.kind)
            }
            Operation::RemoveField { model, field } => format!("- {model}.{}", field.name),
            Operation::AlterField { model, field, .. } => format!("~ {model}.{} altered", field.name),
            Operation::RenameField { model, old, new } => format!("~ {model}.{old} renamed to {new}"),
            Operation::AddIndex { model, fields } => format!("+ index on {model} ({})", fields.join(", ")),
            Operation::RemoveIndex { model, fields } => format!("- index on {model} ({})", fields.join(", ")),
            Operation::AddConstraint { model, constraint } => {
                format!("+ constraint on {model}: {constraint:?}")
            }
            Operation::RemoveConstraint { model, constraint } => {
                format!("- constraint on {model}: {constraint:?}")
            }
            Operation::AddManyToMany { model, field } => format!("+ {model}.{} (many-to-many)", field.name),
            Operation::RemoveManyToMany { model, field } => {
                format!("- {model}.{} (many-to-many)", field.name)
            }
            Operation::RunSql { .. } => "RunSql".to_owned(),
            Operation::RunRust { forward, .. } => format!("RunRust {forward}"),
        }
    }

    /// The operation that undoes this one, given the state before this one; `Err` says why
    /// it cannot be undone (a RunSql without its reverse).
    pub fn reverse(&self, before: &ProjectState) -> Result<Operation, StateError> {
        let field_before = |model: &str, name: &str| {
            before
                .models
                .get(model)
                .and_then(|m| m.field(name))
                .cloned()
                .ok_or_else(|| StateError(format!("{model} has no field {name}")))
        };
        Ok(match self.clone() {
            Operation::CreateModel { model } => Operation::DeleteModel { model },
            Operation::DeleteModel { model } => Operation::CreateModel { model },
            Operation::RenameModel { old, new, .. } => {
                let was =
                    before.models.get(&old).ok_or_else(|| StateError(format!("there is no model {old}")))?;
                Operation::RenameModel {
                    old: format!("{}.{new}", was.app),
                    new: was.name.clone(),
                    table: was.table.clone(),
                }
            }
            Operation::AddField { model, field, .. } => Operation::RemoveField { model, field },
            Operation::RemoveField { model, field } => Operation::AddField { model, field, fill: None },
            Operation::AlterField { model, field, .. } => {
                let was = field_before(&model, &field.name)?;
                Operation::AlterField { model, field: was, fill: None }
            }
            Operation::RenameField { model, old, new } => {
                Operation::RenameField { model, old: new, new: old }
            }
            Operation::AddIndex { model, fields } => Operation::RemoveIndex { model, fields },
            Operation::RemoveIndex { model, fields } => Operation::AddIndex { model, fields },
            Operation::AddConstraint { model, constraint } => {
                Operation::RemoveConstraint { model, constraint }
            }
            Operation::RemoveConstraint { model, constraint } => {
                Operation::AddConstraint { model, constraint }
            }
            Operation::AddManyToMany { model, field } => Operation::RemoveManyToMany { model, field },
            Operation::RemoveManyToMany { model, field } => Operation::AddManyToMany { model, field },
            Operation::RunSql { sqlite, postgres, reverse_sqlite: Some(rs), reverse_postgres: Some(rp) } => {
                Operation::RunSql {
                    sqlite: rs,
                    postgres: rp,
                    reverse_sqlite: Some(sqlite),
                    reverse_postgres: Some(postgres),
                }
            }
            Operation::RunRust { forward, reverse: Some(reverse) } => {
                Operation::RunRust { forward: reverse, reverse: Some(forward) }
            }
            Operation::RunRust { forward, reverse: None } => {
                return Err(StateError(format!(
                    "RunRust {forward} has no reverse function, so it cannot be undone"
                )))
            }
            Operation::RunSql { .. } => {
                return Err(StateError(
                    "a RunSql without reverse_sqlite and reverse_postgres cannot be undone".into(),
                ))
            }
        })
    }

    /// Applies this operation to `state`.
    pub fn state_forwards(&self, state: &mut ProjectState) -> Result<(), StateError> {
        match self {
            Operation::CreateModel { model } => {
                if state.models.contains_key(&model.label()) {
                    return Err(StateError(format!("the model {} exists already", model.label())));
                }
                state.models.insert(model.label(), model.clone());
            }
            Operation::DeleteModel { model } => {
                state
                    .models
                    .remove(&model.label())
                    .ok_or_else(|| StateError(format!("there is no model {}", model.label())))?;
            }
            Operation::RenameModel { old, new, table } => {
                let mut model =
                    state.models.remove(old).ok_or_else(|| StateError(format!("there is no model {old}")))?;
                model.name = new.clone();
                model.table = table.clone();
                let new_label = model.label();
                for other in state.models.values_mut() {
                    for f in &mut other.fields {
                        if f.references.as_deref() == Some(old.as_str()) {
                            f.references = Some(new_label.clone());
                        }
                    }
                    for m in &mut other.many_to_many {
                        if m.to == *old {
                            m.to = new_label.clone();
                        }
                        if m.through_model.as_deref() == Some(old.as_str()) {
                            m.through_model = Some(new_label.clone());
                        }
                    }
                }
                state.models.insert(new_label, model);
            }
            Operation::AddField { model, field, .. } => {
                let m = model_mut(state, model)?;
                if m.field(&field.name).is_some() {
                    return Err(StateError(format!("{model} has a field {} already", field.name)));
                }
                m.fields.push(field.clone());
            }
            Operation::RemoveField { model, field } => {
                let m = model_mut(state, model)?;
                let i = field_index(m, &field.name)?;
                m.fields.remove(i);
            }
            Operation::AlterField { model, field, .. } => {
                let m = model_mut(state, model)?;
                let i = field_index(m, &field.name)?;
                m.fields[i] = field.clone();
            }
            Operation::RenameField { model, old, new } => {
                let m = model_mut(state, model)?;
                if m.field(new).is_some() {
                    return Err(StateError(format!("{model} has a field {new} already")));
                }
                let i = field_index(m, old)?;
                // A column that follows the field's name is renamed with it.
                m.fields[i].name = new.clone();
                let rename = |names: &mut Vec<String>| {
                    names.iter_mut().filter(|n| *n == old).for_each(|n| *n = new.clone())
                };
                m.indexes.iter_mut().for_each(rename);
                for c in &mut m.constraints {
                    if let Constraint::Unique { fields } = c {
                        rename(fields);
                    }
                }
            }
            Operation::AddIndex { model, fields } => model_mut(state, model)?.indexes.push(fields.clone()),
            Operation::RemoveIndex { model, fields } => {
                let m = model_mut(state, model)?;
                let before = m.indexes.len();
                m.indexes.retain(|i| i != fields);
                if m.indexes.len() == before {
                    return Err(StateError(format!("{model} has no index on ({})", fields.join(", "))));
                }
            }
            Operation::AddConstraint { model, constraint } => {
                model_mut(state, model)?.constraints.push(constraint.clone())
            }
            Operation::RemoveConstraint { model, constraint } => {
                let m = model_mut(state, model)?;
                let before = m.constraints.len();
                m.constraints.retain(|c| c != constraint);
                if m.constraints.len() == before {
                    return Err(StateError(format!("{model} has no constraint {constraint:?}")));
                }
            }
            Operation::AddManyToMany { model, field } => {
                let m = model_mut(state, model)?;
                if m.many_to_many.iter().any(|f| f.name == field.name) {
                    return Err(StateError(format!("{model} has a field {} already", field.name)));
                }
                m.many_to_many.push(field.clone());
            }
            Operation::RemoveManyToMany { model, field } => {
                let m = model_mut(state, model)?;
                let before = m.many_to_many.len();
                m.many_to_many.retain(|f| f.name != field.name);
                if m.many_to_many.len() == before {
                    return Err(StateError(format!("{model} has no field {}", field.name)));
                }
            }
            Operation::RunSql { .. } | Operation::RunRust { .. } => {}
        }
        Ok(())
    }
}

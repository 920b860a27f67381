//! The change detector: what the models declare ([`ProjectState::from_registry`]) against what
//! the migrations build ([`Graph::state`](super::Graph::state)), as the operations of the next
//! migration, in an order that applies: renamed models, deleted and created models (a model
//! after those it points at), removed constraints and indexes, renamed fields, removed, added
//! and altered fields, then added indexes, constraints and many-to-many fields.
//!
//! It never guesses what a person must decide. A field or model that looks renamed (its
//! definition equal to one removed) is a rename only when the [`Questioner`] says so; a NOT
//! NULL field added (or made NOT NULL) without a default needs a value for the rows there,
//! which the questioner gives or refuses with a sentence saying what to add.

use super::ddl::Fill;
use super::operation::Operation;
use super::state::{FieldState, ModelState, ProjectState};
use crate::error::Error;

/// Who decides what the detector cannot: a person at a terminal, or a rule for scripts.
pub trait Questioner {
    /// Was `old` renamed `new` (they are defined alike)?
    fn rename_field(&mut self, model: &str, old: &str, new: &str) -> Result<bool, Error>;
    /// Was the model `old` renamed `new`?
    fn rename_model(&mut self, old: &str, new: &str) -> Result<bool, Error>;
    /// The value for the rows already there of a NOT NULL field added to (or made NOT NULL
    /// in) `model`.
    fn fill(&mut self, model: &str, field: &FieldState) -> Result<Fill, Error>;
}

/// The questioner of a run without a terminal (CI, `--no-input`): renames are never assumed
/// (a removed and an added field stay so, unless the field says `#[model(renamed_from =
/// "old")]`), and a NOT NULL field without a default is an error that says what to add.
pub struct NonInteractive;

impl Questioner for NonInteractive {
    fn rename_field(&mut self, _model: &str, _old: &str, _new: &str) -> Result<bool, Error> {
        Ok(false)
    }
    fn rename_model(&mut self, _old: &str, _new: &str) -> Result<bool, Error> {
        Ok(false)
    }
    fn fill(&mut self, model: &str, field: &FieldState) -> Result<Fill, Error> {
        Err(Error::Config(format!(
            "{model}.{} ({:?}) is NOT NULL and the rows already there need a value: add #[model(default = ...)] to it, make it an Option, or run makemigrations in a terminal to give a value once",
            field.name, field.kind
        )))
    }
}

/// Answers given in advance (tests, scripts).
#[derive(Debug, Default)]
pub struct Scripted {
    /// Renames to accept: (`app.Model` or `app.Model.field`, new name).
    pub renames: Vec<(String, String)>,
    /// Values for NOT NULL fields: (`app.Model.field`, value).
    pub fills: Vec<(String, Fill)>,
}

impl Questioner for Scripted {
    fn rename_field(&mut self, model: &str, old: &str, new: &str) -> Result<bool, Error> {
        Ok(self.renames.contains(&(format!("{model}.{old}"), new.to_owned())))
    }
    fn rename_model(&mut self, old: &str, new: &str) -> Result<bool, Error> {
        Ok(self.renames.contains(&(old.to_owned(), new.to_owned())))
    }
    fn fill(&mut self, model: &str, field: &FieldState) -> Result<Fill, Error> {
        let key = format!("{model}.{}", field.name);
        match self.fills.iter().find(|(k, _)| *k == key) {
            Some((_, fill)) => Ok(fill.clone()),
            None => NonInteractive.fill(model, field),
        }
    }
}

/// The operations that take `from` (what the migrations build) to `to` (what the code
/// declares), for the models of `app`.
pub fn detect(
    from: &ProjectState,
    to: &ProjectState,
    app: &str,
    ask: &mut dyn Questioner,
) -> Result<Vec<Operation>, Error> {
    let mut ops = Vec::new();
    let mut from = from.clone();
    let old: Vec<ModelState> = from.app(app).cloned().collect();
    let new: Vec<ModelState> = to.app(app).cloned().collect();

    // Renamed models: removed and added, defined alike.
    for gone in old.iter().filter(|m| !to.models.contains_key(&m.label())) {
        // Declared in the code (`#[model(renamed_from = "Old")]`): a rename, even when the
        // fields changed too (those changes follow as operations of their own).
        let declared = new.iter().find(|m| {
            !from.models.contains_key(&m.label()) && to.renamed_models.get(&m.label()) == Some(&gone.label())
        });
        if let Some(renamed) = declared {
            let op = Operation::RenameModel {
                old: gone.label(),
                new: renamed.name.clone(),
                table: renamed.table.clone(),
            };
            apply(&mut from, &op)?;
            ops.push(op);
            continue;
        }
        let alike = new.iter().find(|m| {
            !from.models.contains_key(&m.label())
                && m.fields.len() == gone.fields.len()
                && m.fields.iter().zip(&gone.fields).all(|(a, b)| a.same_definition(b) && a.name == b.name)
        });
        if let Some(alike) = alike {
            if ask.rename_model(&gone.label(), &alike.label())? {
                let op = Operation::RenameModel {
                    old: gone.label(),
                    new: alike.name.clone(),
                    table: alike.table.clone(),
                };
                apply(&mut from, &op)?;
                ops.push(op);
            }
        }
    }
    // Deleted models, then created ones (each after the models it points at).
    for gone in from.app(app).filter(|m| !to.models.contains_key(&m.label())).cloned().collect::<Vec<_>>() {
        let op = Operation::DeleteModel { model: gone };
        apply(&mut from, &op)?;
        ops.push(op);
    }
    let created: Vec<ModelState> =
        new.iter().filter(|m| !from.models.contains_key(&m.label())).cloned().collect();
    for model in crate::schema::in_dependency_order(&created) {
        // Many-to-many fields come once both ends exist.
        let op = Operation::CreateModel { model: ModelState { many_to_many: Vec::new(), ..model.clone() } };
        apply(&mut from, &op)?;
        ops.push(op);
    }

    // Changes inside the models both sides have.
    let mut later = Vec::new();
    for want in &new {
        let label = want.label();
        let Some(mut have) = from.models.get(&label).cloned() else { continue };
        // Renamed fields first (a rename keeps the column's indexes and constraints): a
        // removed field and an added one, defined alike.
        let removed: Vec<FieldState> =
            have.fields.iter().filter(|f| want.field(&f.name).is_none()).cloned().collect();
        for gone in &removed {
            let new_here = |f: &&FieldState| have.field(&f.name).is_none();
            // Declared in the code (`renamed_from`): a rename, even with a new definition.
            let declared = want
                .fields
                .iter()
                .filter(new_here)
                .find(|f| to.renamed_from.get(&(label.clone(), f.name.clone())) == Some(&gone.name));
            let alike =
                declared.or_else(|| want.fields.iter().filter(new_here).find(|f| f.same_definition(gone)));
            if let Some(alike) = alike {
                if declared.is_some() || ask.rename_field(&label, &gone.name, &alike.name)? {
                    let op = Operation::RenameField {
                        model: label.clone(),
                        old: gone.name.clone(),
                        new: alike.name.clone(),
                    };
                    apply_model(&mut have, &mut from, &op)?;
                    ops.push(op);
                }
            }
        }
        // Removed constraints and indexes next: they may name fields about to change.
        for c in have.constraints.iter().filter(|c| !want.constraints.contains(c)) {
            ops.push(Operation::RemoveConstraint { model: label.clone(), constraint: c.clone() });
        }
        for i in have.indexes.iter().filter(|i| !want.indexes.contains(i)) {
            ops.push(Operation::RemoveIndex { model: label.clone(), fields: i.clone() });
        }
        for gone in have.fields.iter().filter(|f| want.field(&f.name).is_none()).cloned().collect::<Vec<_>>()
        {
            ops.push(Operation::RemoveField { model: label.clone(), field: gone });
        }
        for field in &want.fields {
            match have.field(&field.name) {
                None => {
                    let fill = if field.nullable || field.default.is_some() || field.primary_key {
                        None
                    } else if let Some(fill) = to.function_fills.get(&(label.clone(), field.name.clone())) {
                        Some(fill.clone())
                    } else {
                        Some(ask.fill(&label, field)?)
                    };
                    ops.push(Operation::AddField { model: label.clone(), field: field.clone(), fill });
                }
                Some(was) if was != field => {
                    let fill = if was.nullable && !field.nullable && field.default.is_none() {
                        match to.function_fills.get(&(label.clone(), field.name.clone())) {
                            Some(fill) => Some(fill.clone()),
                            None => Some(ask.fill(&label, field)?),
                        }
                    } else {
                        None
                    };
                    ops.push(Operation::AlterField { model: label.clone(), field: field.clone(), fill });
                }
                Some(_) => {}
            }
        }
        for i in want.indexes.iter().filter(|i| !have.indexes.contains(i)) {
            later.push(Operation::AddIndex { model: label.clone(), fields: i.clone() });
        }
        for c in want.constraints.iter().filter(|c| !have.constraints.contains(c)) {
            later.push(Operation::AddConstraint { model: label.clone(), constraint: c.clone() });
        }
        for m in have.many_to_many.iter().filter(|m| !want.many_to_many.contains(m)) {
            ops.push(Operation::RemoveManyToMany { model: label.clone(), field: m.clone() });
        }
        for m in want.many_to_many.iter().filter(|m| !have.many_to_many.contains(m)) {
            later.push(Operation::AddManyToMany { model: label.clone(), field: m.clone() });
        }
    }
    ops.extend(later);
    Ok(ops)
}

fn apply(state: &mut ProjectState, op: &Operation) -> Result<(), Error> {
    op.state_forwards(state).map_err(|e| Error::Config(e.0))
}

fn apply_model(model: &mut ModelState, state: &mut ProjectState, op: &Operation) -> Result<(), Error> {
    apply(state, op)?;
    if let Some(now) = state.models.get(&model.label()) {
        *model = now.clone();
    }
    Ok(())
}

//! Many-to-many fields on the add and change forms: a multi-select of the target's rows (a
//! group's permissions, a user's groups), saved in the same transaction as the row.

use std::collections::BTreeMap;

use brisk_orm::dynamic::{first_rows, linked_keys, set_links};
use brisk_orm::migrations::DynRow;
use brisk_orm::{ColumnKind, Executor, ManyToManyMeta, ModelMeta};
use serde::Serialize;
use serde_json::Value as JsonValue;

use crate::form::{capitalized, Errors};
use crate::registry::{key_text, Registered};

/// The most rows a multi-select offers.
const MAX_OPTIONS: u64 = 1000;

/// The keys chosen per many-to-many field, for the fields the form had.
pub(crate) type Chosen = BTreeMap<&'static str, Vec<JsonValue>>;

/// One option of a multi-select.
#[derive(Debug, Serialize)]
pub(crate) struct ManyOption {
    value: String,
    label: String,
    selected: bool,
}

/// A many-to-many field's multi-select.
#[derive(Debug, Serialize)]
pub(crate) struct ManyWidget {
    name: &'static str,
    label: String,
    options: Vec<ManyOption>,
    truncated: bool,
}

impl ManyWidget {
    /// The field's name.
    pub(crate) fn name(&self) -> &'static str {
        self.name
    }
}

/// The many-to-many fields the forms edit: those whose links are rows brisk-orm made (a
/// `through` model's rows carry data of their own and are edited as that model).
pub(crate) fn fields(m: &Registered) -> Vec<&'static ManyToManyMeta> {
    m.meta
        .many_to_many
        .iter()
        .filter(|f| f.through_model.is_none())
        .filter(|f| m.options.fields.is_empty() || m.options.fields.contains(&f.name))
        .filter(|f| !m.options.readonly_fields.contains(&f.name))
        .collect()
}

fn title_of(models: &[Registered], meta: &'static ModelMeta, row: &DynRow) -> String {
    if let Some(admin) = models.iter().find(|m| m.meta.table == meta.table) {
        return admin.title(row);
    }
    let text = meta.fields.iter().find(|f| f.kind == ColumnKind::Text).and_then(|f| row.get_str(f.name));
    text.map(str::to_owned).unwrap_or_else(|| key_text(row.get(meta.primary_key().name)))
}

/// The multi-selects, with the stored links of `owner` (or what was chosen in a form sent back).
pub(crate) async fn widgets(
    models: &[Registered],
    m: &Registered,
    ex: &impl Executor,
    owner: Option<&JsonValue>,
    chosen: Option<&Chosen>,
) -> Result<Vec<ManyWidget>, brisk_orm::Error> {
    let mut out = Vec::new();
    for field in fields(m) {
        let target = (field.target)();
        let rows = first_rows(target, MAX_OPTIONS + 1, ex).await?;
        let selected: Vec<JsonValue> = match (chosen.and_then(|c| c.get(field.name)), owner) {
            (Some(keys), _) => keys.clone(),
            (None, Some(owner)) => linked_keys(m.meta, field, owner, ex).await?,
            (None, None) => Vec::new(),
        };
        let truncated = rows.len() as u64 > MAX_OPTIONS;
        let pk = target.primary_key().name;
        let options = rows
            .iter()
            .take(MAX_OPTIONS as usize)
            .map(|row| {
                let key = row.get(pk).cloned().unwrap_or(JsonValue::Null);
                ManyOption {
                    value: key_text(Some(&key)),
                    label: title_of(models, target, row),
                    selected: selected.contains(&key),
                }
            })
            .collect();
        out.push(ManyWidget {
            name: field.name,
            label: capitalized(&field.name.replace('_', " ")),
            options,
            truncated,
        });
    }
    Ok(out)
}

/// The keys chosen in a posted form, for the many-to-many fields it had (each marked by a
/// hidden `_m2m` input, so that choosing nothing clears the links).
pub(crate) fn chosen(m: &Registered, pairs: &[(String, String)]) -> Result<Chosen, Errors> {
    let mut out = Chosen::new();
    let mut errors = Errors::new();
    for field in fields(m) {
        if !pairs.iter().any(|(k, v)| k == "_m2m" && v == field.name) {
            continue;
        }
        let target = (field.target)();
        let mut keys = Vec::new();
        for (_, v) in pairs.iter().filter(|(k, _)| k == field.name).take(10_000) {
            let key = crate::registry::key_from_text(target, v);
            match key {
                Some(key) => keys.push(key),
                None => {
                    errors.insert(
                        field.name,
                        vec![format!("Select a valid choice. {v} is not one of the available choices.")],
                    );
                }
            }
        }
        out.insert(field.name, keys);
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// Saves the chosen links of `owner`; returns the fields whose links changed.
pub(crate) async fn save(
    m: &Registered,
    owner: &JsonValue,
    chosen: &Chosen,
    ex: &impl Executor,
) -> Result<Vec<String>, brisk_orm::Error> {
    let mut changed = Vec::new();
    for field in fields(m) {
        let Some(keys) = chosen.get(field.name) else { continue };
        let mut before = linked_keys(m.meta, field, owner, ex).await?;
        let mut after = keys.clone();
        before.sort_by_key(|k| k.to_string());
        after.sort_by_key(|k| k.to_string());
        after.dedup();
        if before != after {
            set_links(m.meta, field, owner, &after, ex).await?;
            changed.push(field.name.to_owned());
        }
    }
    Ok(changed)
}

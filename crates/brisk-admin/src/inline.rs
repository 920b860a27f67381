//! Inlines: the rows of a child model edited on the parent's page (Django's `TabularInline`) —
//! existing children changed or deleted, new ones added in empty rows — all checked before
//! anything is written, then written in the parent's transaction.

use std::collections::BTreeMap;
use std::sync::Arc;

use brisk_orm::migrations::DynRow;
use brisk_orm::{Executor, FieldMeta, ModelMeta};
use serde::Serialize;
use serde_json::Value as JsonValue;

use crate::form::{capitalized, input_text, parse_field, widget_of};
use crate::options::Options;
use crate::registry::{key_text, Filter, ListQuery, ModelOps, Registered};

/// The most children an inline shows.
const MAX_CHILDREN: u64 = 500;

/// A child model edited on its parent's page.
#[derive(Clone)]
pub(crate) struct InlineSpec {
    pub(crate) meta: &'static ModelMeta,
    /// The child's foreign key to the parent.
    pub(crate) fk: &'static str,
    pub(crate) fields: Vec<&'static str>,
    /// Empty rows offered for new children.
    pub(crate) extra: usize,
    pub(crate) ops: Arc<dyn ModelOps>,
}

impl InlineSpec {
    fn fields(&self) -> Vec<&'static FieldMeta> {
        self.fields.iter().filter_map(|n| self.meta.fields.iter().find(|f| f.name == *n)).collect()
    }
}

/// Messages per (inline, row, field).
pub(crate) type InlineErrors = BTreeMap<(usize, usize, &'static str), Vec<String>>;

/// One input of an inline row.
#[derive(Debug, Serialize)]
struct Cell {
    name: String,
    label: String,
    widget: &'static str,
    step: &'static str,
    value: String,
    checked: bool,
    choices: &'static [&'static str],
    errors: Vec<String>,
}

/// One row of an inline: an existing child (with its key) or an empty one.
#[derive(Debug, Serialize)]
struct Row {
    key: Option<String>,
    key_name: String,
    delete_name: String,
    delete: bool,
    cells: Vec<Cell>,
}

/// An inline's table, for the template.
#[derive(Debug, Serialize)]
pub(crate) struct InlineForm {
    title: String,
    count_name: String,
    count: usize,
    headers: Vec<String>,
    rows: Vec<Row>,
}

fn value(pairs: &[(String, String)], name: &str) -> Option<String> {
    pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
}

async fn children(
    spec: &InlineSpec,
    owner: &JsonValue,
    ex: &dyn Executor,
) -> Result<Vec<DynRow>, brisk_orm::Error> {
    let query = ListQuery {
        filters: vec![Filter::Eq(spec.fk, owner.clone())],
        limit: MAX_CHILDREN,
        ..ListQuery::default()
    };
    let mut rows = spec.ops.list(ex, &Options::default(), &query).await?;
    rows.reverse(); // oldest first
    Ok(rows)
}

/// The inlines' tables: the stored children of `owner` (none when adding) and the empty rows,
/// or what was sent back with its errors.
pub(crate) async fn forms(
    m: &Registered,
    owner: Option<&JsonValue>,
    sent: Option<&[(String, String)]>,
    errors: &InlineErrors,
    ex: &dyn Executor,
) -> Result<Vec<InlineForm>, brisk_orm::Error> {
    let mut out = Vec::new();
    for (n, spec) in m.options.inlines.iter().enumerate() {
        let fields = spec.fields();
        let stored = match owner {
            Some(owner) => children(spec, owner, ex).await?,
            None => Vec::new(),
        };
        let pk = spec.meta.primary_key().name;
        let count = match sent {
            Some(pairs) => {
                value(pairs, &format!("inline{n}-count")).and_then(|c| c.parse().ok()).unwrap_or(0).min(1000)
            }
            None => stored.len() + spec.extra,
        };
        let mut rows = Vec::new();
        for i in 0..count {
            let prefix = format!("inline{n}-{i}");
            let stored_row = match sent {
                Some(pairs) => value(pairs, &format!("{prefix}-key"))
                    .and_then(|k| stored.iter().find(|r| key_text(r.get(pk)) == k)),
                None => stored.get(i),
            };
            let cells = fields
                .iter()
                .map(|f| {
                    let name = format!("{prefix}-{}", f.name);
                    let (widget, step) = widget_of(f);
                    let (value, checked) = match sent {
                        Some(pairs) => (
                            self::value(pairs, &name).unwrap_or_default(),
                            self::value(pairs, &name).is_some(),
                        ),
                        None => (
                            input_text(f, stored_row.and_then(|r| r.get(f.name))),
                            stored_row
                                .and_then(|r| r.get(f.name))
                                .and_then(JsonValue::as_bool)
                                .unwrap_or(false),
                        ),
                    };
                    Cell {
                        name,
                        label: capitalized(f.verbose_name),
                        widget: if widget == "textarea" || widget == "json" { "text" } else { widget },
                        step,
                        value,
                        checked,
                        choices: f.choices,
                        errors: errors.get(&(n, i, f.name)).cloned().unwrap_or_default(),
                    }
                })
                .collect();
            rows.push(Row {
                key: stored_row.map(|r| key_text(r.get(pk))),
                key_name: format!("{prefix}-key"),
                delete_name: format!("{prefix}-DELETE"),
                delete: sent.is_some_and(|pairs| value(pairs, &format!("{prefix}-DELETE")).is_some()),
                cells,
            });
        }
        out.push(InlineForm {
            title: capitalized(spec.meta.verbose_name_plural),
            count_name: format!("inline{n}-count"),
            count,
            headers: fields.iter().map(|f| capitalized(f.verbose_name)).collect(),
            rows,
        });
    }
    Ok(out)
}

/// What saving an inline row does.
pub(crate) enum Planned {
    Update { inline: usize, key: String, values: DynRow },
    Delete { inline: usize, key: String },
    Insert { inline: usize, values: DynRow },
}

/// Every inline row of a posted form, checked before anything is written: what to do, or the
/// messages per row and field. An empty new row is skipped.
pub(crate) fn plan(m: &Registered, pairs: &[(String, String)]) -> Result<Vec<Planned>, InlineErrors> {
    let mut out = Vec::new();
    let mut errors = InlineErrors::new();
    for (n, spec) in m.options.inlines.iter().enumerate() {
        let count: usize =
            value(pairs, &format!("inline{n}-count")).and_then(|c| c.parse().ok()).unwrap_or(0).min(1000);
        for i in 0..count {
            let prefix = format!("inline{n}-{i}");
            let key = value(pairs, &format!("{prefix}-key")).filter(|k| !k.is_empty());
            if let (Some(key), true) = (&key, value(pairs, &format!("{prefix}-DELETE")).is_some()) {
                out.push(Planned::Delete { inline: n, key: key.clone() });
                continue;
            }
            let fields = spec.fields();
            let texts: Vec<Option<String>> =
                fields.iter().map(|f| value(pairs, &format!("{prefix}-{}", f.name))).collect();
            let blank = texts.iter().all(|t| t.as_deref().is_none_or(|t| t.trim().is_empty()));
            if key.is_none() && blank {
                continue;
            }
            let mut values = DynRow::new();
            for (f, text) in fields.iter().zip(&texts) {
                match parse_field(f, text.as_deref()) {
                    Ok(v) => values.set(f.name, v),
                    Err(messages) => {
                        errors.insert((n, i, f.name), messages);
                    }
                }
            }
            out.push(match key {
                Some(key) => Planned::Update { inline: n, key, values },
                None => Planned::Insert { inline: n, values },
            });
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

fn child_key(spec: &InlineSpec, key: &str) -> JsonValue {
    crate::registry::key_from_text(spec.meta, key).unwrap_or(JsonValue::Null)
}

/// Applies `planned` to the children of `owner` (inside the caller's transaction); returns the
/// inlines that changed, by title, for the history. A key that is not a child of `owner` is
/// refused: a form cannot reach another parent's rows.
pub(crate) async fn apply(
    m: &Registered,
    owner: &JsonValue,
    planned: &[Planned],
    ex: &dyn Executor,
) -> Result<Vec<String>, brisk_orm::Error> {
    let mut changed: Vec<String> = Vec::new();
    let mut touched = |n: usize| {
        let title = m.options.inlines[n].meta.verbose_name_plural.to_owned();
        if !changed.contains(&title) {
            changed.push(title);
        }
    };
    for step in planned {
        match step {
            Planned::Delete { inline, key } | Planned::Update { inline, key, .. } => {
                let spec = &m.options.inlines[*inline];
                let key_json = child_key(spec, key);
                let Some(stored) = spec.ops.get(ex, &key_json).await? else {
                    return Err(brisk_orm::Error::DoesNotExist { model: spec.meta.name });
                };
                if stored.get(spec.fk) != Some(owner) {
                    return Err(brisk_orm::Error::DoesNotExist { model: spec.meta.name });
                }
                match step {
                    Planned::Delete { .. } => {
                        spec.ops.delete(ex, std::slice::from_ref(&key_json)).await?;
                        touched(*inline);
                    }
                    Planned::Update { values, .. } => {
                        let mut changes = DynRow::new();
                        for (name, v) in values.iter() {
                            if stored.get(name) != Some(v) {
                                changes.set(name, v.clone());
                            }
                        }
                        if changes.iter().next().is_some() {
                            spec.ops.update(ex, &key_json, &changes).await?;
                            touched(*inline);
                        }
                    }
                    Planned::Insert { .. } => {}
                }
            }
            Planned::Insert { inline, values } => {
                let spec = &m.options.inlines[*inline];
                let mut row = values.clone();
                row.set(spec.fk, owner.clone());
                for f in spec.meta.fields.iter().filter(|f| f.auto_now || f.auto_now_add) {
                    row.set(f.name, serde_json::json!(brisk_orm::DateTime::now()));
                }
                spec.ops.insert(ex, &row).await?;
                touched(*inline);
            }
        }
    }
    Ok(changed)
}

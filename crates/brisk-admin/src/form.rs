//! The add and change forms: a widget per field from its declaration (text, number, checkbox,
//! select for choices, date and time inputs, a JSON textarea, a key for a foreign key), and the
//! submitted form turned into the row's values — checked by the field's kind, its choices, and
//! its `#[validate]` rules (the same the API enforces), with a message beside each field.

use std::collections::BTreeMap;

use brisk::validation::{Bound, Rule};
use brisk_orm::migrations::DynRow;
use brisk_orm::{ColumnKind, FieldMeta};
use serde::Serialize;
use serde_json::Value as JsonValue;

use crate::registry::Registered;

/// Messages per field name.
pub(crate) type Errors = BTreeMap<&'static str, Vec<String>>;

/// One field of a form, for the template.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Widget {
    pub(crate) name: &'static str,
    pub(crate) label: String,
    pub(crate) help_text: &'static str,
    /// `text`, `textarea`, `number`, `checkbox`, `select`, `date`, `datetime-local`, `time`, `json`.
    pub(crate) widget: &'static str,
    pub(crate) required: bool,
    pub(crate) readonly: bool,
    pub(crate) value: String,
    pub(crate) checked: bool,
    pub(crate) choices: Vec<&'static str>,
    pub(crate) step: &'static str,
    pub(crate) maxlength: Option<u32>,
    pub(crate) related: Option<&'static str>,
    /// The related model's autocomplete URL path after the admin's prefix (`shop/supplier`).
    pub(crate) related_path: Option<String>,
    pub(crate) errors: Vec<String>,
}

/// `publication date` → `Publication date`.
pub(crate) fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

pub(crate) fn widget_of(field: &FieldMeta) -> (&'static str, &'static str) {
    use ColumnKind::*;
    match field.kind {
        Bool => ("checkbox", ""),
        SmallInt | Int | BigInt | AutoBigInt | Duration => ("number", "1"),
        Double | Decimal => ("number", "any"),
        Choice => ("select", ""),
        Date => ("date", ""),
        DateTime => ("datetime-local", "1"),
        Time => ("time", "1"),
        Json => ("json", ""),
        Text if field.max_length.is_none() => ("textarea", ""),
        _ => ("text", ""),
    }
}

/// A stored value as an input's text: dates for `<input type="date">`, timestamps for
/// `datetime-local` (UTC, to the second), JSON pretty-printed.
pub(crate) fn input_text(field: &FieldMeta, value: Option<&JsonValue>) -> String {
    match (field.kind, value) {
        (_, None | Some(JsonValue::Null)) => String::new(),
        (ColumnKind::DateTime, Some(JsonValue::String(s))) => {
            s.trim_end_matches('Z').chars().take(19).collect()
        }
        (ColumnKind::Time, Some(JsonValue::String(s))) => s.chars().take(8).collect(),
        (ColumnKind::Json, Some(v)) => serde_json::to_string_pretty(v).unwrap_or_default(),
        (_, Some(JsonValue::String(s))) => s.clone(),
        (_, Some(v)) => v.to_string(),
    }
}

/// What a new row's field starts as on the add form: its declared default, as Django shows
/// a model's defaults.
fn initial_text(f: &FieldMeta) -> String {
    use brisk_orm::DefaultValue;
    match f.default {
        Some(DefaultValue::Text(t)) => t.to_owned(),
        Some(DefaultValue::Int(n)) => n.to_string(),
        Some(DefaultValue::Float(x)) => x.to_string(),
        Some(DefaultValue::Bool(_)) | None => String::new(),
    }
}

/// The form's widgets: from the submitted text when there is some, else from `row`.
pub(crate) fn widgets(
    reg: &Registered,
    row: Option<&DynRow>,
    submitted: Option<&BTreeMap<String, String>>,
    errors: &Errors,
    adding: bool,
) -> Vec<Widget> {
    reg.form_fields()
        .into_iter()
        .filter(|f| !(adding && (f.auto_now || f.auto_now_add)))
        .map(|f| {
            let (widget, step) = widget_of(f);
            let readonly = reg.is_readonly(f);
            let stored = row.and_then(|r| r.get(f.name));
            let value = match submitted.filter(|_| !readonly) {
                Some(form) => form.get(f.name).cloned().unwrap_or_default(),
                None if row.is_none() => initial_text(f),
                None => input_text(f, stored),
            };
            let checked = match submitted.filter(|_| !readonly) {
                Some(form) => form.contains_key(f.name),
                None => stored.and_then(JsonValue::as_bool).unwrap_or_else(|| {
                    matches!(f.default, Some(brisk_orm::DefaultValue::Bool(true))) && row.is_none()
                }),
            };
            Widget {
                name: f.name,
                label: capitalized(f.verbose_name),
                help_text: f.help_text,
                widget,
                required: !f.nullable && f.kind != ColumnKind::Bool && required_text(f),
                readonly,
                value,
                checked,
                choices: f.choices.to_vec(),
                step,
                maxlength: f.max_length,
                related: f.relation.map(|r| (r.target)().name),
                related_path: f.relation.map(|r| {
                    let t = (r.target)();
                    format!("{}/{}", t.app_label, t.name.to_lowercase())
                }),
                errors: errors.get(f.name).cloned().unwrap_or_default(),
            }
        })
        .collect()
}

/// Text is required when its rules ask for at least one character; other kinds always.
fn required_text(f: &FieldMeta) -> bool {
    match f.kind {
        ColumnKind::Text => f.rules.iter().any(|r| matches!(r, Rule::MinLength(n) if *n > 0)),
        _ => true,
    }
}

/// The submitted form as the row's values (the editable fields only: a readonly field posted
/// anyway is ignored), or the messages per field.
pub(crate) fn parse(
    reg: &Registered,
    form: &BTreeMap<String, String>,
    adding: bool,
) -> Result<DynRow, Errors> {
    let mut row = DynRow::new();
    let mut errors = Errors::new();
    for f in reg.form_fields() {
        if reg.is_readonly(f) {
            continue;
        }
        let text = form.get(f.name).map(|s| s.trim()).unwrap_or("");
        match value_of(f, text, form.contains_key(f.name)) {
            Ok(value) => {
                let problems = check_rules(f, &value);
                if problems.is_empty() {
                    row.set(f.name, value);
                } else {
                    errors.insert(f.name, problems);
                }
            }
            Err(message) => {
                errors.insert(f.name, vec![message]);
            }
        }
    }
    let _ = adding;
    if errors.is_empty() {
        Ok(row)
    } else {
        Err(errors)
    }
}

/// One field's submitted text as its value, checked by its kind and rules (the list's
/// inline edits).
pub(crate) fn parse_field(f: &FieldMeta, text: Option<&str>) -> Result<JsonValue, Vec<String>> {
    let value = value_of(f, text.map(str::trim).unwrap_or(""), text.is_some()).map_err(|m| vec![m])?;
    let problems = check_rules(f, &value);
    if problems.is_empty() {
        Ok(value)
    } else {
        Err(problems)
    }
}

const REQUIRED: &str = "This field is required.";

/// One field's text as its JSON value.
fn value_of(f: &FieldMeta, text: &str, present: bool) -> Result<JsonValue, String> {
    use ColumnKind::*;
    if f.kind == Bool {
        return Ok(JsonValue::Bool(present && !matches!(text, "" | "0" | "false" | "off")));
    }
    if text.is_empty() {
        return match f.kind {
            _ if f.nullable => Ok(JsonValue::Null),
            Text => Ok(JsonValue::String(String::new())),
            _ => Err(REQUIRED.into()),
        };
    }
    match f.kind {
        SmallInt | Int | BigInt | AutoBigInt | Duration => {
            let n: i64 = text.parse().map_err(|_| "Enter a whole number.".to_owned())?;
            let fits = match f.kind {
                SmallInt => i16::try_from(n).is_ok(),
                Int => i32::try_from(n).is_ok(),
                _ => true,
            };
            if !fits {
                return Err("Enter a smaller number: it does not fit this field.".into());
            }
            Ok(JsonValue::from(n))
        }
        Double => {
            let x: f64 = text.parse().map_err(|_| "Enter a number.".to_owned())?;
            if !x.is_finite() {
                return Err("Enter a number.".into());
            }
            Ok(JsonValue::from(x))
        }
        Decimal => {
            let valid = text.parse::<f64>().is_ok()
                && !text.contains(['e', 'E'])
                && text.chars().all(|c| c.is_ascii_digit() || "+-.".contains(c));
            if !valid {
                return Err("Enter a number.".into());
            }
            Ok(JsonValue::String(text.to_owned()))
        }
        Choice => {
            if !f.choices.contains(&text) {
                return Err(format!("Select a valid choice. {text} is not one of the available choices."));
            }
            Ok(JsonValue::String(text.to_owned()))
        }
        Date => {
            let ok = text.len() == 10 && text.as_bytes()[4] == b'-' && text.as_bytes()[7] == b'-';
            if !ok {
                return Err("Enter a valid date (YYYY-MM-DD).".into());
            }
            Ok(JsonValue::String(text.to_owned()))
        }
        DateTime => {
            // `<input type="datetime-local">`: 2026-12-06T10:30 or with seconds; UTC.
            let t = text.replace(' ', "T");
            let full = match t.len() {
                16 => format!("{t}:00Z"),
                19 => format!("{t}Z"),
                _ => return Err("Enter a valid date and time (YYYY-MM-DDTHH:MM, UTC).".into()),
            };
            Ok(JsonValue::String(full))
        }
        Time => {
            let full = match text.len() {
                5 => format!("{text}:00"),
                8 => text.to_owned(),
                _ => return Err("Enter a valid time (HH:MM).".into()),
            };
            Ok(JsonValue::String(full))
        }
        Json => serde_json::from_str(text).map_err(|e| format!("Enter valid JSON: {e}.")),
        _ => Ok(JsonValue::String(text.to_owned())),
    }
}

fn bound(b: &Bound) -> f64 {
    match b {
        Bound::Int(i) => *i as f64,
        Bound::Float(f) => *f,
    }
}

fn bound_text(b: &Bound) -> String {
    match b {
        Bound::Int(i) => i.to_string(),
        Bound::Float(f) => f.to_string(),
    }
}

/// The field's rules on `value`: every message, in the rules' order.
pub(crate) fn check_rules(f: &FieldMeta, value: &JsonValue) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(text) = value.as_str().filter(|_| matches!(f.kind, ColumnKind::Text | ColumnKind::Choice)) {
        let n = text.chars().count();
        let max = f.max_length.map(|m| m as usize);
        let mut rules: Vec<Rule> = f.rules.to_vec();
        if let Some(max) = max {
            if !rules.contains(&Rule::MaxLength(max)) {
                rules.push(Rule::MaxLength(max));
            }
        }
        for rule in rules {
            match rule {
                Rule::MinLength(min) if n < min => {
                    out.push(format!("Ensure this value has at least {min} characters (it has {n})."))
                }
                Rule::MaxLength(max) if n > max => {
                    out.push(format!("Ensure this value has at most {max} characters (it has {n})."))
                }
                Rule::Pattern(p) => match regex_lite::Regex::new(p) {
                    Ok(re) if !re.is_match(text) => {
                        out.push(format!("Enter a value that matches the pattern {p}."))
                    }
                    _ => {}
                },
                _ => {}
            }
        }
    }
    if let (ColumnKind::Json, Some(items)) = (f.kind, value.as_array()) {
        let n = items.len();
        for rule in f.rules {
            match rule {
                Rule::MinLength(min) if n < *min => {
                    out.push(format!("Ensure this list has at least {min} items (it has {n})."))
                }
                Rule::MaxLength(max) if n > *max => {
                    out.push(format!("Ensure this list has at most {max} items (it has {n})."))
                }
                _ => {}
            }
        }
    }
    let number = match value {
        JsonValue::Number(n) => n.as_f64(),
        JsonValue::String(s) if f.kind == ColumnKind::Decimal => s.parse().ok(),
        _ => None,
    };
    if let Some(x) = number {
        for rule in f.rules {
            match rule {
                Rule::Gt(b) if x <= bound(b) => {
                    out.push(format!("Ensure this value is greater than {}.", bound_text(b)))
                }
                Rule::Ge(b) if x < bound(b) => {
                    out.push(format!("Ensure this value is greater than or equal to {}.", bound_text(b)))
                }
                Rule::Lt(b) if x >= bound(b) => {
                    out.push(format!("Ensure this value is less than {}.", bound_text(b)))
                }
                Rule::Le(b) if x > bound(b) => {
                    out.push(format!("Ensure this value is less than or equal to {}.", bound_text(b)))
                }
                _ => {}
            }
        }
    }
    out
}

/// The names of the fields whose value in `new` differs from `old`.
pub(crate) fn changed(old: &DynRow, new: &DynRow) -> Vec<String> {
    new.iter()
        .filter(|(name, value)| old.get(name) != Some(*value))
        .map(|(name, _)| name.to_owned())
        .collect()
}

/// A key as one segment of a URL path.
pub(crate) fn encode_path(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for b in key.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The form's fields in the admin's fieldsets (titled groups), or one untitled group; a field
/// no fieldset names comes last, untitled. Many-to-many multi-selects go where a fieldset names
/// them, else last.
pub(crate) fn groups(
    reg: &Registered,
    widgets: Vec<Widget>,
    many: Vec<crate::many::ManyWidget>,
) -> Vec<serde_json::Value> {
    let mut widgets: Vec<Option<Widget>> = widgets.into_iter().map(Some).collect();
    let mut many: Vec<Option<crate::many::ManyWidget>> = many.into_iter().map(Some).collect();
    let mut take = |name: &str| -> Option<serde_json::Value> {
        if let Some(w) =
            widgets.iter_mut().find(|w| w.as_ref().is_some_and(|w| w.name == name)).and_then(Option::take)
        {
            return serde_json::to_value(w).ok().map(|mut v| {
                v["kind"] = "field".into();
                v
            });
        }
        many.iter_mut()
            .find(|w| w.as_ref().is_some_and(|w| w.name() == name))
            .and_then(Option::take)
            .and_then(|w| {
                serde_json::to_value(w).ok().map(|mut v| {
                    v["kind"] = "many".into();
                    v
                })
            })
    };
    let mut out = Vec::new();
    for (legend, names) in &reg.options.fieldsets {
        let fields: Vec<serde_json::Value> = names.iter().filter_map(|n| take(n)).collect();
        out.push(serde_json::json!({"legend": legend, "fields": fields}));
    }
    let rest_names: Vec<&'static str> = reg
        .form_fields()
        .iter()
        .map(|f| f.name)
        .chain(crate::many::fields(reg).iter().map(|f| f.name))
        .collect();
    let rest: Vec<serde_json::Value> = rest_names.iter().filter_map(|n| take(n)).collect();
    if !rest.is_empty() {
        out.push(serde_json::json!({"legend": "", "fields": rest}));
    }
    out
}

//! A type's JSON Schema with its rules, built once per type, and the two ways input becomes a
//! validated value: JSON bytes, and string pairs (path, query, headers, cookies, forms).

use std::any::TypeId;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};

use schemars::generate::SchemaSettings;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::objects_only;
use super::rules::RuleTarget;
use super::schema::CompiledSchema;
use super::walk::{self, StringSource};
use super::{custom, json_tree, messages, strings, Validate};
use crate::error::{Error, Loc, ValidationError};

/// How deep JSON may nest (serde_json's own recursion limit is the same).
pub(crate) const MAX_JSON_DEPTH: usize = 128;

/// The JSON Schema (2020-12) of `T`, with the rules of `#[derive(Validate)]` written in.
///
/// ```
/// use brisk::prelude::*;
///
/// #[derive(Deserialize, JsonSchema, Validate)]
/// struct Page {
///     #[validate(ge = 1, le = 100)]
///     limit: u32,
/// }
///
/// let schema = brisk::validation::model_schema::<Page>();
/// assert_eq!(schema["properties"]["limit"]["maximum"], 100);
/// ```
pub fn model_schema<T: JsonSchema + Validate + ?Sized>() -> Value {
    let generator = SchemaSettings::draft2020_12().for_deserialize().into_generator();
    let mut root = generator.into_root_schema_for::<T>().to_value();
    let mut defs = match root.as_object_mut().and_then(|o| o.remove("$defs")) {
        Some(Value::Object(defs)) => defs,
        _ => Map::new(),
    };
    T::apply_rules(&mut RuleTarget::new(&mut root, &mut defs));
    if let (false, Some(object)) = (defs.is_empty(), root.as_object_mut()) {
        object.insert("$defs".to_owned(), Value::Object(defs));
    }
    root
}

struct Model {
    compiled: CompiledSchema,
}

type Cache = RwLock<HashMap<TypeId, Arc<Model>>>;

/// The compiled schema of `T`, built on first use and kept.
fn model<T: JsonSchema + Validate + 'static>() -> Arc<Model> {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let id = TypeId::of::<T>();
    if let Some(model) = cache.read().ok().and_then(|c| c.get(&id).cloned()) {
        return model;
    }
    let model = Arc::new(Model { compiled: CompiledSchema::compile(&model_schema::<T>()) });
    if let Ok(mut c) = cache.write() {
        c.entry(id).or_insert_with(|| model.clone());
    }
    model
}

/// Parses JSON into `T` as a request body is parsed: typed, validated, and on failure every
/// error at once in FastAPI's 422 format, located under `["body", ...]`. For a body a handler
/// assembles itself (a PATCH merged into a stored row, say).
///
/// ```
/// use brisk::prelude::*;
///
/// #[derive(Deserialize, JsonSchema, Validate)]
/// struct Item {
///     #[validate(gt = 0)]
///     price: f64,
/// }
///
/// let err = brisk::validation::validate_json::<Item>(br#"{"price": -1}"#).err().unwrap();
/// assert_eq!(err.status(), 422);
/// ```
pub fn validate_json<T>(bytes: &[u8]) -> Result<T, Error>
where
    T: DeserializeOwned + JsonSchema + Validate + 'static,
{
    from_json(bytes)
}

/// Parses a JSON body into `T`: one serde pass and a rules check; on failure, every error.
pub(crate) fn from_json<T>(bytes: &[u8]) -> Result<T, Error>
where
    T: DeserializeOwned + JsonSchema + Validate + 'static,
{
    // JSON text is UTF-8 throughout, also inside fields serde skips (FastAPI refuses such a
    // body too); checked once here, the typed parse below then skips per-string checks.
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            let error = messages::json_invalid(e.valid_up_to(), "invalid unicode code point");
            return Err(Error::validation(vec![error]));
        }
    };
    let loc = Loc::root("body");
    let (typed, fallback) = match objects_only::from_str::<T>(text) {
        Ok(value) if value.is_valid() => {
            let issues = custom::check(&value);
            if issues.is_empty() {
                return Ok(value);
            }
            // The rare path: the issues' inputs are read from the raw body.
            let raw = json_tree::parse(bytes, MAX_JSON_DEPTH).map(|n| n.to_value()).unwrap_or(Value::Null);
            return Err(Error::validation(json_issues(issues, &loc, &raw)));
        }
        Ok(value) => (Some(value), None),
        Err(e) => (None, Some(e)),
    };
    let errors = match json_tree::parse(bytes, MAX_JSON_DEPTH) {
        Err(syntax) => vec![messages::json_invalid(syntax.offset, syntax.message)],
        Ok(node) => {
            let errors = walk::check_json(&node, &model::<T>().compiled, &loc);
            let mut typed = typed;
            if errors.is_empty() && fallback.is_some() {
                // The schema accepts what strict serde refused (an integral float for an
                // integer): read it again with those floats as integers.
                if let Ok(value) = objects_only::from_value::<T>(node.to_value_integral()) {
                    if value.is_valid() {
                        let issues = custom::check(&value);
                        if issues.is_empty() {
                            return Ok(value);
                        }
                        return Err(Error::validation(json_issues(issues, &loc, &node.to_value())));
                    }
                    typed = Some(value);
                }
            }
            let mut errors = or_fallback(errors, loc.clone(), fallback);
            // Fields whose built-in checks passed still run their custom validators (pydantic
            // runs every field's validators and lists all failures).
            let issues = match typed {
                Some(value) => custom::check(&value),
                None => custom::check_raw::<T>(&node.to_value_integral()),
            };
            if !issues.is_empty() {
                errors.extend(json_issues(issues, &loc, &node.to_value()));
                errors.truncate(walk::MAX_ERRORS);
            }
            errors
        }
    };
    Err(Error::validation(errors))
}

/// Custom-validator issues as 422 entries, their inputs read from the raw JSON.
fn json_issues(issues: custom::Issues, loc: &Loc, raw: &Value) -> Vec<ValidationError> {
    issues.into_errors(loc, |at| custom::json_at(raw, at))
}

/// Custom-validator issues as 422 entries, their inputs the strings received.
fn string_issues(
    issues: custom::Issues,
    pairs: &[(&str, &str)],
    source: StringSource,
) -> Vec<ValidationError> {
    issues.into_errors(&Loc::root(source.root()), |at| walk::string_input(pairs, source, at))
}

/// Builds `T` from string pairs (path params, query, headers, cookies, form fields): the plain
/// spellings straight through serde, anything else (and every error) through the schema walk.
pub(crate) fn from_strings<T>(pairs: &[(&str, &str)], source: StringSource) -> Result<T, Error>
where
    T: DeserializeOwned + JsonSchema + Validate + 'static,
{
    let typed = match strings::from_pairs::<T>(pairs) {
        Ok(value) if value.is_valid() => return checked(value, pairs, source),
        Ok(value) => Some(value),
        Err(_) => None,
    };
    let (value, mut errors) = walk::coerce_strings_partly(pairs, &model::<T>().compiled, source);
    if !errors.is_empty() {
        // The fields that did pass still run their custom validators.
        let issues = match typed {
            Some(value) => custom::check(&value),
            None => custom::check_raw::<T>(&value),
        };
        errors.extend(string_issues(issues, pairs, source));
        errors.truncate(walk::MAX_ERRORS);
        return Err(Error::validation(errors));
    }
    let fallback = match serde_json::from_value::<T>(value) {
        Ok(value) if value.is_valid() => return checked(value, pairs, source),
        Ok(_) => None,
        Err(e) => Some(e),
    };
    Err(Error::validation(or_fallback(Vec::new(), Loc::root(source.root()), fallback)))
}

/// A value whose built-in rules hold, once its custom validators pass too.
fn checked<T: Validate>(value: T, pairs: &[(&str, &str)], source: StringSource) -> Result<T, Error> {
    let issues = custom::check(&value);
    if issues.is_empty() {
        return Ok(value);
    }
    Err(Error::validation(string_issues(issues, pairs, source)))
}

/// The schema walk found the errors; when it found none (serde or a rule disagreed with the
/// schema), the serde message is reported rather than nothing.
fn or_fallback(
    errors: Vec<ValidationError>,
    loc: Loc,
    serde: Option<serde_json::Error>,
) -> Vec<ValidationError> {
    if !errors.is_empty() {
        return errors;
    }
    let msg = match serde {
        Some(e) => format!("Value error, {e}"),
        None => "Value error, the value breaks a rule of its type".to_owned(),
    };
    vec![ValidationError::new("value_error", loc, msg, Value::Null)]
}

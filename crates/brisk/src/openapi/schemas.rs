//! Joining the input and output schemas into one `components.schemas`, and the schemas brisk
//! itself defines (FastAPI's `HTTPValidationError` and `ValidationError`).

use std::collections::HashMap;

use serde_json::{json, Map, Value};

use super::describe::DocContext;

const PREFIX: &str = "#/components/schemas/";

/// FastAPI's `ValidationError` and `HTTPValidationError`; returns the latter's `$ref`.
pub(crate) fn http_validation_error(cx: &mut DocContext) -> Value {
    cx.builtin_schema(
        "ValidationError",
        json!({
            "type": "object",
            "title": "ValidationError",
            "properties": {
                "loc": {"type": "array", "title": "Location", "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
                "msg": {"type": "string", "title": "Message"},
                "type": {"type": "string", "title": "Error Type"},
                "input": {"title": "Input"},
                "ctx": {"type": "object", "title": "Context"}
            },
            "required": ["loc", "msg", "type"]
        }),
    );
    cx.builtin_schema(
        "HTTPValidationError",
        json!({
            "type": "object",
            "title": "HTTPValidationError",
            "properties": {
                "detail": {"type": "array", "title": "Detail", "items": {"$ref": format!("{PREFIX}ValidationError")}}
            }
        }),
    )
}

/// `{"detail": ...}`, the body of every other error; returns its `$ref`.
pub(crate) fn http_error(cx: &mut DocContext) -> Value {
    cx.builtin_schema(
        "HTTPError",
        json!({
            "type": "object",
            "title": "HTTPError",
            "properties": {"detail": {"title": "Detail", "description": "A message, or any JSON the error carries"}},
            "required": ["detail"]
        }),
    )
}

/// Names changed when one type's input and output schemas differ: `Item` becomes
/// `Item-Input` where requests use it and `Item-Output` where responses do (as FastAPI does).
pub(crate) struct Renames {
    pub(crate) input: HashMap<String, String>,
    pub(crate) output: HashMap<String, String>,
}

/// Joins the two sides into one map, renaming the names whose schemas differ.
pub(crate) fn join(input: Map<String, Value>, output: Map<String, Value>) -> (Map<String, Value>, Renames) {
    let mut renames = Renames { input: HashMap::new(), output: HashMap::new() };
    for (name, schema) in &input {
        if output.get(name).is_some_and(|o| o != schema) {
            renames.input.insert(name.clone(), format!("{name}-Input"));
            renames.output.insert(name.clone(), format!("{name}-Output"));
        }
    }
    let mut joined = Map::new();
    for (side, map) in [(&renames.input, input), (&renames.output, output)] {
        for (name, mut schema) in map {
            rewrite_refs(&mut schema, side);
            let name = side.get(&name).cloned().unwrap_or(name);
            joined.entry(name).or_insert(schema);
        }
    }
    (joined, renames)
}

/// Points every `$ref` to a renamed schema at its new name.
pub(crate) fn rewrite_refs(value: &mut Value, renames: &HashMap<String, String>) {
    if renames.is_empty() {
        return;
    }
    match value {
        Value::Object(map) => {
            if let Some(Value::String(target)) = map.get_mut("$ref") {
                if let Some(new) = target.strip_prefix(PREFIX).and_then(|name| renames.get(name)) {
                    *target = format!("{PREFIX}{new}");
                }
            }
            for child in map.values_mut() {
                rewrite_refs(child, renames);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| rewrite_refs(v, renames)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differing_sides_are_renamed_and_refs_follow() {
        let input: Map<String, Value> = serde_json::from_value(json!({
            "Item": {"type": "object", "properties": {"tags": {"type": "array"}}},
            "Same": {"type": "string"},
            "Order": {"properties": {"item": {"$ref": "#/components/schemas/Item"}}}
        }))
        .unwrap_or_default();
        let output: Map<String, Value> = serde_json::from_value(json!({
            "Item": {"type": "object", "properties": {"tags": {"type": "array"}}, "required": ["tags"]},
            "Same": {"type": "string"}
        }))
        .unwrap_or_default();
        let (joined, renames) = join(input, output);
        let names: Vec<&String> = joined.keys().collect();
        assert_eq!(names, ["Item-Input", "Same", "Order", "Item-Output"]);
        assert_eq!(joined["Order"]["properties"]["item"]["$ref"], "#/components/schemas/Item-Input");
        assert_eq!(renames.output["Item"], "Item-Output");
    }
}

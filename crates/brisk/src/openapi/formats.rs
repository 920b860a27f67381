//! Integer formats code generators know: schemars writes Rust's own (`uint64`, `uint32`,
//! `uint8`, `int8` ...), which OpenAPI does not define; the document uses `int32` and `int64`
//! with the range as `minimum`/`maximum` instead.

use serde_json::Value;

/// Rewrites every integer `format` in `value` (a schema, an operation's part, the components)
/// to OpenAPI's `int32`/`int64`, keeping the Rust type's range as `minimum`/`maximum`.
pub(crate) fn standard_integer_formats(value: &mut Value) {
    match value {
        Value::Object(object) => {
            rewrite(object);
            object.values_mut().for_each(standard_integer_formats);
        }
        Value::Array(items) => items.iter_mut().for_each(standard_integer_formats),
        _ => {}
    }
}

fn rewrite(object: &mut serde_json::Map<String, Value>) {
    let Some(format) = object.get("format").and_then(Value::as_str) else { return };
    // (the standard format, the bounds the Rust type has that the standard one does not say)
    let (standard, minimum, maximum): (Option<&str>, Option<i64>, Option<u64>) = match format {
        "int8" | "int16" | "uint8" | "uint16" => (Some("int32"), None, None), // schemars writes their range
        "uint32" => (Some("int64"), Some(0), Some(u64::from(u32::MAX))),
        "uint64" | "uint" => (Some("int64"), Some(0), None),
        "int" => (Some("int64"), None, None),
        "uint128" => (None, Some(0), None),
        "int128" => (None, None, None),
        _ => return,
    };
    match standard {
        Some(standard) => object.insert("format".to_owned(), Value::from(standard)),
        None => object.remove("format"),
    };
    if let Some(minimum) = minimum {
        object.entry("minimum").or_insert(Value::from(minimum));
    }
    if let Some(maximum) = maximum {
        object.entry("maximum").or_insert(Value::from(maximum));
    }
}

#[cfg(test)]
mod tests {
    use schemars::JsonSchema;
    use serde_json::json;

    use super::standard_integer_formats;

    #[derive(JsonSchema)]
    #[allow(dead_code)]
    struct Numbers {
        small: u8,
        count: u32,
        big: u64,
        size: usize,
        signed: i64,
        maybe: Option<u32>,
    }

    #[test]
    fn rust_integer_formats_become_openapi_ones_with_their_range() {
        let mut schema = serde_json::to_value(schemars::schema_for!(Numbers)).unwrap();
        standard_integer_formats(&mut schema);
        let props = &schema["properties"];
        assert_eq!(
            props["small"],
            json!({"type": "integer", "format": "int32", "minimum": 0, "maximum": 255})
        );
        assert_eq!(
            props["count"],
            json!({"type": "integer", "format": "int64", "minimum": 0, "maximum": 4294967295u64})
        );
        assert_eq!(props["big"], json!({"type": "integer", "format": "int64", "minimum": 0}));
        assert_eq!(props["size"], json!({"type": "integer", "format": "int64", "minimum": 0}));
        assert_eq!(props["signed"], json!({"type": "integer", "format": "int64"}));
        assert_eq!(props["maybe"]["format"], "int64");
        assert!(!schema.to_string().contains("uint"), "{schema}");
    }
}

//! One constructor per pydantic v2 error type, with pydantic's exact sentences.
//!
//! `input` is always the offending value as received; bounds are printed as the schema wrote them
//! (an integer bound stays an integer: `{"gt": 0}`).

use std::fmt::Write;

use serde_json::{Number, Value};

use crate::error::{Loc, ValidationError};

fn error(kind: &'static str, loc: Loc, msg: &'static str, input: Value) -> ValidationError {
    ValidationError::new(kind, loc, msg, input)
}

/// `missing`: a required value is absent; `input` is the parent object (or null).
pub(crate) fn missing(loc: Loc, input: Value) -> ValidationError {
    error("missing", loc, "Field required", input)
}

/// `json_invalid` at `["body", offset]`, as FastAPI reports a body that is not JSON.
pub(crate) fn json_invalid(offset: usize, error: &str) -> ValidationError {
    let loc = Loc::root("body").index(offset);
    let input = Value::Object(serde_json::Map::new());
    ValidationError::new("json_invalid", loc, "JSON decode error", input).with_ctx("error", error)
}

/// `model_attributes_type`: a struct was expected.
pub(crate) fn model_attributes_type(loc: Loc, input: Value) -> ValidationError {
    let msg = "Input should be a valid dictionary or object to extract fields from";
    error("model_attributes_type", loc, msg, input)
}

/// `dict_type`: a map was expected.
pub(crate) fn dict_type(loc: Loc, input: Value) -> ValidationError {
    error("dict_type", loc, "Input should be a valid dictionary", input)
}

/// `int_type`: an integer was expected (strict JSON).
pub(crate) fn int_type(loc: Loc, input: Value) -> ValidationError {
    error("int_type", loc, "Input should be a valid integer", input)
}

/// `int_parsing`: a string is not an integer.
pub(crate) fn int_parsing(loc: Loc, input: Value) -> ValidationError {
    let msg = "Input should be a valid integer, unable to parse string as an integer";
    error("int_parsing", loc, msg, input)
}

/// `int_from_float`: a number with a fractional part where an integer was expected.
pub(crate) fn int_from_float(loc: Loc, input: Value) -> ValidationError {
    let msg = "Input should be a valid integer, got a number with a fractional part";
    error("int_from_float", loc, msg, input)
}

/// `int_parsing_size`: an integer outside the range of its Rust type.
pub(crate) fn int_parsing_size(loc: Loc, input: Value) -> ValidationError {
    let msg = "Unable to parse input string as an integer, exceeded maximum size";
    error("int_parsing_size", loc, msg, input)
}

/// `float_type`: a number was expected (strict JSON).
pub(crate) fn float_type(loc: Loc, input: Value) -> ValidationError {
    error("float_type", loc, "Input should be a valid number", input)
}

/// `float_parsing`: a string is not a number.
pub(crate) fn float_parsing(loc: Loc, input: Value) -> ValidationError {
    let msg = "Input should be a valid number, unable to parse string as a number";
    error("float_parsing", loc, msg, input)
}

/// `finite_number`: infinity, NaN, or a number too large for `f64`.
pub(crate) fn finite_number(loc: Loc, input: Value) -> ValidationError {
    error("finite_number", loc, "Input should be a finite number", input)
}

/// `string_type`: a string was expected.
pub(crate) fn string_type(loc: Loc, input: Value) -> ValidationError {
    error("string_type", loc, "Input should be a valid string", input)
}

/// `bool_type`: a boolean was expected (strict JSON).
pub(crate) fn bool_type(loc: Loc, input: Value) -> ValidationError {
    error("bool_type", loc, "Input should be a valid boolean", input)
}

/// `bool_parsing`: a string is not one of pydantic's boolean words.
pub(crate) fn bool_parsing(loc: Loc, input: Value) -> ValidationError {
    let msg = "Input should be a valid boolean, unable to interpret input";
    error("bool_parsing", loc, msg, input)
}

/// `list_type`: a list was expected.
pub(crate) fn list_type(loc: Loc, input: Value) -> ValidationError {
    error("list_type", loc, "Input should be a valid list", input)
}

/// `tuple_type`: a tuple (JSON array) was expected.
pub(crate) fn tuple_type(loc: Loc, input: Value) -> ValidationError {
    error("tuple_type", loc, "Input should be a valid tuple", input)
}

/// `none_required`: only null is allowed.
pub(crate) fn none_required(loc: Loc, input: Value) -> ValidationError {
    error("none_required", loc, "Input should be None", input)
}

/// `extra_forbidden`: a key the model does not allow.
pub(crate) fn extra_forbidden(loc: Loc, input: Value) -> ValidationError {
    error("extra_forbidden", loc, "Extra inputs are not permitted", input)
}

fn bound(kind: &'static str, key: &str, words: &str, loc: Loc, input: Value, n: &Number) -> ValidationError {
    let msg = format!("Input should be {words} {n}");
    ValidationError::new(kind, loc, msg, input).with_ctx(key, Value::Number(n.clone()))
}

/// `greater_than` (`exclusiveMinimum`).
pub(crate) fn greater_than(loc: Loc, input: Value, gt: &Number) -> ValidationError {
    bound("greater_than", "gt", "greater than", loc, input, gt)
}

/// `greater_than_equal` (`minimum`).
pub(crate) fn greater_than_equal(loc: Loc, input: Value, ge: &Number) -> ValidationError {
    bound("greater_than_equal", "ge", "greater than or equal to", loc, input, ge)
}

/// `less_than` (`exclusiveMaximum`).
pub(crate) fn less_than(loc: Loc, input: Value, lt: &Number) -> ValidationError {
    bound("less_than", "lt", "less than", loc, input, lt)
}

/// `less_than_equal` (`maximum`).
pub(crate) fn less_than_equal(loc: Loc, input: Value, le: &Number) -> ValidationError {
    bound("less_than_equal", "le", "less than or equal to", loc, input, le)
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// `string_too_short` (`minLength`, counted in characters).
pub(crate) fn string_too_short(loc: Loc, input: Value, min_length: usize) -> ValidationError {
    let msg = format!("String should have at least {min_length} character{}", plural(min_length));
    ValidationError::new("string_too_short", loc, msg, input).with_ctx("min_length", min_length)
}

/// `string_too_long` (`maxLength`, counted in characters).
pub(crate) fn string_too_long(loc: Loc, input: Value, max_length: usize) -> ValidationError {
    let msg = format!("String should have at most {max_length} character{}", plural(max_length));
    ValidationError::new("string_too_long", loc, msg, input).with_ctx("max_length", max_length)
}

/// `too_short` (`minItems`); `field_type` is `List` or `Tuple`.
pub(crate) fn too_short(
    loc: Loc,
    input: Value,
    field_type: &str,
    min_length: usize,
    actual_length: usize,
) -> ValidationError {
    let msg = format!(
        "{field_type} should have at least {min_length} item{} after validation, not {actual_length}",
        plural(min_length)
    );
    ValidationError::new("too_short", loc, msg, input)
        .with_ctx("field_type", field_type)
        .with_ctx("min_length", min_length)
        .with_ctx("actual_length", actual_length)
}

/// `too_long` (`maxItems`); `field_type` is `List` or `Tuple`.
pub(crate) fn too_long(
    loc: Loc,
    input: Value,
    field_type: &str,
    max_length: usize,
    actual_length: usize,
) -> ValidationError {
    let msg = format!(
        "{field_type} should have at most {max_length} item{} after validation, not {actual_length}",
        plural(max_length)
    );
    ValidationError::new("too_long", loc, msg, input)
        .with_ctx("field_type", field_type)
        .with_ctx("max_length", max_length)
        .with_ctx("actual_length", actual_length)
}

/// `string_pattern_mismatch` (`pattern`).
pub(crate) fn string_pattern_mismatch(loc: Loc, input: Value, pattern: &str) -> ValidationError {
    let msg = format!("String should match pattern '{pattern}'");
    ValidationError::new("string_pattern_mismatch", loc, msg, input).with_ctx("pattern", pattern)
}

/// `enum`: not one of the `enum` values.
pub(crate) fn enum_mismatch(loc: Loc, input: Value, expected: &[Value]) -> ValidationError {
    one_of("enum", loc, input, expected)
}

/// `literal_error`: not the `const` value.
pub(crate) fn literal_error(loc: Loc, input: Value, expected: &[Value]) -> ValidationError {
    one_of("literal_error", loc, input, expected)
}

/// `literal_error` for choices already written as Python reprs (the tags of a tagged enum).
pub(crate) fn literal_choices(loc: Loc, input: Value, reprs: &[String]) -> ValidationError {
    choices("literal_error", loc, input, reprs)
}

fn one_of(kind: &'static str, loc: Loc, input: Value, expected: &[Value]) -> ValidationError {
    let reprs: Vec<String> = expected.iter().map(py_repr).collect();
    choices(kind, loc, input, &reprs)
}

fn choices(kind: &'static str, loc: Loc, input: Value, reprs: &[String]) -> ValidationError {
    let expected = join_choices(reprs);
    let msg = format!("Input should be {expected}");
    ValidationError::new(kind, loc, msg, input).with_ctx("expected", expected)
}

/// pydantic's list of choices: `'a', 'b' or 'c'`.
fn join_choices(reprs: &[String]) -> String {
    match reprs.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

/// A value as Python's `repr` shows it: `'text'`, `1`, `True`, `None`.
fn py_repr(value: &Value) -> String {
    match value {
        Value::String(s) => py_str_repr(s),
        Value::Bool(true) => "True".to_owned(),
        Value::Bool(false) => "False".to_owned(),
        Value::Null => "None".to_owned(),
        other => other.to_string(),
    }
}

fn py_str_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') { '"' } else { '\'' };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(key: &'static str) -> Loc {
        Loc::root("body").key(key)
    }

    fn to_json(e: &ValidationError) -> Value {
        serde_json::to_value(e).unwrap_or_default()
    }

    #[test]
    fn bounds_print_like_the_schema() {
        let e = greater_than(Loc::root("path").key("item_id"), json!("0"), &Number::from(0));
        assert_eq!(
            to_json(&e),
            json!({"type":"greater_than","loc":["path","item_id"],"msg":"Input should be greater than 0","input":"0","ctx":{"gt":0}})
        );
        let half = Number::from_f64(0.5).unwrap_or(Number::from(0));
        let e = less_than_equal(body("x"), json!(1), &half);
        assert_eq!(e.msg, "Input should be less than or equal to 0.5");
        assert_eq!(e.ctx, json!({"le": 0.5}).as_object().cloned());
        let e = greater_than_equal(body("x"), json!(-1), &Number::from(0));
        assert_eq!(e.msg, "Input should be greater than or equal to 0");
        let e = less_than(body("x"), json!(9), &Number::from(5));
        assert_eq!((e.kind.as_ref(), e.msg.as_ref()), ("less_than", "Input should be less than 5"));
    }

    #[test]
    fn lengths_and_plurals() {
        assert_eq!(string_too_short(body("n"), json!(""), 1).msg, "String should have at least 1 character");
        assert_eq!(string_too_short(body("n"), json!(""), 2).msg, "String should have at least 2 characters");
        assert_eq!(string_too_long(body("n"), json!("ab"), 1).msg, "String should have at most 1 character");
        let e = too_long(body("tags"), json!([]), "List", 10, 11);
        assert_eq!(e.msg, "List should have at most 10 items after validation, not 11");
        assert_eq!(
            e.ctx,
            json!({"field_type":"List","max_length":10,"actual_length":11}).as_object().cloned()
        );
        let e = too_short(body("tags"), json!([]), "List", 1, 0);
        assert_eq!(e.msg, "List should have at least 1 item after validation, not 0");
    }

    #[test]
    fn choices_read_like_python() {
        let e = enum_mismatch(body("c"), json!("x"), &[json!("a"), json!("b"), json!("c")]);
        assert_eq!(e.msg, "Input should be 'a', 'b' or 'c'");
        assert_eq!(e.ctx, json!({"expected": "'a', 'b' or 'c'"}).as_object().cloned());
        assert_eq!(literal_error(body("c"), json!(2), &[json!(1)]).msg, "Input should be 1");
        let mixed = [json!("it's"), json!(true), json!(null), json!("a\\b\n")];
        assert_eq!(
            literal_error(body("c"), json!(0), &mixed).msg,
            r#"Input should be "it's", True, None or 'a\\b\n'"#
        );
        let tags = ["'A'".to_owned(), "'B'".to_owned(), "'C'".to_owned()];
        assert_eq!(literal_choices(body("t"), json!("D"), &tags).msg, "Input should be 'A', 'B' or 'C'");
    }

    #[test]
    fn json_invalid_shape() {
        assert_eq!(
            to_json(&json_invalid(7, "Expecting value")),
            json!({"type":"json_invalid","loc":["body",7],"msg":"JSON decode error","input":{},"ctx":{"error":"Expecting value"}})
        );
    }

    #[test]
    fn fixed_sentences() {
        let cases = [
            (missing(body("a"), json!({})), "missing", "Field required"),
            (int_type(body("a"), json!("1")), "int_type", "Input should be a valid integer"),
            (float_type(body("a"), json!(true)), "float_type", "Input should be a valid number"),
            (finite_number(body("a"), json!("1e400")), "finite_number", "Input should be a finite number"),
            (string_type(body("a"), json!(1)), "string_type", "Input should be a valid string"),
            (bool_type(body("a"), json!(1)), "bool_type", "Input should be a valid boolean"),
            (list_type(body("a"), json!(1)), "list_type", "Input should be a valid list"),
            (extra_forbidden(body("a"), json!(1)), "extra_forbidden", "Extra inputs are not permitted"),
        ];
        for (e, kind, msg) in cases {
            assert_eq!((e.kind.as_ref(), e.msg.as_ref(), e.ctx.is_none()), (kind, msg, true));
        }
    }
}

//! A strict RFC 8259 JSON parser into a tree that keeps numbers as their raw text.
//!
//! Errors carry Python's `json` module wording and a *character* offset, so that a
//! `json_invalid` error reads like FastAPI's. The parser is iterative: no input can
//! overflow the stack, and nesting is bounded by `max_depth`.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Number, Value};

/// A parsed JSON value. Numbers keep their text so that nothing is lost before validation.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    Null,
    Bool(bool),
    /// The number exactly as written, e.g. `-1.5e3`.
    Number(Box<str>),
    String(String),
    Array(Vec<Node>),
    /// Members in input order; a repeated key keeps its first place and its last value.
    Object(Vec<(String, Node)>),
}

/// Why a body is not JSON, and where: `offset` counts characters, as Python's `e.pos` does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JsonSyntaxError {
    pub offset: usize,
    pub message: &'static str,
}

const EXPECTING_VALUE: &str = "Expecting value";
const EXPECTING_NAME: &str = "Expecting property name enclosed in double quotes";
const EXPECTING_COMMA: &str = "Expecting ',' delimiter";
const EXPECTING_COLON: &str = "Expecting ':' delimiter";
const UNTERMINATED: &str = "Unterminated string starting at";
const CONTROL_CHAR: &str = "Invalid control character at";
const BAD_ESCAPE: &str = "Invalid \\escape";
const BAD_UNICODE_ESCAPE: &str = "Invalid \\uXXXX escape";
const LONE_SURROGATE: &str = "Lone surrogate in \\uXXXX escape";
const EXTRA_DATA: &str = "Extra data";
const TOO_DEEP: &str = "Maximum nesting depth exceeded";
const INVALID_UTF8: &str = "Invalid UTF-8";

/// Parses `bytes` as one JSON value; containers nested deeper than `max_depth` are refused.
pub(crate) fn parse(bytes: &[u8], max_depth: usize) -> Result<Node, JsonSyntaxError> {
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            let offset = char_count(bytes.get(..e.valid_up_to()).unwrap_or_default());
            return Err(JsonSyntaxError { offset, message: INVALID_UTF8 });
        }
    };
    Parser { text, bytes: text.as_bytes(), pos: 0, max_depth }.parse()
}

/// Characters in a UTF-8 byte slice (bytes that do not continue a sequence).
fn char_count(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| b & 0xC0 != 0x80).count()
}

/// An open container while parsing.
enum Frame {
    Array(Vec<Node>),
    /// Members so far, and the key whose value is being parsed.
    Object(Vec<(String, Node)>, String),
}

struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    /// Byte position; turned into characters only on error.
    pos: usize,
    max_depth: usize,
}

impl Parser<'_> {
    fn error(&self, byte_pos: usize, message: &'static str) -> JsonSyntaxError {
        let offset = char_count(self.bytes.get(..byte_pos).unwrap_or(self.bytes));
        JsonSyntaxError { offset, message }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn parse(mut self) -> Result<Node, JsonSyntaxError> {
        let mut stack: Vec<Frame> = Vec::new();
        loop {
            // Parse one value, or open a container and go round for its first member.
            self.skip_ws();
            let start = self.pos;
            let mut value = match self.peek() {
                Some(open @ (b'[' | b'{')) => {
                    if stack.len() >= self.max_depth {
                        return Err(self.error(start, TOO_DEEP));
                    }
                    self.pos += 1;
                    self.skip_ws();
                    if open == b'[' {
                        if self.peek() == Some(b']') {
                            self.pos += 1;
                            Node::Array(Vec::new())
                        } else {
                            stack.push(Frame::Array(Vec::new()));
                            continue;
                        }
                    } else if self.peek() == Some(b'}') {
                        self.pos += 1;
                        Node::Object(Vec::new())
                    } else {
                        let key = self.key()?;
                        stack.push(Frame::Object(Vec::new(), key));
                        continue;
                    }
                }
                Some(b'"') => Node::String(self.string()?),
                Some(b'-' | b'0'..=b'9') => self.number()?,
                _ => self.literal()?,
            };
            // Hand the finished value to its container; close containers that end here.
            loop {
                let Some(frame) = stack.last_mut() else {
                    self.skip_ws();
                    if self.pos < self.bytes.len() {
                        return Err(self.error(self.pos, EXTRA_DATA));
                    }
                    return Ok(value);
                };
                let close = match frame {
                    Frame::Array(items) => {
                        items.push(value);
                        b']'
                    }
                    Frame::Object(members, key) => {
                        members.push((std::mem::take(key), value));
                        b'}'
                    }
                };
                self.skip_ws();
                match self.peek() {
                    Some(b',') => {
                        self.pos += 1;
                        if let Frame::Object(_, key) = frame {
                            self.skip_ws();
                            *key = self.key()?;
                        }
                        break;
                    }
                    Some(c) if c == close => {
                        self.pos += 1;
                        value = match stack.pop() {
                            Some(Frame::Array(items)) => Node::Array(items),
                            Some(Frame::Object(members, _)) => Node::Object(dedupe(members)),
                            None => return Err(self.error(self.pos, EXTRA_DATA)),
                        };
                    }
                    _ => return Err(self.error(self.pos, EXPECTING_COMMA)),
                }
            }
        }
    }

    /// An object key and the `:` after it.
    fn key(&mut self) -> Result<String, JsonSyntaxError> {
        if self.peek() != Some(b'"') {
            return Err(self.error(self.pos, EXPECTING_NAME));
        }
        let key = self.string()?;
        self.skip_ws();
        if self.peek() != Some(b':') {
            return Err(self.error(self.pos, EXPECTING_COLON));
        }
        self.pos += 1;
        Ok(key)
    }

    /// `true`, `false` or `null`; anything else is not a value.
    fn literal(&mut self) -> Result<Node, JsonSyntaxError> {
        let rest = &self.bytes[self.pos..];
        let (len, node) = if rest.starts_with(b"true") {
            (4, Node::Bool(true))
        } else if rest.starts_with(b"false") {
            (5, Node::Bool(false))
        } else if rest.starts_with(b"null") {
            (4, Node::Null)
        } else {
            return Err(self.error(self.pos, EXPECTING_VALUE));
        };
        self.pos += len;
        Ok(node)
    }

    fn eat_digits(&mut self) {
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
    }

    /// A number, matched like Python's `-?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?`.
    fn number(&mut self) -> Result<Node, JsonSyntaxError> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => self.eat_digits(),
            _ => return Err(self.error(start, EXPECTING_VALUE)),
        }
        let bytes = self.bytes;
        let digit_at = |p: usize| matches!(bytes.get(p), Some(b'0'..=b'9'));
        if self.peek() == Some(b'.') && digit_at(self.pos + 1) {
            self.pos += 1;
            self.eat_digits();
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            let sign = usize::from(matches!(bytes.get(self.pos + 1), Some(b'+' | b'-')));
            if digit_at(self.pos + 1 + sign) {
                self.pos += 1 + sign;
                self.eat_digits();
            }
        }
        Ok(Node::Number(self.text[start..self.pos].into()))
    }

    /// A string starting at the opening quote under `self.pos`.
    fn string(&mut self) -> Result<String, JsonSyntaxError> {
        let begin = self.pos;
        self.pos += 1;
        let mut out = String::new();
        loop {
            let run = self.pos;
            while let Some(c) = self.peek() {
                if c == b'"' || c == b'\\' {
                    break;
                }
                if c < 0x20 {
                    return Err(self.error(self.pos, CONTROL_CHAR));
                }
                self.pos += 1;
            }
            // The run stops on an ASCII byte or at the end: both are char boundaries.
            out.push_str(&self.text[run..self.pos]);
            match self.peek() {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(_) => {}
                None => return Err(self.error(begin, UNTERMINATED)),
            }
            let backslash = self.pos;
            self.pos += 1;
            let unescaped = match self.peek() {
                None => return Err(self.error(begin, UNTERMINATED)),
                Some(b'u') => {
                    out.push(self.unicode_escape()?);
                    continue;
                }
                Some(b'"') => '"',
                Some(b'\\') => '\\',
                Some(b'/') => '/',
                Some(b'b') => '\u{8}',
                Some(b'f') => '\u{c}',
                Some(b'n') => '\n',
                Some(b'r') => '\r',
                Some(b't') => '\t',
                Some(_) => return Err(self.error(backslash, BAD_ESCAPE)),
            };
            out.push(unescaped);
            self.pos += 1;
        }
    }

    /// Four hex digits after the `u` under `self.pos`; like Python, one more character must follow.
    fn hex4(&mut self) -> Result<u32, JsonSyntaxError> {
        let u = self.pos;
        let digits = self.bytes.get(u + 1..u + 5).filter(|_| u + 5 < self.bytes.len());
        let mut code = 0;
        for &d in digits.ok_or_else(|| self.error(u, BAD_UNICODE_ESCAPE))? {
            let v = (d as char).to_digit(16).ok_or_else(|| self.error(u, BAD_UNICODE_ESCAPE))?;
            code = code * 16 + v;
        }
        self.pos = u + 5;
        Ok(code)
    }

    /// A `\uXXXX` escape (the `u` under `self.pos`), joining a surrogate pair.
    fn unicode_escape(&mut self) -> Result<char, JsonSyntaxError> {
        let u = self.pos;
        let high = self.hex4()?;
        let code = if (0xD800..0xDC00).contains(&high) {
            if !self.bytes[self.pos..].starts_with(b"\\u") {
                return Err(self.error(u, LONE_SURROGATE));
            }
            self.pos += 1;
            let low = self.hex4()?;
            if !(0xDC00..0xE000).contains(&low) {
                return Err(self.error(u, LONE_SURROGATE));
            }
            0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
        } else {
            high
        };
        char::from_u32(code).ok_or_else(|| self.error(u, LONE_SURROGATE))
    }
}

/// Keeps one member per key: the first one's place, the last one's value.
fn dedupe(members: Vec<(String, Node)>) -> Vec<(String, Node)> {
    let mut seen = HashSet::with_capacity(members.len());
    if members.iter().all(|(k, _)| seen.insert(k.as_str())) {
        return members;
    }
    let mut out: Vec<(String, Node)> = Vec::with_capacity(members.len());
    let mut index: HashMap<String, usize> = HashMap::new();
    for (key, node) in members {
        match index.get(&key) {
            Some(&i) => out[i].1 = node,
            None => {
                index.insert(key.clone(), out.len());
                out.push((key, node));
            }
        }
    }
    out
}

impl Node {
    /// The tree as a `serde_json::Value`; a number too large for `f64` becomes its text.
    pub(crate) fn to_value(&self) -> Value {
        match self {
            Node::Null => Value::Null,
            Node::Bool(b) => Value::Bool(*b),
            Node::Number(raw) => number_value(raw),
            Node::String(s) => Value::String(s.clone()),
            Node::Array(items) => Value::Array(items.iter().map(Node::to_value).collect()),
            Node::Object(members) => {
                let map: Map<String, Value> =
                    members.iter().map(|(k, v)| (k.clone(), v.to_value())).collect();
                Value::Object(map)
            }
        }
    }

    /// Like [`to_value`](Node::to_value), with integral floats (`2.0`, `1e3`) as integers, so
    /// that serde accepts them for integer fields once the schema walk has said they are.
    pub(crate) fn to_value_integral(&self) -> Value {
        match self {
            Node::Number(raw) => match raw.parse::<f64>() {
                Ok(f)
                    if f.fract() == 0.0
                        && f.abs() < 9_007_199_254_740_992.0
                        && raw.contains(['.', 'e', 'E']) =>
                {
                    Value::from(f as i64)
                }
                _ => number_value(raw),
            },
            Node::Array(items) => Value::Array(items.iter().map(Node::to_value_integral).collect()),
            Node::Object(members) => {
                Value::Object(members.iter().map(|(k, v)| (k.clone(), v.to_value_integral())).collect())
            }
            other => other.to_value(),
        }
    }

    /// The JSON type's name: `null`, `boolean`, `number`, `string`, `array` or `object`.
    #[allow(dead_code)] // for callers' diagnostics; not every build uses it
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Node::Null => "null",
            Node::Bool(_) => "boolean",
            Node::Number(_) => "number",
            Node::String(_) => "string",
            Node::Array(_) => "array",
            Node::Object(_) => "object",
        }
    }
}

/// A number's text as an `i64`, `u64` or finite `f64` value, else as a string.
fn number_value(raw: &str) -> Value {
    if !raw.contains(['.', 'e', 'E']) {
        if let Ok(i) = raw.parse::<i64>() {
            return Value::from(i);
        }
        if let Ok(u) = raw.parse::<u64>() {
            return Value::from(u);
        }
    }
    match raw.parse::<f64>().ok().and_then(Number::from_f64) {
        Some(n) => Value::Number(n),
        None => Value::String(raw.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ok(text: &str) -> Value {
        match parse(text.as_bytes(), 128) {
            Ok(node) => node.to_value(),
            Err(e) => panic!("{text:?} failed: {e:?}"),
        }
    }

    fn err(text: &str) -> (&'static str, usize) {
        match parse(text.as_bytes(), 128) {
            Ok(node) => panic!("{text:?} parsed: {node:?}"),
            Err(e) => (e.message, e.offset),
        }
    }

    #[test]
    fn parses_values() {
        assert_eq!(ok(" null "), json!(null));
        assert_eq!(ok("[true,false]"), json!([true, false]));
        assert_eq!(
            ok(r#"{"a": [1, -2.5, 3e2, "x"], "b": {}}"#),
            json!({"a": [1, -2.5, 300.0, "x"], "b": {}})
        );
        assert_eq!(ok(r#""\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00""#), json!("\"\\/\u{8}\u{c}\n\r\té😀"));
        assert_eq!(ok("18446744073709551615"), json!(u64::MAX));
        assert_eq!(ok("-9223372036854775808"), json!(i64::MIN));
        assert_eq!(ok("1e400"), json!("1e400"));
        assert_eq!(ok("-1e400"), json!("-1e400"));
        assert_eq!(ok("123456789012345678901234567890"), json!(1.2345678901234568e29));
    }

    #[test]
    fn keeps_numbers_raw() {
        let node = parse(b"[1.50, -0, 1E+2]", 8).ok();
        let expected = ["1.50", "-0", "1E+2"].map(|s| Node::Number(s.into()));
        assert_eq!(node, Some(Node::Array(expected.to_vec())));
    }

    #[test]
    fn duplicate_keys_keep_first_place_last_value() {
        let node = parse(br#"{"a":1,"b":2,"a":3}"#, 8).ok();
        let n = |s: &str| Node::Number(s.into());
        let expected = vec![("a".to_owned(), n("3")), ("b".to_owned(), n("2"))];
        assert_eq!(node, Some(Node::Object(expected)));
    }

    #[test]
    fn python_messages_and_offsets() {
        // Each case checked against CPython's json module.
        let cases: &[(&str, &str, usize)] = &[
            ("", EXPECTING_VALUE, 0),
            (" ", EXPECTING_VALUE, 1),
            ("[", EXPECTING_VALUE, 1),
            ("[1,]", EXPECTING_VALUE, 3),
            ("[-]", EXPECTING_VALUE, 1),
            ("-", EXPECTING_VALUE, 0),
            ("nul", EXPECTING_VALUE, 0),
            ("NaN", EXPECTING_VALUE, 0),
            (r#"{"a":}"#, EXPECTING_VALUE, 5),
            (r#"{"a":1,}"#, EXPECTING_NAME, 7),
            ("{1:2}", EXPECTING_NAME, 1),
            ("{", EXPECTING_NAME, 1),
            ("[1 2]", EXPECTING_COMMA, 3),
            ("[1,2", EXPECTING_COMMA, 4),
            (r#"{"a":1"#, EXPECTING_COMMA, 6),
            (r#"{"a" 1}"#, EXPECTING_COLON, 5),
            (r#"{"a""#, EXPECTING_COLON, 4),
            ("\"ab", UNTERMINATED, 0),
            ("\"\\", UNTERMINATED, 0),
            ("\"a\u{1}\"", CONTROL_CHAR, 2),
            (r#""\x""#, BAD_ESCAPE, 1),
            (r#""\u12""#, BAD_UNICODE_ESCAPE, 2),
            (r#""\u12G4""#, BAD_UNICODE_ESCAPE, 2),
            (r#""\u1234"#, BAD_UNICODE_ESCAPE, 2),
            (r#""\ud800\u12G4""#, BAD_UNICODE_ESCAPE, 8),
            ("1 2", EXTRA_DATA, 2),
            ("01", EXTRA_DATA, 1),
            ("1.", EXTRA_DATA, 1),
            ("1e", EXTRA_DATA, 1),
        ];
        for &(text, message, offset) in cases {
            assert_eq!(err(text), (message, offset), "{text:?}");
        }
    }

    #[test]
    fn offsets_count_characters() {
        assert_eq!(err("é["), (EXPECTING_VALUE, 0));
        assert_eq!(err(r#"{"naïve 😀": 1,}"#), (EXPECTING_NAME, 14));
        assert_eq!(err(r#"["日本語" 1]"#), (EXPECTING_COMMA, 7));
    }

    #[test]
    fn refuses_lone_surrogates_and_bad_utf8() {
        assert_eq!(err(r#""\ud800""#), (LONE_SURROGATE, 2));
        assert_eq!(err(r#""\udc00x""#), (LONE_SURROGATE, 2));
        assert_eq!(err(r#""\ud800\u0041x""#), (LONE_SURROGATE, 2));
        assert_eq!(
            parse(b"[\"\xc3\xa9\xff\"]", 8).err().map(|e| (e.message, e.offset)),
            Some((INVALID_UTF8, 3))
        );
    }

    #[test]
    fn depth_limit() {
        let nested = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        assert!(parse(nested(3).as_bytes(), 3).is_ok());
        let e = parse(nested(4).as_bytes(), 3).err();
        assert_eq!(e, Some(JsonSyntaxError { offset: 3, message: TOO_DEEP }));
        assert!(parse(br#"{"a":{"b":[]}}"#, 2).is_err());
        assert!(parse(b"1", 0).is_ok());
        // Far deeper than any stack could recurse: refused, not crashed.
        let deep = "[{\"a\":".repeat(200_000);
        assert_eq!(parse(deep.as_bytes(), 128).err().map(|e| e.message), Some(TOO_DEEP));
        assert_eq!(parse(deep.as_bytes(), usize::MAX).err().map(|e| e.message), Some(EXPECTING_VALUE));
    }

    #[test]
    fn never_panics_on_prefixes_and_mutations() {
        let doc = r#"{"a": [1, -2.5e-3, "x\u00e9\ud83d\ude00\n", true, null, {"b": false}], "é": 0}"#;
        for end in 0..=doc.len() {
            let _ = parse(&doc.as_bytes()[..end], 4);
        }
        for i in 0..doc.len() {
            for b in [b'"', b'\\', b'{', b']', b',', 0x00, 0x80, 0xff, b'u', b'e', b'-'] {
                let mut bytes = doc.as_bytes().to_vec();
                bytes[i] = b;
                let _ = parse(&bytes, 4);
            }
        }
    }

    #[test]
    fn type_names() {
        let names: Vec<_> = ["null", "true", "1", "\"s\"", "[]", "{}"]
            .iter()
            .filter_map(|t| parse(t.as_bytes(), 1).ok())
            .map(|n| n.type_name())
            .collect();
        assert_eq!(names, ["null", "boolean", "number", "string", "array", "object"]);
    }
}

//! Compiles a JSON Schema 2020-12 document (as schemars emits it) into a tree for the walker.
//!
//! Subschemas live in one arena and point at each other by index, so `$ref` cycles (recursive
//! types) cost nothing at compile time. Regexes, bounds and integer ranges are prepared here once.

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};

use regex_lite::Regex;
use serde_json::{Map, Number, Value};

/// Index of a subschema in [`CompiledSchema`].
pub(super) type Id = usize;

/// A schema ready for validation; build it once per type with [`compile`](CompiledSchema::compile).
#[derive(Debug)]
pub(crate) struct CompiledSchema {
    nodes: Vec<SchemaNode>,
}

/// A JSON type named by the `type` keyword.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ty {
    Null,
    Boolean,
    Integer,
    Number,
    String,
    Array,
    Object,
}

/// What `additionalProperties` restricts (absent or `true`: nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Additional {
    Forbid,
    Schema(Id),
}

/// A number as the walker compares it: exact for integers that fit `i128`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Num {
    Int(i128),
    Float(f64),
}

impl Num {
    /// Orders two numbers; `None` only when a NaN is involved.
    pub(super) fn compare(self, other: Num) -> Option<Ordering> {
        match (self, other) {
            (Num::Int(a), Num::Int(b)) => Some(a.cmp(&b)),
            (Num::Float(a), Num::Float(b)) => a.partial_cmp(&b),
            (Num::Int(a), Num::Float(b)) => int_float_cmp(a, b),
            (Num::Float(a), Num::Int(b)) => int_float_cmp(b, a).map(Ordering::reverse),
        }
    }

    /// A schema or `enum` number as a [`Num`].
    pub(super) fn from_number(n: &Number) -> Num {
        match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => Num::Int(i.into()),
            (_, Some(u)) => Num::Int(u.into()),
            _ => Num::Float(n.as_f64().unwrap_or(f64::NAN)),
        }
    }
}

fn int_float_cmp(a: i128, b: f64) -> Option<Ordering> {
    // i128 spans about ±1.7e38: a float past that, or a non-integral one, orders by its f64 value.
    if b.fract() == 0.0 && b.abs() < 1.0e38 {
        Some(a.cmp(&(b as i128)))
    } else {
        (a as f64).partial_cmp(&b)
    }
}

/// A numeric bound: compared as [`Num`], printed as written.
#[derive(Debug, Clone)]
pub(super) struct Bound {
    pub num: Num,
    pub raw: Number,
}

/// A `pattern`, compiled once.
#[derive(Debug, Clone)]
pub(super) struct Pattern {
    pub source: String,
    pub regex: Regex,
}

/// One compiled subschema. Absent keywords are empty / `None`.
#[derive(Debug, Default)]
pub(super) struct SchemaNode {
    /// The boolean schema `false`: nothing is valid.
    pub never: bool,
    pub reference: Option<Id>,
    /// `type` in the order written; empty means any type.
    pub types: Vec<Ty>,
    /// `properties` in document order, each with whether it is `required`.
    pub properties: Vec<(String, Id, bool)>,
    /// Property names, for finding extra keys quickly.
    pub property_names: HashSet<String>,
    /// `required` names that have no entry in `properties`.
    pub required_only: Vec<String>,
    pub additional: Option<Additional>,
    pub min_properties: Option<usize>,
    pub max_properties: Option<usize>,
    pub prefix_items: Vec<Id>,
    pub items: Option<Id>,
    pub min_items: Option<usize>,
    pub max_items: Option<usize>,
    pub min_length: Option<usize>,
    pub max_length: Option<usize>,
    pub pattern: Option<Pattern>,
    pub minimum: Option<Bound>,
    pub maximum: Option<Bound>,
    pub exclusive_minimum: Option<Bound>,
    pub exclusive_maximum: Option<Bound>,
    /// The inclusive range of the integer `format` (`int32`, `uint8` ...).
    pub int_range: Option<(i128, i128)>,
    pub enum_values: Option<Vec<Value>>,
    pub const_value: Option<Value>,
    pub any_of: Vec<Id>,
    pub one_of: Vec<Id>,
    pub all_of: Vec<Id>,
}

impl SchemaNode {
    /// Whether `type` allows `ty` (no `type` allows everything).
    pub(super) fn allows(&self, ty: Ty) -> bool {
        self.types.is_empty() || self.types.contains(&ty)
    }

    /// The first non-null type written, which names the error when the type is wrong.
    pub(super) fn main_type(&self) -> Option<Ty> {
        self.types.iter().copied().find(|&t| t != Ty::Null)
    }

    /// Whether this node is exactly `{"type": "null"}`-like: it allows null and nothing else.
    pub(super) fn null_only(&self) -> bool {
        !self.types.is_empty() && self.types.iter().all(|&t| t == Ty::Null)
    }
}

/// The slot every subschema without content points at (`true`, unknown refs).
const ANY: Id = 0;
/// The root's slot, reserved so that `"$ref": "#"` can point at it.
const ROOT: Id = 1;

impl CompiledSchema {
    /// Compiles `root`; unknown keywords and unresolvable `$ref`s are ignored (they allow anything).
    pub(crate) fn compile(root: &Value) -> CompiledSchema {
        let mut c =
            Compiler { nodes: vec![SchemaNode::default(), SchemaNode::default()], defs: HashMap::new() };
        let mut pending = Vec::new();
        for key in ["$defs", "definitions"] {
            if let Some(Value::Object(defs)) = root.get(key) {
                for (name, schema) in defs {
                    let id = c.reserve();
                    c.defs.insert(format!("#/{key}/{}", escape_pointer(name)), id);
                    pending.push((id, schema));
                }
            }
        }
        for (id, schema) in pending {
            c.nodes[id] = c.build(schema);
        }
        c.nodes[ROOT] = c.build(root);
        CompiledSchema { nodes: c.nodes }
    }

    /// The root subschema's id.
    pub(super) fn root(&self) -> Id {
        ROOT
    }

    /// The subschema `id` (an unknown id reads as the empty schema).
    pub(super) fn node(&self, id: Id) -> &SchemaNode {
        self.nodes.get(id).unwrap_or(&self.nodes[ANY])
    }
}

/// JSON Pointer escaping of one reference token (`~` → `~0`, `/` → `~1`).
fn escape_pointer(name: &str) -> String {
    name.replace('~', "~0").replace('/', "~1")
}

struct Compiler {
    nodes: Vec<SchemaNode>,
    /// `#/$defs/Name` → the slot reserved for it.
    defs: HashMap<String, Id>,
}

impl Compiler {
    fn reserve(&mut self) -> Id {
        self.nodes.push(SchemaNode::default());
        self.nodes.len() - 1
    }

    /// Compiles a subschema into a new slot.
    fn sub(&mut self, schema: &Value) -> Id {
        if schema == &Value::Bool(true) {
            return ANY;
        }
        let node = self.build(schema);
        self.nodes.push(node);
        self.nodes.len() - 1
    }

    fn subs(&mut self, schema: Option<&Value>) -> Vec<Id> {
        match schema {
            Some(Value::Array(list)) => list.iter().map(|s| self.sub(s)).collect(),
            _ => Vec::new(),
        }
    }

    fn build(&mut self, schema: &Value) -> SchemaNode {
        let obj = match schema {
            Value::Object(obj) => obj,
            Value::Bool(false) => return SchemaNode { never: true, ..SchemaNode::default() },
            _ => return SchemaNode::default(),
        };
        let reference = obj.get("$ref").and_then(Value::as_str).and_then(|r| self.resolve(r));
        let required: Vec<&str> = match obj.get("required") {
            Some(Value::Array(names)) => names.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        let mut properties = Vec::new();
        if let Some(Value::Object(props)) = obj.get("properties") {
            for (name, sub) in props {
                properties.push((name.clone(), self.sub(sub), required.contains(&name.as_str())));
            }
        }
        let property_names: HashSet<String> = properties.iter().map(|(n, _, _)| n.clone()).collect();
        let required_only =
            required.iter().filter(|n| !property_names.contains(**n)).map(|n| n.to_string()).collect();
        let additional = match obj.get("additionalProperties") {
            None | Some(Value::Bool(true)) => None,
            Some(Value::Bool(false)) => Some(Additional::Forbid),
            Some(sub) => Some(Additional::Schema(self.sub(sub))),
        };
        SchemaNode {
            never: false,
            reference,
            types: types(obj.get("type")),
            properties,
            property_names,
            required_only,
            additional,
            min_properties: count(obj, "minProperties"),
            max_properties: count(obj, "maxProperties"),
            prefix_items: self.subs(obj.get("prefixItems")),
            items: obj.get("items").filter(|i| !i.is_array()).map(|i| self.sub(i)),
            min_items: count(obj, "minItems"),
            max_items: count(obj, "maxItems"),
            min_length: count(obj, "minLength"),
            max_length: count(obj, "maxLength"),
            pattern: obj
                .get("pattern")
                .and_then(Value::as_str)
                .and_then(|p| Regex::new(p).ok().map(|regex| Pattern { source: p.to_owned(), regex })),
            minimum: bound(obj, "minimum"),
            maximum: bound(obj, "maximum"),
            exclusive_minimum: bound(obj, "exclusiveMinimum"),
            exclusive_maximum: bound(obj, "exclusiveMaximum"),
            int_range: obj.get("format").and_then(Value::as_str).and_then(int_range),
            enum_values: obj.get("enum").and_then(Value::as_array).cloned(),
            const_value: obj.get("const").cloned(),
            any_of: self.subs(obj.get("anyOf")),
            one_of: self.subs(obj.get("oneOf")),
            all_of: self.subs(obj.get("allOf")),
        }
    }

    /// `#`, `#/$defs/Name` or `#/definitions/Name` → its slot.
    fn resolve(&self, reference: &str) -> Option<Id> {
        if reference == "#" {
            return Some(ROOT);
        }
        self.defs.get(reference).copied()
    }
}

fn types(value: Option<&Value>) -> Vec<Ty> {
    let one = |name: &str| match name {
        "null" => Some(Ty::Null),
        "boolean" => Some(Ty::Boolean),
        "integer" => Some(Ty::Integer),
        "number" => Some(Ty::Number),
        "string" => Some(Ty::String),
        "array" => Some(Ty::Array),
        "object" => Some(Ty::Object),
        _ => None,
    };
    match value {
        Some(Value::String(name)) => one(name).into_iter().collect(),
        Some(Value::Array(names)) => names.iter().filter_map(Value::as_str).filter_map(one).collect(),
        _ => Vec::new(),
    }
}

fn count(obj: &Map<String, Value>, key: &str) -> Option<usize> {
    let n = obj.get(key)?.as_u64()?;
    Some(usize::try_from(n).unwrap_or(usize::MAX))
}

fn bound(obj: &Map<String, Value>, key: &str) -> Option<Bound> {
    match obj.get(key) {
        Some(Value::Number(raw)) => Some(Bound { num: Num::from_number(raw), raw: raw.clone() }),
        _ => None,
    }
}

/// The range of an integer `format` as schemars names them.
fn int_range(format: &str) -> Option<(i128, i128)> {
    let range = match format {
        "int8" => (i8::MIN.into(), i8::MAX.into()),
        "int16" => (i16::MIN.into(), i16::MAX.into()),
        "int32" => (i32::MIN.into(), i32::MAX.into()),
        "int64" | "int" => (i64::MIN.into(), i64::MAX.into()),
        "int128" => (i128::MIN, i128::MAX),
        "uint8" => (0, u8::MAX.into()),
        "uint16" => (0, u16::MAX.into()),
        "uint32" => (0, u32::MAX.into()),
        "uint64" | "uint" => (0, u64::MAX.into()),
        "uint128" => (0, i128::MAX),
        _ => return None,
    };
    Some(range)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn compiles_refs_lazily_and_recursively() {
        let schema = CompiledSchema::compile(&json!({
            "type": "object",
            "properties": {"child": {"$ref": "#/$defs/Node"}, "me": {"$ref": "#"}, "lost": {"$ref": "#/$defs/Nope"}},
            "required": ["child", "ghost"],
            "$defs": {"Node": {"type": "object", "properties": {"next": {"$ref": "#/$defs/Node"}}}}
        }));
        let root = schema.node(schema.root());
        let names: Vec<_> = root.properties.iter().map(|(n, _, r)| (n.as_str(), *r)).collect();
        assert_eq!(names, [("child", true), ("me", false), ("lost", false)]);
        assert_eq!(root.required_only, ["ghost"]);
        let child = schema.node(root.properties[0].1);
        let node_id = child.reference.unwrap_or(ANY);
        let next = schema.node(schema.node(node_id).properties[0].1);
        assert_eq!(next.reference, Some(node_id));
        assert_eq!(schema.node(root.properties[1].1).reference, Some(ROOT));
        assert_eq!(schema.node(root.properties[2].1).reference, None);
    }

    #[test]
    fn compiles_keywords() {
        let schema = CompiledSchema::compile(&json!({
            "type": ["integer", "null"], "format": "uint8", "minimum": 0, "exclusiveMaximum": 2.5,
            "minLength": 1, "maxLength": 3, "pattern": "^a+$", "enum": [1, 2], "const": 1,
            "additionalProperties": false, "prefixItems": [true, {"type": "string"}], "items": false,
            "anyOf": [{"type": "null"}], "unknown": {"whatever": 1}
        }));
        let node = schema.node(schema.root());
        assert_eq!(node.types, [Ty::Integer, Ty::Null]);
        assert_eq!(node.main_type(), Some(Ty::Integer));
        assert!(node.allows(Ty::Null) && !node.allows(Ty::String));
        assert_eq!(node.int_range, Some((0, 255)));
        assert_eq!(node.minimum.as_ref().map(|b| b.num), Some(Num::Int(0)));
        assert_eq!(node.exclusive_maximum.as_ref().map(|b| b.num), Some(Num::Float(2.5)));
        assert_eq!((node.min_length, node.max_length), (Some(1), Some(3)));
        assert!(node.pattern.as_ref().is_some_and(|p| p.regex.is_match("aa") && !p.regex.is_match("b")));
        assert_eq!(node.additional, Some(Additional::Forbid));
        assert_eq!(node.prefix_items.first(), Some(&ANY));
        assert!(node.items.is_some_and(|i| schema.node(i).never));
        assert!(schema.node(node.any_of[0]).null_only());
        assert_eq!(node.enum_values, Some(vec![json!(1), json!(2)]));
    }

    #[test]
    fn bad_pattern_is_ignored_and_boolean_roots_work() {
        let schema = CompiledSchema::compile(&json!({"type": "string", "pattern": "(unclosed"}));
        assert!(schema.node(schema.root()).pattern.is_none());
        assert!(CompiledSchema::compile(&json!(false)).node(ROOT).never);
        assert!(!CompiledSchema::compile(&json!(true)).node(ROOT).never);
    }

    #[test]
    fn numbers_compare_exactly() {
        use Ordering::*;
        assert_eq!(Num::Int(1).compare(Num::Float(0.5)), Some(Greater));
        assert_eq!(Num::Int(i128::from(u64::MAX)).compare(Num::Float(1.8446744073709552e19)), Some(Less));
        assert_eq!(Num::Float(2.0).compare(Num::Int(2)), Some(Equal));
        assert_eq!(Num::Int(0).compare(Num::Float(f64::NAN)), None);
        assert_eq!(Num::Int(i128::MAX).compare(Num::Float(1e300)), Some(Less));
    }
}

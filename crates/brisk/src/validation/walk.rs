//! The slow-path validator: every failure of an input against a [`CompiledSchema`], pydantic-style.
//!
//! [`check_json`] types JSON strictly; [`coerce_strings`] turns string inputs (path, query, headers,
//! cookies, form fields) into typed JSON laxly, as pydantic does for them. Both share the
//! constraint checks, so one rule gives one message whatever the source. Like pydantic, a scalar
//! gets at most one error, and a value with the wrong type gets no constraint errors.

use std::borrow::Cow;
use std::cell::Cell;
use std::cmp::Ordering;
use std::collections::HashMap;

use serde_json::{Map, Number, Value};

use super::json_tree::Node;
use super::messages as m;
use super::schema::{Additional, Bound, CompiledSchema, Id, Num, SchemaNode, Ty};
use crate::error::{Loc, LocItem, ValidationError};

/// Subschemas that may be entered without moving into the input: a guard against `$ref` cycles.
const MAX_HOPS: usize = 32;

/// Subschema checks one JSON walk may make per input node (plus a floor): unions over recursive
/// types could otherwise take exponential time. Past it the walk reports what it found so far.
const STEPS_PER_NODE: usize = 64;
const MIN_STEPS: usize = 10_000;

/// Errors one walk reports at most: a hostile input (a 2 MiB list of wrong items) could otherwise
/// yield a million of them. Each error list stops growing at the cap and the walk that fills it
/// stops; the result is cut to exactly this many.
pub(crate) const MAX_ERRORS: usize = 1000;

/// Whether `errors` holds as many errors as a walk reports: the walk adding to it stops.
fn full(errors: &[ValidationError]) -> bool {
    errors.len() >= MAX_ERRORS
}

/// JSON body: every failure of `node` against `schema`, locations prefixed by `loc` (e.g. `Loc::root("body")`).
pub(crate) fn check_json(node: &Node, schema: &CompiledSchema, loc: &Loc) -> Vec<ValidationError> {
    let mut errors = Vec::new();
    let steps = Cell::new(count_nodes(node).saturating_mul(STEPS_PER_NODE).saturating_add(MIN_STEPS));
    Json { schema, steps }.check(node, schema.root(), loc, 0, &mut errors);
    errors.truncate(MAX_ERRORS);
    errors
}

/// How many nodes a tree has, counted without recursion.
fn count_nodes(root: &Node) -> usize {
    let mut count = 0;
    let mut stack = vec![root];
    while let Some(node) = stack.pop() {
        count += 1;
        match node {
            Node::Array(items) => stack.extend(items),
            Node::Object(members) => stack.extend(members.iter().map(|(_, v)| v)),
            _ => {}
        }
    }
    count
}

/// Where string-valued inputs come from; decides the loc root and how names are matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StringSource {
    Path,
    Query,
    Header,
    Cookie,
    Form,
}

impl StringSource {
    /// The first item of every location from this source.
    pub(crate) fn root(self) -> &'static str {
        match self {
            StringSource::Path => "path",
            StringSource::Query => "query",
            StringSource::Header => "header",
            StringSource::Cookie => "cookie",
            StringSource::Form => "body",
        }
    }

    /// The name a field arrives under: headers spell `user_agent` as `user-agent`.
    fn wire_name(self, field: &str) -> String {
        match self {
            StringSource::Header => field.replace('_', "-"),
            _ => field.to_owned(),
        }
    }

    /// Whether an incoming `name` is the field whose wire name is `wire`.
    fn matches(self, wire: &str, name: &str) -> bool {
        match self {
            StringSource::Header => wire.eq_ignore_ascii_case(name),
            _ => wire == name,
        }
    }

    /// Which of repeated values a scalar takes: the first header or cookie (browsers send the
    /// cookie with the longest path first), else the last (as Starlette does).
    fn pick<'a>(self, values: &[&'a str]) -> Option<&'a str> {
        match self {
            StringSource::Header | StringSource::Cookie => values.first().copied(),
            _ => values.last().copied(),
        }
    }

    /// Whether unknown names are reported when the schema forbids them (headers and cookies
    /// always carry unrelated names).
    fn reports_extras(self) -> bool {
        matches!(self, StringSource::Path | StringSource::Query | StringSource::Form)
    }
}

/// String inputs (path params, query pairs, headers, cookies, urlencoded form fields) as (name, value) pairs in
/// arrival order (a name may repeat). Coerce them to the schema's types (lax, as pydantic does for these sources)
/// and validate; on success return the JSON value to feed to `serde_json::from_value::<T>()`.
#[cfg(test)]
pub(crate) fn coerce_strings(
    pairs: &[(&str, &str)],
    schema: &CompiledSchema,
    source: StringSource,
) -> Result<Value, Vec<ValidationError>> {
    let (value, errors) = coerce_strings_partly(pairs, schema, source);
    if errors.is_empty() {
        Ok(value)
    } else {
        Err(errors)
    }
}

/// [`coerce_strings`], keeping what did coerce when something did not: the value holds the
/// fields that passed (custom validators then check those).
pub(crate) fn coerce_strings_partly(
    pairs: &[(&str, &str)],
    schema: &CompiledSchema,
    source: StringSource,
) -> (Value, Vec<ValidationError>) {
    let strings = Strings { schema, source };
    let loc = Loc::root(source.root());
    let mut errors = Vec::new();
    let root = strings.shape(schema.root());
    let node = schema.node(root);
    let value =
        if !node.properties.is_empty() || node.additional.is_some() || node.main_type() == Some(Ty::Object) {
            strings.object(pairs, node, &loc, &mut errors)
        } else if !node.prefix_items.is_empty() {
            strings.tuple(pairs, node, &loc, &mut errors)
        } else {
            strings.single(pairs, root, &loc, &mut errors)
        };
    errors.truncate(MAX_ERRORS);
    (value, errors)
}

/// The strings a custom validator's issue at `at` was about, as pydantic shows such input: the
/// field's string (a list of them when the name repeats, the one at the index when `at` has
/// one), or for the whole model an object of every name.
pub(crate) fn string_input(pairs: &[(&str, &str)], source: StringSource, at: &[LocItem]) -> Value {
    let Some((first, rest)) = at.split_first() else {
        let mut object = Map::new();
        for (name, values) in group_all(pairs) {
            object.insert(name.to_owned(), strings_value(&values));
        }
        return Value::Object(object);
    };
    let LocItem::Key(field) = first else { return Value::Null };
    let wire = source.wire_name(field);
    let values: Vec<&str> =
        pairs.iter().filter(|(name, _)| source.matches(&wire, name)).map(|(_, value)| *value).collect();
    match rest.first() {
        None => strings_value(&values),
        Some(LocItem::Index(i)) => values.get(*i).map_or(Value::Null, |v| Value::from(*v)),
        Some(LocItem::Key(_)) => Value::Null,
    }
}

/// Pairs grouped by name, in order of first appearance.
fn group_all<'a>(pairs: &[(&'a str, &'a str)]) -> Vec<(&'a str, Vec<&'a str>)> {
    let mut groups: Vec<(&str, Vec<&str>)> = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    for (name, value) in pairs {
        match index.get(name) {
            Some(&at) => groups[at].1.push(value),
            None => {
                index.insert(name, groups.len());
                groups.push((name, vec![value]));
            }
        }
    }
    groups
}

/// One string as itself, several as a list, none as null.
fn strings_value(values: &[&str]) -> Value {
    match values {
        [] => Value::Null,
        [one] => Value::from(*one),
        many => Value::Array(many.iter().map(|v| Value::from(*v)).collect()),
    }
}

// ---------------------------------------------------------------------------------------------
// Shared rules

/// A scalar whose type is settled, as both walkers see it.
#[derive(Clone, Copy)]
enum Scalar<'a> {
    Null,
    Bool(bool),
    Num(Num),
    Str(&'a str),
}

/// Whether a scalar equals an `enum` / `const` value.
fn equals(scalar: Scalar, value: &Value) -> bool {
    match (scalar, value) {
        (Scalar::Null, Value::Null) => true,
        (Scalar::Bool(a), Value::Bool(b)) => a == *b,
        (Scalar::Num(a), Value::Number(b)) => a.compare(Num::from_number(b)) == Some(Ordering::Equal),
        (Scalar::Str(a), Value::String(b)) => a == b,
        _ => false,
    }
}

/// The first failure of a well-typed scalar: `enum`/`const`, then bounds, then lengths and pattern.
fn scalar_error(
    s: &SchemaNode,
    scalar: Scalar,
    loc: &Loc,
    input: &dyn Fn() -> Value,
) -> Option<ValidationError> {
    if let Some(values) = &s.enum_values {
        if !values.iter().any(|v| equals(scalar, v)) {
            return Some(m::enum_mismatch(loc.clone(), input(), values));
        }
    }
    if let Some(value) = &s.const_value {
        if !equals(scalar, value) {
            return Some(m::literal_error(loc.clone(), input(), std::slice::from_ref(value)));
        }
    }
    match scalar {
        Scalar::Num(n) => number_error(s, n, loc, input),
        Scalar::Str(text) => string_error(s, text, loc, input),
        Scalar::Null | Scalar::Bool(_) => None,
    }
}

/// A bound, when a comparison with it fails, and the error that reports it.
type BoundRule<'a> = (&'a Option<Bound>, fn(Ordering) -> bool, fn(Loc, Value, &Number) -> ValidationError);

/// An error constructor from `messages` that needs only the location and the input.
type MakeError = fn(Loc, Value) -> ValidationError;

/// Bounds in pydantic's order (le, lt, ge, gt), then the integer format's range.
fn number_error(s: &SchemaNode, n: Num, loc: &Loc, input: &dyn Fn() -> Value) -> Option<ValidationError> {
    use Ordering::{Greater, Less};
    let rules: [BoundRule; 4] = [
        (&s.maximum, |o| o == Greater, m::less_than_equal),
        (&s.exclusive_maximum, |o| o != Less, m::less_than),
        (&s.minimum, |o| o == Less, m::greater_than_equal),
        (&s.exclusive_minimum, |o| o != Greater, m::greater_than),
    ];
    for (bound, fails, make) in rules {
        if let Some(b) = bound.as_ref().filter(|b| n.compare(b.num).is_some_and(fails)) {
            return Some(make(loc.clone(), input(), &b.raw));
        }
    }
    match (n, s.int_range) {
        // A string (path, query, header, cookie, form) that does not fit the field's integer
        // type did not parse, as the contract says; a JSON number is too large for it.
        (Num::Int(i), Some((lo, hi))) if i < lo || i > hi => match input() {
            text @ Value::String(_) => Some(m::int_parsing(loc.clone(), text)),
            number => Some(m::int_parsing_size(loc.clone(), number)),
        },
        _ => None,
    }
}

/// Lengths in characters, then the pattern (searched, not anchored, as JSON Schema says).
fn string_error(s: &SchemaNode, text: &str, loc: &Loc, input: &dyn Fn() -> Value) -> Option<ValidationError> {
    if s.min_length.is_some() || s.max_length.is_some() {
        let chars = text.chars().count();
        if let Some(min) = s.min_length.filter(|&min| chars < min) {
            return Some(m::string_too_short(loc.clone(), input(), min));
        }
        if let Some(max) = s.max_length.filter(|&max| chars > max) {
            return Some(m::string_too_long(loc.clone(), input(), max));
        }
    }
    match &s.pattern {
        Some(p) if !p.regex.is_match(text) => {
            Some(m::string_pattern_mismatch(loc.clone(), input(), &p.source))
        }
        _ => None,
    }
}

/// The error for a value of the wrong type, named after the first non-null type allowed.
fn type_error(s: &SchemaNode) -> MakeError {
    match s.main_type() {
        Some(Ty::Integer) => m::int_type,
        Some(Ty::Number) => m::float_type,
        Some(Ty::String) => m::string_type,
        Some(Ty::Boolean) => m::bool_type,
        Some(Ty::Array) if !s.prefix_items.is_empty() => m::tuple_type,
        Some(Ty::Array) => m::list_type,
        Some(Ty::Object) if s.properties.is_empty() && s.additional != Some(Additional::Forbid) => {
            m::dict_type
        }
        Some(Ty::Object) => m::model_attributes_type,
        Some(Ty::Null) | None => m::none_required,
    }
}

/// Whether an error says the value has the wrong type altogether, so a union branch did not fit:
/// a type error at `loc`, or a `const` mismatch one key down (the tag of a tagged enum).
fn is_type_error(e: &ValidationError, loc: &Loc) -> bool {
    let tag = e.kind == "literal_error" && e.loc.0.len() == loc.0.len() + 1 && e.loc.0.starts_with(&loc.0);
    const KINDS: [&str; 13] = [
        "int_type",
        "int_parsing",
        "int_from_float",
        "float_type",
        "float_parsing",
        "string_type",
        "bool_type",
        "bool_parsing",
        "list_type",
        "tuple_type",
        "dict_type",
        "model_attributes_type",
        "none_required",
    ];
    tag || (&e.loc == loc && KINDS.contains(&e.kind.as_ref()))
}

/// The errors to report for a union none of whose branches passed: those of the best-fitting
/// branch (right type, fewest errors); if no branch has the right type, each branch's type error
/// once (a tagged enum's tags merged into one `literal_error`), leaving out `null` branches
/// unless nothing else is left.
fn union_errors(failures: Vec<(bool, Vec<ValidationError>)>, loc: &Loc) -> Vec<ValidationError> {
    let mut best: Option<Vec<ValidationError>> = None;
    let mut misfits = Vec::new();
    let mut null_misfits = Vec::new();
    for (null_only, found) in failures {
        if null_only {
            null_misfits.extend(found);
        } else if found.iter().any(|e| is_type_error(e, loc)) {
            misfits.extend(found.into_iter().filter(|e| is_type_error(e, loc)));
        } else if best.as_ref().is_none_or(|b| found.len() < b.len()) {
            best = Some(found);
        }
    }
    if let Some(best) = best {
        return best;
    }
    // Misfits hold a type error or two each: the quadratic de-duplication stays small.
    let mut merged: Vec<(ValidationError, Vec<String>)> = Vec::new();
    for e in if misfits.is_empty() { null_misfits } else { misfits } {
        let ctx = e.ctx.as_ref().filter(|_| e.kind == "literal_error");
        let choice = ctx.and_then(|c| c.get("expected")).and_then(Value::as_str).map(str::to_owned);
        match merged.iter_mut().find(|(o, _)| o.kind == e.kind && o.loc == e.loc) {
            Some((_, choices)) => choices.extend(choice),
            None => merged.push((e, choice.into_iter().collect())),
        }
    }
    let rebuild = |(e, choices): (ValidationError, Vec<String>)| match choices.len() {
        0 | 1 => e,
        _ => m::literal_choices(e.loc, e.input, &choices),
    };
    merged.into_iter().map(rebuild).collect()
}

// ---------------------------------------------------------------------------------------------
// JSON

/// The strict walker over a parsed JSON tree.
struct Json<'s> {
    schema: &'s CompiledSchema,
    /// Checks left before the walk gives up (see [`STEPS_PER_NODE`]).
    steps: Cell<usize>,
}

impl Json<'_> {
    /// Every failure of `node` against subschema `id`; `hops` counts subschemas entered at this `loc`.
    fn check(&self, node: &Node, id: Id, loc: &Loc, hops: usize, errors: &mut Vec<ValidationError>) {
        if hops > MAX_HOPS || self.steps.get() == 0 || full(errors) {
            return;
        }
        self.steps.set(self.steps.get() - 1);
        let s = self.schema.node(id);
        if s.never {
            push(errors, || m::extra_forbidden(loc.clone(), node.to_value()));
            return;
        }
        if let Some(target) = s.reference {
            self.check(node, target, loc, hops + 1, errors);
        }
        for &part in &s.all_of {
            self.check(node, part, loc, hops + 1, errors);
        }
        for branches in [&s.any_of, &s.one_of] {
            if !branches.is_empty() {
                self.union(node, branches, loc, hops, errors);
            }
        }
        self.own(node, s, loc, errors);
    }

    /// `anyOf` / `oneOf`: passes when one branch passes (the first wins, as serde's untagged enums do).
    fn union(&self, node: &Node, branches: &[Id], loc: &Loc, hops: usize, errors: &mut Vec<ValidationError>) {
        let mut failures = Vec::with_capacity(branches.len());
        for &branch in branches {
            let mut found = Vec::new();
            self.check(node, branch, loc, hops + 1, &mut found);
            if self.steps.get() == 0 {
                // Out of steps: an empty result proves nothing; keep what was found and stop.
                failures.push((false, found));
                break;
            }
            if found.is_empty() {
                return;
            }
            failures.push((self.schema.node(branch).null_only(), found));
        }
        errors.extend(union_errors(failures, loc));
    }

    /// The keywords of `s` itself: type, then structure or constraints.
    fn own(&self, node: &Node, s: &SchemaNode, loc: &Loc, errors: &mut Vec<ValidationError>) {
        match node {
            Node::Array(items) if s.allows(Ty::Array) => self.array(items, node, s, loc, errors),
            Node::Object(members) if s.allows(Ty::Object) => self.object(members, node, s, loc, errors),
            _ => leaf(node, s, loc, errors),
        }
    }

    /// Items by index (`prefixItems` first), after `maxItems`; `minItems` only if the items passed.
    fn array(
        &self,
        items: &[Node],
        node: &Node,
        s: &SchemaNode,
        loc: &Loc,
        errors: &mut Vec<ValidationError>,
    ) {
        let tuple = !s.prefix_items.is_empty();
        let field_type = if tuple { "Tuple" } else { "List" };
        if let Some(max) = s.max_items.filter(|&max| items.len() > max) {
            return push(errors, || m::too_long(loc.clone(), node.to_value(), field_type, max, items.len()));
        }
        let before = errors.len();
        for (i, item) in items.iter().enumerate() {
            if full(errors) {
                return;
            }
            if let Some(id) = s.prefix_items.get(i).copied().or(s.items) {
                self.check(item, id, &loc.index(i), 0, errors);
            }
        }
        if tuple && items.len() < s.prefix_items.len() {
            let needed = s.min_items.unwrap_or(0).min(s.prefix_items.len());
            for i in items.len()..needed {
                if full(errors) {
                    return;
                }
                push(errors, || m::missing(loc.index(i), node.to_value()));
            }
            return;
        }
        if let Some(min) = s.min_items.filter(|&min| items.len() < min && errors.len() == before) {
            push(errors, || m::too_short(loc.clone(), node.to_value(), field_type, min, items.len()));
        }
    }

    /// `maxProperties`, properties in schema order (`missing` carries the whole object), unknown
    /// keys in input order, then `minProperties` if all else passed.
    fn object(
        &self,
        members: &[(String, Node)],
        node: &Node,
        s: &SchemaNode,
        loc: &Loc,
        errors: &mut Vec<ValidationError>,
    ) {
        if let Some(max) = s.max_properties.filter(|&max| members.len() > max) {
            return push(errors, || {
                m::too_long(loc.clone(), node.to_value(), "Dictionary", max, members.len())
            });
        }
        if s.properties.is_empty() && s.required_only.is_empty() && s.additional.is_none() {
            if let Some(min) = s.min_properties.filter(|&min| members.len() < min) {
                push(errors, || m::too_short(loc.clone(), node.to_value(), "Dictionary", min, members.len()));
            }
            return;
        }
        let before = errors.len();
        let by_key: HashMap<&str, &Node> = members.iter().map(|(k, v)| (k.as_str(), v)).collect();
        let mut whole: Option<Value> = None;
        let mut missing = |name: &str, errors: &mut Vec<ValidationError>| {
            let input = whole.get_or_insert_with(|| node.to_value()).clone();
            push(errors, || m::missing(loc.key(name.to_owned()), input));
        };
        for (name, id, required) in &s.properties {
            if full(errors) {
                return;
            }
            match by_key.get(name.as_str()) {
                Some(child) => self.check(child, *id, &loc.key(name.clone()), 0, errors),
                None if *required => missing(name, errors),
                None => {}
            }
        }
        for name in s.required_only.iter().filter(|n| !by_key.contains_key(n.as_str())) {
            if full(errors) {
                return;
            }
            missing(name, errors);
        }
        let extras = members.iter().filter(|(k, _)| !s.property_names.contains(k));
        match s.additional {
            Some(Additional::Forbid) => {
                for (key, value) in extras {
                    if full(errors) {
                        return;
                    }
                    push(errors, || m::extra_forbidden(loc.key(key.clone()), value.to_value()));
                }
            }
            Some(Additional::Schema(id)) => {
                for (key, value) in extras {
                    if full(errors) {
                        return;
                    }
                    self.check(value, id, &loc.key(key.clone()), 0, errors);
                }
            }
            None => {}
        }
        if let Some(min) = s.min_properties.filter(|&min| members.len() < min && errors.len() == before) {
            push(errors, || m::too_short(loc.clone(), node.to_value(), "Dictionary", min, members.len()));
        }
    }
}

/// A scalar node (or a node of the wrong type) against `s`: at most one error.
#[inline(never)] // keeps error temporaries out of the recursive frames
fn leaf(node: &Node, s: &SchemaNode, loc: &Loc, errors: &mut Vec<ValidationError>) {
    let input = || node.to_value();
    let scalar = match node {
        Node::Null if s.allows(Ty::Null) => Scalar::Null,
        Node::Bool(b) if s.allows(Ty::Boolean) => Scalar::Bool(*b),
        Node::Number(raw) if s.allows(Ty::Number) || s.allows(Ty::Integer) => match json_number(raw, s) {
            Ok(n) => Scalar::Num(n),
            Err(make) => return errors.push(make(loc.clone(), input())),
        },
        Node::String(text) if s.allows(Ty::String) => Scalar::Str(text),
        _ => return errors.push(type_error(s)(loc.clone(), input())),
    };
    errors.extend(scalar_error(s, scalar, loc, &input));
}

/// Pushes an error built out of line, so the recursive walk's frames stay small.
#[inline(never)]
fn push(errors: &mut Vec<ValidationError>, make: impl FnOnce() -> ValidationError) {
    errors.push(make());
}

/// A JSON number token typed strictly, except that an integral float (`2.0`, `1e3`) is an
/// integer, as JSON Schema (and pydantic) say: the document promises `integer`, and those are.
fn json_number(raw: &str, s: &SchemaNode) -> Result<Num, MakeError> {
    let int_syntax = !raw.contains(['.', 'e', 'E']);
    if int_syntax {
        if let Ok(i) = raw.parse::<i128>() {
            return Ok(Num::Int(i));
        }
    }
    // Valid JSON number syntax always parses; only its size can make it infinite.
    let f = raw.parse::<f64>().unwrap_or(f64::INFINITY);
    if s.allows(Ty::Number) {
        if f.is_finite() {
            Ok(Num::Float(f))
        } else {
            Err(m::finite_number)
        }
    } else if int_syntax {
        Err(m::int_parsing_size)
    } else if !f.is_finite() {
        Err(m::finite_number)
    } else if f.fract() != 0.0 {
        Err(m::int_from_float)
    } else if f.abs() < 9_007_199_254_740_992.0 {
        // Below 2^53 the float is exactly the integer it spells.
        Ok(Num::Int(f as i128))
    } else {
        Err(m::int_parsing_size)
    }
}

// ---------------------------------------------------------------------------------------------
// Strings

/// The lax walker over string inputs.
struct Strings<'s> {
    schema: &'s CompiledSchema,
    source: StringSource,
}

impl Strings<'_> {
    /// Follows `$ref` and single `allOf` to the subschema that says what shape the input has.
    fn shape(&self, mut id: Id) -> Id {
        for _ in 0..MAX_HOPS {
            let s = self.schema.node(id);
            if !s.types.is_empty() || !s.properties.is_empty() || !s.prefix_items.is_empty() {
                break;
            }
            match (s.reference, s.all_of.as_slice()) {
                (Some(target), _) | (None, &[target]) => id = target,
                _ => break,
            }
        }
        id
    }

    /// The array subschema behind `id` (through `$ref`, `Option`'s `anyOf` ...), if it is a list.
    fn array_node(&self, id: Id, hops: usize) -> Option<&SchemaNode> {
        let s = self.schema.node(id);
        if hops > MAX_HOPS || s.never {
            return None;
        }
        if s.main_type() == Some(Ty::Array) {
            return Some(s);
        }
        let mut next = s.reference.iter().chain(&s.all_of).chain(&s.any_of).chain(&s.one_of);
        next.find_map(|&n| self.array_node(n, hops + 1))
    }

    /// Whether the absence of a value is fine because the schema allows null.
    fn nullable(&self, id: Id, hops: usize) -> bool {
        let s = self.schema.node(id);
        if hops > MAX_HOPS || s.never {
            return false;
        }
        let mut next = s.reference.iter().chain(&s.any_of).chain(&s.one_of);
        (!s.types.is_empty() && s.allows(Ty::Null)) || next.any(|&n| self.nullable(n, hops + 1))
    }

    /// A struct: each property looked up by (wire) name; unknown names per `additionalProperties`;
    /// a map's size per `minProperties` / `maxProperties`.
    fn object(
        &self,
        pairs: &[(&str, &str)],
        s: &SchemaNode,
        loc: &Loc,
        errors: &mut Vec<ValidationError>,
    ) -> Value {
        let before = errors.len();
        let mut out = Map::new();
        let wires: Vec<String> =
            s.properties.iter().map(|(name, _, _)| self.source.wire_name(name)).collect();
        for ((name, id, required), wire) in s.properties.iter().zip(&wires) {
            if full(errors) {
                return Value::Object(out);
            }
            let values = self.values(pairs, wire);
            let field_loc = loc.key(wire.clone());
            if values.is_empty() {
                if *required {
                    errors.push(m::missing(field_loc, Value::Null));
                }
            } else if let Some(value) = self.field(&values, *id, &field_loc, errors) {
                out.insert(name.clone(), value);
            }
        }
        for name in &s.required_only {
            if full(errors) {
                return Value::Object(out);
            }
            let wire = self.source.wire_name(name);
            if self.values(pairs, &wire).is_empty() {
                errors.push(m::missing(loc.key(wire), Value::Null));
            }
        }
        let known = |name: &str| wires.iter().any(|w| self.source.matches(w, name));
        match s.additional {
            Some(Additional::Forbid) if self.source.reports_extras() => {
                for (name, value) in pairs.iter().filter(|(n, _)| !known(n)) {
                    if full(errors) {
                        return Value::Object(out);
                    }
                    errors.push(m::extra_forbidden(loc.key(name.to_string()), Value::from(*value)));
                }
            }
            Some(Additional::Schema(id)) => {
                for (name, values) in self.group(pairs).into_iter().filter(|(n, _)| !known(n)) {
                    if full(errors) {
                        return Value::Object(out);
                    }
                    if let Some(value) = self.field(&values, id, &loc.key(name.to_owned()), errors) {
                        out.insert(name.to_owned(), value);
                    }
                }
            }
            _ => {}
        }
        let size = out.len();
        let received = || {
            let groups = self.group(pairs).into_iter();
            Value::Object(groups.map(|(n, v)| (n.to_owned(), Value::from(self.source.pick(&v)))).collect())
        };
        if errors.len() == before {
            if let Some(max) = s.max_properties.filter(|&max| size > max) {
                errors.push(m::too_long(loc.clone(), received(), "Dictionary", max, size));
            } else if let Some(min) = s.min_properties.filter(|&min| size < min) {
                errors.push(m::too_short(loc.clone(), received(), "Dictionary", min, size));
            }
        }
        Value::Object(out)
    }

    /// A tuple (`prefixItems`): item `i` is the value of the `i`-th distinct name.
    fn tuple(
        &self,
        pairs: &[(&str, &str)],
        s: &SchemaNode,
        loc: &Loc,
        errors: &mut Vec<ValidationError>,
    ) -> Value {
        let groups = self.group(pairs);
        let needed = s.min_items.unwrap_or(0);
        let mut out = Vec::with_capacity(s.prefix_items.len());
        for (i, &id) in s.prefix_items.iter().enumerate() {
            if full(errors) {
                break;
            }
            match groups.get(i) {
                Some((name, values)) => {
                    let raw = self.source.pick(values).unwrap_or_default();
                    out.extend(self.scalar(raw, id, &loc.key(name.to_string()), 0, errors));
                }
                None if i < needed => errors.push(m::missing(loc.index(i), Value::Null)),
                None => {}
            }
        }
        Value::Array(out)
    }

    /// A scalar or list root: the first name's value(s).
    fn single(&self, pairs: &[(&str, &str)], id: Id, loc: &Loc, errors: &mut Vec<ValidationError>) -> Value {
        let Some(&(name, _)) = pairs.first() else {
            if !self.nullable(id, 0) {
                errors.push(m::missing(loc.clone(), Value::Null));
            }
            return Value::Null;
        };
        let values = self.values(pairs, name);
        self.field(&values, id, &loc.key(name.to_owned()), errors).unwrap_or(Value::Null)
    }

    /// The pairs grouped by name (for headers, in any case), in order of first arrival.
    fn group<'a>(&self, pairs: &[(&'a str, &'a str)]) -> Vec<(&'a str, Vec<&'a str>)> {
        let mut index: HashMap<Cow<'a, str>, usize> = HashMap::new();
        let mut groups: Vec<(&str, Vec<&str>)> = Vec::new();
        for &(name, value) in pairs {
            let key = match self.source {
                StringSource::Header => Cow::Owned(name.to_ascii_lowercase()),
                _ => Cow::Borrowed(name),
            };
            match index.get(&key) {
                Some(&i) => groups[i].1.push(value),
                None => {
                    index.insert(key, groups.len());
                    groups.push((name, vec![value]));
                }
            }
        }
        groups
    }

    /// The values that arrived under `wire`, in order.
    fn values<'a>(&self, pairs: &[(&str, &'a str)], wire: &str) -> Vec<&'a str> {
        pairs.iter().filter(|(name, _)| self.source.matches(wire, name)).map(|(_, v)| *v).collect()
    }

    /// One field from its (non-empty) values: a list takes them all, a scalar picks one.
    fn field(&self, values: &[&str], id: Id, loc: &Loc, errors: &mut Vec<ValidationError>) -> Option<Value> {
        match self.array_node(id, 0) {
            Some(array) => self.list(values, array, loc, errors),
            None => self.scalar(self.source.pick(values).unwrap_or_default(), id, loc, 0, errors),
        }
    }

    /// A list from repeated values: `maxItems`, each item at its index, then `minItems`.
    fn list(
        &self,
        values: &[&str],
        s: &SchemaNode,
        loc: &Loc,
        errors: &mut Vec<ValidationError>,
    ) -> Option<Value> {
        let input = || Value::from(values.to_vec());
        let field_type = if s.prefix_items.is_empty() { "List" } else { "Tuple" };
        if let Some(max) = s.max_items.filter(|&max| values.len() > max) {
            errors.push(m::too_long(loc.clone(), input(), field_type, max, values.len()));
            return None;
        }
        let before = errors.len();
        let mut out = Vec::with_capacity(values.len());
        for (i, raw) in values.iter().enumerate() {
            if full(errors) {
                return None;
            }
            match s.prefix_items.get(i).copied().or(s.items) {
                Some(id) => out.extend(self.scalar(raw, id, &loc.index(i), 0, errors)),
                None => out.push(Value::from(*raw)),
            }
        }
        if errors.len() > before {
            return None;
        }
        if let Some(min) = s.min_items.filter(|&min| values.len() < min) {
            errors.push(m::too_short(loc.clone(), input(), field_type, min, values.len()));
            return None;
        }
        Some(Value::Array(out))
    }

    /// One string coerced to subschema `id` and checked; `None` once an error is recorded.
    fn scalar(
        &self,
        raw: &str,
        id: Id,
        loc: &Loc,
        hops: usize,
        errors: &mut Vec<ValidationError>,
    ) -> Option<Value> {
        let s = self.schema.node(id);
        if hops > MAX_HOPS {
            return Some(Value::from(raw));
        }
        if s.never {
            errors.push(m::extra_forbidden(loc.clone(), Value::from(raw)));
            return None;
        }
        let mut value = None;
        for &target in s.reference.iter().chain(&s.all_of) {
            value = Some(self.scalar(raw, target, loc, hops + 1, errors)?);
        }
        for branches in [&s.any_of, &s.one_of] {
            if !branches.is_empty() {
                value = Some(self.union(raw, branches, loc, hops, errors)?);
            }
        }
        let (scalar, typed) = match coerce(raw, s) {
            Ok(Some(pair)) => pair,
            Ok(None) => return value.or_else(|| Some(Value::from(raw))),
            Err(make) => {
                errors.push(make(loc.clone(), Value::from(raw)));
                return None;
            }
        };
        match scalar_error(s, scalar, loc, &|| Value::from(raw)) {
            Some(e) => {
                errors.push(e);
                None
            }
            None => Some(typed),
        }
    }

    /// `anyOf` / `oneOf` for a string: the first branch that takes it.
    fn union(
        &self,
        raw: &str,
        branches: &[Id],
        loc: &Loc,
        hops: usize,
        errors: &mut Vec<ValidationError>,
    ) -> Option<Value> {
        let mut failures = Vec::with_capacity(branches.len());
        for &branch in branches {
            let mut found = Vec::new();
            if let Some(value) = self.scalar(raw, branch, loc, hops + 1, &mut found) {
                if found.is_empty() {
                    return Some(value);
                }
            }
            failures.push((self.schema.node(branch).null_only(), found));
        }
        errors.extend(union_errors(failures, loc));
        None
    }
}

/// A string as the first type of `s` that takes it (pydantic's lax rules), or the error of the
/// first type; `Ok(None)` when `s` has no scalar keywords at all, so that the string passes as it is.
fn coerce<'a>(raw: &'a str, s: &SchemaNode) -> Result<Option<(Scalar<'a>, Value)>, MakeError> {
    let has_rules = s.enum_values.is_some()
        || s.const_value.is_some()
        || s.min_length.is_some()
        || s.max_length.is_some()
        || s.pattern.is_some();
    if s.types.is_empty() {
        return Ok(has_rules.then(|| (Scalar::Str(raw), Value::from(raw))));
    }
    let mut first_error = None;
    for &ty in s.types.iter().filter(|&&t| t != Ty::Null) {
        let attempt: Result<_, MakeError> = match ty {
            Ty::Integer => {
                parse_int(raw).map(|i| (Scalar::Num(Num::Int(i)), int_value(i))).ok_or(m::int_parsing)
            }
            Ty::Number => match parse_float(raw) {
                None => Err(m::float_parsing),
                Some(f) => match Number::from_f64(f) {
                    Some(n) => Ok((Scalar::Num(Num::Float(f)), Value::Number(n))),
                    None => Err(m::finite_number),
                },
            },
            Ty::Boolean => parse_bool(raw).map(|b| (Scalar::Bool(b), Value::Bool(b))).ok_or(m::bool_parsing),
            Ty::String => Ok((Scalar::Str(raw), Value::from(raw))),
            Ty::Array | Ty::Object | Ty::Null => Err(type_error(s)),
        };
        match attempt {
            Ok(pair) => return Ok(Some(pair)),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    Err(first_error.unwrap_or(m::none_required))
}

/// An integer as pydantic reads one from a string (`" +1_000 "`, `"7.00"`), within 64 bits.
fn parse_int(raw: &str) -> Option<i128> {
    let text = raw.trim();
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let digits = match digits.split_once('.') {
        Some((whole, zeros)) if zeros.bytes().all(|b| b == b'0') => whole,
        Some(_) => return None,
        None => digits,
    };
    let value: i128 = plain_digits(digits)?.parse().ok()?;
    let value = if negative { -value } else { value };
    (i128::from(i64::MIN)..=i128::from(u64::MAX)).contains(&value).then_some(value)
}

/// Digits with single underscores between them (Python's rule), underscores removed.
fn plain_digits(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let ok = matches!(bytes.first(), Some(b'0'..=b'9'))
        && matches!(bytes.last(), Some(b'0'..=b'9'))
        && bytes.iter().all(|b| b.is_ascii_digit() || *b == b'_')
        && !text.contains("__");
    ok.then(|| text.replace('_', ""))
}

/// A float as Python's `float()` reads a string; `inf` and `nan` parse (and are refused later).
fn parse_float(raw: &str) -> Option<f64> {
    let text = raw.trim();
    if !text.contains('_') {
        return text.parse().ok();
    }
    let bytes = text.as_bytes();
    let between_digits = bytes.iter().enumerate().all(|(i, &b)| {
        b != b'_'
            || (i > 0 && bytes[i - 1].is_ascii_digit() && bytes.get(i + 1).is_some_and(u8::is_ascii_digit))
    });
    if between_digits {
        text.replace('_', "").parse().ok()
    } else {
        None
    }
}

/// pydantic's boolean words, any case.
fn parse_bool(raw: &str) -> Option<bool> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" | "t" | "y" => Some(true),
        "false" | "0" | "no" | "off" | "f" | "n" => Some(false),
        _ => None,
    }
}

fn int_value(i: i128) -> Value {
    if let Ok(v) = i64::try_from(i) {
        Value::from(v)
    } else if let Ok(v) = u64::try_from(i) {
        Value::from(v)
    } else {
        Value::String(i.to_string())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use schemars::JsonSchema;
    use serde::Deserialize;
    use serde_json::json;

    use super::super::json_tree;
    use super::*;

    fn compiled<T: JsonSchema>() -> CompiledSchema {
        let root =
            schemars::generate::SchemaSettings::draft2020_12().into_generator().into_root_schema_for::<T>();
        CompiledSchema::compile(&root.to_value())
    }

    /// The errors of a JSON body, as FastAPI would serialize them.
    fn body_errors(schema: &CompiledSchema, body: &str) -> Value {
        let node = json_tree::parse(body.as_bytes(), 128).expect("test bodies are JSON");
        serde_json::to_value(check_json(&node, schema, &Loc::root("body"))).unwrap_or_default()
    }

    /// `(type, loc)` of each error, for compact assertions.
    fn kinds(errors: &Value) -> Vec<(String, Value)> {
        let list = errors.as_array().cloned().unwrap_or_default();
        list.iter().map(|e| (e["type"].as_str().unwrap_or("").to_owned(), e["loc"].clone())).collect()
    }

    fn k(kind: &str, loc: Value) -> (String, Value) {
        (kind.to_owned(), loc)
    }

    #[allow(dead_code)]
    #[derive(JsonSchema, Deserialize, Debug, PartialEq)]
    struct ItemIn {
        #[schemars(length(min = 1, max = 100))]
        name: String,
        #[schemars(length(max = 1000))]
        #[serde(default)]
        description: Option<String>,
        #[schemars(extend("exclusiveMinimum" = 0))]
        price: f64,
        #[schemars(range(min = 0))]
        #[serde(default)]
        tax: Option<f64>,
        #[schemars(length(max = 10))]
        #[serde(default)]
        tags: Vec<String>,
    }

    #[test]
    fn valid_item_passes() {
        let schema = compiled::<ItemIn>();
        let ok = r#"{"name":"x","price":1,"tax":null,"tags":["a"],"description":null,"other":[1]}"#;
        assert_eq!(body_errors(&schema, ok), json!([]));
        assert_eq!(body_errors(&schema, r#"{"name":"日本","price":0.5,"tax":0}"#), json!([]));
    }

    #[test]
    fn every_item_failure_at_once() {
        let schema = compiled::<ItemIn>();
        let tags: Vec<String> = (0..11).map(|i| i.to_string()).collect();
        let body = json!({"name": "", "description": "d".repeat(1001), "price": 0, "tax": -1, "tags": tags});
        let errors = body_errors(&schema, &body.to_string());
        let by_field: HashMap<String, Value> = errors
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| (e["loc"][1].as_str().unwrap_or("").to_owned(), e.clone()))
            .collect();
        assert_eq!(by_field.len(), 5);
        assert_eq!(
            by_field["name"],
            json!({"type":"string_too_short","loc":["body","name"],"msg":"String should have at least 1 character","input":"","ctx":{"min_length":1}})
        );
        assert_eq!(by_field["description"]["type"], "string_too_long");
        assert_eq!(by_field["description"]["ctx"], json!({"max_length": 1000}));
        assert_eq!(
            by_field["price"],
            json!({"type":"greater_than","loc":["body","price"],"msg":"Input should be greater than 0","input":0,"ctx":{"gt":0}})
        );
        assert_eq!(
            by_field["tax"],
            json!({"type":"greater_than_equal","loc":["body","tax"],"msg":"Input should be greater than or equal to 0","input":-1,"ctx":{"ge":0}})
        );
        assert_eq!(by_field["tags"]["msg"], "List should have at most 10 items after validation, not 11");
        assert_eq!(by_field["tags"]["ctx"], json!({"field_type":"List","max_length":10,"actual_length":11}));
    }

    #[test]
    fn missing_fields_carry_the_parent_object() {
        let schema = compiled::<ItemIn>();
        let errors = body_errors(&schema, r#"{"description": "only"}"#);
        assert_eq!(
            kinds(&errors),
            [k("missing", json!(["body", "name"])), k("missing", json!(["body", "price"]))]
        );
        assert_eq!(errors[0]["msg"], "Field required");
        assert_eq!(errors[0]["input"], json!({"description": "only"}));
    }

    #[test]
    fn strict_json_types() {
        let schema = compiled::<ItemIn>();
        let errors = body_errors(
            &schema,
            r#"{"name": 5, "price": "1.5", "tax": true, "tags": ["a","b","c",3], "description": []}"#,
        );
        assert_eq!(
            kinds(&errors),
            [
                k("string_type", json!(["body", "name"])),
                k("string_type", json!(["body", "description"])),
                k("float_type", json!(["body", "price"])),
                k("float_type", json!(["body", "tax"])),
                k("string_type", json!(["body", "tags", 3])),
            ]
        );
        assert_eq!(errors[2]["input"], "1.5");
        assert_eq!(errors[2]["msg"], "Input should be a valid number");
        assert_eq!(errors[4]["input"], 3);
        let errors = body_errors(&schema, r#"{"name": "x", "price": 1e400, "tags": "a"}"#);
        assert_eq!(
            kinds(&errors),
            [k("finite_number", json!(["body", "price"])), k("list_type", json!(["body", "tags"]))]
        );
        assert_eq!(errors[0]["input"], "1e400");
        assert_eq!(errors[0]["msg"], "Input should be a finite number");
    }

    #[test]
    fn body_that_is_not_an_object() {
        let schema = compiled::<ItemIn>();
        for body in ["[]", "1", "\"x\"", "null"] {
            let errors = body_errors(&schema, body);
            assert_eq!(kinds(&errors), [k("model_attributes_type", json!(["body"]))], "{body}");
            assert_eq!(
                errors[0]["msg"],
                "Input should be a valid dictionary or object to extract fields from"
            );
        }
    }

    #[allow(dead_code)]
    #[derive(JsonSchema, Deserialize)]
    struct Numbers {
        small: i32,
        byte: u8,
        big: u64,
        flag: bool,
        #[schemars(range(min = 1, max = 5))]
        rating: Option<i64>,
        #[serde(default)]
        ratio: Option<f32>,
    }

    #[test]
    fn integers_and_booleans() {
        let schema = compiled::<Numbers>();
        let errors = body_errors(
            &schema,
            r#"{"small": 3000000000, "byte": 300, "big": -1, "flag": 1, "rating": 1.5}"#,
        );
        assert_eq!(
            kinds(&errors),
            [
                k("int_parsing_size", json!(["body", "small"])),
                k("less_than_equal", json!(["body", "byte"])),
                k("greater_than_equal", json!(["body", "big"])),
                k("bool_type", json!(["body", "flag"])),
                k("int_from_float", json!(["body", "rating"])),
            ]
        );
        assert_eq!(errors[1]["ctx"], json!({"le": 255}));
        assert_eq!(errors[4]["msg"], "Input should be a valid integer, got a number with a fractional part");
        assert_eq!(errors[0]["input"], 3000000000_i64);
        let errors = body_errors(
            &schema,
            r#"{"small": "1", "byte": 2.0, "big": 18446744073709551616, "flag": true, "rating": 6}"#,
        );
        // `2.0` is an integer (JSON Schema's rule), so `byte` passes.
        assert_eq!(
            kinds(&errors),
            [
                k("int_type", json!(["body", "small"])),
                k("int_parsing_size", json!(["body", "big"])),
                k("less_than_equal", json!(["body", "rating"])),
            ]
        );
        assert_eq!(errors[0]["msg"], "Input should be a valid integer");
        let ok = r#"{"small": -5, "byte": 255, "big": 18446744073709551615, "flag": false, "rating": null, "ratio": 1e-3}"#;
        assert_eq!(body_errors(&schema, ok), json!([]));
    }

    #[allow(dead_code)]
    #[derive(JsonSchema, Deserialize)]
    struct Tag {
        #[schemars(length(min = 1, max = 20))]
        label: String,
        #[schemars(regex(pattern = r"^[a-z]+$"))]
        slug: String,
    }

    #[allow(dead_code)]
    #[derive(JsonSchema, Deserialize, Debug, PartialEq)]
    enum Color {
        Red,
        Green,
        Blue,
    }

    #[allow(dead_code)]
    #[derive(JsonSchema, Deserialize)]
    struct Tree {
        children: Vec<Tree>,
        value: Option<i32>,
    }

    #[allow(dead_code)]
    #[derive(JsonSchema, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Outer {
        main: Option<Tag>,
        tags: Vec<Tag>,
        color: Color,
        tree: Tree,
        counts: HashMap<String, u32>,
        pair: (u8, String),
    }

    #[test]
    fn nested_refs_options_and_maps() {
        let schema = compiled::<Outer>();
        let ok = json!({"main": null, "tags": [], "color": "Red", "tree": {"children": []}, "counts": {}, "pair": [1, "a"]});
        assert_eq!(body_errors(&schema, &ok.to_string()), json!([]));
        let bad = json!({
            "main": {"label": "", "slug": "Nope"},
            "tags": [{"label": "ok", "slug": "ok"}, {"slug": 1}],
            "color": "Purple",
            "tree": {"children": [{"children": [], "value": "x"}, {"children": [{"children": {}}]}]},
            "counts": {"a": 1, "b": -1, "c": "2"},
            "pair": [256, "a", 3],
            "extra": true
        });
        let errors = body_errors(&schema, &bad.to_string());
        assert_eq!(
            kinds(&errors),
            [
                k("string_too_short", json!(["body", "main", "label"])),
                k("string_pattern_mismatch", json!(["body", "main", "slug"])),
                k("missing", json!(["body", "tags", 1, "label"])),
                k("string_type", json!(["body", "tags", 1, "slug"])),
                k("enum", json!(["body", "color"])),
                k("int_type", json!(["body", "tree", "children", 0, "value"])),
                k("list_type", json!(["body", "tree", "children", 1, "children", 0, "children"])),
                k("greater_than_equal", json!(["body", "counts", "b"])),
                k("int_type", json!(["body", "counts", "c"])),
                k("too_long", json!(["body", "pair"])),
                k("extra_forbidden", json!(["body", "extra"])),
            ]
        );
        assert_eq!(errors[4]["msg"], "Input should be 'Red', 'Green' or 'Blue'");
        assert_eq!(errors[4]["ctx"], json!({"expected": "'Red', 'Green' or 'Blue'"}));
        assert_eq!(errors[1]["msg"], "String should match pattern '^[a-z]+$'");
        assert_eq!(errors[1]["ctx"], json!({"pattern": "^[a-z]+$"}));
        assert_eq!(errors[9]["msg"], "Tuple should have at most 2 items after validation, not 3");
        assert_eq!(errors[10]["msg"], "Extra inputs are not permitted");
    }

    #[test]
    fn option_reports_the_inner_branch_only() {
        let schema = compiled::<Outer>();
        let base =
            json!({"tags": [], "color": "Red", "tree": {"children": []}, "counts": {}, "pair": [1, "a"]});
        let with = |main: Value| {
            let mut body = base.clone();
            body["main"] = main;
            body_errors(&schema, &body.to_string())
        };
        assert_eq!(kinds(&with(json!("x"))), [k("model_attributes_type", json!(["body", "main"]))]);
        assert_eq!(kinds(&with(json!({"label": "a"}))), [k("missing", json!(["body", "main", "slug"]))]);
        let errors = with(json!({"label": "a"}));
        assert_eq!(errors[0]["input"], json!({"label": "a"}));
        let counts = body_errors(
            &schema,
            &json!({"counts": [], "tags": [], "color": "Red", "tree": {"children": []}, "pair": [1, "a"]})
                .to_string(),
        );
        assert_eq!(kinds(&counts), [k("dict_type", json!(["body", "counts"]))]);
        let pair = |p: Value| {
            let mut body = base.clone();
            body["pair"] = p;
            kinds(&body_errors(&schema, &body.to_string()))
        };
        assert_eq!(pair(json!([1])), [k("missing", json!(["body", "pair", 1]))]);
        assert_eq!(pair(json!("ab")), [k("tuple_type", json!(["body", "pair"]))]);
    }

    #[test]
    fn hand_written_keywords() {
        let schema = CompiledSchema::compile(&json!({
            "type": "object",
            "properties": {
                "kind": {"const": "item"},
                "list": {"type": "array", "items": {"type": "integer"}, "minItems": 2},
                "ratio": {"type": "number", "exclusiveMaximum": 1, "minimum": 0.5},
                "word": {"type": "string", "minLength": 3, "pattern": "^x"},
                "mode": {"oneOf": [{"type": "string", "enum": ["a", "b"]}, {"type": "object", "properties": {"c": {"type": "integer"}}, "required": ["c"], "additionalProperties": false}]}
            }
        }));
        let errors =
            body_errors(&schema, r#"{"kind": "other", "list": [1], "ratio": 1, "word": "éé", "mode": "z"}"#);
        assert_eq!(
            kinds(&errors),
            [
                k("literal_error", json!(["body", "kind"])),
                k("too_short", json!(["body", "list"])),
                k("less_than", json!(["body", "ratio"])),
                k("string_too_short", json!(["body", "word"])),
                k("enum", json!(["body", "mode"])),
            ]
        );
        assert_eq!(errors[0]["msg"], "Input should be 'item'");
        assert_eq!(errors[1]["msg"], "List should have at least 2 items after validation, not 1");
        assert_eq!(errors[1]["ctx"], json!({"field_type": "List", "min_length": 2, "actual_length": 1}));
        assert_eq!(errors[2]["ctx"], json!({"lt": 1}));
        assert_eq!(errors[3]["msg"], "String should have at least 3 characters");
        let errors = body_errors(
            &schema,
            r#"{"list": [1, "2", 3.5], "ratio": 0.25, "word": "xéé", "mode": {"c": "1", "d": 1}}"#,
        );
        assert_eq!(
            kinds(&errors),
            [
                k("int_type", json!(["body", "list", 1])),
                k("int_from_float", json!(["body", "list", 2])),
                k("greater_than_equal", json!(["body", "ratio"])),
                k("int_type", json!(["body", "mode", "c"])),
                k("extra_forbidden", json!(["body", "mode", "d"])),
            ]
        );
        assert_eq!(errors[2]["ctx"], json!({"ge": 0.5}));
        assert_eq!(
            kinds(&body_errors(&schema, r#"{"mode": true}"#)),
            [k("string_type", json!(["body", "mode"])), k("model_attributes_type", json!(["body", "mode"]))]
        );
    }

    #[allow(dead_code)]
    #[derive(JsonSchema, Deserialize)]
    #[serde(tag = "type")]
    enum Shape {
        Circle { r: f64 },
        Rect { w: f64, h: f64 },
    }

    #[test]
    fn tagged_enums_report_the_tagged_variant() {
        let schema = compiled::<Shape>();
        let errors = body_errors(&schema, r#"{"type": "Rect", "w": "x", "h": "y"}"#);
        assert_eq!(
            kinds(&errors),
            [k("float_type", json!(["body", "w"])), k("float_type", json!(["body", "h"]))]
        );
        assert_eq!(body_errors(&schema, r#"{"type": "Circle", "r": 1}"#), json!([]));
        let errors = body_errors(&schema, r#"{"type": "Triangle"}"#);
        assert_eq!(kinds(&errors), [k("literal_error", json!(["body", "type"]))]);
        assert_eq!(errors[0]["msg"], "Input should be 'Circle' or 'Rect'");
        assert_eq!(errors[0]["input"], "Triangle");
        assert_eq!(kinds(&body_errors(&schema, "[]")), [k("model_attributes_type", json!(["body"]))]);
    }

    #[allow(dead_code)]
    #[derive(JsonSchema, Deserialize)]
    struct Chain {
        #[schemars(length(min = 1))]
        name: String,
        next: Option<Box<Chain>>,
    }

    #[test]
    fn deepest_json_fits_a_small_stack() {
        // 128 levels (the parser's limit in brisk) through `Option<Box<_>>`, checked on a 1 MiB stack.
        let body = format!(
            "{}{}",
            r#"{"name":"a","next":"#.repeat(127),
            r#"{"name":""}"#.to_owned() + &"}".repeat(127)
        );
        let node = json_tree::parse(body.as_bytes(), 128).expect("128 levels are allowed");
        let schema = compiled::<Chain>();
        let errors = std::thread::scope(|scope| {
            let walk = || check_json(&node, &schema, &Loc::root("body"));
            let thread = std::thread::Builder::new().stack_size(1 << 20).spawn_scoped(scope, walk);
            thread.ok().and_then(|t| t.join().ok()).unwrap_or_default()
        });
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].kind, "string_too_short");
        assert_eq!(errors[0].loc.0.len(), 1 + 127 + 1);
    }

    #[test]
    fn map_sizes() {
        let schema = CompiledSchema::compile(&json!({
            "type": "object", "additionalProperties": {"type": "integer"}, "minProperties": 2, "maxProperties": 3
        }));
        let errors = body_errors(&schema, r#"{"a": 1, "b": 2, "c": 3, "d": "x"}"#);
        assert_eq!(kinds(&errors), [k("too_long", json!(["body"]))]);
        assert_eq!(errors[0]["msg"], "Dictionary should have at most 3 items after validation, not 4");
        assert_eq!(kinds(&body_errors(&schema, r#"{"a": 1}"#)), [k("too_short", json!(["body"]))]);
        assert_eq!(kinds(&body_errors(&schema, r#"{"a": "x"}"#)), [k("int_type", json!(["body", "a"]))]);
        let errors = coerce_json(&[("a", "1")], &schema, StringSource::Query).err().unwrap_or_default();
        assert_eq!(errors[0]["msg"], "Dictionary should have at least 2 items after validation, not 1");
        assert_eq!(errors[0]["input"], json!({"a": "1"}));
    }

    #[test]
    fn ref_cycles_and_false_schemas_terminate() {
        let cyclic = CompiledSchema::compile(
            &json!({"$ref": "#/$defs/A", "$defs": {"A": {"anyOf": [{"$ref": "#/$defs/A"}, {"$ref": "#"}]}}}),
        );
        assert_eq!(body_errors(&cyclic, "[1, {\"a\": null}]"), json!([]));
        let never = CompiledSchema::compile(&json!({"type": "object", "properties": {"no": false}}));
        assert_eq!(
            kinds(&body_errors(&never, r#"{"no": 1}"#)),
            [k("extra_forbidden", json!(["body", "no"]))]
        );
    }

    #[test]
    fn recursive_unions_stay_bounded() {
        // Two object branches that both descend: naive checking is 2^depth.
        let branch = |key: &str| json!({"type": "object", "properties": {"x": {"$ref": "#/$defs/E"}}, "required": ["x", key]});
        let schema = CompiledSchema::compile(&json!({
            "$ref": "#/$defs/E",
            "$defs": {"E": {"anyOf": [branch("a"), branch("b"), {"type": "integer"}]}}
        }));
        let body = format!("{}\"leaf\"{}", "{\"x\":".repeat(100), "}".repeat(100));
        let started = std::time::Instant::now();
        let errors = body_errors(&schema, &body);
        assert!(started.elapsed().as_secs() < 5);
        assert!(!errors.as_array().is_some_and(Vec::is_empty), "{errors}");
    }

    #[allow(dead_code)]
    #[derive(JsonSchema, Deserialize)]
    struct Bulk {
        words: Vec<String>,
        #[serde(default)]
        tags: Vec<Option<Tag>>,
    }

    #[test]
    fn huge_invalid_json_stops_at_max_errors() {
        // About 2 MiB of `[1,1,1,...]` against a list of strings: a million wrong items.
        let body = format!(r#"{{"words": [{}1]}}"#, "1,".repeat(1_000_000));
        let node = json_tree::parse(body.as_bytes(), 128).expect("the body is JSON");
        let schema = compiled::<Bulk>();
        let errors = check_json(&node, &schema, &Loc::root("body"));
        assert_eq!(errors.len(), MAX_ERRORS);
        let errors = serde_json::to_value(errors).unwrap_or_default();
        assert_eq!(kinds(&errors)[0], k("string_type", json!(["body", "words", 0])));
        assert_eq!(
            kinds(&errors)[MAX_ERRORS - 1],
            k("string_type", json!(["body", "words", MAX_ERRORS - 1]))
        );
        // The walk stops at the cap instead of visiting the rest of the list.
        let walk = Json { schema: &schema, steps: Cell::new(usize::MAX) };
        walk.check(&node, schema.root(), &Loc::root("body"), 0, &mut Vec::new());
        let steps = usize::MAX - walk.steps.get();
        assert!(steps < MAX_ERRORS + 10, "{steps} subschema checks");

        // Two errors per item, arriving through a union: the cap is still exact.
        let tags = format!(r#"[{{"label": "ok"}}{}]"#, r#", {}"#.repeat(100_000));
        let errors = body_errors(&schema, &format!(r#"{{"words": [], "tags": {tags}}}"#));
        let found = kinds(&errors);
        assert_eq!(found.len(), MAX_ERRORS);
        assert_eq!(found[0], k("missing", json!(["body", "tags", 0, "slug"])));
        assert_eq!(found[MAX_ERRORS - 1], k("missing", json!(["body", "tags", MAX_ERRORS / 2, "label"])));

        // Unknown keys of a closed object.
        let closed = CompiledSchema::compile(&json!({"type": "object", "additionalProperties": false}));
        let keys: Vec<String> = (0..10_000).map(|i| format!(r#""k{i}": 0"#)).collect();
        let errors = body_errors(&closed, &format!("{{{}}}", keys.join(",")));
        let found = kinds(&errors);
        assert_eq!(found.len(), MAX_ERRORS);
        assert_eq!(
            found[MAX_ERRORS - 1],
            k("extra_forbidden", json!(["body", format!("k{}", MAX_ERRORS - 1)]))
        );
    }

    #[test]
    fn huge_invalid_strings_stop_at_max_errors() {
        let schema = compiled::<ListQuery>();
        let pairs = vec![("ids", "x"); 1_000_000];
        let errors = coerce_json(&pairs, &schema, StringSource::Query).err().unwrap_or_default();
        let found = kinds(&errors);
        assert_eq!(found.len(), MAX_ERRORS);
        assert_eq!(found[MAX_ERRORS - 1], k("int_parsing", json!(["query", "ids", MAX_ERRORS - 1])));

        let closed = CompiledSchema::compile(&json!({"type": "object", "additionalProperties": false}));
        let names: Vec<String> = (0..10_000).map(|i| format!("k{i}")).collect();
        let pairs: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "v")).collect();
        let errors = coerce_json(&pairs, &closed, StringSource::Form).err().unwrap_or_default();
        let found = kinds(&errors);
        assert_eq!(found.len(), MAX_ERRORS);
        assert_eq!(
            found[MAX_ERRORS - 1],
            k("extra_forbidden", json!(["body", format!("k{}", MAX_ERRORS - 1)]))
        );
    }

    #[test]
    fn never_panics_on_odd_inputs() {
        let schemas =
            [compiled::<Outer>(), compiled::<ItemIn>(), compiled::<Numbers>(), compiled::<(u32, String)>()];
        let bodies = [
            "null",
            "0",
            "-0",
            "1e400",
            "-1e-400",
            "1e-400",
            "170141183460469231731687303715884105728",
            "[]",
            "{}",
            r#"{"pair": [], "tags": [[[]]], "tree": {"children": [null, 1, {"children": [{}]}]}}"#,
            r#"{"name": "\u0000", "price": -0.0, "tags": [null], "counts": {"": 1e400}}"#,
            r#"{"small": 1.0e1, "byte": -0, "big": 1E+2, "flag": null, "rating": 99999999999999999999999999999999999999999}"#,
        ];
        for schema in &schemas {
            for body in bodies {
                let _ = body_errors(schema, body);
            }
            for raw in ["", " ", "-", "+", ".", "_", "1_", "١", "é", "NaN", "-inf", "1e999", "0x10", "\u{0}"]
            {
                let pairs = [
                    ("name", raw),
                    ("price", raw),
                    ("tags", raw),
                    ("pair", raw),
                    ("small", raw),
                    ("flag", raw),
                ];
                for source in [
                    StringSource::Path,
                    StringSource::Query,
                    StringSource::Header,
                    StringSource::Cookie,
                    StringSource::Form,
                ] {
                    let _ = coerce_strings(&pairs, schema, source);
                    let _ = coerce_strings(&pairs[..1], schema, source);
                }
            }
        }
    }

    // -----------------------------------------------------------------------------------------
    // Strings

    fn coerce_json(
        pairs: &[(&str, &str)],
        schema: &CompiledSchema,
        source: StringSource,
    ) -> Result<Value, Value> {
        coerce_strings(pairs, schema, source).map_err(|e| serde_json::to_value(e).unwrap_or_default())
    }

    #[allow(dead_code)]
    #[derive(JsonSchema, Deserialize, Debug, PartialEq)]
    struct ItemPath {
        #[schemars(range(min = 1))]
        item_id: u64,
    }

    #[test]
    fn path_param_bound_error_matches_the_contract() {
        let schema = CompiledSchema::compile(
            &json!({"type": "object", "properties": {"item_id": {"type": "integer", "exclusiveMinimum": 0}}, "required": ["item_id"]}),
        );
        assert_eq!(
            coerce_json(&[("item_id", "0")], &schema, StringSource::Path),
            Err(
                json!([{"type":"greater_than","loc":["path","item_id"],"msg":"Input should be greater than 0","input":"0","ctx":{"gt":0}}])
            )
        );
        let typed = compiled::<ItemPath>();
        let value = coerce_strings(&[("item_id", "42")], &typed, StringSource::Path).unwrap_or_default();
        assert_eq!(serde_json::from_value::<ItemPath>(value).ok(), Some(ItemPath { item_id: 42 }));
        let errors = coerce_json(&[("item_id", "abc")], &typed, StringSource::Path).err().unwrap_or_default();
        assert_eq!(
            errors,
            json!([{"type":"int_parsing","loc":["path","item_id"],"msg":"Input should be a valid integer, unable to parse string as an integer","input":"abc"}])
        );
        for too_big in ["18446744073709551616", "-9223372036854775809", "1e3", "1.5", ""] {
            let errors =
                coerce_json(&[("item_id", too_big)], &typed, StringSource::Path).err().unwrap_or_default();
            assert_eq!(kinds(&errors), [k("int_parsing", json!(["path", "item_id"]))], "{too_big}");
        }
    }

    #[allow(dead_code)]
    #[derive(JsonSchema, Deserialize, Debug, PartialEq)]
    struct ListQuery {
        #[serde(default)]
        skip: u32,
        #[schemars(range(min = 1, max = 100))]
        limit: Option<u8>,
        #[schemars(length(max = 50))]
        q: Option<String>,
        #[serde(default)]
        ids: Vec<i64>,
        ratio: Option<f64>,
        flag: Option<bool>,
        color: Option<Color>,
    }

    #[test]
    fn query_coercions() {
        let schema = compiled::<ListQuery>();
        let pairs = [
            ("skip", "1_0"),
            ("limit", "5"),
            ("limit", "7.0"),
            ("ids", "1"),
            ("ids", "-2"),
            ("flag", "Yes"),
            ("ratio", " 2.5 "),
            ("color", "Blue"),
            ("zzz", "ignored"),
        ];
        let value = coerce_strings(&pairs, &schema, StringSource::Query);
        assert_eq!(
            value,
            Ok(json!({"skip": 10, "limit": 7, "ids": [1, -2], "flag": true, "ratio": 2.5, "color": "Blue"}))
        );
        assert!(value.ok().and_then(|v| serde_json::from_value::<ListQuery>(v).ok()).is_some());
        assert_eq!(coerce_strings(&[], &schema, StringSource::Query), Ok(json!({})));

        let q = "q".repeat(51);
        let pairs = [
            ("skip", "-1"),
            ("limit", "0"),
            ("q", &q),
            ("ids", "1"),
            ("ids", "x"),
            ("ratio", "inf"),
            ("flag", "maybe"),
            ("color", "Pink"),
        ];
        let errors = coerce_json(&pairs, &schema, StringSource::Query).err().unwrap_or_default();
        assert_eq!(
            kinds(&errors),
            [
                k("greater_than_equal", json!(["query", "skip"])),
                k("greater_than_equal", json!(["query", "limit"])),
                k("string_too_long", json!(["query", "q"])),
                k("int_parsing", json!(["query", "ids", 1])),
                k("finite_number", json!(["query", "ratio"])),
                k("bool_parsing", json!(["query", "flag"])),
                k("enum", json!(["query", "color"])),
            ]
        );
        assert_eq!(errors[5]["msg"], "Input should be a valid boolean, unable to interpret input");
        assert_eq!(errors[3]["input"], "x");
        assert_eq!(errors[1]["input"], "0");
        assert_eq!(errors[1]["ctx"], json!({"ge": 1}));
        let errors = coerce_json(&[("ratio", "x"), ("limit", "300")], &schema, StringSource::Query)
            .err()
            .unwrap_or_default();
        assert_eq!(
            kinds(&errors),
            [k("less_than_equal", json!(["query", "limit"])), k("float_parsing", json!(["query", "ratio"]))]
        );
    }

    #[test]
    fn boolean_words() {
        for (word, expected) in [
            ("true", true),
            ("FALSE", false),
            ("1", true),
            ("0", false),
            ("on", true),
            ("Off", false),
            ("t", true),
            ("F", false),
            ("y", true),
            ("N", false),
        ] {
            assert_eq!(parse_bool(word), Some(expected), "{word}");
        }
        assert_eq!(parse_bool("2"), None);
        assert_eq!(parse_int(" +7 "), Some(7));
        assert_eq!(parse_int("1__0"), None);
        assert_eq!(parse_int("_1"), None);
        assert_eq!(parse_float("1_000.5"), Some(1000.5));
        assert_eq!(parse_float("1_"), None);
    }

    #[allow(dead_code)]
    #[derive(JsonSchema, Deserialize)]
    struct Headers {
        user_agent: String,
        x_request_id: Option<String>,
        #[serde(default)]
        accept: Vec<String>,
    }

    #[test]
    fn header_names_match_hyphenated_and_any_case() {
        let schema = compiled::<Headers>();
        let pairs = [("User-Agent", "curl"), ("accept", "a"), ("Accept", "b"), ("host", "x")];
        assert_eq!(
            coerce_strings(&pairs, &schema, StringSource::Header),
            Ok(json!({"user_agent": "curl", "accept": ["a", "b"]}))
        );
        let errors =
            coerce_json(&[("user_agent", "x")], &schema, StringSource::Header).err().unwrap_or_default();
        assert_eq!(
            errors,
            json!([{"type": "missing", "loc": ["header", "user-agent"], "msg": "Field required", "input": null}])
        );
    }

    #[test]
    fn tuples_scalars_forms_and_cookies() {
        let tuple = compiled::<(u32, String)>();
        assert_eq!(
            coerce_strings(&[("id", "7"), ("name", "x")], &tuple, StringSource::Path),
            Ok(json!([7, "x"]))
        );
        let errors = coerce_json(&[("id", "-7")], &tuple, StringSource::Path).err().unwrap_or_default();
        assert_eq!(
            kinds(&errors),
            [k("greater_than_equal", json!(["path", "id"])), k("missing", json!(["path", 1]))]
        );

        let single = compiled::<Option<i64>>();
        assert_eq!(coerce_strings(&[], &single, StringSource::Query), Ok(Value::Null));
        assert_eq!(coerce_strings(&[("n", "-3")], &single, StringSource::Query), Ok(json!(-3)));
        let errors = coerce_json(&[("n", "x")], &single, StringSource::Query).err().unwrap_or_default();
        assert_eq!(kinds(&errors), [k("int_parsing", json!(["query", "n"]))]);
        let required = compiled::<i64>();
        let errors = coerce_json(&[], &required, StringSource::Query).err().unwrap_or_default();
        assert_eq!(kinds(&errors), [k("missing", json!(["query"]))]);
        let list = compiled::<Vec<bool>>();
        assert_eq!(
            coerce_strings(&[("b", "1"), ("b", "no")], &list, StringSource::Query),
            Ok(json!([true, false]))
        );

        let form = compiled::<ItemIn>();
        let errors = coerce_json(&[("name", ""), ("price", "abc"), ("tags", "a")], &form, StringSource::Form)
            .err()
            .unwrap_or_default();
        assert_eq!(
            kinds(&errors),
            [k("string_too_short", json!(["body", "name"])), k("float_parsing", json!(["body", "price"]))]
        );
        let ok = coerce_strings(&[("name", "n"), ("price", "2")], &form, StringSource::Form);
        assert_eq!(
            ok.ok().and_then(|v| serde_json::from_value::<ItemIn>(v).ok()).map(|i| i.price),
            Some(2.0)
        );

        let cookies = CompiledSchema::compile(
            &json!({"type": "object", "properties": {"session": {"type": "string"}}, "required": ["session"], "additionalProperties": false}),
        );
        let errors = coerce_json(&[("Session", "x"), ("other", "y")], &cookies, StringSource::Cookie)
            .err()
            .unwrap_or_default();
        assert_eq!(kinds(&errors), [k("missing", json!(["cookie", "session"]))]);
        let errors = coerce_json(&[("session", "x"), ("other", "y")], &cookies, StringSource::Query)
            .err()
            .unwrap_or_default();
        assert_eq!(kinds(&errors), [k("extra_forbidden", json!(["query", "other"]))]);
        let map = compiled::<HashMap<String, u8>>();
        assert_eq!(
            coerce_strings(&[("a", "1"), ("b", "2")], &map, StringSource::Query),
            Ok(json!({"a": 1, "b": 2}))
        );
        let errors =
            coerce_json(&[("a", "1"), ("b", "256")], &map, StringSource::Query).err().unwrap_or_default();
        assert_eq!(kinds(&errors), [k("less_than_equal", json!(["query", "b"]))]);
    }
}

//! How a scheme writes itself into the document.

use serde_json::{Map, Value};

use crate::openapi::{DocContext, Operation};

/// Registers `scheme` under `name` and requires it (with `scopes`) on `op`.
pub(super) fn require(cx: &mut DocContext, op: &mut Operation, name: &str, scheme: Value, scopes: &[&str]) {
    cx.security_scheme(name, scheme);
    let mut requirement = Map::new();
    requirement.insert(name.to_owned(), Value::from(scopes.to_vec()));
    let requirement = Value::Object(requirement);
    if !op.security.contains(&requirement) {
        op.security.push(requirement);
    }
}

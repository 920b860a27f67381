//! How a scheme writes itself into the document.

use serde_json::{Map, Value};

use crate::openapi::{document_error, DocContext, Operation};

/// Registers `scheme` under `name`, requires it (with `scopes`) on `op`, and documents the 401
/// it answers without credentials (and the 403 when scopes are required).
pub(super) fn require(cx: &mut DocContext, op: &mut Operation, name: &str, scheme: Value, scopes: &[&str]) {
    cx.security_scheme(name, scheme);
    document_error(cx, op, 401, "Not authenticated");
    if !scopes.is_empty() {
        document_error(cx, op, 403, "Not enough permissions");
    }
    let mut requirement = Map::new();
    requirement.insert(name.to_owned(), Value::from(scopes.to_vec()));
    let requirement = Value::Object(requirement);
    if !op.security.contains(&requirement) {
        op.security.push(requirement);
    }
}

//! Building the document from the routes, once, when the app is built.

use std::collections::HashMap;

use serde_json::{json, Map, Value};

use super::describe::DocContext;
use super::docs::DocsConfig;
use super::formats;
use super::model::{Components, OpenApi, Operation, ResponseDoc};
use super::schemas::{self, rewrite_refs};
use crate::error::unsupported_media_type_detail;
use crate::routing::{param_names, Router};

/// `showcase::items::get_item` → `get_item`; closures have no usable name.
fn function_name(type_name: &str) -> Option<&str> {
    let without_generics = type_name.split('<').next().unwrap_or(type_name);
    let last = without_generics.rsplit("::").next()?;
    (!last.contains('{') && !last.is_empty()).then_some(last)
}

/// `get_item` → `Get Item`, FastAPI's default summary.
fn title_case(name: &str) -> String {
    name.split('_')
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut c = w.chars();
            c.next().map(|f| f.to_uppercase().chain(c).collect::<String>()).unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `GET /items/{item_id}` → `get_items_item_id`.
fn slug(method: &str, path: &str) -> String {
    let mut id = method.to_lowercase();
    for part in path.split(|c: char| !c.is_ascii_alphanumeric()).filter(|p| !p.is_empty()) {
        id.push('_');
        id.push_str(part);
    }
    id
}

/// The OpenAPI path template: `{*rest}` becomes `{rest}`.
fn openapi_path(path: &str) -> String {
    path.replace("{*", "{")
}

/// The `415` of an operation whose body extractor refuses other media types, naming the ones
/// its request body lists (as the error's detail does at run time).
fn add_unsupported_media_type(cx: &mut DocContext, op: &mut Operation) {
    let Some(body) = &op.request_body else { return };
    let accepted: Vec<&str> = body.content.keys().map(String::as_str).collect();
    let description = unsupported_media_type_detail(&accepted);
    let schema = schemas::http_error(cx);
    op.add_response("415", ResponseDoc::new(description).with_content("application/json", schema));
}

/// Describes every documented route of `router`; every problem is reported at once.
/// The document of `router`'s routes; `has_state` says whether the app provides state of a
/// type, so a handler reading state no one provides is a build error.
pub(crate) fn build_document(
    router: &Router,
    config: &DocsConfig,
    has_state: &dyn Fn(std::any::TypeId) -> bool,
) -> Result<OpenApi, Vec<String>> {
    let mut cx = DocContext::new();
    cx.route_names = router.routes.iter().flat_map(|(_, methods)| methods.names.iter().cloned()).collect();
    let mut operations: Vec<(String, String, Operation)> = Vec::new();
    let mut named: Vec<(String, bool, String, String)> = Vec::new();
    let mut uses: HashMap<String, usize> = HashMap::new();
    let mut errors = Vec::new();
    for (path, methods) in router.routes.iter().filter(|(_, m)| !m.hidden) {
        let params: Vec<String> = param_names(path).iter().map(|p| p.to_string()).collect();
        for (method, route) in methods.iter() {
            let Some(doc) = route.doc() else { continue };
            let where_ = format!("{method} {path}");
            cx.start_route(&where_, params.clone());
            let mut op = Operation::default();
            for describe in &doc.dependencies {
                describe(&mut cx, &mut op);
            }
            (doc.describe)(&mut cx, &mut op);
            if !cx.claimed_path && !params.is_empty() {
                errors.push(format!(
                    "{where_}: the path parameters {params:?} are not read by a `Path` extractor"
                ));
            }
            let http_too = op.responses.keys().any(|status| status.starts_with('2'));
            if cx.websocket && !http_too && !config.websockets {
                // Not HTTP after the handshake: an HTTP client or fuzzer reading the document
                // cannot call it (FastAPI leaves WebSocket routes out too). A route that also
                // answers plain HTTP (an optional upgrade) stays.
                continue;
            }
            if cx.validates {
                let schema = schemas::http_validation_error(&mut cx);
                op.add_response(
                    "422",
                    ResponseDoc::new("Validation Error").with_content("application/json", schema),
                );
            }
            if cx.refuses_media_type {
                add_unsupported_media_type(&mut cx, &mut op);
            }
            if op.responses.is_empty() {
                op.add_response("200", ResponseDoc::new("Successful Response"));
            }
            for finish in &doc.finish {
                finish(&mut cx, &mut op);
            }
            let mut tags = methods.tags.clone();
            tags.append(&mut op.tags);
            op.tags = tags;
            let name = function_name(doc.name);
            if op.summary.is_none() {
                op.summary = Some(name.map_or_else(|| where_.clone(), title_case));
            }
            let explicit = op.operation_id.is_some();
            let base = op.operation_id.clone().unwrap_or_else(|| match name {
                Some(name) => name.to_owned(),
                None => slug(method.as_str(), path),
            });
            *uses.entry(base.clone()).or_insert(0) += 1;
            named.push((base, explicit, slug(method.as_str(), path), where_));
            operations.push((openapi_path(path), method.as_str().to_lowercase(), op));
        }
    }
    // A handler serving one operation gives it its name; one serving several gives each
    // `{name}_{method}_{path}`. Ids set explicitly must be unique as they are.
    let mut ids: HashMap<String, String> = HashMap::new();
    for ((base, explicit, slug, where_), (_, _, op)) in named.into_iter().zip(operations.iter_mut()) {
        let id = if explicit || uses.get(&base) == Some(&1) { base } else { format!("{base}_{slug}") };
        if let Some(other) = ids.insert(id.clone(), where_.clone()) {
            errors.push(format!(
                "operation id `{id}` is used by both {other} and {where_}: set distinct operation ids"
            ));
        }
        op.operation_id = Some(id);
    }
    errors.append(&mut cx.errors);
    for (route, id, name) in std::mem::take(&mut cx.needed_state) {
        let error =
            format!("{route}: the handler reads `State<{name}>`, which no `App::with_state` provides");
        if !has_state(id) && !errors.contains(&error) {
            errors.push(error);
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let (input, output) = cx.take_components();
    let (mut components, renames) = schemas::join(input, output);
    components.values_mut().for_each(formats::standard_integer_formats);
    let mut paths: Map<String, Value> = Map::new();
    for (path, method, mut op) in operations {
        for parameter in &mut op.parameters {
            rewrite_refs(&mut parameter.schema, &renames.input);
            formats::standard_integer_formats(&mut parameter.schema);
        }
        if let Some(body) = &mut op.request_body {
            body.content.values_mut().for_each(|v| rewrite_refs(v, &renames.input));
            body.content.values_mut().for_each(formats::standard_integer_formats);
        }
        op.responses.values_mut().for_each(|v| rewrite_refs(v, &renames.output));
        op.responses.values_mut().for_each(formats::standard_integer_formats);
        let item = paths.entry(path).or_insert_with(|| json!({}));
        if let Value::Object(item) = item {
            item.insert(method, serde_json::to_value(&op).unwrap_or(Value::Null));
        }
    }
    Ok(OpenApi {
        openapi: "3.1.0".to_owned(),
        info: config.info.clone(),
        servers: config.servers.clone(),
        paths,
        components: Components {
            schemas: components,
            security_schemes: std::mem::take(&mut cx.security_schemes),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_slugs() {
        assert_eq!(function_name("showcase::items::get_item"), Some("get_item"));
        assert_eq!(function_name("app::main::{{closure}}"), None);
        assert_eq!(function_name("app::list<app::Item>"), Some("list"));
        assert_eq!(title_case("get_item"), "Get Item");
        assert_eq!(slug("GET", "/items/{item_id}"), "get_items_item_id");
        assert_eq!(openapi_path("/files/{*path}"), "/files/{path}");
    }
}

//! The route table: every path compiled into one matcher when the app is built.

use std::sync::Arc;

use percent_encoding::percent_decode_str;

use super::{MethodRouter, Route, Router};
use crate::extract::PathParams;

struct Entry {
    methods: MethodRouter,
    allow: http::HeaderValue,
    param_names: Vec<Arc<str>>,
}

/// What a path matched.
pub(crate) enum Matched<'a> {
    /// A route: its endpoints, their `Allow` header, and the decoded parameters.
    Route { methods: &'a MethodRouter, allow: &'a http::HeaderValue, params: PathParams },
    /// A parameter was not valid UTF-8 once percent-decoded.
    BadParam,
    /// No route.
    None,
}

/// The compiled table.
pub(crate) struct RouteTable {
    matcher: matchit::Router<usize>,
    entries: Vec<Entry>,
    pub(crate) fallback: Option<Route>,
}

/// Names the `{params}` of a route pattern, in order.
pub(crate) fn param_names(path: &str) -> Vec<Arc<str>> {
    let mut names = Vec::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        let Some(end) = rest[start..].find('}') else { break };
        let name = rest[start + 1..start + end].trim_start_matches('*');
        names.push(Arc::from(name));
        rest = &rest[start + end + 1..];
    }
    names
}

impl RouteTable {
    /// Compiles `router`; every conflict and registration error is reported at once.
    pub(crate) fn build(router: Router) -> Result<RouteTable, Vec<String>> {
        let mut errors = router.errors;
        let mut matcher = matchit::Router::new();
        let mut entries = Vec::new();
        let mut inserted: Vec<String> = Vec::new();
        for (path, methods) in router.routes {
            errors.extend(methods.errors.iter().map(|e| format!("{path}: {e}")));
            if methods.is_empty() {
                continue;
            }
            match matcher.insert(path.as_str(), entries.len()) {
                Ok(()) => {
                    inserted.push(path.clone());
                    entries.push(Entry { allow: methods.allow(), param_names: param_names(&path), methods });
                }
                Err(matchit::InsertError::Conflict { with }) => {
                    errors.push(format!(
                        "route `{path}` conflicts with route `{with}`: both could match the same request"
                    ));
                }
                Err(e) => errors.push(format!("route `{path}` is invalid: {e}")),
            }
        }
        if errors.is_empty() {
            Ok(RouteTable { matcher, entries, fallback: router.fallback })
        } else {
            Err(errors)
        }
    }

    /// Looks `path` up.
    pub(crate) fn at(&self, path: &str) -> Matched<'_> {
        let Ok(found) = self.matcher.at(path) else {
            return Matched::None;
        };
        let Some(entry) = self.entries.get(*found.value) else {
            return Matched::None;
        };
        let mut params = PathParams::with_capacity(entry.param_names.len());
        for ((_, raw), name) in found.params.iter().zip(&entry.param_names) {
            // Most values have nothing to decode (the decoder's own check costs ~100
            // instructions a value more than this search).
            if !raw.contains('%') {
                params.push(name, raw);
                continue;
            }
            match percent_decode_str(raw).decode_utf8() {
                Ok(value) => params.push(name, &value),
                Err(_) => return Matched::BadParam,
            }
        }
        Matched::Route { methods: &entry.methods, allow: &entry.allow, params }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routing::get;

    async fn ok() -> &'static str {
        "ok"
    }

    #[test]
    fn names_params_in_order() {
        let names = param_names("/a/{x}/b/{y}/{*rest}");
        let names: Vec<&str> = names.iter().map(|n| &**n).collect();
        assert_eq!(names, ["x", "y", "rest"]);
    }

    #[test]
    fn conflicts_name_both_routes() {
        let router = Router::new().route("/items/{id}", get(ok)).route("/items/{name}", get(ok));
        let errors = RouteTable::build(router).err().unwrap_or_default();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].contains("/items/{name}") && errors[0].contains("/items/{id}"), "{}", errors[0]);
    }

    #[test]
    fn same_method_twice_is_refused() {
        let router = Router::new().route("/x", get(ok)).route("/x", get(ok));
        let errors = RouteTable::build(router).err().unwrap_or_default();
        assert!(errors.iter().any(|e| e.contains("GET /x is registered twice")), "{errors:?}");
    }

    #[test]
    fn decodes_params_and_refuses_bad_utf8() {
        let table = RouteTable::build(Router::new().route("/f/{name}", get(ok))).ok();
        let Some(table) = table else { panic!("table did not build") };
        match table.at("/f/caf%C3%A9") {
            Matched::Route { params, .. } => {
                assert_eq!(params.iter().collect::<Vec<_>>(), [("name", "café")])
            }
            _ => panic!("no match"),
        }
        assert!(matches!(table.at("/f/%FF"), Matched::BadParam));
        assert!(matches!(table.at("/g"), Matched::None));
    }
}

//! The route table: every path compiled into one matcher when the app is built.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use percent_encoding::percent_decode_str;

use super::{MethodRouter, Route, Router};
use crate::extract::{invalid_utf8, PathParams};

struct Entry {
    methods: MethodRouter,
    allow: http::HeaderValue,
    param_names: Vec<Arc<str>>,
}

/// What a path matched.
pub(crate) enum Matched<'a> {
    /// A route: its endpoints, their `Allow` header, and the decoded parameters.
    Route { methods: &'a MethodRouter, allow: &'a http::HeaderValue, params: PathParams },
    /// A parameter was not valid UTF-8 once percent-decoded: the 400 that names it.
    BadParam(crate::Error),
    /// No route.
    None,
}

/// The compiled table.
pub(crate) struct RouteTable {
    matcher: matchit::Router<usize>,
    /// Paths without parameters, looked up whole before the matcher's tree walk (a hash and one
    /// comparison cost less; a path that is a route matches it exactly either way).
    statics: HashMap<Box<str>, usize, BuildHasherDefault<Fnv1a>>,
    entries: Vec<Entry>,
    pub(crate) fallback: Option<Route>,
}

/// FNV-1a: short keys (paths) hash in a few instructions a byte, with no set-up.
pub(crate) struct Fnv1a(u64);

impl Default for Fnv1a {
    fn default() -> Self {
        Fnv1a(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv1a {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
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
        let mut statics = HashMap::default();
        let mut entries = Vec::new();
        let mut inserted: Vec<String> = Vec::new();
        for (path, methods) in router.routes {
            errors.extend(methods.errors.iter().map(|e| format!("{path}: {e}")));
            if methods.is_empty() {
                continue;
            }
            match matcher.insert(path.as_str(), entries.len()) {
                Ok(()) => {
                    // Braces mean parameters or escapes (`{{`, `}}`), which matchit resolves.
                    if !path.contains(['{', '}']) {
                        statics.insert(path.as_str().into(), entries.len());
                    }
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
            Ok(RouteTable { matcher, statics, entries, fallback: router.fallback })
        } else {
            Err(errors)
        }
    }

    /// Looks `path` up.
    pub(crate) fn at(&self, path: &str) -> Matched<'_> {
        if let Some(entry) = self.statics.get(path).and_then(|&i| self.entries.get(i)) {
            return Matched::Route {
                methods: &entry.methods,
                allow: &entry.allow,
                params: PathParams::default(),
            };
        }
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
                Err(_) => {
                    let place = format!("path parameter `{name}`");
                    return Matched::BadParam(invalid_utf8(&place, raw.as_bytes()));
                }
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
    fn static_paths_and_parameters_resolve_as_the_tree_does() {
        let router = Router::new()
            .route("/items", get(ok))
            .route("/items/{id}", get(ok))
            .route("/items/new", get(ok))
            .route("/files/{*rest}", get(ok))
            .route("/", get(ok));
        let Ok(table) = RouteTable::build(router) else { panic!("table did not build") };
        let found = |path: &str| match table.at(path) {
            Matched::Route { params, .. } => {
                Some(params.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>())
            }
            _ => None,
        };
        assert_eq!(found("/items"), Some(vec![]));
        assert_eq!(found("/items/new"), Some(vec![]), "the static route wins over the parameter");
        assert_eq!(found("/items/7"), Some(vec!["id=7".to_owned()]));
        assert_eq!(found("/files/a/b"), Some(vec!["rest=a/b".to_owned()]));
        assert_eq!(found("/"), Some(vec![]));
        assert_eq!(found("/items/"), None);
        assert_eq!(found("/Items"), None);
        assert_eq!(found(""), None);
        let Ok(escaped) = RouteTable::build(Router::new().route("/a}}b", get(ok))) else {
            panic!("no table")
        };
        assert!(matches!(escaped.at("/a}b"), Matched::Route { .. }), "an escaped brace is one brace");
        assert!(matches!(escaped.at("/a}}b"), Matched::None));
        // Every static path is in both lookups, with the same entry.
        for (path, &i) in &table.statics {
            assert_eq!(table.matcher.at(path).map(|m| *m.value).ok(), Some(i), "{path}");
        }
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
        match table.at("/f/caf%E9") {
            Matched::BadParam(e) => assert_eq!(
                e.to_string(),
                "400 Bad Request: \"Invalid path parameter `name`: `caf%E9` decodes to bytes that are not \
                 valid UTF-8\""
            ),
            _ => panic!("%E9 alone is not UTF-8"),
        }
        assert!(matches!(table.at("/g"), Matched::None));
    }
}

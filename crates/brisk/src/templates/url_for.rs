//! `url_for(name, **params)` in templates, and the build-time check of the names templates use.

use std::sync::Arc;

use minijinja::value::Kwargs;
use minijinja::ErrorKind;

use super::loader::Sources;
use super::Value;
use crate::routing::RouteNames;

/// The template function: the URL of a named route, its params filled in (percent-encoded)
/// and the others in the query string; `none` params are left out. An unknown name or a
/// missing param is a template error.
pub(crate) fn function(names: Arc<RouteNames>) -> Value {
    Value::from_function(move |name: &str, kwargs: Kwargs| -> Result<String, minijinja::Error> {
        let mut params = Vec::new();
        for key in kwargs.args() {
            let value: Value = kwargs.get(key)?;
            if value.is_undefined() || value.is_none() {
                continue;
            }
            let value = match value.as_str() {
                Some(s) => s.to_owned(),
                None => value.to_string(),
            };
            params.push((key.to_owned(), value));
        }
        names.url(name, params).map_err(|e| minijinja::Error::new(ErrorKind::InvalidOperation, e.to_string()))
    })
}

/// Every `url_for("...")` / `url_for('...')` of `source` whose first argument is a string
/// literal: the name and its line.
pub(crate) fn literal_names(source: &str) -> Vec<(String, usize)> {
    let mut found = Vec::new();
    let mut rest = source;
    let mut offset = 0;
    while let Some(at) = rest.find("url_for") {
        let start = offset + at;
        let after = &rest[at + "url_for".len()..];
        offset = start + "url_for".len();
        rest = after;
        // `my_url_for(` is another function.
        let before = source[..start].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.') {
            continue;
        }
        let Some(args) = after.trim_start().strip_prefix('(') else { continue };
        let args = args.trim_start();
        let Some(quote) = args.chars().next().filter(|c| *c == '"' || *c == '\'') else { continue };
        let Some(end) = args[1..].find(quote) else { continue };
        let name = &args[1..1 + end];
        if name.contains('\\') {
            continue;
        }
        let line = source[..start].matches('\n').count() + 1;
        found.push((name.to_owned(), line));
    }
    found
}

/// The problems of the templates' literal route names: one per name no route has.
pub(crate) fn check(sources: &Sources, names: &RouteNames) -> Vec<String> {
    let mut problems = Vec::new();
    for (template, source) in sources.all() {
        for (name, line) in literal_names(&source) {
            if !names.contains(&name) {
                problems.push(format!(
                    "template `{template}` line {line}: url_for(\"{name}\") names no route (name routes with `.name(\"...\")`)"
                ));
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_literal_names_and_their_lines() {
        let source = "<a href=\"{{ url_for('a.b', id=1) }}\">\n{{ url_for( \"c\" ) }}\n{{ url_for(name) }} {{ my_url_for('x') }} {{ h.url_for('y') }}\n{{url_for('d')}}";
        assert_eq!(literal_names(source), [("a.b".to_owned(), 1), ("c".to_owned(), 2), ("d".to_owned(), 4)]);
    }
}

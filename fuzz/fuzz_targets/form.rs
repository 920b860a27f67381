//! Urlencoded forms: the fuzz bytes are the raw body (any bytes), sent with one of several
//! content types and read by `Form<Search>` and `Form<Strict>`.
#![no_main]

use brisk_fuzz::*;
use libfuzzer_sys::fuzz_target;

const TYPES: [Option<&str>; 6] = [
    Some("application/x-www-form-urlencoded"),
    Some("application/x-www-form-urlencoded; charset=UTF-8"),
    Some("Application/X-WWW-Form-Urlencoded"),
    Some("text/plain"),
    None,
    Some("application/x-www-form-urlencoded;;"),
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else { return };
    let route = if selector & 1 == 0 { "/f" } else { "/fs" };
    let content_type = TYPES[usize::from(selector >> 1) % TYPES.len()];
    let headers: Vec<(&'static str, HeaderValue)> =
        content_type.map(|t| ("content-type", HeaderValue::from_static(t))).into_iter().collect();
    let Some(req) = request(Method::POST, route, &headers, body.to_vec()) else { return };
    let reply = send(req);
    check_common(&reply, &[200, 400, 415, 422], &["body"], data);
    // A well-formed urlencoded type (any case, parameters allowed) is a form; text/plain or none
    // is not; the malformed `;;` one may go either way, but consistently with one of the two.
    let form = match content_type {
        Some(t) if t.ends_with(";;") => None,
        Some(t) => Some(t.to_ascii_lowercase().starts_with("application/x-www-form-urlencoded")),
        None => Some(false),
    };
    let refused = || {
        if body.is_empty() {
            assert_eq!(reply.code(), 422, "an empty body of another type is a missing body");
            let detail = check_422(&reply, &["body"]);
            assert_eq!(errors_of(&detail), vec![("missing".to_owned(), vec![serde_json::json!("body")])]);
        } else {
            assert_eq!(reply.code(), 415, "a body of another type: {}", reply.text());
        }
    };
    match form {
        Some(false) => return refused(),
        None if reply.code() == 415 || (body.is_empty() && missing_body(&reply)) => return refused(),
        _ => assert_ne!(reply.code(), 415, "a form refused as another type: {}", reply.text()),
    }
    let Some(pairs) = decode_pairs(body) else {
        return check_not_utf8(&reply, "form field");
    };
    if route == "/f" {
        check_search(&reply, &pairs, "body");
    } else {
        check_strict(&reply, &pairs, "body");
    }
});

/// Whether the reply is the 422 of a missing body (`[{"type":"missing","loc":["body"]}]`).
fn missing_body(reply: &Reply) -> bool {
    reply.code() == 422
        && errors_of(&check_422(reply, &["body"]))
            == vec![("missing".to_owned(), vec![serde_json::json!("body")])]
}

//! JSON bodies and their error mapping: the fuzz bytes are the raw body of `Json<Item>` (nested
//! objects, lists, a map, a tagged enum, a tuple, rules at every level), `Json<Vec<Dims>>`,
//! `Json<Vec<Loose>>` (an untagged union) or `Option<Json<Kind>>`, under one of several content
//! types. serde_json is the oracle: a syntax error is exactly one `json_invalid` at
//! `["body", offset]`; well-formed JSON never is; a value serde reads and whose rules hold is a
//! 200 echoing it; every 200 echoes a value whose rules hold.
#![no_main]

use brisk::Validate;
use brisk_fuzz::*;
use libfuzzer_sys::fuzz_target;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};

const ROUTES: [&str; 4] = ["/j", "/jl", "/ju", "/jo"];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else { return };
    let route = ROUTES[usize::from(selector & 3)];
    let content_type = match (selector >> 2) & 7 {
        0 | 1 | 2 => Some("application/json"),
        3 => Some("application/json; charset=utf-8"),
        4 => Some("application/vnd.api+json"),
        5 => Some("APPLICATION/JSON"),
        6 => Some("text/plain"),
        _ => None,
    };
    let headers: Vec<(&'static str, HeaderValue)> =
        content_type.map(|t| ("content-type", HeaderValue::from_static(t))).into_iter().collect();
    let Some(req) = request(Method::POST, route, &headers, body.to_vec()) else { return };
    let reply = send(req);
    check_common(&reply, &[200, 415, 422], &["body"], data);

    let optional = route == "/jo";
    match content_type {
        Some("text/plain") => return assert_eq!(reply.code(), 415, "{}", reply.text()),
        None if !body.is_empty() => return assert_eq!(reply.code(), 415, "{}", reply.text()),
        _ => {}
    }
    if body.is_empty() {
        if optional {
            assert_eq!(reply.code(), 200);
            assert_eq!(reply.json(), Value::Null);
        } else {
            assert_eq!(reply.code(), 422);
            let detail = check_422(&reply, &["body"]);
            assert_eq!(errors_of(&detail), vec![("missing".to_owned(), vec![json!("body")])]);
        }
        return;
    }
    assert_ne!(reply.code(), 415, "a JSON content type refused: {}", reply.text());
    match route {
        "/j" => check::<Item>(&reply, body),
        "/jl" => check::<Vec<Dims>>(&reply, body),
        "/ju" => check::<Vec<Loose>>(&reply, body),
        _ => check::<Kind>(&reply, body),
    }
});

fn check<T: DeserializeOwned + Serialize + Validate + std::fmt::Debug>(reply: &Reply, body: &[u8]) {
    let syntax = serde_json::from_slice::<Value>(body);
    if let Err(e) = &syntax {
        let msg = e.to_string();
        if msg.contains("recursion limit") || msg.contains("number out of range") {
            // Depth and huge-number limits: brisk's own parser may count them differently;
            // the common checks (no 500, FastAPI's format) still apply.
            if reply.code() == 422 {
                check_422(reply, &["body"]);
            }
            return;
        }
        assert_eq!(reply.code(), 422, "serde_json says {e} but brisk answered {}", reply.text());
        let detail = check_422(reply, &["body"]);
        assert_eq!(detail.len(), 1, "a syntax error is one error: {}", reply.text());
        assert_eq!(detail[0]["type"], "json_invalid", "serde_json says {e}: {}", reply.text());
        let loc = detail[0]["loc"].as_array().expect("loc");
        assert!(loc.len() == 2 && loc[0] == "body" && loc[1].is_u64(), "json_invalid loc: {}", reply.text());
        return;
    }
    let typed = serde_json::from_slice::<T>(body);
    let valid = typed.as_ref().is_ok_and(|t| t.is_valid());
    match reply.code() {
        200 => {
            let echo: T = serde_json::from_slice(&reply.body)
                .unwrap_or_else(|e| panic!("200 echo does not read back ({e}): {}", reply.text()));
            assert!(echo.is_valid(), "200 echoes a value that breaks a rule: {echo:?}");
            if let Ok(t) = &typed {
                assert!(valid, "200 for a value serde reads that breaks a rule: {t:?}");
                let expected = serde_json::to_value(t).expect("serialize");
                assert_eq!(reply.json(), expected, "the echo differs from serde's reading");
            }
        }
        422 => {
            assert!(!valid, "422 for a valid body {:?}: {}", typed, reply.text());
            let detail = check_422(reply, &["body"]);
            for e in &detail {
                assert_ne!(e["type"], "json_invalid", "json_invalid for well-formed JSON: {}", reply.text());
                // Fixed in 3e3f38e (rules inside enum variants reach the schema): no exceptions.
                assert_ne!(
                    e["type"],
                    "value_error",
                    "the schema walk found nothing wrong but serde refused (schema and type disagree): {}",
                    reply.text()
                );
            }
        }
        other => panic!("status {other}: {}", reply.text()),
    }
}

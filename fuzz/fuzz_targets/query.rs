//! Query strings: the fuzz bytes are the raw query (percent-encoded only where `http::Uri`
//! would refuse a byte), read by `Query<Search>` (optional, repeated, bool, int, float, enum and
//! validated fields), `Query<Strict>` (deny_unknown_fields, required), `Query<Nums>` (a list of
//! integers, a bool, a renamed field) and `Option<Query<Search>>`.
#![no_main]

use brisk_fuzz::*;
use libfuzzer_sys::fuzz_target;

const ROUTES: [&str; 4] = ["/q", "/qs", "/qm", "/qo"];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, raw)) = data.split_first() else { return };
    let route = ROUTES[usize::from(selector) % ROUTES.len()];
    let query = encode_query(raw);
    let uri = format!("{route}?{query}");
    let Some(req) = request(Method::GET, &uri, &[], Vec::new()) else { return };
    let reply = send(req);
    check_common(&reply, &[200, 400, 422], &["query"], data);
    let Some(pairs) = decode_pairs(query.as_bytes()) else {
        return check_not_utf8(&reply, "query parameter");
    };
    match route {
        "/q" => check_search(&reply, &pairs, "query"),
        "/qs" => check_strict(&reply, &pairs, "query"),
        "/qm" => check_map(&reply, &pairs),
        _ if query.is_empty() => {
            assert_eq!(reply.code(), 200);
            assert_eq!(reply.json(), serde_json::Value::Null);
        }
        _ => check_search(&reply, &pairs, "query"),
    }
});

fn check_map(reply: &Reply, pairs: &[(String, String)]) {
    let last = |name: &str| values(pairs, name).last().copied();
    let n = values(pairs, "n");
    let fits = |v: &&str| canonical_int(v).is_some_and(|x| i32::try_from(x).is_ok());
    let valid = n.len() <= 50
        && n.iter().all(fits)
        && last("b").is_none_or(|b| b == "true" || b == "false")
        && last("x-y").is_none_or(|v| canonical_uint(v).is_some_and(|x| x <= 255));
    match reply.code() {
        200 => {
            let echo: Nums = serde_json::from_slice(&reply.body).expect("echo");
            assert!(n.len() <= 50, "200 with {} items", n.len());
            assert_eq!(echo.n.len(), n.len(), "every n is an item");
            for (got, raw) in echo.n.iter().zip(&n) {
                if let Some(x) = canonical_int(raw) {
                    assert_eq!(i64::from(*got), x);
                }
            }
            assert_eq!(echo.xy.is_some(), last("x-y").is_some(), "x-y (a renamed field)");
            match last("b") {
                Some("true") => assert_eq!(echo.b, Some(true)),
                Some("false") => assert_eq!(echo.b, Some(false)),
                None => assert_eq!(echo.b, None),
                Some(_) => {}
            }
        }
        422 => {
            assert!(!valid, "422 for valid Nums {pairs:?}: {}", reply.text());
            let detail = check_422(reply, &["query"]);
            if let Some(i) = n.iter().position(|v| !v.bytes().any(|b| b.is_ascii_digit())) {
                if n.len() <= 50 {
                    let at = |e: &serde_json::Value| e["loc"] == serde_json::json!(["query", "n", i]);
                    assert!(detail.iter().any(at), "no error at n[{i}]: {}", reply.text());
                }
            }
        }
        other => panic!("status {other}: {}", reply.text()),
    }
}

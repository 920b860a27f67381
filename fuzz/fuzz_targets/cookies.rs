//! Cookies: the fuzz bytes are raw `Cookie` header values (split on `\n` into several headers;
//! values `http` refuses are left out), read by `Cookies<Session>` and by `CookieJar`. A
//! reference parser written from brisk's documented rules (split on `;`, name=value, trimmed,
//! quotes stripped, percent-decoded, malformed pieces skipped) is the oracle.
#![no_main]

use std::collections::BTreeMap;

use brisk::http::HeaderMap;
use brisk_fuzz::*;
use libfuzzer_sys::fuzz_target;
use percent_encoding::percent_decode_str;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, raw)) = data.split_first() else { return };
    let route = if selector & 1 == 0 { "/c" } else { "/jar" };
    let headers: Vec<(&'static str, HeaderValue)> = raw
        .split(|&b| b == b'\n')
        .filter_map(|v| HeaderValue::from_bytes(v).ok())
        .map(|v| ("cookie", v))
        .collect();
    let Some(req) = request(Method::GET, route, &headers, Vec::new()) else { return };
    let mut map = HeaderMap::new();
    for (name, value) in &headers {
        map.append(*name, value.clone());
    }
    let reply = send(req);
    check_common(&reply, &[200, 422], &["cookie"], data);
    let cookies = reference_parse(&map);
    if route == "/jar" {
        assert_eq!(reply.code(), 200, "CookieJar never fails: {}", reply.text());
        let echo: BTreeMap<String, String> = serde_json::from_slice(&reply.body).expect("echo");
        let mut expected = BTreeMap::new();
        for (k, v) in &cookies {
            expected.entry(k.clone()).or_insert_with(|| v.clone()); // the first wins
        }
        assert_eq!(echo, expected, "CookieJar differs from the reference parse of {map:?}");
    } else {
        check_session(&reply, &cookies);
    }
});

/// The documented cookie rules, written independently of brisk's parser.
fn reference_parse(headers: &HeaderMap) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for value in headers.get_all("cookie") {
        let Ok(text) = value.to_str() else { continue };
        for piece in text.split(';') {
            let Some(eq) = piece.find('=') else { continue };
            let name = piece[..eq].trim_matches([' ', '\t']);
            if name.is_empty() {
                continue;
            }
            let mut v = piece[eq + 1..].trim_matches([' ', '\t']);
            if v.len() >= 2 && v.starts_with('"') && v.ends_with('"') {
                v = &v[1..v.len() - 1];
            }
            out.push((name.to_owned(), percent_decode_str(v).decode_utf8_lossy().into_owned()));
        }
    }
    out
}

fn check_session(reply: &Reply, cookies: &[(String, String)]) {
    // A repeated name: the first value wins (`Cookies<T>` and `CookieJar` alike).
    let first = |name: &str| cookies.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let session = first("session");
    let theme = first("theme");
    let visits = first("visits");
    let session_ok = session.is_some_and(|s| (1..=64).contains(&s.chars().count()));
    let theme_ok = theme.is_none_or(|t| t == "light" || t == "dark");
    let visits_ok = visits.is_none_or(|v| canonical_uint(v).is_some_and(|n| n <= 1000));
    match reply.code() {
        200 => {
            let echo: Session = serde_json::from_slice(&reply.body).expect("echo");
            assert!(session_ok, "200 with session {session:?}");
            assert_eq!(Some(echo.session.as_str()), session);
            assert!(echo.visits.is_none_or(|v| v <= 1000), "{echo:?}");
            assert_eq!(echo.visits.is_some(), visits.is_some());
            if let Some(n) = visits.and_then(canonical_uint) {
                assert_eq!(echo.visits.map(i64::from), Some(n));
            }
            let t = echo.theme.map(|t| if t == Theme::Light { "light" } else { "dark" });
            assert_eq!(t, theme, "theme");
        }
        422 => {
            assert!(
                !(session_ok && theme_ok && visits_ok),
                "422 for valid cookies {cookies:?}: {}",
                reply.text()
            );
            let detail = check_422(reply, &["cookie"]);
            if !session_ok {
                assert!(has_error_at(&detail, &["cookie", "session"]), "{}", reply.text());
            }
            if !theme_ok && theme != Some("") {
                assert!(has_error_at(&detail, &["cookie", "theme"]), "{}", reply.text());
            }
            if visits.is_some_and(|v| !v.bytes().any(|b| b.is_ascii_digit())) {
                assert!(has_error_at(&detail, &["cookie", "visits"]), "{}", reply.text());
            }
        }
        other => panic!("status {other}: {}", reply.text()),
    }
}

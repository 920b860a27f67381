//! Path parameters: the fuzz bytes are the raw path after a route prefix (percent-encoded only
//! where `http::Uri` would refuse a byte), matched and decoded by brisk's router and read by
//! `Path<struct>`, `Path<(u32, String)>`, `Path<i16>` and `Path<struct with bool, f64, enum>`.
#![no_main]

use brisk_fuzz::*;
use libfuzzer_sys::fuzz_target;
use percent_encoding::percent_decode;

const PREFIXES: [&str; 4] = ["/p/", "/t/", "/one/", "/e/"];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, raw)) = data.split_first() else { return };
    let prefix = PREFIXES[usize::from(selector) % PREFIXES.len()];
    let uri = format!("{prefix}{}", encode_path(raw));
    let Some(req) = request(Method::GET, &uri, &[], Vec::new()) else { return };
    let reply = send(req);
    check_common(&reply, &[200, 400, 404, 422], &["path"], data);

    // What the router should see: the segments after the prefix, each percent-decoded.
    let suffix = &uri[prefix.len()..];
    let segments: Vec<&str> = suffix.split('/').collect();
    let arity = match prefix {
        "/p/" | "/e/" => 3,
        "/t/" => 2,
        _ => 1,
    };
    let matches = segments.len() == arity && segments.iter().all(|s| !s.is_empty());
    if !matches {
        assert_eq!(reply.code(), 404, "{uri:?} should not match {prefix}: {}", reply.text());
        return;
    }
    let decoded: Vec<Option<String>> = segments
        .iter()
        .map(|s| percent_decode(s.as_bytes()).decode_utf8().ok().map(|c| c.into_owned()))
        .collect();
    if decoded.iter().any(Option::is_none) {
        assert_eq!(reply.code(), 400, "{uri:?} has a segment that is not UTF-8: {}", reply.text());
        return check_not_utf8(&reply, "path parameter");
    }
    let d: Vec<String> = decoded.into_iter().flatten().collect();
    match prefix {
        "/p/" => check_struct(&reply, &d),
        "/t/" => check_tuple(&reply, &d),
        "/one/" => check_one(&reply, &d[0]),
        _ => check_mixed(&reply, &d),
    }
});

fn check_struct(reply: &Reply, d: &[String]) {
    let (id, name, code) = (&d[0], &d[1], &d[2]);
    let name_ok = (1..=16).contains(&name.chars().count());
    let id_ok = canonical_uint(id).is_some_and(|v| v > 0);
    let valid = id_ok && name_ok && is_uuid(code);
    match reply.code() {
        200 => {
            let echo: PathStruct = serde_json::from_slice(&reply.body).expect("echo");
            assert!(echo.id > 0 && name_ok && is_uuid(&echo.code), "{echo:?}");
            assert_eq!(&echo.name, name);
            assert_eq!(&echo.code, code);
            if let Some(v) = canonical_uint(id) {
                assert_eq!(echo.id, v);
            }
        }
        422 => {
            assert!(!valid, "422 for valid params {d:?}: {}", reply.text());
            let detail = check_422(reply, &["path"]);
            if !name_ok {
                assert!(has_error_at(&detail, &["path", "name"]), "{}", reply.text());
            }
            if !is_uuid(code) {
                assert!(has_error_at(&detail, &["path", "code"]), "{}", reply.text());
            }
            if !id.bytes().any(|b| b.is_ascii_digit()) || canonical_uint(id) == Some(0) {
                assert!(has_error_at(&detail, &["path", "id"]), "{}", reply.text());
            }
        }
        other => panic!("status {other} for {d:?}: {}", reply.text()),
    }
}

fn check_tuple(reply: &Reply, d: &[String]) {
    let a_ok = canonical_uint(&d[0]).is_some_and(|v| v <= i64::from(u32::MAX));
    match reply.code() {
        200 => {
            let (a, b): (u32, String) = serde_json::from_slice(&reply.body).expect("echo");
            assert_eq!(b, d[1]);
            if let Some(v) = canonical_uint(&d[0]) {
                assert_eq!(i64::from(a), v);
            }
        }
        422 => {
            assert!(!a_ok, "422 for valid params {d:?}: {}", reply.text());
            check_422(reply, &["path"]);
        }
        other => panic!("status {other} for {d:?}: {}", reply.text()),
    }
}

fn check_one(reply: &Reply, v: &str) {
    let ok = canonical_int(v).is_some_and(|n| i64::from(i16::MIN) <= n && n <= i64::from(i16::MAX));
    match reply.code() {
        200 => {
            let got: i16 = serde_json::from_slice(&reply.body).expect("echo");
            if let Some(n) = canonical_int(v) {
                assert_eq!(i64::from(got), n);
            }
        }
        422 => {
            assert!(!ok, "422 for a valid i16 {v:?}: {}", reply.text());
            let detail = check_422(reply, &["path"]);
            assert!(has_error_at(&detail, &["path", "v"]), "{}", reply.text());
        }
        other => panic!("status {other} for {v:?}: {}", reply.text()),
    }
}

fn check_mixed(reply: &Reply, d: &[String]) {
    let size_ok = d[2] == "small" || d[2] == "large";
    let flag_ok = d[0] == "true" || d[0] == "false";
    let ratio_ok = d[1] == "0" || d[1] == "1" || d[1] == "0.5";
    match reply.code() {
        200 => {
            let echo: PathMixed = serde_json::from_slice(&reply.body).expect("echo");
            assert!(size_ok, "200 with size {:?}", d[2]);
            assert!((0.0..=1.0).contains(&echo.ratio), "{echo:?}");
            if flag_ok {
                assert_eq!(echo.flag, d[0] == "true");
            }
        }
        422 => {
            assert!(!(size_ok && flag_ok && ratio_ok), "422 for valid params {d:?}: {}", reply.text());
            let detail = check_422(reply, &["path"]);
            if !size_ok {
                assert!(has_error_at(&detail, &["path", "size"]), "{}", reply.text());
            }
        }
        other => panic!("status {other} for {d:?}: {}", reply.text()),
    }
}

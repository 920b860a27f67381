//! Multipart glue: brisk's `Multipart` extractor (content-type and boundary checks, field and
//! file counts, part and body size limits, `text`/`chunk`/`bytes`) over multer.
//!
//! The first byte picks the route (`/m` reads every part, `/m1` only the first), the content
//! type, and the mode. Raw mode: the rest is the body as is. Structured mode: the rest
//! describes parts (split on 0xFE; each part's first byte picks its name, whether it is a file
//! and has a content type, the rest is its content), which are written as a well-formed body,
//! so the exact answer is known: the parts echoed, or the limit error of the first part over a
//! limit.
#![no_main]

use brisk_fuzz::*;
use libfuzzer_sys::fuzz_target;

const TYPES: [Option<&str>; 8] = [
    Some("multipart/form-data; boundary=XyZ"),
    Some("multipart/form-data; boundary=\"XyZ\""),
    Some("multipart/form-data"),
    Some("text/plain"),
    Some("multipart/form-data; boundary=XyZ; charset=utf-8"),
    Some("multipart/mixed; boundary=XyZ"),
    Some("MULTIPART/FORM-DATA; BOUNDARY=XyZ"),
    None,
];

const NAMES: [&str; 4] = ["a", "text", "chunks", "f"];

struct Part<'a> {
    name: &'static str,
    file: bool,
    typed: bool,
    content: &'a [u8],
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    let route = if selector & 1 == 0 { "/m" } else { "/m1" };
    let type_index = usize::from((selector >> 1) & 7);
    let content_type = TYPES[type_index];
    let structured = selector & 0x10 != 0 && !rest.windows(3).any(|w| w == b"XyZ");
    let parts: Vec<Part> = if structured { describe(rest) } else { Vec::new() };
    let body = if structured { write_body(&parts) } else { rest.to_vec() };
    let headers: Vec<(&'static str, HeaderValue)> =
        content_type.map(|t| ("content-type", HeaderValue::from_static(t))).into_iter().collect();
    let Some(req) = request(Method::POST, route, &headers, body.clone()) else { return };
    let reply = send(req);
    check_common(&reply, &[200, 400, 413, 415], &["body"], data);

    match type_index {
        3 | 5 | 7 => return assert_eq!(reply.code(), 415, "not multipart/form-data: {}", reply.text()),
        2 => {
            assert_eq!(reply.code(), 400, "no boundary: {}", reply.text());
            return assert_eq!(reply.json()["detail"], "Missing boundary in multipart.");
        }
        _ => {}
    }
    if reply.code() == 200 && route == "/m" {
        let echo: Vec<PartInfo> = serde_json::from_slice(&reply.body).expect("echo");
        let files = echo.iter().filter(|p| p.file_name.is_some()).count();
        assert!(files <= MULTIPART_LIMITS.max_files, "{files} files accepted");
        assert!(echo.len() - files <= MULTIPART_LIMITS.max_fields, "{} fields accepted", echo.len() - files);
        assert!(
            echo.iter().all(|p| p.len <= MULTIPART_LIMITS.max_part_size),
            "a part over the limit: {echo:?}"
        );
        assert!(
            echo.iter().map(|p| p.len).sum::<usize>() <= body.len(),
            "more bytes than the body: {echo:?}"
        );
        if !echo.is_empty() {
            assert!(body.windows(5).any(|w| w == b"--XyZ"), "parts without a boundary line in {body:?}");
        }
    }
    if body.len() > BODY_LIMIT {
        assert_eq!(reply.code(), 413, "a body over the limit: {}", reply.text());
        return;
    }
    if structured {
        check_structured(&reply, route, &parts);
    }
});

/// Parts from the description bytes.
fn describe(rest: &[u8]) -> Vec<Part<'_>> {
    if rest.is_empty() {
        return Vec::new();
    }
    rest.split(|&b| b == 0xFE)
        .map(|chunk| {
            let (flags, content) = chunk.split_first().map(|(f, c)| (*f, c)).unwrap_or((0, &[][..]));
            Part { name: NAMES[usize::from(flags & 3)], file: flags & 4 != 0, typed: flags & 8 != 0, content }
        })
        .collect()
}

/// A well-formed `multipart/form-data` body with boundary `XyZ`.
fn write_body(parts: &[Part]) -> Vec<u8> {
    let mut body = Vec::new();
    for (i, p) in parts.iter().enumerate() {
        body.extend_from_slice(b"--XyZ\r\nContent-Disposition: form-data; name=\"");
        body.extend_from_slice(p.name.as_bytes());
        body.extend_from_slice(b"\"");
        if p.file {
            body.extend_from_slice(format!("; filename=\"f{i}.bin\"").as_bytes());
        }
        body.extend_from_slice(b"\r\n");
        if p.typed {
            body.extend_from_slice(b"Content-Type: application/octet-stream\r\n");
        }
        body.extend_from_slice(b"\r\n");
        body.extend_from_slice(p.content);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(b"--XyZ--\r\n");
    body
}

/// The exact answer to a well-formed body: the first part over a limit decides the error.
fn check_structured(reply: &Reply, route: &str, parts: &[Part]) {
    let (mut fields, mut files) = (0, 0);
    let mut expected: Result<(), (u16, String)> = Ok(());
    let all = if route == "/m" { parts.len() } else { parts.len().min(1) };
    for p in &parts[..all] {
        if p.file {
            files += 1;
            if files > MULTIPART_LIMITS.max_files {
                expected = Err((
                    400,
                    format!("Too many files. Maximum number of files is {}.", MULTIPART_LIMITS.max_files),
                ));
                break;
            }
        } else {
            fields += 1;
            if fields > MULTIPART_LIMITS.max_fields {
                let msg =
                    format!("Too many fields. Maximum number of fields is {}.", MULTIPART_LIMITS.max_fields);
                expected = Err((400, msg));
                break;
            }
        }
        if route == "/m1" {
            break; // the first part is never read
        }
        if p.content.len() > MULTIPART_LIMITS.max_part_size {
            expected = Err((413, "Multipart part too large".to_owned()));
            break;
        }
        if p.name == "text" && std::str::from_utf8(p.content).is_err() {
            expected = Err((400, "Multipart field is not valid UTF-8".to_owned()));
            break;
        }
    }
    match expected {
        Err((code, msg)) => {
            assert_eq!(reply.code(), code, "expected {code} {msg:?}: {}", reply.text());
            assert_eq!(reply.json()["detail"], msg);
        }
        Ok(()) if route == "/m1" => {
            assert_eq!(reply.code(), 200, "{}", reply.text());
            let echo: Option<String> = serde_json::from_slice(&reply.body).expect("echo");
            assert_eq!(echo.as_deref(), parts.first().map(|p| p.name));
        }
        Ok(()) => {
            assert_eq!(reply.code(), 200, "a well-formed body refused: {}", reply.text());
            let echo: Vec<PartInfo> = serde_json::from_slice(&reply.body).expect("echo");
            let expected: Vec<PartInfo> = parts
                .iter()
                .enumerate()
                .map(|(i, p)| PartInfo {
                    name: Some(p.name.to_owned()),
                    file_name: p.file.then(|| format!("f{i}.bin")),
                    content_type: p.typed.then(|| "application/octet-stream".to_owned()),
                    len: p.content.len(),
                })
                .collect();
            assert_eq!(echo, expected);
        }
    }
}

//! The smuggling corpus format (`corpus/smuggling.txt`).
//!
//! ```text
//! # a comment
//! === case-name
//! expect: reject            (reject | accept | either)
//! why: one line on what the case probes and why that outcome is right
//! data: POST / HTTP/1.1\r\nHost: x\r\n
//! data-repeat: 3 a;         (the escaped text, 3 times)
//! data: \r\n
//! ```
//!
//! A case's bytes are its `data` lines concatenated in order (the file's own line breaks are
//! not part of them). Escapes: `\r`, `\n`, `\t`, `\0`, `\\`, `\xHH`; spaces are literal.

/// What a case must produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// A 4xx/5xx answer or the connection closed, and no request completed in a handler.
    Reject,
    /// Exactly one request reached the handler, read its body fully, and got a 2xx.
    Accept,
    /// Either of the above is RFC-compliant.
    Either,
}

/// One corpus case.
#[derive(Debug, Clone)]
pub struct Case {
    /// Its name.
    pub name: String,
    /// The outcome the corpus documents.
    pub expect: Expect,
    /// Why.
    pub why: String,
    /// The exact bytes sent.
    pub bytes: Vec<u8>,
}

/// Decodes the escapes of one `data` value.
pub fn unescape(text: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        let next = *bytes.get(i + 1).ok_or("dangling backslash")?;
        match next {
            b'r' => out.push(b'\r'),
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'0' => out.push(0),
            b'\\' => out.push(b'\\'),
            b'x' => {
                let hex = text.get(i + 2..i + 4).ok_or("short \\x escape")?;
                out.push(u8::from_str_radix(hex, 16).map_err(|e| format!("bad \\x{hex}: {e}"))?);
                i += 2;
            }
            other => return Err(format!("unknown escape \\{}", other as char)),
        }
        i += 2;
    }
    Ok(out)
}

/// Parses the whole corpus file.
pub fn parse(text: &str) -> Result<Vec<Case>, String> {
    let mut cases: Vec<Case> = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let at = |e: String| format!("line {}: {e}", n + 1);
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        if let Some(name) = line.strip_prefix("=== ") {
            cases.push(Case {
                name: name.trim().to_owned(),
                expect: Expect::Either,
                why: String::new(),
                bytes: Vec::new(),
            });
            continue;
        }
        let case = cases.last_mut().ok_or_else(|| at("content before the first `=== name`".into()))?;
        if let Some(v) = line.strip_prefix("expect: ") {
            case.expect = match v.trim() {
                "reject" => Expect::Reject,
                "accept" => Expect::Accept,
                "either" => Expect::Either,
                other => return Err(at(format!("unknown expectation {other:?}"))),
            };
        } else if let Some(v) = line.strip_prefix("why: ") {
            case.why = v.trim().to_owned();
        } else if let Some(v) = line.strip_prefix("data: ") {
            case.bytes.extend(unescape(v).map_err(at)?);
        } else if let Some(v) = line.strip_prefix("data-repeat: ") {
            let (count, rest) = v.split_once(' ').ok_or_else(|| at("data-repeat: N text".into()))?;
            let count: usize = count.parse().map_err(|e| at(format!("bad count: {e}")))?;
            let piece = unescape(rest).map_err(at)?;
            for _ in 0..count {
                case.bytes.extend_from_slice(&piece);
            }
        } else {
            return Err(at(format!("unrecognised line {line:?}")));
        }
    }
    let mut seen = std::collections::HashSet::new();
    for case in &cases {
        if !seen.insert(case.name.as_str()) {
            return Err(format!("duplicate case name {}", case.name));
        }
        if case.bytes.is_empty() {
            return Err(format!("case {} has no data", case.name));
        }
    }
    Ok(cases)
}

//! Percent-decoding of the path, the query string and form bodies, with one rule for text that
//! is not UTF-8: `%FF` is valid percent-encoding of a byte that is not UTF-8, so the request is
//! refused with a 400 naming where the text was (the path parameter, the query parameter or
//! form field, or the name of one). Nothing is replaced with `U+FFFD` behind the handler's back.

use std::borrow::Cow;

use http::StatusCode;
use percent_encoding::percent_decode;

use crate::error::Error;

/// At most this many characters of the offending text are quoted back.
const QUOTED: usize = 64;

/// 400: `raw`, read at `place` ("path parameter `id`", "query parameter name" ...), decodes to
/// bytes that are not UTF-8.
pub(crate) fn invalid_utf8(place: &str, raw: &[u8]) -> Error {
    let raw = String::from_utf8_lossy(raw);
    let mut quoted: String = raw.chars().take(QUOTED).collect();
    if raw.chars().nth(QUOTED).is_some() {
        quoted.push('…');
    }
    Error::http(
        StatusCode::BAD_REQUEST,
        format!("Invalid {place}: `{quoted}` decodes to bytes that are not valid UTF-8"),
    )
}

/// Which form-encoded text is decoded: it names the place in the error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FormSource {
    /// The query string: "query parameter".
    Query,
    /// An `application/x-www-form-urlencoded` body: "form field".
    Body,
}

impl FormSource {
    fn noun(self) -> &'static str {
        match self {
            FormSource::Query => "query parameter",
            FormSource::Body => "form field",
        }
    }
}

/// Decoded `(name, value)` pairs, borrowing what needed no decoding.
pub(crate) type Pairs<'a> = Vec<(Cow<'a, str>, Cow<'a, str>)>;

/// One `application/x-www-form-urlencoded` piece (`+` is a space), or `None` when its bytes
/// are not UTF-8 once decoded.
fn decode(raw: &[u8]) -> Option<Cow<'_, str>> {
    let has_plus = raw.contains(&b'+');
    if !has_plus && !raw.contains(&b'%') {
        return std::str::from_utf8(raw).ok().map(Cow::Borrowed);
    }
    let spaced: Cow<'_, [u8]> = if has_plus {
        Cow::Owned(raw.iter().map(|&b| if b == b'+' { b' ' } else { b }).collect())
    } else {
        Cow::Borrowed(raw)
    };
    String::from_utf8(percent_decode(&spaced).collect()).ok().map(Cow::Owned)
}

/// The `name=value` pairs of a query string or form body, in order, decoded as
/// `form_urlencoded::parse` does (empty pieces skipped, a piece without `=` has an empty
/// value), but refusing with a 400 a name or value that is not UTF-8 once decoded.
pub(crate) fn decode_form(raw: &[u8], source: FormSource) -> Result<Pairs<'_>, Error> {
    let mut pairs = Vec::new();
    for piece in raw.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
        let (name, value) = match piece.iter().position(|&b| b == b'=') {
            Some(at) => (&piece[..at], &piece[at + 1..]),
            None => (piece, &piece[piece.len()..]),
        };
        let Some(name) = decode(name) else {
            return Err(invalid_utf8(&format!("{} name", source.noun()), name));
        };
        let Some(value) = decode(value) else {
            return Err(invalid_utf8(&format!("{} `{name}`", source.noun()), value));
        };
        pairs.push((name, value));
    }
    Ok(pairs)
}

/// The `name=value` pairs of an `application/x-www-form-urlencoded` body (or, with `query`
/// true, of a query string), in order, under brisk's one rule for text that is not UTF-8: a
/// 400 naming the field. For code that reads a form as pairs (repeated names, fields chosen at
/// run time), as the admin does.
///
/// ```
/// let pairs = brisk::extract::form_pairs(b"a=1&tag=x&tag=y+z", false).unwrap();
/// assert_eq!(pairs, [("a".to_owned(), "1".to_owned()), ("tag".into(), "x".into()), ("tag".into(), "y z".into())]);
/// let refused = brisk::extract::form_pairs(b"name=caf%E9", false).unwrap_err();
/// assert_eq!(refused.status(), 400);
/// ```
pub fn form_pairs(raw: &[u8], query: bool) -> Result<Vec<(String, String)>, Error> {
    let source = if query { FormSource::Query } else { FormSource::Body };
    Ok(decode_form(raw, source)?.into_iter().map(|(k, v)| (k.into_owned(), v.into_owned())).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detail(e: &Error) -> String {
        match e.kind() {
            crate::error::ErrorKind::Http { detail, .. } => detail.as_str().unwrap_or_default().to_owned(),
            other => panic!("not an HTTP error: {other:?}"),
        }
    }

    #[test]
    fn decodes_as_form_urlencoded_does() {
        let raw = b"a=1&&b=x+y%20z&c&caf%C3%A9=%E2%82%AC&=empty&d=";
        let ours = decode_form(raw, FormSource::Query).unwrap_or_default();
        let theirs: Pairs<'_> = form_urlencoded::parse(raw).collect();
        assert_eq!(ours, theirs);
        assert_eq!(ours[3], (Cow::from("café"), Cow::from("€")));
    }

    #[test]
    fn bytes_that_are_not_utf8_are_refused_where_they_are() {
        let e = decode_form(b"ok=1&q=caf%E9", FormSource::Query).err();
        let e = e.unwrap_or_else(|| panic!("%E9 alone is not UTF-8"));
        assert_eq!(e.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            detail(&e),
            "Invalid query parameter `q`: `caf%E9` decodes to bytes that are not valid UTF-8"
        );
        let e = decode_form(b"%FF=1", FormSource::Body).err();
        let e = e.unwrap_or_else(|| panic!("%FF is not UTF-8"));
        assert_eq!(detail(&e), "Invalid form field name: `%FF` decodes to bytes that are not valid UTF-8");
        // Raw bytes of a body, not percent-encoded, follow the same rule.
        assert!(decode_form(b"a=\xff", FormSource::Body).is_err());
    }

    #[test]
    fn long_text_is_quoted_in_part() {
        let raw = format!("{}%FF", "x".repeat(200));
        let text = detail(&invalid_utf8("path parameter `p`", raw.as_bytes()));
        assert!(text.contains(&format!("`{}…`", "x".repeat(QUOTED))), "{text}");
    }
}

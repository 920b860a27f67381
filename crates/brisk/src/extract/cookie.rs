//! Cookies: typed ([`Cookies<T>`]) or as a map ([`CookieJar`]).

use std::borrow::Cow;
use std::collections::HashMap;

use http::header::COOKIE;
use http::request::Parts;
use http::HeaderMap;
use percent_encoding::percent_decode_str;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;

use super::{FromRequestParts, RequestContext};
use crate::error::Error;
use crate::validation::{from_strings, StringSource, Validate};

/// Splits every `Cookie` header into `(name, value)` pairs; values are unquoted and
/// percent-decoded. Malformed pieces (no `=`, empty name) are skipped, as browsers do.
pub(crate) fn parse_cookies(headers: &HeaderMap) -> Vec<(&str, Cow<'_, str>)> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|piece| {
            let (name, value) = piece.split_once('=')?;
            let name = name.trim();
            if name.is_empty() {
                return None;
            }
            let value = value.trim();
            let value = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')).unwrap_or(value);
            Some((name, percent_decode_str(value).decode_utf8_lossy()))
        })
        .collect()
}

/// Cookies read into a struct, one field per cookie name.
///
/// ```
/// use brisk::prelude::*;
///
/// #[derive(Deserialize, JsonSchema, Validate)]
/// struct Prefs {
///     theme: Option<String>,
/// }
///
/// async fn page(Cookies(prefs): Cookies<Prefs>) -> String {
///     prefs.theme.unwrap_or_else(|| "light".into())
/// }
/// ```
///
/// Failures are 422s at `["cookie", "<name>"]`. When a name repeats, a single-valued field takes
/// the first value (as [`CookieJar`], Go's `Request.Cookie` and Rack do) and a `Vec` field all
/// of them.
#[derive(Debug, Clone, Copy, Default)]
pub struct Cookies<T>(pub T);

impl<T> FromRequestParts for Cookies<T>
where
    T: DeserializeOwned + JsonSchema + Validate + Send + 'static,
{
    async fn from_request_parts(parts: &mut Parts, _cx: &RequestContext) -> Result<Self, Error> {
        let cookies = parse_cookies(&parts.headers);
        // A repeated name: a scalar field takes the first (`StringSource::pick`), as `CookieJar`
        // does; a list field takes them all, in order.
        let pairs: Vec<(&str, &str)> = cookies.iter().map(|(k, v)| (*k, v.as_ref())).collect();
        from_strings(&pairs, StringSource::Cookie).map(Cookies)
    }
}

/// All request cookies by name (the first wins when a name repeats).
///
/// ```
/// use brisk::extract::CookieJar;
/// async fn theme(jar: CookieJar) -> String {
///     jar.get("theme").unwrap_or("light").to_owned()
/// }
/// ```
#[derive(Debug, Clone, Default)]
pub struct CookieJar(HashMap<String, String>);

impl CookieJar {
    /// The value of the cookie `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// Every cookie.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

impl FromRequestParts for CookieJar {
    async fn from_request_parts(parts: &mut Parts, _cx: &RequestContext) -> Result<Self, Error> {
        let mut map = HashMap::new();
        for (name, value) in parse_cookies(&parts.headers) {
            map.entry(name.to_owned()).or_insert_with(|| value.into_owned());
        }
        Ok(CookieJar(map))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn parses_quoted_encoded_and_skips_junk() {
        let mut headers = HeaderMap::new();
        headers.append(COOKIE, HeaderValue::from_static("a=1; b=\"two\"; junk; =x; c=caf%C3%A9"));
        headers.append(COOKIE, HeaderValue::from_static("d=4"));
        let cookies: Vec<(&str, String)> =
            parse_cookies(&headers).into_iter().map(|(k, v)| (k, v.into_owned())).collect();
        assert_eq!(
            cookies,
            vec![("a", "1".into()), ("b", "two".into()), ("c", "café".into()), ("d", "4".into())]
        );
    }
}

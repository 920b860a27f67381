//! Content negotiation between an HTML page and JSON, on the request's `Accept`.

use http::header::ACCEPT;
use http::{HeaderMap, HeaderValue};

/// Whether the client prefers `text/html` to `application/json`, as its `Accept` header says:
/// browsers send `text/html,...,*/*;q=0.8`, so they get pages; API clients send
/// `application/json`, `*/*` or nothing, so they get JSON (a tie goes to JSON).
///
/// Each type's weight is that of the most specific range that matches it (`text/html`, then
/// `text/*`, then `*/*`), as RFC 9110 says.
///
/// ```
/// use brisk::http::{header::ACCEPT, HeaderMap, HeaderValue};
/// use brisk::response::prefers_html;
///
/// let mut headers = HeaderMap::new();
/// assert!(!prefers_html(&headers));
/// headers.insert(ACCEPT, HeaderValue::from_static("text/html,application/xhtml+xml,*/*;q=0.8"));
/// assert!(prefers_html(&headers));
/// headers.insert(ACCEPT, HeaderValue::from_static("*/*"));
/// assert!(!prefers_html(&headers));
/// headers.insert(ACCEPT, HeaderValue::from_static("application/json, text/html;q=0.9"));
/// assert!(!prefers_html(&headers));
/// ```
pub fn prefers_html(headers: &HeaderMap) -> bool {
    accepts_html(headers.get_all(ACCEPT).iter())
}

/// [`prefers_html`] over `Accept` values.
pub(crate) fn accepts_html<'a>(values: impl Iterator<Item = &'a HeaderValue>) -> bool {
    let mut html = Weight::default();
    let mut json = Weight::default();
    for value in values {
        let Ok(value) = value.to_str() else { continue };
        for range in value.split(',') {
            let mut parts = range.split(';');
            let media = parts.next().unwrap_or("").trim();
            let q = parts
                .filter_map(|p| {
                    let (key, value) = p.split_once('=')?;
                    key.trim().eq_ignore_ascii_case("q").then(|| value.trim().parse::<f32>().ok())?
                })
                .next()
                .unwrap_or(1.0);
            html.offer(media, "text", "html", q);
            json.offer(media, "application", "json", q);
        }
    }
    let html = html.q();
    html > 0.0 && html > json.q()
}

/// The weight of one media type: the q of the most specific range seen that matches it.
#[derive(Default)]
struct Weight {
    /// (specificity: 3 exact, 2 `type/*`, 1 `*/*`; q)
    best: Option<(u8, f32)>,
}

impl Weight {
    fn offer(&mut self, media: &str, ty: &str, subtype: &str, q: f32) {
        let Some((t, s)) = media.split_once('/') else { return };
        let specificity = if !t.eq_ignore_ascii_case(ty) {
            match (t, s) {
                ("*", "*") => 1,
                _ => return,
            }
        } else if s.eq_ignore_ascii_case(subtype) {
            3
        } else if s == "*" {
            2
        } else {
            return;
        };
        match self.best {
            Some((seen, _)) if seen > specificity => {}
            Some((seen, best)) if seen == specificity && best >= q => {}
            _ => self.best = Some((specificity, q)),
        }
    }

    fn q(&self) -> f32 {
        self.best.map_or(0.0, |(_, q)| q)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prefers(accept: &str) -> bool {
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_str(accept).unwrap_or(HeaderValue::from_static("")));
        prefers_html(&headers)
    }

    #[test]
    fn browsers_get_html_and_api_clients_json() {
        // Firefox, Chrome, Safari.
        assert!(prefers("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"));
        assert!(prefers(
            "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7"
        ));
        assert!(prefers("text/*"));
        assert!(!prefers("application/json"));
        assert!(!prefers("*/*"));
        assert!(!prefers(""));
        assert!(!prefers("application/json, text/html"), "a tie goes to JSON");
        assert!(!prefers("text/html;q=0, */*"));
        assert!(prefers("text/html;q=0.5, application/json;q=0.4"));
        assert!(prefers("application/json;q=0, text/*;q=0.1"));
        assert!(!prefers("text/*;q=0.1, */*;q=0.5"), "*/* gives JSON 0.5");
        assert!(prefers("TEXT/HTML"));
    }
}

//! How the docs pages and their assets go over the wire: an `ETag` (304 on `If-None-Match`),
//! `Cache-Control`, and for the assets a compressed copy chosen by `Accept-Encoding`.
//!
//! * Each asset is compressed **once**, on its first request (in a blocking task, off the
//!   async workers), and the compressed bytes are kept for the life of the process: gzip
//!   always (deflate from `miniz_oxide`), brotli too when the `static-files` feature brings
//!   the `brotli` crate. Swagger UI's 1.5 MB bundle goes out several times smaller.
//! * The `ETag` is the first 16 hex digits of the SHA-256 of the file's bytes, computed at
//!   the same time; the compressed copies are other representations of the file, so they get
//!   the same tag with `-gzip` / `-br` appended (a strong tag names exact bytes). Any of the
//!   three in `If-None-Match` answers 304.
//! * Assets are `Cache-Control: public, max-age=86400`: their URLs carry no version, so a
//!   brisk upgrade that ships another Swagger UI or ReDoc is picked up within a day (and
//!   meanwhile each day's check is a 304). The pages are `no-cache` (always revalidated; they
//!   are a few hundred bytes and name the spec URL the app may move).
//! * Every answer for a file that has a compressed copy carries `Vary: Accept-Encoding` (the
//!   304s and uncompressed answers too), so a shared cache never hands gzip to a client that
//!   did not ask for it.

use bytes::Bytes;
use http::header::{
    ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_TYPE, ETAG, IF_NONE_MATCH, VARY,
};
use http::{HeaderMap, HeaderValue, StatusCode};

use crate::body::Body;
use crate::response::Response;

/// `Cache-Control` of the assets (Swagger UI and ReDoc files).
pub(crate) const ASSET_CACHE: &str = "public, max-age=86400";
/// `Cache-Control` of the `/docs` and `/redoc` pages.
pub(crate) const PAGE_CACHE: &str = "no-cache";

/// One file as served: its bytes, validator and compressed copies.
pub(crate) struct Served {
    content_type: &'static str,
    cache_control: &'static str,
    raw: Bytes,
    /// `"<hash>"`; `None` without the `docs-ui` feature (no hasher).
    etag: Option<String>,
    /// Kept only when smaller than `raw`.
    gzip: Option<Bytes>,
    brotli: Option<Bytes>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Coding {
    Identity,
    Gzip,
    Brotli,
}

impl Served {
    /// A page: tagged, never compressed (it is small).
    pub(crate) fn page(html: String) -> Served {
        let raw = Bytes::from(html);
        Served {
            content_type: "text/html; charset=utf-8",
            cache_control: PAGE_CACHE,
            etag: etag_of(&raw),
            raw,
            gzip: None,
            brotli: None,
        }
    }

    /// An asset: tagged and, when it is text, compressed (this is the slow part: call it once).
    pub(crate) fn asset(content_type: &'static str, bytes: &'static [u8]) -> Served {
        let raw = Bytes::from_static(bytes);
        let text = !content_type.starts_with("image/");
        Served {
            content_type,
            cache_control: ASSET_CACHE,
            etag: etag_of(&raw),
            gzip: if text {
                codec::gzip(&raw).filter(|z| z.len() < raw.len()).map(Bytes::from)
            } else {
                None
            },
            brotli: if text {
                codec::brotli(&raw).filter(|z| z.len() < raw.len()).map(Bytes::from)
            } else {
                None
            },
            raw,
        }
    }

    /// The answer to a request with these headers: 304 when `If-None-Match` names this file,
    /// else the best encoding the client accepts.
    pub(crate) fn respond(&self, request: &HeaderMap) -> Response {
        let coding = self.choose(request);
        let (body, etag) = match coding {
            Coding::Brotli => (self.brotli.clone(), self.tag("-br")),
            Coding::Gzip => (self.gzip.clone(), self.tag("-gzip")),
            Coding::Identity => (None, self.tag("")),
        };
        let mut res = if self.matches(request) {
            let mut res = Response::new(Body::empty());
            *res.status_mut() = StatusCode::NOT_MODIFIED;
            res
        } else {
            Response::new(Body::from(body.unwrap_or_else(|| self.raw.clone())))
        };
        let headers = res.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(self.content_type));
        headers.insert(CACHE_CONTROL, HeaderValue::from_static(self.cache_control));
        if self.gzip.is_some() || self.brotli.is_some() {
            headers.insert(VARY, HeaderValue::from_static("accept-encoding"));
        }
        match coding {
            Coding::Brotli => headers.insert(CONTENT_ENCODING, HeaderValue::from_static("br")),
            Coding::Gzip => headers.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip")),
            Coding::Identity => None,
        };
        if let Some(value) = etag.and_then(|tag| HeaderValue::from_str(&tag).ok()) {
            headers.insert(ETAG, value);
        }
        res
    }

    /// `"<hash><suffix>"`.
    fn tag(&self, suffix: &str) -> Option<String> {
        let etag = self.etag.as_deref()?;
        Some(format!("{}{suffix}\"", etag.trim_end_matches('"')))
    }

    /// Whether `If-None-Match` names any representation of this file (weak comparison, as
    /// RFC 9110 asks for `If-None-Match`), or is `*`.
    fn matches(&self, request: &HeaderMap) -> bool {
        let Some(base) = self.etag.as_deref() else { return false };
        let base = base.trim_matches('"');
        request.get_all(IF_NONE_MATCH).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).any(
            |tag| {
                let tag = tag.trim();
                if tag == "*" {
                    return true;
                }
                let Some(opaque) = tag.trim_start_matches("W/").strip_prefix('"') else { return false };
                let Some(opaque) = opaque.strip_suffix('"') else { return false };
                opaque.strip_prefix(base).is_some_and(|rest| matches!(rest, "" | "-gzip" | "-br"))
            },
        )
    }

    /// The kept encoding the client accepts with the highest `q` (brotli before gzip on a
    /// tie); identity when it accepts neither.
    fn choose(&self, request: &HeaderMap) -> Coding {
        let accepted = accept_encoding(request);
        let mut best = (Coding::Identity, 0.0_f32);
        for (coding, kept) in [(Coding::Brotli, self.brotli.is_some()), (Coding::Gzip, self.gzip.is_some())] {
            let q = accepted.q(coding);
            if kept && q > best.1 {
                best = (coding, q);
            }
        }
        best.0
    }
}

/// The `q` values an `Accept-Encoding` header gives brotli, gzip and `*`.
#[derive(Default)]
struct Accepted {
    br: Option<f32>,
    gzip: Option<f32>,
    any: Option<f32>,
}

impl Accepted {
    fn q(&self, coding: Coding) -> f32 {
        let named = match coding {
            Coding::Brotli => self.br,
            Coding::Gzip => self.gzip,
            Coding::Identity => return 1.0,
        };
        named.or(self.any).unwrap_or(0.0)
    }
}

fn accept_encoding(request: &HeaderMap) -> Accepted {
    let mut accepted = Accepted::default();
    let items =
        request.get_all(ACCEPT_ENCODING).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(','));
    for item in items {
        let mut parts = item.split(';');
        let name = parts.next().unwrap_or("").trim();
        let mut q = 1.0_f32;
        for param in parts {
            if let Some((key, value)) = param.split_once('=') {
                if key.trim().eq_ignore_ascii_case("q") {
                    q = value.trim().parse::<f32>().ok().filter(|q| (0.0..=1.0).contains(q)).unwrap_or(0.0);
                }
            }
        }
        let slot = if name.eq_ignore_ascii_case("br") {
            &mut accepted.br
        } else if name.eq_ignore_ascii_case("gzip") || name.eq_ignore_ascii_case("x-gzip") {
            &mut accepted.gzip
        } else if name == "*" {
            &mut accepted.any
        } else {
            continue;
        };
        *slot = Some(q);
    }
    accepted
}

#[cfg(feature = "docs-ui")]
fn etag_of(bytes: &[u8]) -> Option<String> {
    use sha2::{Digest, Sha256};
    let hex: String = Sha256::digest(bytes).iter().take(8).map(|b| format!("{b:02x}")).collect();
    Some(format!("\"{hex}\""))
}

#[cfg(not(feature = "docs-ui"))]
fn etag_of(_bytes: &[u8]) -> Option<String> {
    None
}

mod codec {
    /// `data` as a gzip member (RFC 1952): a 10-byte header, raw deflate, CRC-32 and length.
    #[cfg(feature = "docs-ui")]
    pub(super) fn gzip(data: &[u8]) -> Option<Vec<u8>> {
        let deflated = miniz_oxide::deflate::compress_to_vec(data, 9);
        let mut out = Vec::with_capacity(deflated.len() + 18);
        // Magic, deflate, no flags, no time, "maximum compression", unknown OS.
        out.extend_from_slice(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 255]);
        out.extend_from_slice(&deflated);
        out.extend_from_slice(&crc32(data).to_le_bytes());
        // ISIZE is the length modulo 2^32.
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        Some(out)
    }

    #[cfg(not(feature = "docs-ui"))]
    pub(super) fn gzip(_data: &[u8]) -> Option<Vec<u8>> {
        None
    }

    /// CRC-32 (IEEE, reflected, as gzip and zip use it), a byte at a time from a table.
    #[cfg(feature = "docs-ui")]
    fn crc32(data: &[u8]) -> u32 {
        const TABLE: [u32; 256] = {
            let mut table = [0_u32; 256];
            let mut n = 0;
            while n < 256 {
                let mut c = n as u32;
                let mut k = 0;
                while k < 8 {
                    c = if c & 1 == 1 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
                    k += 1;
                }
                table[n] = c;
                n += 1;
            }
            table
        };
        !data.iter().fold(!0_u32, |c, &b| TABLE[((c ^ u32::from(b)) & 0xff) as usize] ^ (c >> 8))
    }

    /// `data` brotli-compressed, when the `static-files` feature brings the encoder. Quality 9
    /// with a 4 MiB window: far quicker than quality 11 for little size lost (the first
    /// request of the Swagger bundle waits for it).
    #[cfg(feature = "static-files")]
    pub(super) fn brotli(data: &[u8]) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        let params = brotli::enc::BrotliEncoderParams { quality: 9, lgwin: 22, ..Default::default() };
        brotli::BrotliCompress(&mut &data[..], &mut out, &params).ok()?;
        Some(out)
    }

    #[cfg(not(feature = "static-files"))]
    pub(super) fn brotli(_data: &[u8]) -> Option<Vec<u8>> {
        None
    }

    #[cfg(all(test, feature = "docs-ui"))]
    mod tests {
        #[test]
        fn crc32_matches_the_check_value() {
            assert_eq!(super::crc32(b"123456789"), 0xCBF4_3926);
            assert_eq!(super::crc32(b""), 0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header::ACCEPT_ENCODING;

    fn headers(pairs: &[(http::HeaderName, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(name.clone(), HeaderValue::from_str(value).unwrap_or(HeaderValue::from_static("")));
        }
        map
    }

    fn served() -> Served {
        Served {
            content_type: "text/css",
            cache_control: ASSET_CACHE,
            raw: Bytes::from_static(b"raw"),
            etag: Some("\"abc\"".to_owned()),
            gzip: Some(Bytes::from_static(b"gz")),
            brotli: Some(Bytes::from_static(b"br")),
        }
    }

    #[test]
    fn accept_encoding_picks_by_q_then_brotli() {
        let s = served();
        let pick = |value: &str| s.choose(&headers(&[(ACCEPT_ENCODING, value)]));
        assert_eq!(pick("gzip, deflate, br"), Coding::Brotli);
        assert_eq!(pick("gzip"), Coding::Gzip);
        assert_eq!(pick("GZIP;q=0.5, br;q=0.2"), Coding::Gzip);
        assert_eq!(pick("br;q=0, gzip;q=0"), Coding::Identity);
        assert_eq!(pick("*"), Coding::Brotli);
        assert_eq!(pick("*;q=0.5, br;q=0"), Coding::Gzip);
        assert_eq!(pick("identity"), Coding::Identity);
        assert_eq!(pick("deflate"), Coding::Identity);
        assert_eq!(s.choose(&HeaderMap::new()), Coding::Identity);
        let only_gzip = Served { brotli: None, ..served() };
        assert_eq!(only_gzip.choose(&headers(&[(ACCEPT_ENCODING, "br")])), Coding::Identity);
    }

    #[test]
    fn if_none_match_names_any_representation() {
        let s = served();
        let matches = |value: &str| s.matches(&headers(&[(IF_NONE_MATCH, value)]));
        assert!(matches("\"abc\""));
        assert!(matches("\"x\", W/\"abc-gzip\""));
        assert!(matches("\"abc-br\""));
        assert!(matches("*"));
        assert!(!matches("\"abcd\""));
        assert!(!matches("\"abc-zstd\""));
        assert!(!matches("abc"));
        assert!(!s.matches(&HeaderMap::new()));
        assert_eq!(s.tag("-gzip").as_deref(), Some("\"abc-gzip\""));
    }
}

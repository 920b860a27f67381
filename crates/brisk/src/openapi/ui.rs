//! The `/docs` (Swagger UI) and `/redoc` (ReDoc) pages, served fully offline.
//!
//! Every file the two pages load is embedded in the binary; the pages name no other host (no
//! CDN, no web fonts, no validator badge). Where the files come from (cargo feature `docs-ui`):
//!
//! * Swagger UI 5.32.6: the `dist/` files inside the release archive that the
//!   `utoipa-swagger-ui-vendored` crate embeds (`include_bytes!` of a zip in its package, no
//!   build script). The few files the page needs are inflated on first use with `miniz_oxide`.
//! * ReDoc 2.0.0: `redoc.standalone.js`, which `aide` (feature `redoc`) embeds with
//!   `include_str!` into the page its `Redoc::html()` returns; it is cut out of that page once.
//!
//! How they go over the wire (gzip/brotli by `Accept-Encoding`, ETag and 304, `Cache-Control`)
//! is `served.rs`, next to this file.
//!
//! Without the feature, [`asset_at`] finds nothing and the pages still render, pointing at files
//! that are not there (and leaving out the optional ones: standalone preset, OAuth2 redirect
//! page, icons).

use std::fmt::Write as _;

/// One embedded file of a docs page.
pub(crate) struct DocsAsset {
    // Not every caller needs the name back (the docs routes only serve bytes and type).
    #[allow(dead_code)]
    pub(crate) name: &'static str,
    pub(crate) content_type: &'static str,
    pub(crate) bytes: &'static [u8],
}

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const HTML: &str = "text/html; charset=utf-8";
const PNG: &str = "image/png";

const SWAGGER_BUNDLE: &str = "swagger-ui-bundle.js";
const SWAGGER_PRESET: &str = "swagger-ui-standalone-preset.js";
const SWAGGER_CSS: &str = "swagger-ui.css";
const OAUTH2_REDIRECT: &str = "oauth2-redirect.html";
const OAUTH2_REDIRECT_JS: &str = "oauth2-redirect.js";
const FAVICON_32: &str = "favicon-32x32.png";
const FAVICON_16: &str = "favicon-16x16.png";
const REDOC_JS: &str = "redoc.standalone.js";

/// Every file either page may ask for, with the type it is served as.
const FILES: [(&str, &str); 8] = [
    (SWAGGER_BUNDLE, JS),
    (SWAGGER_PRESET, JS),
    (SWAGGER_CSS, CSS),
    (OAUTH2_REDIRECT, HTML),
    (OAUTH2_REDIRECT_JS, JS),
    (FAVICON_32, PNG),
    (FAVICON_16, PNG),
    (REDOC_JS, JS),
];

/// How many files either page may ask for (the indices of [`asset_index`]).
pub(crate) const FILE_COUNT: usize = FILES.len();

/// The files `/docs` and `/redoc` need, looked up by file name (e.g. "swagger-ui-bundle.js").
#[cfg(test)]
pub(crate) fn asset(name: &str) -> Option<DocsAsset> {
    asset_at(asset_index(name)?)
}

/// Where `name` is among the files either page may ask for (below [`FILE_COUNT`]), without
/// reading or inflating anything.
pub(crate) fn asset_index(name: &str) -> Option<usize> {
    FILES.iter().position(|(file, _)| *file == name)
}

/// The file at `index` (from [`asset_index`]), if it is embedded; inflated on first use.
pub(crate) fn asset_at(index: usize) -> Option<DocsAsset> {
    let &(name, content_type) = FILES.get(index)?;
    let bytes = embedded::bytes(name)?;
    Some(DocsAsset { name, content_type, bytes })
}

/// Swagger UI's page: loads its assets from `assets_prefix` (e.g. "/docs/assets") and the spec from `openapi_url`.
pub(crate) fn swagger_ui_html(title: &str, openapi_url: &str, assets_prefix: &str) -> String {
    let prefix = assets_prefix.trim_end_matches('/');
    let has = embedded::has;
    let mut page = String::with_capacity(2048);
    page.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n");
    page.push_str("<meta charset=\"utf-8\">\n");
    page.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    push_policy(&mut page);
    push_title(&mut page, title);
    push_tag(&mut page, "<link rel=\"stylesheet\" type=\"text/css\" href=\"", prefix, SWAGGER_CSS, "\">\n");
    push_icons(&mut page, prefix);
    page.push_str("</head>\n<body>\n<div id=\"swagger-ui\"></div>\n");
    push_tag(&mut page, "<script src=\"", prefix, SWAGGER_BUNDLE, "\" charset=\"utf-8\"></script>\n");
    let standalone = has(SWAGGER_PRESET);
    if standalone {
        push_tag(&mut page, "<script src=\"", prefix, SWAGGER_PRESET, "\" charset=\"utf-8\"></script>\n");
    }
    page.push_str("<script>\nwindow.ui = SwaggerUIBundle({\n");
    let _ = writeln!(page, "  url: {},", js_string(openapi_url));
    page.push_str("  dom_id: \"#swagger-ui\",\n");
    if standalone {
        page.push_str("  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],\n");
    } else {
        page.push_str("  presets: [SwaggerUIBundle.presets.apis],\n");
    }
    // The standalone preset's own layout adds a top bar with a box to load any other spec URL;
    // the base layout is what FastAPI shows.
    page.push_str("  layout: \"BaseLayout\",\n");
    page.push_str("  deepLinking: true,\n");
    page.push_str("  showExtensions: true,\n");
    page.push_str("  showCommonExtensions: true,\n");
    page.push_str("  tryItOutEnabled: true,\n");
    page.push_str("  displayRequestDuration: true,\n");
    page.push_str("  persistAuthorization: true,\n");
    // No badge fetched from validator.swagger.io; no `?url=` / `?configUrl=` overrides.
    page.push_str("  validatorUrl: null,\n");
    page.push_str("  queryConfigEnabled: false,\n");
    if has(OAUTH2_REDIRECT) {
        // An OAuth2 provider needs an absolute redirect URI: resolve it against the page.
        let redirect = format!("{prefix}/{OAUTH2_REDIRECT}");
        let _ = writeln!(
            page,
            "  oauth2RedirectUrl: new URL({}, window.location.href).href,",
            js_string(&redirect)
        );
    }
    page.push_str("});\n</script>\n</body>\n</html>\n");
    page
}

/// ReDoc's page, same idea.
pub(crate) fn redoc_html(title: &str, openapi_url: &str, assets_prefix: &str) -> String {
    let prefix = assets_prefix.trim_end_matches('/');
    let mut page = String::with_capacity(1024);
    page.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n");
    page.push_str("<meta charset=\"utf-8\">\n");
    page.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    push_policy(&mut page);
    push_title(&mut page, title);
    push_icons(&mut page, prefix);
    page.push_str("<style>\nbody { margin: 0; padding: 0; }\n</style>\n</head>\n<body>\n");
    page.push_str("<noscript>ReDoc needs JavaScript to show this documentation.</noscript>\n");
    let _ = writeln!(page, "<redoc spec-url=\"{}\"></redoc>", escape_html(openapi_url));
    push_tag(&mut page, "<script src=\"", prefix, REDOC_JS, "\" charset=\"utf-8\"></script>\n");
    page.push_str("</body>\n</html>\n");
    page
}

/// Keeps the page from loading images, fonts, styles or scripts from any other host: ReDoc 2.0.0
/// puts `https://cdn.redoc.ly/redoc/logo-mini.svg` in its menu, and a spec's Markdown may
/// name outside images. Requests to the API itself ("Try it out", the spec) are not limited.
const POLICY: &str = "default-src 'self'; img-src 'self' data:; font-src 'self' data:; \
    style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline'; worker-src 'self' blob:; \
    connect-src *; object-src 'none'; base-uri 'self'";

fn push_policy(page: &mut String) {
    let _ = writeln!(page, "<meta http-equiv=\"Content-Security-Policy\" content=\"{POLICY}\">");
}

fn push_title(page: &mut String, title: &str) {
    let _ = writeln!(page, "<title>{}</title>", escape_html(title));
}

/// `{open}{prefix}/{file}{close}`, the URL HTML-escaped for an attribute value.
fn push_tag(page: &mut String, open: &str, prefix: &str, file: &str, close: &str) {
    page.push_str(open);
    page.push_str(&escape_html(prefix));
    page.push('/');
    page.push_str(file);
    page.push_str(close);
}

fn push_icons(page: &mut String, prefix: &str) {
    for (file, size) in [(FAVICON_32, "32x32"), (FAVICON_16, "16x16")] {
        if embedded::has(file) {
            let close = format!("\" sizes=\"{size}\">\n");
            push_tag(page, "<link rel=\"icon\" type=\"image/png\" href=\"", prefix, file, &close);
        }
    }
}

/// Escapes text for HTML element content and quoted attribute values.
fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A double-quoted JavaScript string literal that is also safe inside an HTML `<script>`
/// element: `<`, `>` and `&` are written as `\uXXXX`, so no `</script>` or `<!--` can form.
fn js_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\'' | '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(feature = "docs-ui")]
mod embedded {
    use std::sync::OnceLock;

    /// The bytes of one embedded file, by its name in [`super::FILES`].
    pub(super) fn bytes(name: &str) -> Option<&'static [u8]> {
        if name == super::REDOC_JS {
            return redoc_js();
        }
        swagger_file(name)
    }

    /// One Swagger UI file of [`super::FILES`] from the vendored archive, inflated on its first
    /// request (building a page only renders links: a server that never serves `/docs` never
    /// inflates the 1.4 MB bundle).
    fn swagger_file(name: &str) -> Option<&'static [u8]> {
        static INFLATED: [OnceLock<Option<Vec<u8>>>; super::FILES.len()] =
            [const { OnceLock::new() }; super::FILES.len()];
        let index = super::FILES.iter().position(|(file, _)| *file == name)?;
        INFLATED[index]
            .get_or_init(|| zip::dist_file(utoipa_swagger_ui_vendored::SWAGGER_UI_VENDORED, name))
            .as_deref()
    }

    /// Whether the archive holds `name`, read from its directory without inflating anything.
    pub(super) fn has(name: &str) -> bool {
        name == super::REDOC_JS || zip::find(utoipa_swagger_ui_vendored::SWAGGER_UI_VENDORED, name).is_some()
    }

    /// The only outside address in ReDoc 2.0.0's bundle.
    pub(super) const REDOC_CDN_LOGO: &str = "https://cdn.redoc.ly/redoc/logo-mini.svg";
    /// A blank 1x1 SVG in its place.
    const INLINE_LOGO: &str =
        "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' width='1' height='1'/%3E";

    /// `redoc.standalone.js`, cut out of the page `aide` builds around it.
    fn redoc_js() -> Option<&'static [u8]> {
        static JS: OnceLock<Option<String>> = OnceLock::new();
        JS.get_or_init(|| {
            // aide's page is `...<script>{redoc.standalone.js}\n\n Redoc.init("{spec}", ...`.
            let page = aide::redoc::Redoc::new("").html();
            let start = page.find("<script>")? + "<script>".len();
            let end = page.rfind("Redoc.init(")?;
            let js = page.get(start..end)?.trim();
            // ReDoc 2.0.0 hard-codes its menu logo on a CDN: point it at an inline image so the
            // page asks no other host for anything (the CSP would only block the attempt).
            let js = js.replace(REDOC_CDN_LOGO, INLINE_LOGO);
            (js.len() > 1024 && js.starts_with("/*!")).then_some(js)
        })
        .as_deref()
        .map(str::as_bytes)
    }

    /// Just enough of the zip format to read one member of the embedded release archive.
    mod zip {
        const END_OF_DIRECTORY: u32 = 0x0605_4b50;
        const DIRECTORY_ENTRY: u32 = 0x0201_4b50;
        const LOCAL_HEADER: u32 = 0x0403_4b50;
        const STORED: u16 = 0;
        const DEFLATED: u16 = 8;

        fn u16_at(data: &[u8], at: usize) -> Option<u16> {
            Some(u16::from_le_bytes(data.get(at..at.checked_add(2)?)?.try_into().ok()?))
        }

        fn u32_at(data: &[u8], at: usize) -> Option<u32> {
            Some(u32::from_le_bytes(data.get(at..at.checked_add(4)?)?.try_into().ok()?))
        }

        fn usize_at(data: &[u8], at: usize) -> Option<usize> {
            usize::try_from(u32_at(data, at)?).ok()
        }

        /// The contents of `<top folder>/dist/<file>` in `archive`, if present and intact.
        pub(super) fn dist_file(archive: &[u8], file: &str) -> Option<Vec<u8>> {
            let (local, method, packed, size) = find(archive, file)?;
            read_member(archive, local, method, packed, size)
        }

        /// Where `<top folder>/dist/<file>` is in `archive`: its local header's offset, method,
        /// packed and unpacked sizes.
        pub(super) fn find(archive: &[u8], file: &str) -> Option<(usize, u16, usize, usize)> {
            // The end-of-central-directory record: 22 bytes plus a comment of up to 64 KiB.
            let lowest = archive.len().saturating_sub(22 + usize::from(u16::MAX));
            let end = (lowest..=archive.len().checked_sub(22)?)
                .rev()
                .find(|&at| u32_at(archive, at) == Some(END_OF_DIRECTORY))?;
            let entries = u16_at(archive, end + 10)?;
            let mut at = usize_at(archive, end + 16)?;
            for _ in 0..entries {
                if u32_at(archive, at)? != DIRECTORY_ENTRY {
                    return None;
                }
                let method = u16_at(archive, at + 10)?;
                let packed = usize_at(archive, at + 20)?;
                let size = usize_at(archive, at + 24)?;
                let name_len = usize::from(u16_at(archive, at + 28)?);
                let extra_len = usize::from(u16_at(archive, at + 30)?);
                let comment_len = usize::from(u16_at(archive, at + 32)?);
                let local = usize_at(archive, at + 42)?;
                let name = archive.get(at + 46..at + 46 + name_len)?;
                if is_dist_file(name, file) {
                    return Some((local, method, packed, size));
                }
                at += 46 + name_len + extra_len + comment_len;
            }
            None
        }

        fn is_dist_file(name: &[u8], file: &str) -> bool {
            let mut parts = name.split(|&b| b == b'/');
            matches!(
                (parts.next(), parts.next(), parts.next(), parts.next()),
                (Some(top), Some(b"dist"), Some(last), None) if !top.is_empty() && last == file.as_bytes()
            )
        }

        fn read_member(
            archive: &[u8],
            local: usize,
            method: u16,
            packed: usize,
            size: usize,
        ) -> Option<Vec<u8>> {
            if u32_at(archive, local)? != LOCAL_HEADER {
                return None;
            }
            let name_len = usize::from(u16_at(archive, local + 26)?);
            let extra_len = usize::from(u16_at(archive, local + 28)?);
            let start = local.checked_add(30 + name_len + extra_len)?;
            let data = archive.get(start..start.checked_add(packed)?)?;
            let contents = match method {
                STORED => data.to_vec(),
                DEFLATED => miniz_oxide::inflate::decompress_to_vec_with_limit(data, size).ok()?,
                _ => return None,
            };
            (contents.len() == size).then_some(contents)
        }
    }
}

#[cfg(not(feature = "docs-ui"))]
mod embedded {
    /// Nothing is embedded without the `docs-ui` feature.
    pub(super) fn bytes(_name: &str) -> Option<&'static [u8]> {
        None
    }

    pub(super) fn has(_name: &str) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "docs-ui")]
    #[test]
    fn redoc_asks_no_cdn_for_its_logo() {
        let js = asset("redoc.standalone.js")
            .map(|a| String::from_utf8_lossy(a.bytes).into_owned())
            .unwrap_or_default();
        assert!(js.len() > 500_000, "the bundle is there");
        assert!(!js.contains("cdn.redoc.ly"), "no CDN address left in the served bundle");
    }

    const PREFIX: &str = "/docs/assets";

    fn pages() -> [String; 2] {
        [
            swagger_ui_html("Brisk API", "/openapi.json", PREFIX),
            redoc_html("Brisk API", "/openapi.json", PREFIX),
        ]
    }

    /// The file names a page loads from `prefix`, in `src="…"`, `href="…"` or a JS string.
    fn referenced(page: &str, prefix: &str) -> Vec<String> {
        let needle = format!("{prefix}/");
        page.match_indices(&needle)
            .filter_map(|(at, _)| {
                let rest = page.get(at + needle.len()..)?;
                let end = rest.find(['"', '\''])?;
                Some(rest[..end].to_owned())
            })
            .collect()
    }

    #[cfg(feature = "docs-ui")]
    #[test]
    fn every_referenced_asset_is_embedded_with_its_type() {
        let [swagger, redoc] = pages();
        let swagger_files = referenced(&swagger, PREFIX);
        let redoc_files = referenced(&redoc, PREFIX);
        for name in [SWAGGER_BUNDLE, SWAGGER_PRESET, SWAGGER_CSS, OAUTH2_REDIRECT, FAVICON_32, FAVICON_16] {
            assert!(swagger_files.iter().any(|file| file == name), "/docs does not load {name}");
        }
        assert!(redoc_files.iter().any(|file| file == REDOC_JS), "/redoc does not load {REDOC_JS}");
        // The redirect page loads its script relative to itself.
        let redirect = asset(OAUTH2_REDIRECT).map(|a| a.bytes).unwrap_or_default();
        assert!(String::from_utf8_lossy(redirect).contains("src=\"oauth2-redirect.js\""));

        let all = swagger_files.iter().chain(&redoc_files).map(String::as_str).chain([OAUTH2_REDIRECT_JS]);
        for name in all {
            let Some(found) = asset(name) else { panic!("{name} is referenced but not embedded") };
            assert_eq!(found.name, name);
            let (expected_type, min_size) = match name.rsplit_once('.').map(|(_, ext)| ext) {
                Some("js") => (JS, 1_000),
                Some("css") => (CSS, 10_000),
                Some("html") => (HTML, 50),
                Some("png") => (PNG, 100),
                other => panic!("unexpected extension {other:?} of {name}"),
            };
            assert_eq!(found.content_type, expected_type, "{name}");
            assert!(found.bytes.len() >= min_size, "{name} is only {} bytes", found.bytes.len());
        }
        for big in [SWAGGER_BUNDLE, REDOC_JS] {
            let len = asset(big).map_or(0, |a| a.bytes.len());
            assert!(len > 500_000, "{big} is only {len} bytes");
        }
        assert!(asset("index.html").is_none());
        assert!(asset("../Cargo.toml").is_none());
    }

    #[cfg(feature = "docs-ui")]
    #[test]
    fn embedded_files_look_like_what_they_claim() {
        let text = |name: &str| {
            String::from_utf8_lossy(asset(name).map(|a| a.bytes).unwrap_or_default()).into_owned()
        };
        assert!(text(SWAGGER_BUNDLE).contains("SwaggerUIBundle"));
        assert!(text(SWAGGER_PRESET).contains("SwaggerUIStandalonePreset"));
        assert!(text(SWAGGER_CSS).contains(".swagger-ui"));
        let redoc = text(REDOC_JS);
        assert!(redoc.starts_with("/*!") && redoc.contains("Redoc"));
        assert!(!redoc.contains("Redoc.init(\"\""), "aide's page leaked into the script");
        assert!(!redoc.contains("</script>"));
        for icon in [FAVICON_32, FAVICON_16] {
            assert!(asset(icon).is_some_and(|a| a.bytes.starts_with(b"\x89PNG\r\n\x1a\n")), "{icon}");
        }
    }

    #[test]
    fn pages_name_no_other_host() {
        for page in pages() {
            assert!(!page.contains("http://"), "{page}");
            assert!(!page.contains("https://"), "{page}");
            assert!(!page.contains("\"//") && !page.contains("'//"), "{page}");
            assert!(!page.contains("googleapis"), "{page}");
        }
        #[cfg(feature = "docs-ui")]
        for small in [OAUTH2_REDIRECT, OAUTH2_REDIRECT_JS] {
            let bytes = asset(small).map(|a| a.bytes).unwrap_or_default();
            let text = String::from_utf8_lossy(bytes);
            assert!(!text.contains("http://") && !text.contains("https://"), "{small}: {text}");
        }
    }

    #[test]
    fn swagger_config() {
        let page = swagger_ui_html("Brisk API", "/openapi.json", "/docs/assets/");
        assert!(page.contains("url: \"/openapi.json\","));
        assert!(page.contains("dom_id: \"#swagger-ui\","));
        assert!(page.contains("deepLinking: true,"));
        assert!(page.contains("validatorUrl: null,"));
        assert!(page.contains("persistAuthorization: true,"));
        assert!(page.contains("layout: \"BaseLayout\","));
        assert!(page.contains("href=\"/docs/assets/swagger-ui.css\""), "trailing slash is trimmed: {page}");
        let files = referenced(&page, "/docs/assets");
        assert!(
            files.iter().any(|f| f == SWAGGER_CSS) && files.iter().any(|f| f == SWAGGER_BUNDLE),
            "{files:?}"
        );
        assert!(!page.contains("/docs/assets//"));
        if cfg!(feature = "docs-ui") {
            assert!(page.contains("presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],"));
            assert!(page.contains(
                "oauth2RedirectUrl: new URL(\"/docs/assets/oauth2-redirect.html\", window.location.href).href,"
            ));
        } else {
            assert!(page.contains("presets: [SwaggerUIBundle.presets.apis],"));
            assert!(!page.contains("oauth2RedirectUrl"));
        }
    }

    #[test]
    fn redoc_page() {
        let page = redoc_html("Brisk API", "/openapi.json", "/redoc/assets");
        assert!(page.contains("<redoc spec-url=\"/openapi.json\"></redoc>"));
        assert!(page.contains("<script src=\"/redoc/assets/redoc.standalone.js\""));
        assert!(referenced(&page, "/redoc/assets").iter().any(|f| f == REDOC_JS));
        assert!(!page.contains("fonts."));
    }

    #[test]
    fn untrusted_values_are_escaped() {
        let title = "<script>alert(1)</script>";
        let url = "/x\"></redoc><script>alert(2)</script>?a=1&b='2'";
        let prefix = "/p\"><script>alert(3)</script>";
        for page in [swagger_ui_html(title, url, prefix), redoc_html(title, url, prefix)] {
            assert!(page.contains("<title>&lt;script&gt;alert(1)&lt;/script&gt;</title>"), "{page}");
            assert!(!page.contains("<script>alert"), "{page}");
            assert!(!page.contains("</redoc><"), "{page}");
            assert_eq!(page.matches("<script").count(), page.matches("</script>").count(), "{page}");
        }
        let swagger = swagger_ui_html(title, url, prefix);
        assert!(swagger.contains(
            "url: \"/x\\\"\\u003e\\u003c/redoc\\u003e\\u003cscript\\u003ealert(2)\\u003c/script\\u003e?a=1\\u0026b=\\u00272\\u0027\","
        ));
        let redoc = redoc_html(title, url, prefix);
        assert!(redoc.contains(
            "spec-url=\"/x&quot;&gt;&lt;/redoc&gt;&lt;script&gt;alert(2)&lt;/script&gt;?a=1&amp;b=&#39;2&#39;\""
        ));
        assert_eq!(js_string("a\\b\n\u{2028}\u{1}"), "\"a\\\\b\\n\\u2028\\u0001\"");
    }
}

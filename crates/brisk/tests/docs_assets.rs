//! `/docs` and `/redoc` over the wire: compressed assets chosen by `Accept-Encoding`, ETags
//! with 304s, `Cache-Control` and `Vary`.
#![cfg(feature = "docs-ui")]

use std::io::Read;

use brisk::prelude::*;
use brisk::testing::{TestClient, TestResponse};

const CSS: &str = "/docs/assets/swagger-ui.css";
const BUNDLE: &str = "/docs/assets/swagger-ui-bundle.js";

fn client() -> TestClient {
    TestClient::new(App::new())
}

async fn get(client: &TestClient, path: &str, headers: &[(&str, &str)]) -> TestResponse {
    let mut req = client.get(path);
    for (name, value) in headers {
        req = req.header(name, value);
    }
    req.send().await
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    // flate2's decoder checks the CRC-32 and length trailer too.
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .unwrap_or_else(|e| panic!("not a valid gzip body: {e}"));
    out
}

#[tokio::test]
async fn assets_are_gzipped_once_and_decompress_to_the_original() {
    let client = client();
    let plain = get(&client, CSS, &[]).await;
    assert_eq!(plain.status(), 200);
    assert_eq!(plain.header("content-encoding"), None, "not compressed when not accepted");
    assert_eq!(plain.header("vary"), Some("accept-encoding"));
    assert_eq!(plain.header("cache-control"), Some("public, max-age=86400"));
    assert_eq!(plain.header("content-type"), Some("text/css; charset=utf-8"));
    assert!(String::from_utf8_lossy(plain.bytes()).contains(".swagger-ui"));

    let gzipped = get(&client, CSS, &[("accept-encoding", "gzip, deflate")]).await;
    assert_eq!(gzipped.status(), 200);
    assert_eq!(gzipped.header("content-encoding"), Some("gzip"));
    assert_eq!(gzipped.header("vary"), Some("accept-encoding"));
    assert!(
        gzipped.bytes().len() * 3 < plain.bytes().len(),
        "{} of {}",
        gzipped.bytes().len(),
        plain.bytes().len()
    );
    assert_eq!(gunzip(gzipped.bytes()), plain.bytes().to_vec());

    // Refused codings are not used.
    let refused = get(&client, CSS, &[("accept-encoding", "gzip;q=0, br;q=0")]).await;
    assert_eq!(refused.header("content-encoding"), None);
    assert_eq!(refused.bytes(), plain.bytes());

    // The whole Swagger bundle too (1.5 MB raw).
    let bundle = get(&client, BUNDLE, &[("accept-encoding", "gzip")]).await;
    assert_eq!(bundle.header("content-encoding"), Some("gzip"));
    let raw = gunzip(bundle.bytes());
    assert!(
        raw.len() > 1_000_000 && bundle.bytes().len() * 2 < raw.len(),
        "{} -> {}",
        raw.len(),
        bundle.bytes().len()
    );
    assert!(String::from_utf8_lossy(&raw).contains("SwaggerUIBundle"));
}

#[tokio::test]
async fn matching_etag_is_a_304_for_any_representation() {
    let client = client();
    let plain = get(&client, CSS, &[]).await;
    let etag = plain.header("etag").unwrap_or_default().to_owned();
    assert!(
        etag.len() == 18 && etag.starts_with('"') && etag.ends_with('"'),
        "strong, 16 hex digits: {etag}"
    );
    let gzipped = get(&client, CSS, &[("accept-encoding", "gzip")]).await;
    let gzip_etag = gzipped.header("etag").unwrap_or_default().to_owned();
    assert_eq!(
        gzip_etag,
        format!("{}-gzip\"", etag.trim_end_matches('"')),
        "another representation, another tag"
    );
    // The tag is a hash of the bytes: the same on every request.
    assert_eq!(get(&client, CSS, &[]).await.header("etag"), Some(etag.as_str()));

    for (tag, accept) in [(&etag, ""), (&gzip_etag, "gzip"), (&gzip_etag, ""), (&etag, "gzip")] {
        let res = get(&client, CSS, &[("if-none-match", tag), ("accept-encoding", accept)]).await;
        assert_eq!(res.status(), 304, "{tag} / {accept}");
        assert!(res.bytes().is_empty());
        assert_eq!(res.header("vary"), Some("accept-encoding"));
        assert_eq!(res.header("cache-control"), Some("public, max-age=86400"));
        let expected = if accept == "gzip" { &gzip_etag } else { &etag };
        assert_eq!(res.header("etag"), Some(expected.as_str()));
    }
    let list = format!("\"nope\", W/{etag}");
    assert_eq!(get(&client, CSS, &[("if-none-match", &list)]).await.status(), 304);
    let stale = get(&client, CSS, &[("if-none-match", "\"0123456789abcdef\"")]).await;
    assert_eq!(stale.status(), 200);
    assert_eq!(stale.bytes(), plain.bytes());
    // Another file's tag does not match.
    let bundle_etag = get(&client, BUNDLE, &[]).await.header("etag").unwrap_or_default().to_owned();
    assert_ne!(bundle_etag, etag);
    assert_eq!(get(&client, CSS, &[("if-none-match", &bundle_etag)]).await.status(), 200);
}

#[tokio::test]
async fn pages_are_revalidated_and_icons_not_compressed() {
    let client = client();
    for page in ["/docs", "/redoc"] {
        let res = get(&client, page, &[("accept-encoding", "gzip")]).await;
        assert_eq!(res.status(), 200);
        assert_eq!(res.header("cache-control"), Some("no-cache"), "{page}");
        assert_eq!(res.header("content-type"), Some("text/html; charset=utf-8"));
        assert_eq!(res.header("content-encoding"), None, "a page is small");
        let etag = res.header("etag").unwrap_or_default().to_owned();
        assert!(etag.starts_with('"'), "{page}: {etag}");
        let again = get(&client, page, &[("if-none-match", &etag)]).await;
        assert_eq!(again.status(), 304, "{page}");
    }
    let icon = get(&client, "/docs/assets/favicon-32x32.png", &[("accept-encoding", "gzip, br")]).await;
    assert_eq!(icon.status(), 200);
    assert_eq!(icon.header("content-encoding"), None);
    assert_eq!(icon.header("vary"), None, "one representation only");
    assert!(icon.bytes().starts_with(b"\x89PNG"));
    assert_eq!(get(&client, "/docs/assets/nope.js", &[("accept-encoding", "gzip")]).await.status(), 404);
}

#[tokio::test]
async fn head_answers_the_headers_of_the_chosen_encoding() {
    let client = client();
    let res = client.head(CSS).header("accept-encoding", "gzip").send().await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.header("content-encoding"), Some("gzip"));
    assert!(res.bytes().is_empty());
}

#[cfg(feature = "static-files")]
#[tokio::test]
async fn brotli_when_the_encoder_is_built_in() {
    let client = client();
    let plain = get(&client, CSS, &[]).await;
    let res = get(&client, CSS, &[("accept-encoding", "gzip, deflate, br")]).await;
    assert_eq!(res.header("content-encoding"), Some("br"));
    assert!(res.header("etag").is_some_and(|tag| tag.ends_with("-br\"")));
    let mut raw = Vec::new();
    brotli::BrotliDecompress(&mut &res.bytes()[..], &mut raw).unwrap_or_else(|e| panic!("bad brotli: {e}"));
    assert_eq!(raw, plain.bytes().to_vec());
    // gzip when it is preferred.
    let gz = get(&client, CSS, &[("accept-encoding", "br;q=0.5, gzip")]).await;
    assert_eq!(gz.header("content-encoding"), Some("gzip"));
}

#[tokio::test]
async fn over_a_socket_the_length_is_the_compressed_one() {
    let client = TestClient::serve(App::new()).await;
    let res = get(&client, BUNDLE, &[("accept-encoding", "gzip")]).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.header("content-encoding"), Some("gzip"));
    let length = res.bytes().len().to_string();
    assert_eq!(res.header("content-length"), Some(length.as_str()));
    assert!(String::from_utf8_lossy(&gunzip(res.bytes())).contains("SwaggerUIBundle"));
    let head = client.head(BUNDLE).header("accept-encoding", "gzip").send().await;
    assert_eq!(head.header("content-length"), Some(length.as_str()));
    assert!(head.bytes().is_empty());
}

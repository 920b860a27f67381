//! Static files over a real socket: the app's folder, embedded namespaces overridden by it,
//! ETag/304, ranges, precompressed siblings, cache headers, collectstatic's hashed names, and
//! a corpus of traversal attempts that all answer 404.
#![cfg(feature = "static-files")]

use std::path::PathBuf;

use brisk::prelude::*;
use brisk::static_files::{collect, Manifest, StaticFiles};
use brisk::testing::TestClient;

const CSS: &str = "body { color: #333; }\n/* padding so that it compresses */\n";

fn folder(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("brisk-static-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("static/css")).unwrap();
    std::fs::create_dir_all(dir.join("static/admin")).unwrap();
    std::fs::write(dir.join("static/css/site.css"), CSS.repeat(20)).unwrap();
    std::fs::write(dir.join("static/admin/base.css"), "/* the app's own admin css */").unwrap();
    std::fs::write(dir.join("secret.txt"), "outside the folder").unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(dir.join("secret.txt"), dir.join("static/escape.txt")).unwrap();
    dir
}

const ADMIN: brisk::static_files::EmbeddedFiles =
    &[("base.css", b"/* embedded admin css */"), ("app.js", b"console.log('admin');")];

#[tokio::test]
async fn files_are_served_with_validators_ranges_and_precompressed_siblings() {
    let dir = folder("serve");
    std::fs::write(dir.join("static/css/site.css.gz"), b"not really gzip, but served as the .gz sibling")
        .unwrap();
    let files = StaticFiles::new(dir.join("static")).namespace("admin", ADMIN);
    let client = TestClient::serve(App::new().static_files("/static", files)).await;

    let res = client.get("/static/css/site.css").send().await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.header("content-type"), Some("text/css"));
    assert_eq!(res.header("cache-control"), Some("no-cache"));
    assert_eq!(res.text(), CSS.repeat(20));
    let etag = res.header("etag").expect("an ETag").to_owned();
    assert!(res.header("last-modified").is_some());
    // Unchanged: 304 with no body.
    let again = client.get("/static/css/site.css").header("if-none-match", &etag).send().await;
    assert_eq!(again.status(), 304);
    assert!(again.bytes().is_empty());
    // A byte range.
    let part = client.get("/static/css/site.css").header("range", "bytes=0-3").send().await;
    assert_eq!(part.status(), 206);
    assert_eq!(part.text(), "body");
    // The client takes gzip: the .gz sibling, labelled as such.
    let gz = client.get("/static/css/site.css").header("accept-encoding", "gzip").send().await;
    assert_eq!(gz.header("content-encoding"), Some("gzip"));
    assert_eq!(gz.text(), "not really gzip, but served as the .gz sibling");
    // HEAD: headers, no body.
    let head = client.request(http::Method::HEAD, "/static/css/site.css").send().await;
    assert_eq!(head.status(), 200);
    assert!(head.bytes().is_empty());
    // Other methods are refused.
    let post = client.post("/static/css/site.css").send().await;
    assert_eq!(post.status(), 405);

    // Embedded namespace: served from the binary, with a content ETag...
    let js = client.get("/static/admin/app.js").send().await;
    assert_eq!(js.status(), 200);
    assert_eq!(js.text(), "console.log('admin');");
    assert!(js.header("content-type").is_some_and(|t| t.contains("javascript")));
    let tag = js.header("etag").unwrap().to_owned();
    assert_eq!(client.get("/static/admin/app.js").header("if-none-match", &tag).send().await.status(), 304);
    // ... and the app's folder overrides a battery's file at the same path.
    assert_eq!(client.get("/static/admin/base.css").send().await.text(), "/* the app's own admin css */");
    assert_eq!(client.get("/static/missing.css").send().await.status(), 404);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Every attempt to leave the folder is a 404, however it is encoded.
#[tokio::test]
async fn traversal_attempts_all_answer_404() {
    let dir = folder("traversal");
    let client =
        TestClient::serve(App::new().static_files("/static", StaticFiles::new(dir.join("static")))).await;
    let attempts = [
        "/static/../secret.txt",
        "/static/%2e%2e/secret.txt",
        "/static/%2E%2E/secret.txt",
        "/static/%2e%2e%2fsecret.txt",
        "/static/.%2e/secret.txt",
        "/static/%2e./secret.txt",
        "/static/..%2fsecret.txt",
        "/static/..%2Fsecret.txt",
        "/static/..%5csecret.txt",
        "/static/..%5Csecret.txt",
        "/static/..\\secret.txt",
        "/static/%5c..%5csecret.txt",
        "/static/css/../../secret.txt",
        "/static/css/%2e%2e/%2e%2e/secret.txt",
        "/static//etc/passwd",
        "/static/%2fetc%2fpasswd",
        "/static/css/site.css%00.png",
        "/static/%00",
        "/static/%252e%252e/secret.txt",
        "/static/C:%5cWindows%5cwin.ini",
        "/static/./css/site.css",
        "/static/css//site.css",
        "/static/escape.txt",
        "/static/",
        "/static/css",
    ];
    assert!(attempts.len() >= 20);
    for attempt in attempts {
        let res = client.get(attempt).send().await;
        assert_eq!(res.status(), 404, "{attempt} answered {}", res.status());
        assert!(!res.text().contains("outside the folder"), "{attempt} leaked the file");
    }
    // Overlong UTF-8 dots are not UTF-8 at all: brisk's one rule for any path, before routing,
    // is a 400 saying so.
    for attempt in ["/static/%c0%ae%c0%ae/secret.txt", "/static/%e0%80%ae%e0%80%ae/secret.txt"] {
        let res = client.get(attempt).send().await;
        assert_eq!(res.status(), 400, "{attempt}");
        assert!(!res.text().contains("outside the folder"));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn collectstatic_hashes_names_and_those_are_cached_for_a_year() {
    let dir = folder("collect");
    let files = StaticFiles::new(dir.join("static")).namespace("admin", ADMIN);
    let out = dir.join("collected");
    let done = collect(&files, &out).unwrap();
    assert_eq!(done.files, 3); // css/site.css, admin/base.css (the app's), admin/app.js; not the link out
    let manifest = Manifest::load(&out).unwrap().unwrap();
    let hashed = manifest.hashed("css/site.css").unwrap().to_owned();
    assert!(hashed.starts_with("css/site.") && hashed.ends_with(".css") && hashed != "css/site.css");
    assert!(out.join(&hashed).is_file() && out.join("css/site.css").is_file());
    assert!(out.join(format!("{hashed}.gz")).is_file() && out.join(format!("{hashed}.br")).is_file());
    assert_eq!(std::fs::read_to_string(out.join("admin/base.css")).unwrap(), "/* the app's own admin css */");
    assert!(!out.join("escape.txt").exists(), "a link out of the folder is not collected");

    let served = StaticFiles::new(dir.join("static")).collected(&out).unwrap();
    assert_eq!(served.url("css/site.css"), format!("/static/{hashed}"));
    let client = TestClient::serve(App::new().static_files("/assets", served)).await;
    let res = client.get(&format!("/assets/{hashed}")).header("accept-encoding", "br").send().await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.header("cache-control"), Some("public, max-age=31536000, immutable"));
    assert_eq!(res.header("content-encoding"), Some("br"));
    let plain = client.get("/assets/css/site.css").send().await;
    assert_eq!(plain.header("cache-control"), Some("no-cache"));
    assert_eq!(plain.text(), CSS.repeat(20));
    // A folder without a manifest is refused with what to do.
    let err = StaticFiles::new("static").collected(dir.join("static")).err().unwrap();
    assert!(err.to_string().contains("run `collectstatic"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[cfg(feature = "cli")]
#[test]
fn the_collectstatic_command_writes_the_folder() {
    let dir = folder("command");
    let app =
        App::new().static_files("/static", StaticFiles::new(dir.join("static")).namespace("admin", ADMIN));
    let out = dir.join("out");
    let mut printed = Vec::new();
    let args = ["app", "collectstatic", "--output", out.to_str().unwrap()];
    assert_eq!(brisk::cli::run(app, args, &mut printed), 0);
    let printed = String::from_utf8(printed).unwrap();
    assert!(printed.starts_with("3 static files collected into"), "{printed}");
    assert!(Manifest::load(&out).unwrap().is_some());
    let _ = std::fs::remove_dir_all(&dir);
}

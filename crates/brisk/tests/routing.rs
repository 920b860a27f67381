//! Routing through the public API: 404, 405 with Allow, HEAD, params, nesting, merging,
//! fallbacks, and routes refused at build time.

use brisk::prelude::*;
use brisk::testing::TestClient;
use serde_json::{json, Value};

async fn ok() -> &'static str {
    "ok"
}

async fn echo_rest(Path(rest): Path<String>) -> String {
    rest
}

async fn two(Path((a, b)): Path<(String, u32)>) -> String {
    format!("{a}:{b}")
}

#[tokio::test]
async fn not_found_and_method_not_allowed() {
    let client = TestClient::new(App::new().route("/a", get(ok).post(ok)));
    let res = client.get("/b").send().await;
    assert_eq!(res.status(), 404);
    assert_eq!(res.json::<Value>(), json!({"detail": "Not Found"}));

    let res = client.put("/a").send().await;
    assert_eq!(res.status(), 405);
    assert_eq!(res.header("allow"), Some("GET, HEAD, POST"));
    assert_eq!(res.json::<Value>(), json!({"detail": "Method Not Allowed"}));
}

#[tokio::test]
async fn head_answers_like_get_without_a_body() {
    let client = TestClient::serve(App::new().route("/a", get(ok))).await;
    let res = client.head("/a").send().await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.header("content-length"), Some("2"));
    assert!(res.bytes().is_empty());
}

#[tokio::test]
async fn params_rest_and_tuples() {
    let app = App::new().route("/files/{*path}", get(echo_rest)).route("/pair/{a}/{b}", get(two));
    let client = TestClient::new(app);
    assert_eq!(client.get("/files/a/b/c.txt").send().await.text(), "a/b/c.txt");
    assert_eq!(client.get("/pair/x%20y/7").send().await.text(), "x y:7");
    let res = client.get("/pair/x/seven").send().await;
    assert_eq!(res.status(), 422);
    assert_eq!(res.json::<Value>()["detail"][0]["loc"], json!(["path", "b"]));
    let res = client.get("/pair/%FF/1").send().await;
    assert_eq!(res.status(), 400);
}

#[tokio::test]
async fn nested_and_merged_routers() {
    let admin =
        Router::new().route("/", get(|| async { "admin home" })).route("/stats", get(|| async { "stats" }));
    let api = Router::new().route("/v1/ping", get(|| async { "pong" }));
    let app = App::new().nest("/admin", admin).merge(api);
    let client = TestClient::new(app);
    assert_eq!(client.get("/admin").send().await.text(), "admin home");
    assert_eq!(client.get("/admin/stats").send().await.text(), "stats");
    assert_eq!(client.get("/v1/ping").send().await.text(), "pong");
    assert_eq!(client.get("/stats").send().await.status(), 404);
}

#[tokio::test]
async fn nested_router_keeps_its_own_layers() {
    use brisk::middleware::{from_fn, Next};
    async fn tag(req: brisk::extract::Request, next: Next) -> Response {
        let mut res = next.run(req).await;
        res.headers_mut().insert("x-admin", brisk::http::HeaderValue::from_static("1"));
        res
    }
    let admin = Router::new().route("/stats", get(ok)).layer(from_fn(tag));
    let client = TestClient::new(App::new().route("/public", get(ok)).nest("/admin", admin));
    assert_eq!(client.get("/admin/stats").send().await.header("x-admin"), Some("1"));
    assert_eq!(client.get("/public").send().await.header("x-admin"), None);
}

#[tokio::test]
async fn fallback_replaces_the_404() {
    let app =
        App::new().route("/a", get(ok)).fallback(|| async { (StatusCode::NOT_FOUND, "custom missing") });
    let client = TestClient::new(app);
    let res = client.get("/zzz").send().await;
    assert_eq!(res.status(), 404);
    assert_eq!(res.text(), "custom missing");
}

#[test]
fn conflicting_routes_refuse_to_build() {
    let app = App::new()
        .route("/items/{id}", get(ok))
        .route("/items/{name}", post(ok))
        .route("/x", get(ok))
        .route("/x", get(ok));
    let err = match app.build() {
        Ok(_) => panic!("conflicting routes built"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("`/items/{name}` conflicts with route `/items/{id}`"), "{err}");
    assert!(err.contains("GET /x is registered twice"), "{err}");
}

#[test]
fn bad_paths_refuse_to_build() {
    let err = App::new().route("no-slash", get(ok)).nest("/trailing/", Router::new()).build().err();
    let err = err.map(|e| e.to_string()).unwrap_or_default();
    assert!(err.contains("must start with `/`") && err.contains("`/trailing/`"), "{err}");
}

async fn echo_body(body: String) -> String {
    body
}

#[tokio::test]
async fn trailing_slash_is_exact_by_default() {
    let client = TestClient::new(App::new().route("/items", get(ok)).route("/dir/", get(ok)));
    assert_eq!(client.get("/items/").send().await.status(), 404);
    assert_eq!(client.get("/dir").send().await.status(), 404);
    assert_eq!(client.get("/items").send().await.status(), 200);
}

#[tokio::test]
async fn trailing_slash_redirect_keeps_method_and_query() {
    let app = App::new()
        .route("/items", get(ok).post(echo_body))
        .route("/dir/", get(ok))
        .route("/users/{id}", get(echo_rest))
        .redirect_trailing_slash(true);
    let client = TestClient::new(app);

    let res = client.get("/items/?page=2&sort=name%20asc").send().await;
    assert_eq!(res.status(), 307, "307: the client repeats the method and body");
    assert_eq!(res.header("location"), Some("/items?page=2&sort=name%20asc"));
    assert!(res.bytes().is_empty());

    let res = client.post("/items/").body("payload").send().await;
    assert_eq!(res.status(), 307);
    assert_eq!(res.header("location"), Some("/items"));

    let res = client.get("/dir").send().await;
    assert_eq!(res.status(), 307);
    assert_eq!(res.header("location"), Some("/dir/"));

    let res = client.get("/users/7/").send().await;
    assert_eq!(res.status(), 307);
    assert_eq!(res.header("location"), Some("/users/7"));

    // A method the other path does not take is still redirected; it is that path's 405.
    assert_eq!(client.put("/items/").send().await.status(), 307);
    assert_eq!(client.put("/items").send().await.status(), 405);

    // Neither form routed: a 404, not a redirect.
    assert_eq!(client.get("/nothing/").send().await.status(), 404);
    assert_eq!(client.get("/nothing").send().await.status(), 404);
    assert_eq!(client.get("/items//").send().await.status(), 404, "one slash at a time");
    // Routed paths answer themselves.
    assert_eq!(client.get("/items").send().await.text(), "ok");
    assert_eq!(client.post("/items").body("payload").send().await.text(), "payload");
    assert_eq!(client.get("/dir/").send().await.status(), 200);
}

#[tokio::test]
async fn trailing_slash_redirect_never_when_both_forms_are_routed() {
    async fn slash() -> &'static str {
        "slash"
    }
    let app = App::new().route("/x", get(ok)).route("/x/", get(slash)).redirect_trailing_slash(true);
    let client = TestClient::new(app);
    assert_eq!(client.get("/x").send().await.text(), "ok");
    assert_eq!(client.get("/x/").send().await.text(), "slash");
}

#[tokio::test]
async fn trailing_slash_redirect_is_never_an_open_redirect() {
    // Even a route whose path starts with `//`: `Location: //evil.example` is another host.
    async fn other() -> &'static str {
        "other"
    }
    let app = App::new()
        .route("//evil.example", get(ok))
        .route("/evil.example", get(other))
        .redirect_trailing_slash(true);
    let client = TestClient::new(app);
    assert_eq!(client.get("//evil.example").send().await.text(), "ok", "the path keeps its `//`");
    let res = client.get("//evil.example/").send().await;
    assert_ne!(res.status(), 307, "{:?}", res.header("location"));
    assert!(res.header("location").is_none());
    let res = client.get("//evil.example/?next=1").send().await;
    assert!(res.header("location").is_none());
    // A single leading slash is a path on this host: redirected as usual.
    let res = client.get("/evil.example/").send().await;
    assert_eq!(res.header("location"), Some("/evil.example"));
}

#[tokio::test]
async fn trailing_slash_redirect_comes_before_the_fallback() {
    async fn fallback() -> &'static str {
        "fallback"
    }
    let app = App::new().route("/items", get(ok)).fallback(fallback).redirect_trailing_slash(true);
    let client = TestClient::new(app);
    assert_eq!(client.get("/items/").send().await.status(), 307);
    assert_eq!(client.get("/other/").send().await.text(), "fallback");
    let off = TestClient::new(App::new().route("/items", get(ok)).fallback(fallback));
    assert_eq!(off.get("/items/").send().await.text(), "fallback");
}

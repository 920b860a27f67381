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

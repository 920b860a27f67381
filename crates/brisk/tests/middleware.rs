//! Tower layers (tower-http's CORS, compression, trace, timeout), `from_fn`, error formatters,
//! responses, and the test client in both modes.

use std::time::Duration;

use brisk::error::{Error, ProblemJsonFormatter};
use brisk::extract::Request;
use brisk::middleware::{from_fn, Next};
use brisk::prelude::*;
use brisk::testing::TestClient;
use serde_json::{json, Value};

async fn hello() -> &'static str {
    "hello"
}

#[tokio::test]
async fn cors_layer_answers_preflight_and_tags_responses() {
    let app = App::new().route("/", get(hello)).layer(tower_http::cors::CorsLayer::permissive());
    let client = TestClient::new(app);
    let res = client.get("/").header("origin", "http://example.test").send().await;
    assert_eq!(res.header("access-control-allow-origin"), Some("*"));
    let res = client
        .request(http::Method::OPTIONS, "/")
        .header("origin", "http://example.test")
        .header("access-control-request-method", "POST")
        .send()
        .await;
    assert_eq!(res.status(), 200);
    assert!(res.header("access-control-allow-methods").is_some());
}

#[tokio::test]
async fn compression_layer_gzips_large_bodies() {
    let big = || async { "x".repeat(10_000) };
    let app = App::new().route("/big", get(big)).layer(tower_http::compression::CompressionLayer::new());
    let client = TestClient::serve(app).await;
    let res = client.get("/big").header("accept-encoding", "gzip").send().await;
    assert_eq!(res.header("content-encoding"), Some("gzip"));
    assert!(res.bytes().len() < 1000, "compressed to {} bytes", res.bytes().len());
}

#[tokio::test]
async fn timeout_layer_cuts_slow_handlers() {
    let slow = || async {
        tokio::time::sleep(Duration::from_secs(5)).await;
        "late"
    };
    let app = App::new().route("/slow", get(slow)).route("/fast", get(hello)).layer(
        tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::GATEWAY_TIMEOUT,
            Duration::from_millis(50),
        ),
    );
    let client = TestClient::new(app);
    assert_eq!(client.get("/slow").send().await.status(), 504);
    assert_eq!(client.get("/fast").send().await.text(), "hello");
}

#[tokio::test]
async fn trace_layer_wraps_requests() {
    let app = App::new().route("/", get(hello)).layer(tower_http::trace::TraceLayer::new_for_http());
    let client = TestClient::new(app);
    assert_eq!(client.get("/").send().await.text(), "hello");
}

async fn require_key(req: Request, next: Next) -> Response {
    if req.headers().get("x-key").map(|v| v.as_bytes()) != Some(b"secret") {
        return Error::http(StatusCode::UNAUTHORIZED, "Not authenticated").into_response();
    }
    let mut res = next.run(req).await;
    res.headers_mut().insert("x-checked", http::HeaderValue::from_static("yes"));
    res
}

#[tokio::test]
async fn from_fn_can_short_circuit_or_pass_on() {
    let client = TestClient::new(App::new().route("/", get(hello)).layer(from_fn(require_key)));
    let res = client.get("/").send().await;
    assert_eq!(res.status(), 401);
    assert_eq!(res.json::<Value>(), json!({"detail": "Not authenticated"}));
    let res = client.get("/").header("x-key", "secret").send().await;
    assert_eq!(res.text(), "hello");
    assert_eq!(res.header("x-checked"), Some("yes"));
}

#[tokio::test]
async fn the_error_formatter_can_be_replaced() {
    #[derive(Deserialize, JsonSchema, Validate)]
    struct P {
        #[validate(gt = 0)]
        id: i64,
    }
    async fn item(Path(_p): Path<P>) -> Result<&'static str> {
        Err(Error::http(StatusCode::CONFLICT, "taken"))
    }
    let app = App::new().route("/items/{id}", get(item)).error_formatter(ProblemJsonFormatter);
    let client = TestClient::new(app);
    let res = client.get("/items/1").send().await;
    assert_eq!(res.status(), 409);
    assert_eq!(res.header("content-type"), Some("application/problem+json"));
    assert_eq!(
        res.json::<Value>(),
        json!({"type": "about:blank", "title": "Conflict", "status": 409, "detail": "taken"})
    );
    let res = client.get("/items/0").send().await;
    assert_eq!(res.status(), 422);
    assert_eq!(res.json::<Value>()["errors"][0]["type"], "greater_than");
    let res = client.get("/missing").send().await;
    assert_eq!(res.json::<Value>()["title"], "Not Found");

    // HEAD gets the formatted error's headers, its length included, and no body.
    let get = client.get("/items/1").send().await;
    let head = client.head("/items/1").send().await;
    assert_eq!(head.status(), 409);
    assert_eq!(head.header("content-type"), Some("application/problem+json"));
    assert_eq!(head.header("content-length").map(str::to_owned), Some(get.bytes().len().to_string()));
    assert!(head.bytes().is_empty(), "{}", head.text());
}

#[tokio::test]
async fn internal_errors_never_leak() {
    async fn fails() -> Result<String> {
        let n: i32 = "not a number".parse()?;
        Ok(n.to_string())
    }
    let client = TestClient::new(App::new().route("/", get(fails)));
    let res = client.get("/").send().await;
    assert_eq!(res.status(), 500);
    assert_eq!(res.text(), r#"{"detail":"Internal Server Error"}"#);
}

#[tokio::test]
async fn responses_of_every_shape() {
    let app = App::new()
        .route("/html", get(|| async { Html("<b>hi</b>") }))
        .route("/redirect", get(|| async { Redirect::to("/html") }))
        .route("/created", post(|| async { (StatusCode::CREATED, Json(json!({"ok": true}))) }))
        .route("/headers", get(|| async { ([("x-a", "1"), ("x-b", "2")], "with headers") }))
        .route("/status", get(|| async { StatusCode::ACCEPTED }))
        .route(
            "/stream",
            get(|| async {
                let chunks = futures_util::stream::iter(["a", "b", "c"].map(Ok::<_, std::io::Error>));
                brisk::body::Body::from_stream(chunks)
            }),
        )
        .route(
            "/err-keeps-status",
            get(|| async { (StatusCode::CREATED, Err::<&str, _>(Error::not_found())) }),
        );
    for client in [TestClient::new(App::new()), TestClient::serve(App::new()).await] {
        assert_eq!(client.get("/").send().await.status(), 404);
    }
    let client = TestClient::serve(app).await;
    let res = client.get("/html").send().await;
    assert_eq!(res.header("content-type"), Some("text/html; charset=utf-8"));
    let res = client.get("/redirect").send().await;
    assert_eq!((res.status().as_u16(), res.header("location")), (303, Some("/html")));
    let res = client.post("/created").send().await;
    assert_eq!((res.status().as_u16(), res.text()), (201, r#"{"ok":true}"#.to_owned()));
    let res = client.get("/headers").send().await;
    assert_eq!((res.header("x-a"), res.header("x-b")), (Some("1"), Some("2")));
    assert_eq!(client.get("/status").send().await.status(), 202);
    assert_eq!(client.get("/stream").send().await.text(), "abc");
    assert_eq!(client.get("/err-keeps-status").send().await.status(), 404);
}

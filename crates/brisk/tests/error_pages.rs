//! Error pages over a real socket: browsers (whose `Accept` prefers HTML) get HTML 404, 405,
//! 422 and 500 pages, everything escaped; API clients get FastAPI's JSON unchanged; both are
//! marked `Vary: Accept`. Also behind app layers, for panics, and switched off.

use brisk::prelude::*;
use brisk::testing::TestClient;
use serde_json::{json, Value};

const BROWSER: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

async fn ok() -> &'static str {
    "ok"
}

async fn missing_note(Path(id): Path<String>) -> Result<String> {
    Err(Error::http(StatusCode::NOT_FOUND, format!("No note <{id}>")))
}

async fn broken() -> Result<String> {
    Err(Error::internal("the database password is hunter2"))
}

async fn panics() -> String {
    panic!("boom <script>")
}

#[derive(Deserialize, JsonSchema, Validate)]
struct Page {
    #[validate(ge = 1)]
    page: i64,
}

async fn list(Query(p): Query<Page>) -> String {
    p.page.to_string()
}

fn app() -> App {
    App::new()
        .route("/ok", get(ok))
        .route("/notes/{id}", get(missing_note))
        .route("/broken", get(broken))
        .route("/panics", get(panics))
        .route("/list", get(list))
}

fn is_html(res: &brisk::testing::TestResponse) -> bool {
    res.header("content-type") == Some("text/html; charset=utf-8")
}

#[tokio::test]
async fn browsers_get_html_pages_and_api_clients_the_same_json() {
    let client = TestClient::serve(app()).await;

    // 404 of no route.
    let res = client.get("/nowhere").header("accept", BROWSER).send().await;
    assert_eq!(res.status(), 404);
    assert!(is_html(&res), "{:?}", res.headers());
    assert!(res.text().starts_with("<!doctype html>"), "{}", res.text());
    assert!(res.text().contains("<title>404 Not Found</title>"), "{}", res.text());
    assert_eq!(res.header("vary"), Some("accept"));
    for accept in [None, Some("application/json"), Some("*/*"), Some("application/json, text/html")] {
        let mut req = client.get("/nowhere");
        if let Some(accept) = accept {
            req = req.header("accept", accept);
        }
        let res = req.send().await;
        assert_eq!(res.status(), 404);
        assert_eq!(res.header("content-type"), Some("application/json"), "{accept:?}");
        assert_eq!(res.json::<Value>(), json!({"detail": "Not Found"}), "{accept:?}");
        assert_eq!(res.header("vary"), Some("accept"));
    }

    // A handler's 404: its detail, escaped.
    let res = client.get("/notes/%3Cscript%3Ealert(1)%3C%2Fscript%3E").header("accept", BROWSER).send().await;
    assert_eq!(res.status(), 404);
    assert!(res.text().contains("No note &lt;&lt;script&gt;alert(1)&lt;/script&gt;&gt;"), "{}", res.text());
    assert!(!res.text().contains("<script>"), "{}", res.text());
    let res = client.get("/notes/7").send().await;
    assert_eq!(res.json::<Value>(), json!({"detail": "No note <7>"}));

    // 405 keeps its Allow header.
    let res = client.post("/ok").header("accept", BROWSER).send().await;
    assert_eq!(res.status(), 405);
    assert!(is_html(&res));
    assert!(res.text().contains("405 Method Not Allowed"), "{}", res.text());
    assert_eq!(res.header("allow"), Some("GET, HEAD"));
    let res = client.post("/ok").send().await;
    assert_eq!(res.json::<Value>(), json!({"detail": "Method Not Allowed"}));

    // 500: nothing of the cause.
    let res = client.get("/broken").header("accept", BROWSER).send().await;
    assert_eq!(res.status(), 500);
    assert!(is_html(&res));
    assert!(res.text().contains("500 Internal Server Error"), "{}", res.text());
    assert!(!res.text().contains("hunter2"), "{}", res.text());
    let res = client.get("/broken").send().await;
    assert_eq!(res.json::<Value>(), json!({"detail": "Internal Server Error"}));

    // A panic's 500.
    let res = client.get("/panics").header("accept", BROWSER).send().await;
    assert_eq!(res.status(), 500);
    assert!(is_html(&res));
    assert!(!res.text().contains("boom"), "{}", res.text());
    let res = client.get("/panics").send().await;
    assert_eq!(res.json::<Value>(), json!({"detail": "Internal Server Error"}));

    // 422 of a query: the messages by field, the input escaped.
    let res = client.get("/list?page=0").header("accept", BROWSER).send().await;
    assert_eq!(res.status(), 422);
    assert!(is_html(&res));
    assert!(
        res.text().contains("<strong>page</strong>: Input should be greater than or equal to 1"),
        "{}",
        res.text()
    );
    let res = client.get("/list?page=0").send().await;
    assert_eq!(res.json::<Value>()["detail"][0]["loc"], json!(["query", "page"]));

    // Success is untouched.
    let res = client.get("/ok").header("accept", BROWSER).send().await;
    assert_eq!(res.text(), "ok");
    assert_eq!(res.header("vary"), None);
}

#[tokio::test]
async fn head_of_an_html_error_has_no_body() {
    let client = TestClient::serve(app()).await;
    let res = client.head("/nowhere").header("accept", BROWSER).send().await;
    assert_eq!(res.status(), 404);
    assert!(is_html(&res));
    assert!(res.bytes().is_empty());
}

#[tokio::test]
async fn pages_work_behind_app_layers_too() {
    let app = app().layer(tower_http::cors::CorsLayer::permissive());
    let client = TestClient::serve(app).await;
    let res = client.get("/nowhere").header("accept", BROWSER).send().await;
    assert_eq!(res.status(), 404);
    assert!(is_html(&res));
    let res = client.get("/panics").header("accept", BROWSER).send().await;
    assert_eq!(res.status(), 500);
    assert!(is_html(&res), "{:?}", res.headers());
    let res = client.get("/panics").send().await;
    assert_eq!(res.json::<Value>(), json!({"detail": "Internal Server Error"}));
}

#[tokio::test]
async fn an_app_formatter_still_renders_for_api_clients() {
    let app = app().error_formatter(brisk::error::ProblemJsonFormatter);
    let client = TestClient::new(app);
    let res = client.get("/nowhere").send().await;
    assert_eq!(res.header("content-type"), Some("application/problem+json"));
    let res = client.get("/nowhere").header("accept", BROWSER).send().await;
    assert!(is_html(&res));
}

#[tokio::test]
async fn pages_can_be_switched_off() {
    let client = TestClient::new(app().html_error_pages(false));
    let res = client.get("/nowhere").header("accept", BROWSER).send().await;
    assert_eq!(res.json::<Value>(), json!({"detail": "Not Found"}));
    assert_eq!(res.header("vary"), None);
}

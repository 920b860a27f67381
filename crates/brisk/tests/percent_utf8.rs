//! One rule for percent-escapes that decode to bytes that are not UTF-8 (`%FF`), in the path,
//! the query (names and values) and form bodies: a 400 naming where, never a silent `�`; and
//! valid multibyte UTF-8 still reads back as sent.

use brisk::extract::FormResult;
use brisk::prelude::*;
use brisk::testing::TestClient;
use serde_json::{json, Value};

#[derive(Deserialize, JsonSchema, Validate)]
struct Search {
    q: Option<String>,
}

async fn file(Path(name): Path<String>) -> String {
    name
}

async fn search(Query(s): Query<Search>) -> String {
    s.q.unwrap_or_default()
}

async fn maybe_search(s: Option<Query<Search>>) -> String {
    s.and_then(|Query(s)| s.q).unwrap_or_default()
}

async fn form(Form(s): Form<Search>) -> String {
    s.q.unwrap_or_default()
}

async fn form_result(s: FormResult<Search>) -> String {
    s.into_inner().ok().and_then(|s| s.q).unwrap_or_default()
}

fn app() -> App {
    App::new()
        .route("/files/{name}", get(file))
        .route("/search", get(search))
        .route("/maybe", get(maybe_search))
        .route("/form", post(form))
        .route("/form-result", post(form_result))
}

fn not_utf8(place: &str, raw: &str) -> Value {
    json!({ "detail": format!("Invalid {place}: `{raw}` decodes to bytes that are not valid UTF-8") })
}

#[tokio::test]
async fn a_path_parameter_that_is_not_utf8_is_a_400_naming_it() {
    let client = TestClient::new(app());
    let res = client.get("/files/caf%E9").send().await;
    assert_eq!(res.status(), 400);
    assert_eq!(res.json::<Value>(), not_utf8("path parameter `name`", "caf%E9"));
    // A truncated sequence too (the first two bytes of `€`).
    let res = client.get("/files/%E2%82").send().await;
    assert_eq!(res.json::<Value>(), not_utf8("path parameter `name`", "%E2%82"));
}

#[tokio::test]
async fn a_query_value_that_is_not_utf8_is_a_400_naming_its_parameter() {
    let client = TestClient::new(app());
    for path in ["/search?q=%FF", "/maybe?q=%FF"] {
        let res = client.get(path).send().await;
        assert_eq!(res.status(), 400, "{path}");
        assert_eq!(res.json::<Value>(), not_utf8("query parameter `q`", "%FF"), "{path}");
    }
}

#[tokio::test]
async fn a_query_name_that_is_not_utf8_is_a_400_too() {
    let client = TestClient::new(app());
    // Even a name the handler does not read: it cannot know the name is not `q`.
    let res = client.get("/search?q=ok&x%FFy=1").send().await;
    assert_eq!(res.status(), 400);
    assert_eq!(res.json::<Value>(), not_utf8("query parameter name", "x%FFy"));
}

#[tokio::test]
async fn form_bodies_follow_the_same_rule() {
    let client = TestClient::new(app());
    let post = |path: &'static str, body: &'static [u8]| {
        client.post(path).header("content-type", "application/x-www-form-urlencoded").body(body)
    };
    for path in ["/form", "/form-result"] {
        let res = post(path, b"q=caf%E9").send().await;
        assert_eq!(res.status(), 400, "{path}");
        assert_eq!(res.json::<Value>(), not_utf8("form field `q`", "caf%E9"), "{path}");
        // Bytes that are not UTF-8 sent as they are, not escaped: the same.
        let res = post(path, b"q=caf\xe9").send().await;
        assert_eq!(res.status(), 400, "{path}");
        assert_eq!(res.json::<Value>(), not_utf8("form field `q`", "caf\u{FFFD}"), "{path}");
    }
}

#[tokio::test]
async fn valid_multibyte_utf8_reads_back_as_sent() {
    let client = TestClient::new(app());
    // é (2 bytes), € (3), 🦀 (4), and `+` as a space in the query.
    assert_eq!(client.get("/files/caf%C3%A9%E2%82%AC%F0%9F%A6%80").send().await.text(), "café€🦀");
    assert_eq!(client.get("/search?q=caf%C3%A9+%E2%82%AC%F0%9F%A6%80").send().await.text(), "café €🦀");
    assert_eq!(client.get("/maybe?q=%C3%A9").send().await.text(), "é");
    assert_eq!(client.get("/search?caf%C3%A9=1&q=ok").send().await.text(), "ok", "a UTF-8 name");
    let res = client
        .post("/form")
        .header("content-type", "application/x-www-form-urlencoded")
        .body("q=caf%C3%A9+%F0%9F%A6%80")
        .send()
        .await;
    assert_eq!(res.text(), "café 🦀");
}

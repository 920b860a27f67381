//! What real clients send that a strict reading would refuse (issue 13, item 11): a UTF-8
//! byte-order mark before JSON, an empty form field for an optional value, and a form sent as
//! `multipart/form-data` (`curl -F`, a browser's `FormData`, `requests` with `files=`).

use brisk::prelude::*;
use brisk::testing::TestClient;
use serde_json::{json, Value};

#[derive(Debug, Serialize, Deserialize, JsonSchema, Validate)]
struct Note {
    title: String,
}

async fn note(Json(note): Json<Note>) -> Json<Note> {
    Json(note)
}

/// OAuth2's password form, as FastAPI's `OAuth2PasswordRequestForm` reads it.
#[derive(Debug, Serialize, Deserialize, JsonSchema, Validate)]
struct TokenForm {
    username: String,
    password: String,
    grant_type: Option<String>,
    #[serde(default)]
    scope: String,
}

async fn token(Form(form): Form<TokenForm>) -> Json<TokenForm> {
    Json(form)
}

fn client() -> TestClient {
    TestClient::new(App::new().route("/notes", post(note)).route("/token", post(token)))
}

#[tokio::test]
async fn a_byte_order_mark_before_json_is_skipped() {
    let client = client();
    let mut body = b"\xEF\xBB\xBF".to_vec();
    body.extend_from_slice(br#"{"title": "with a BOM"}"#);
    let res = client.post("/notes").header("content-type", "application/json").body(body).send().await;
    assert_eq!(res.status(), 200, "{}", res.text());
    assert_eq!(res.json::<Value>(), json!({"title": "with a BOM"}));
    // Only at the start: a BOM inside the document is still invalid JSON.
    let res = client
        .post("/notes")
        .header("content-type", "application/json")
        .body(b"{\"title\": \"x\"}\xEF\xBB\xBF".to_vec())
        .send()
        .await;
    assert_eq!(res.status(), 422, "{}", res.text());
}

#[tokio::test]
async fn an_empty_form_field_counts_as_absent() {
    let client = client();
    let res = client
        .post("/token")
        .header("content-type", "application/x-www-form-urlencoded")
        .body("username=alice&password=secret&grant_type=&scope=")
        .send()
        .await;
    assert_eq!(res.status(), 200, "{}", res.text());
    assert_eq!(
        res.json::<Value>(),
        json!({"username": "alice", "password": "secret", "grant_type": null, "scope": ""})
    );
    // A required field sent empty is missing, as in FastAPI.
    let res = client
        .post("/token")
        .header("content-type", "application/x-www-form-urlencoded")
        .body("username=&password=secret")
        .send()
        .await;
    assert_eq!(res.status(), 422, "{}", res.text());
    let detail = res.json::<Value>()["detail"].clone();
    assert_eq!(detail[0]["type"], "missing", "{detail}");
    assert_eq!(detail[0]["loc"], json!(["body", "username"]), "{detail}");
}

fn multipart(parts: &[(&str, Option<&str>, &str)]) -> (String, Vec<u8>) {
    let boundary = "brisk-test-boundary-7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (name, file, value) in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match file {
            Some(file) => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{file}\"\r\nContent-Type: text/plain\r\n\r\n")
                    .as_bytes(),
            ),
            None => body.extend_from_slice(format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes()),
        }
        body.extend_from_slice(value.as_bytes());
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[tokio::test]
async fn a_form_may_come_as_multipart() {
    let client = client();
    let (content_type, body) = multipart(&[
        ("username", None, "alice"),
        ("password", None, "s3cret & more"),
        ("grant_type", None, ""),
        ("attachment", Some("notes.txt"), "a file's text is not a field"),
    ]);
    let res = client.post("/token").header("content-type", &content_type).body(body).send().await;
    assert_eq!(res.status(), 200, "{}", res.text());
    assert_eq!(
        res.json::<Value>(),
        json!({"username": "alice", "password": "s3cret & more", "grant_type": null, "scope": ""})
    );
    // The same validation as the urlencoded form: a missing field is a 422 at its place.
    let (content_type, body) = multipart(&[("username", None, "alice")]);
    let res = client.post("/token").header("content-type", &content_type).body(body).send().await;
    assert_eq!(res.status(), 422, "{}", res.text());
    assert_eq!(res.json::<Value>()["detail"][0]["loc"], json!(["body", "password"]));
    // A broken multipart body is a 400, not a 500.
    let res = client
        .post("/token")
        .header("content-type", "multipart/form-data; boundary=nothing-like-it")
        .body("garbage")
        .send()
        .await;
    assert_eq!(res.status(), 400, "{}", res.text());
    // Another media type is a 415 naming both that a form accepts.
    let res = client.post("/token").json(&json!({"username": "alice"})).send().await;
    assert_eq!(res.status(), 415);
    assert!(
        res.text().contains("application/x-www-form-urlencoded or multipart/form-data"),
        "{}",
        res.text()
    );
}

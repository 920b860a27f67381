//! HTML forms that show their errors back (`FormResult<T>`, `FormErrors`): the handler gets the
//! errors keyed by field and the submitted values; returned, the errors answer a browser's form
//! post with an HTML 422 listing them with the values, and an API client with FastAPI's JSON
//! 422, exactly as `Form<T>` answers it. Multipart forms follow the same rules, files set apart.

use brisk::extract::{FormErrors, FormResult, FormValues};
use brisk::prelude::*;
use brisk::testing::TestClient;
use serde_json::{json, Value};

const BROWSER: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
const FORM: &str = "application/x-www-form-urlencoded";

#[derive(Debug, Deserialize, JsonSchema, Validate)]
struct NoteForm {
    #[validate(min_length = 1, max_length = 20)]
    title: String,
    #[validate(ge = 1, le = 5)]
    stars: i64,
}

/// The handler's own view of the form: what it got, as JSON.
async fn inspect(form: FormResult<NoteForm>) -> Json<Value> {
    let values = serde_json::to_value(form.values()).unwrap_or_default();
    match form.into_inner() {
        Ok(note) => Json(json!({"ok": {"title": note.title, "stars": note.stars}, "values": values})),
        Err(errors) => Json(json!({
            "errors": errors,
            "title": errors.get("title"),
            "values": errors.values(),
        })),
    }
}

async fn create(form: FormResult<NoteForm>) -> Result<Redirect, FormErrors> {
    let values = form.values().clone();
    let note = form.into_inner()?;
    if note.title == "taken" {
        return Err(FormErrors::new(values).with("title", "This title is taken."));
    }
    Ok(Redirect::to("/notes"))
}

async fn create_plain(Form(note): Form<NoteForm>) -> Redirect {
    let _ = note;
    Redirect::to("/notes")
}

fn app() -> App {
    App::new()
        .route("/inspect", post(inspect))
        .route("/notes", post(create))
        .route("/plain", post(create_plain))
}

#[tokio::test]
async fn the_handler_gets_errors_by_field_and_the_values() {
    let client = TestClient::new(app());
    let res = client.post("/inspect").header("content-type", FORM).body("title=Hi&stars=3").send().await;
    assert_eq!(
        res.json::<Value>(),
        json!({"ok": {"title": "Hi", "stars": 3}, "values": {"title": "Hi", "stars": "3"}})
    );

    let res =
        client.post("/inspect").header("content-type", FORM).body("title=&stars=9&tag=a&tag=b").send().await;
    assert_eq!(res.status(), 200, "the handler answers, not brisk");
    assert_eq!(
        res.json::<Value>(),
        json!({
            "errors": {
                "title": ["Field required"],
                "stars": ["Input should be less than or equal to 5"],
            },
            "title": ["Field required"],
            "values": {"title": "", "stars": "9", "tag": ["a", "b"]},
        })
    );

    let res = client.post("/inspect").header("content-type", FORM).body("stars=x").send().await;
    let body = res.json::<Value>();
    assert_eq!(body["errors"]["title"], json!(["Field required"]));
    assert_eq!(
        body["errors"]["stars"],
        json!(["Input should be a valid integer, unable to parse string as an integer"])
    );

    // Not a form: still a 415, not the handler's.
    let res = client.post("/inspect").json(&json!({"title": "Hi"})).send().await;
    assert_eq!(res.status(), 415);
}

#[tokio::test]
async fn browsers_get_an_html_422_with_errors_and_values_and_api_clients_the_json_one() {
    let client = TestClient::serve(app()).await;
    let body = "title=&stars=9&comment=%3Cscript%3Ealert(1)%3C%2Fscript%3E";

    let res =
        client.post("/notes").header("content-type", FORM).header("accept", BROWSER).body(body).send().await;
    assert_eq!(res.status(), 422);
    assert_eq!(res.header("content-type"), Some("text/html; charset=utf-8"));
    let page = res.text();
    // An empty field counts as absent (FastAPI's and Django's rule): it is required.
    assert!(page.contains("<strong>title</strong>: Field required"), "{page}");
    assert!(page.contains("<strong>stars</strong>: Input should be less than or equal to 5"), "{page}");
    assert!(page.contains("<strong>stars</strong>: <code>9</code>"), "the values: {page}");
    assert!(page.contains("<code>&lt;script&gt;alert(1)&lt;/script&gt;</code>"), "escaped: {page}");
    assert!(!page.contains("<script>"), "{page}");

    // An API client gets exactly what `Form<T>` answers.
    let api = client.post("/notes").header("content-type", FORM).body(body).send().await;
    let plain = client.post("/plain").header("content-type", FORM).body(body).send().await;
    assert_eq!(api.status(), 422);
    assert_eq!(api.header("content-type"), Some("application/json"));
    assert_eq!(api.json::<Value>(), plain.json::<Value>());
    assert_eq!(
        api.json::<Value>()["detail"][0],
        json!({"type": "missing", "loc": ["body", "title"], "msg": "Field required", "input": null})
    );

    // The app's own errors answer the same way.
    let res = client.post("/notes").header("content-type", FORM).body("title=taken&stars=2").send().await;
    assert_eq!(
        res.json::<Value>(),
        json!({"detail": [{"type": "value_error", "loc": ["body", "title"], "msg": "This title is taken.", "input": "taken"}]})
    );
    let res = client.post("/notes").header("content-type", FORM).body("title=ok&stars=2").send().await;
    assert_eq!(res.status(), 303);
}

#[tokio::test]
async fn a_plain_form_posted_by_a_browser_gets_the_html_422_too() {
    let client = TestClient::new(app());
    let res = client
        .post("/plain")
        .header("content-type", FORM)
        .header("accept", BROWSER)
        .body("title=&stars=2")
        .send()
        .await;
    assert_eq!(res.status(), 422);
    assert!(res.text().contains("<strong>title</strong>"), "{}", res.text());
    // An empty field counts as absent (FastAPI's rule for forms): the page says it is required.
    assert!(res.text().contains("Field required"), "the reason: {}", res.text());
}

fn multipart_body(parts: &[(&str, Option<&str>, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, file, data) in parts {
        body.extend_from_slice(b"--XBOUNDARY\r\n");
        let disposition = match file {
            Some(f) => format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\n\r\n"),
            None => format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n"),
        };
        body.extend_from_slice(disposition.as_bytes());
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(b"--XBOUNDARY--\r\n");
    body
}

async fn upload(form: FormResult<NoteForm>) -> Result<String, FormErrors> {
    let files: Vec<String> =
        form.files().iter().map(|f| format!("{}={}:{}", f.field, f.file_name, f.bytes.len())).collect();
    let values = form.values().clone();
    let note = form.into_inner()?;
    if files.is_empty() {
        return Err(FormErrors::new(values).with("photo", "Choose a file."));
    }
    Ok(format!("{} {} {}", note.title, note.stars, files.join(",")))
}

#[tokio::test]
async fn multipart_forms_follow_the_same_rules_with_files_apart() {
    let client = TestClient::new(App::new().route("/up", post(upload)));
    let send = |body: Vec<u8>, accept: &'static str| {
        client
            .post("/up")
            .header("content-type", "multipart/form-data; boundary=XBOUNDARY")
            .header("accept", accept)
            .body(body)
            .send()
    };
    let ok =
        multipart_body(&[("title", None, b"Hi"), ("stars", None, b"2"), ("photo", Some("a.png"), b"12345")]);
    assert_eq!(send(ok, "*/*").await.text(), "Hi 2 photo=a.png:5");

    let bad = multipart_body(&[("title", None, b""), ("stars", None, b"2"), ("photo", Some("a.png"), b"1")]);
    let res = send(bad.clone(), "application/json").await;
    assert_eq!(res.status(), 422);
    assert_eq!(res.json::<Value>()["detail"][0]["loc"], json!(["body", "title"]));
    let res = send(bad, BROWSER).await;
    assert_eq!(res.status(), 422);
    assert!(res.text().contains("<strong>title</strong>"), "{}", res.text());

    // An empty file input sends a part with no file name and no bytes: no file.
    let no_file = multipart_body(&[("title", None, b"Hi"), ("stars", None, b"2"), ("photo", Some(""), b"")]);
    let res = send(no_file, "application/json").await;
    assert_eq!(res.json::<Value>()["detail"][0]["loc"], json!(["body", "photo"]));
    assert_eq!(res.json::<Value>()["detail"][0]["msg"], "Choose a file.");
}

#[test]
fn form_values_keep_their_order_and_repeats() {
    let values = FormValues::from_iter([("b", "1"), ("a", "2"), ("b", "3")]);
    assert_eq!(serde_json::to_string(&values).unwrap_or_default(), r#"{"b":["1","3"],"a":"2"}"#);
}

//! A body of a content type the route does not read answers 415 naming the types it does, in
//! FastAPI's `{"detail": ...}` shape, for every body extractor and for one that accepts
//! several; the operation documents that 415 with the same sentence.

use brisk::extract::{FormResult, FromRequest, Multipart, Request, RequestContext};
use brisk::openapi::{DescribeInput, DocContext, Operation};
use brisk::prelude::*;
use brisk::testing::TestClient;
use serde_json::{json, Value};

#[derive(Debug, Deserialize, Serialize, JsonSchema, Validate)]
struct Note {
    text: String,
}

async fn json_note(Json(note): Json<Note>) -> String {
    note.text
}

async fn form_note(Form(note): Form<Note>) -> String {
    note.text
}

async fn form_result_note(form: FormResult<Note>) -> String {
    form.into_inner().map(|n| n.text).unwrap_or_default()
}

async fn upload(_form: Multipart) -> &'static str {
    "ok"
}

async fn optional_json(note: Option<Json<Note>>) -> String {
    note.map(|Json(n)| n.text).unwrap_or_default()
}

/// A body read as JSON or as a form, as brisk-auth's login is: its 415 names both.
struct JsonOrForm(Note);

impl FromRequest for JsonOrForm {
    async fn from_request(req: Request, cx: &RequestContext) -> Result<Self, Error> {
        let content_type = req.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
        let refused = |e: Error| {
            if e.status() == StatusCode::UNSUPPORTED_MEDIA_TYPE {
                Error::unsupported_media_type(&[
                    "application/json",
                    "application/x-www-form-urlencoded",
                    "multipart/form-data",
                ])
            } else {
                e
            }
        };
        if content_type.starts_with("application/x-www-form-urlencoded")
            || content_type.starts_with("multipart/form-data")
        {
            Form::<Note>::from_request(req, cx).await.map(|Form(n)| JsonOrForm(n)).map_err(refused)
        } else {
            Json::<Note>::from_request(req, cx).await.map(|Json(n)| JsonOrForm(n)).map_err(refused)
        }
    }
}

impl DescribeInput for JsonOrForm {
    fn describe_input(cx: &mut DocContext, op: &mut Operation) {
        let mut form = Operation::default();
        Form::<Note>::describe_input(cx, &mut form);
        Json::<Note>::describe_input(cx, op);
        if let (Some(body), Some(form)) = (op.request_body.as_mut(), form.request_body) {
            body.content.extend(form.content);
        }
    }
}

async fn json_or_form(JsonOrForm(note): JsonOrForm) -> String {
    note.text
}

async fn raw(body: String) -> String {
    body
}

async fn read_only() -> &'static str {
    "ok"
}

fn app() -> App {
    App::new()
        .route("/json", post(json_note))
        .route("/form", post(form_note))
        .route("/form-result", post(form_result_note))
        .route("/upload", post(upload))
        .route("/optional", post(optional_json))
        .route("/either", post(json_or_form))
        .route("/raw", post(raw))
        .route("/read", get(read_only))
}

fn accepts(types: &str) -> Value {
    json!({ "detail": format!("Unsupported Media Type: this route accepts {types}") })
}

#[tokio::test]
async fn each_body_extractor_names_what_it_accepts() {
    let client = TestClient::new(app());
    let text = |path: &'static str| client.post(path).header("content-type", "text/plain").body("hello");
    for (path, types) in [
        ("/json", "application/json"),
        ("/optional", "application/json"),
        ("/form", "application/x-www-form-urlencoded or multipart/form-data"),
        ("/form-result", "application/x-www-form-urlencoded or multipart/form-data"),
        ("/upload", "multipart/form-data"),
        ("/either", "application/json, application/x-www-form-urlencoded or multipart/form-data"),
    ] {
        let res = text(path).send().await;
        assert_eq!(res.status(), 415, "{path}");
        assert_eq!(res.header("content-type"), Some("application/json"), "{path}");
        assert_eq!(res.json::<Value>(), accepts(types), "{path}");
    }
    // JSON sent to the form route, and a form to the JSON route: the same answer.
    let res = client.post("/form").json(&json!({"text": "hi"})).send().await;
    assert_eq!(res.json::<Value>(), accepts("application/x-www-form-urlencoded or multipart/form-data"));
    let res = client.post("/json").form(&json!({"text": "hi"})).send().await;
    assert_eq!(res.json::<Value>(), accepts("application/json"));
    // What each accepts still works.
    assert_eq!(client.post("/either").form(&json!({"text": "a"})).send().await.text(), "a");
    assert_eq!(client.post("/either").json(&json!({"text": "b"})).send().await.text(), "b");
}

#[test]
fn the_415_is_documented_on_operations_that_take_such_a_body() {
    let doc = serde_json::to_value(app().openapi().expect("document")).expect("json");
    for (path, types) in [
        ("/json", "application/json"),
        ("/optional", "application/json"),
        ("/form", "application/x-www-form-urlencoded or multipart/form-data"),
        ("/form-result", "application/x-www-form-urlencoded or multipart/form-data"),
        ("/upload", "multipart/form-data"),
        ("/either", "application/json, application/x-www-form-urlencoded or multipart/form-data"),
    ] {
        let refused = &doc["paths"][path]["post"]["responses"]["415"];
        assert_eq!(refused["description"], accepts(types)["detail"], "{path}: {refused}");
        assert_eq!(
            refused["content"]["application/json"]["schema"]["$ref"], "#/components/schemas/HTTPError",
            "{path}"
        );
    }
    // A body of any type, or none: no 415.
    assert!(doc["paths"]["/raw"]["post"]["responses"].get("415").is_none());
    assert!(doc["paths"]["/read"]["get"]["responses"].get("415").is_none());
}

//! Per-route error documentation: `#[endpoint(errors(Enum::Variant, ...))]` documents only the
//! variants of a shared `ApiError` enum that the route declares (unknown variants do not
//! compile: crates/brisk-macros/tests/ui/endpoint_unknown_error_variant.rs).

use brisk::prelude::*;
use brisk::testing::TestClient;
use serde_json::{json, Value};

#[derive(Debug, ApiError)]
enum NoteError {
    #[api(status = 404, detail = "Note not found")]
    NotFound,
    #[api(status = 403)]
    Forbidden,
    #[api(status = 409, detail = "A note with this title exists")]
    Conflict,
}

#[derive(Serialize, Deserialize, JsonSchema, Validate)]
struct Note {
    title: String,
}

/// Reads a note.
#[brisk::endpoint(errors(NoteError::NotFound, NoteError::Forbidden))]
async fn show(Path(id): Path<u32>) -> Result<Json<Note>, NoteError> {
    match id {
        1 => Ok(Json(Note { title: "one".into() })),
        2 => Err(NoteError::Forbidden),
        // Not declared: documenting is not enforcing, the route still answers with it.
        3 => Err(NoteError::Conflict),
        _ => Err(NoteError::NotFound),
    }
}

/// Creates a note (declares nothing: every variant is documented).
#[brisk::endpoint]
async fn create(Json(note): Json<Note>) -> Result<Created<Json<Note>>, NoteError> {
    if note.title.is_empty() {
        return Err(NoteError::Conflict);
    }
    Ok(Created(Json(note)))
}

/// Renames a note: returns `brisk::Error`, and declares the enum's variants it converts from.
#[brisk::endpoint(errors(NoteError::Conflict))]
async fn rename(Path(id): Path<u32>, Json(note): Json<Note>) -> brisk::Result<String> {
    if id == 0 {
        return Err(NoteError::Conflict.into());
    }
    Ok(note.title)
}

fn app() -> App {
    App::new().route("/notes/{id}", get(show).put(rename)).route("/notes", post(create))
}

fn doc() -> Value {
    match app().openapi() {
        Ok(doc) => serde_json::to_value(doc).unwrap_or(Value::Null),
        Err(e) => panic!("{e}"),
    }
}

fn statuses(op: &Value) -> Vec<String> {
    let mut statuses: Vec<String> =
        op["responses"].as_object().map(|r| r.keys().cloned().collect()).unwrap_or_default();
    statuses.sort();
    statuses
}

#[test]
fn a_route_documents_only_the_variants_it_declares() {
    let d = doc();
    let show = &d["paths"]["/notes/{id}"]["get"];
    assert_eq!(statuses(show), ["200", "403", "404", "422"]);
    assert_eq!(show["responses"]["404"]["description"], "Note not found");
    assert_eq!(show["responses"]["403"]["description"], "Forbidden");
    for status in ["403", "404"] {
        assert_eq!(
            show["responses"][status]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/HTTPError",
            "{status}: the shared error schema"
        );
    }
}

#[test]
fn a_route_that_declares_nothing_documents_every_variant() {
    let d = doc();
    let create = &d["paths"]["/notes"]["post"];
    assert_eq!(statuses(create), ["201", "403", "404", "409", "415", "422"]);
    assert_eq!(create["responses"]["409"]["description"], "A note with this title exists");
}

#[test]
fn declared_variants_are_documented_when_the_handler_returns_brisk_error() {
    let d = doc();
    let rename = &d["paths"]["/notes/{id}"]["put"];
    assert_eq!(rename["responses"]["409"]["description"], "A note with this title exists");
    assert!(rename["responses"].get("404").is_none());
    assert!(rename["responses"].get("403").is_none());
    assert_eq!(rename["responses"]["default"]["description"], "Error");
}

#[tokio::test]
async fn an_undeclared_variant_still_answers_normally() {
    let client = TestClient::new(app());
    let res = client.get("/notes/3").send().await;
    assert_eq!(
        (res.status().as_u16(), res.json::<Value>()),
        (409, json!({"detail": "A note with this title exists"}))
    );
    let res = client.get("/notes/2").send().await;
    assert_eq!((res.status().as_u16(), res.json::<Value>()), (403, json!({"detail": "Forbidden"})));
    let res = client.get("/notes/1").send().await;
    assert_eq!((res.status().as_u16(), res.json::<Value>()), (200, json!({"title": "one"})));
}

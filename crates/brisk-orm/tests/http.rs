//! The database in an app: the `Db` extractor, errors as HTTP answers (404, 409, 503), a lost
//! PostgreSQL connection answered 503 with the next request served, and a model as the API's
//! body and schema.

mod support;

use std::time::Duration;

use brisk::prelude::*;
use brisk::testing::TestClient;
use brisk_orm::prelude::*;
use brisk_orm::testing::TestDatabase;
use brisk_orm::DbOptions;
use serde_json::{json, Value};
use support::each_backend;

/// A note, as stored and as the API reads and writes it.
#[derive(Debug, Clone, Model, Serialize, Deserialize, JsonSchema, Validate)]
struct Note {
    #[model(primary_key)]
    id: AutoId,
    /// A unique title.
    #[model(unique)]
    #[validate(min_length = 1, max_length = 80)]
    title: String,
    #[serde(default)]
    body: Option<String>,
}

async fn create(db: Db, Json(note): Json<Note>) -> Result<Created<Json<Note>>> {
    Ok(Created(Json(Note::objects().create(note, &db).await?)))
}

#[derive(Deserialize, JsonSchema, Validate)]
struct NotePath {
    id: i64,
}

async fn read(db: Db, Path(p): Path<NotePath>) -> Result<Json<Note>> {
    Ok(Json(Note::objects().filter(Note::id().eq(p.id)).get_or_404(&db).await?))
}

async fn slow(db: Db) -> Result<&'static str> {
    db.execute_raw("SELECT pg_sleep(3)").await?;
    Ok("slept")
}

/// The same wait as a query that reads rows (the shared connection's other path).
async fn slow_read(db: Db) -> Result<&'static str> {
    let rows: Vec<(i32,)> = brisk_orm::Raw::new("SELECT 1::int4 FROM pg_sleep(3)").fetch(&db).await?;
    Ok(if rows.len() == 1 { "slept" } else { "no row" })
}

async fn patch(db: Db, Path(p): Path<NotePath>, patch: brisk_orm::Patch<Note>) -> Result<Json<Note>> {
    let mut note = Note::objects().filter(Note::id().eq(p.id)).get_or_404(&db).await?;
    patch.apply(&mut note)?;
    note.update(&db).await?;
    Ok(Json(note))
}

fn app(db: Database) -> App {
    App::new()
        .install(db)
        .route("/notes", post(create))
        .route("/notes/{id}", get(read).patch(patch))
        .route("/slow", get(slow))
        .route("/slow-read", get(slow_read))
}

#[tokio::test]
async fn errors_become_the_right_answers() {
    each_backend(|db| async move {
        let client = TestClient::new(app(db));
        let res = client.post("/notes").json(&json!({"title": "first", "id": 99})).send().await;
        assert_eq!(res.status(), 201);
        let created: Value = res.json();
        assert_eq!(created["id"], 1, "a client's id is ignored: the database assigns it");
        assert_eq!(client.get("/notes/1").send().await.json::<Value>()["title"], "first");

        let res = client.get("/notes/7").send().await;
        assert_eq!(res.status(), 404);
        assert_eq!(res.json::<Value>(), json!({"detail": "Note not found"}));

        let res = client.post("/notes").json(&json!({"title": "first"})).send().await;
        assert_eq!(res.status(), 409);
        let body: Value = res.json();
        assert_eq!(body["detail"][0]["loc"], json!(["body", "title"]), "{body}");
        assert_eq!(body["detail"][0]["type"], "unique");

        // The model's own rules run before the database is asked.
        let res = client.post("/notes").json(&json!({"title": ""})).send().await;
        assert_eq!(res.status(), 422);
    })
    .await;
}

#[tokio::test]
async fn the_model_is_the_api_schema() {
    let test_db = TestDatabase::sqlite().await.unwrap();
    let doc = app(test_db.database()).openapi().unwrap();
    let doc = serde_json::to_value(&doc).unwrap();
    let note = &doc["components"]["schemas"]["Note-Input"];
    assert_eq!(note["properties"]["id"]["readOnly"], true, "{note}");
    assert_eq!(note["properties"]["title"]["maxLength"], 80, "{note}");
    assert_eq!(note["properties"]["title"]["description"], "A unique title.");
    let partial =
        &doc["paths"]["/notes/{id}"]["patch"]["requestBody"]["content"]["application/json"]["schema"];
    assert!(partial.get("required").is_none(), "a patch requires nothing: {partial}");
    assert_eq!(partial["properties"]["title"]["maxLength"], 80, "the rules stay: {partial}");
}

#[tokio::test]
async fn a_lost_postgres_connection_is_a_503_and_the_next_request_succeeds() {
    let pg = TestDatabase::postgres().await.unwrap();
    let options = DbOptions { connections: Some(1), ..Default::default() };
    let db = Database::open_with(pg.url(), options).unwrap();
    let client = std::sync::Arc::new(TestClient::new(app(db)));
    assert_eq!(client.post("/notes").json(&json!({"title": "kept"})).send().await.status(), 201);

    for path in ["/slow", "/slow-read"] {
        let slow = tokio::spawn({
            let client = client.clone();
            async move { client.get(path).send().await }
        });
        tokio::time::sleep(Duration::from_millis(500)).await;
        let admin = Database::open(&support::admin_url()).unwrap();
        admin
            .execute_raw(&format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{}' AND pid <> pg_backend_pid()",
                pg.url().rsplit('/').next().unwrap_or_default()
            ))
            .await
            .unwrap();
        let res = slow.await.unwrap();
        assert_eq!(res.status(), 503, "{path}: {}", res.text());
        assert_eq!(res.header("retry-after"), Some("1"));
        assert_eq!(res.json::<Value>(), json!({"detail": "Service Unavailable"}), "the cause is not leaked");

        let res = client.get("/notes/1").send().await;
        assert_eq!(res.status(), 200, "after {path}: {}", res.text());
    }
}

#[tokio::test]
async fn a_wrong_database_url_stops_the_app_at_start() {
    let db = Database::open("postgres://postgres@127.0.0.1:1/nowhere").unwrap();
    let listener = brisk::bind("127.0.0.1:0").await.unwrap();
    let err = match app(db).serve_with_shutdown(listener, std::future::pending()).await {
        Ok(()) => panic!("the app served without its database"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("does not answer"), "{err}");
}

/// Creates a note, then fails when its title says so: under atomic_requests the note stays
/// only when the answer is a success.
async fn create_then(db: Db, Json(note): Json<Note>) -> Result<Created<Json<Note>>> {
    let title = note.title.clone();
    let stored = Note::objects().create(note, &db).await?;
    match title.as_str() {
        "fail" => Err(brisk::Error::http(StatusCode::BAD_REQUEST, "refused after writing")),
        "refused but kept" => {
            if let Some(tx) = db.transaction() {
                tx.keep_on_error();
            }
            Err(brisk::Error::http(StatusCode::FORBIDDEN, "refused, the write kept"))
        }
        "panic" => panic!("handler panicked after writing"),
        _ => Ok(Created(Json(stored))),
    }
}

#[tokio::test]
async fn atomic_requests_keep_only_what_succeeded() {
    each_backend(|db| async move {
        let wrapped =
            Router::new().route("/atomic", post(create_then)).layer(brisk_orm::atomic_requests(db.clone()));
        let plain = Router::new().route("/plain", post(create_then));
        let client = TestClient::new(App::new().install(db.clone()).merge(wrapped).merge(plain));
        assert_eq!(client.post("/atomic").json(&json!({"title": "kept"})).send().await.status(), 201);
        assert_eq!(client.post("/atomic").json(&json!({"title": "fail"})).send().await.status(), 400);
        assert_eq!(client.post("/atomic").json(&json!({"title": "panic"})).send().await.status(), 500);
        // A handler that asked to keep its writes: committed though the answer is an error.
        let res = client.post("/atomic").json(&json!({"title": "refused but kept"})).send().await;
        assert_eq!(res.status(), 403);
        // Without the layer, the write before the failure stays.
        assert_eq!(client.post("/plain").json(&json!({"title": "fail"})).send().await.status(), 400);
        let mut titles: Vec<(String,)> = Note::objects().values_list((Note::title(),), &db).await.unwrap();
        titles.sort();
        let expected = ["fail", "kept", "refused but kept"].map(|t| (t.to_owned(),));
        assert_eq!(titles, expected, "{}", support::name(&db));
        // The writer (SQLite) or connection (PostgreSQL) was given back each time.
        assert_eq!(client.post("/atomic").json(&json!({"title": "again"})).send().await.status(), 201);
    })
    .await;
}

/// Writes one note awaited (titled with the body sent) and a second pipelined (its answer read
/// with the request's COMMIT):
/// a title already taken fails the commit, and the answer is that failure, not the handler's
/// success.
async fn two_notes(db: Db, Json(note): Json<Note>) -> Result<Created<&'static str>> {
    let first = note.body.clone().unwrap_or_default();
    Note::objects().create(Note { title: first, ..note.clone() }, &db).await?;
    brisk_orm::Raw::new(format!("INSERT INTO {} (title) VALUES (?)", Note::META.table))
        .bind(note.title)
        .pipeline(&db)
        .await?;
    Ok(Created("both"))
}

#[tokio::test]
async fn a_pipelined_write_that_fails_turns_the_requests_answer_into_its_error() {
    each_backend(|db| async move {
        let wrapped =
            Router::new().route("/two", post(two_notes)).layer(brisk_orm::atomic_requests(db.clone()));
        let client = TestClient::new(App::new().install(db.clone()).merge(wrapped));
        let sent = client.post("/two").json(&json!({"title": "a", "body": "first"})).send().await;
        assert_eq!(sent.status(), 201);
        // Its awaited write succeeds; the pipelined one's title is taken.
        let res = client.post("/two").json(&json!({"title": "a", "body": "second"})).send().await;
        assert_eq!(res.status(), 409, "{}: {}", support::name(&db), res.text());
        assert!(res.text().contains("title"), "the field is named: {}", res.text());
        // Nothing of the failed request stays: its first note is rolled back with it.
        let mut titles: Vec<(String,)> = Note::objects().values_list((Note::title(),), &db).await.unwrap();
        titles.sort();
        assert_eq!(titles, [("a".to_owned(),), ("first".to_owned(),)], "{}", support::name(&db));
    })
    .await;
}

/// Writes one note awaited and a second pipelined, asks to keep them and refuses: when the
/// pipelined write fails, the kept commit fails too.
async fn refuse_but_keep(db: Db, Json(note): Json<Note>) -> Result<&'static str> {
    two_notes(db.clone(), Json(note)).await?;
    if let Some(tx) = db.transaction() {
        tx.keep_on_error();
    }
    Err(brisk::Error::http(StatusCode::FORBIDDEN, "refused"))
}

#[tokio::test]
async fn a_kept_transaction_whose_commit_fails_keeps_nothing_and_answers_the_refusal() {
    each_backend(|db| async move {
        let wrapped =
            Router::new().route("/keep", post(refuse_but_keep)).layer(brisk_orm::atomic_requests(db.clone()));
        let client = TestClient::new(App::new().install(db.clone()).merge(wrapped));
        let res = client.post("/keep").json(&json!({"title": "a", "body": "first"})).send().await;
        assert_eq!(res.status(), 403, "{}", res.text());
        // The pipelined title is taken now: the commit keep_on_error asks for fails.
        let res = client.post("/keep").json(&json!({"title": "a", "body": "second"})).send().await;
        assert_eq!(res.status(), 403, "the client is told the handler's answer: {}", res.text());
        let mut titles: Vec<(String,)> = Note::objects().values_list((Note::title(),), &db).await.unwrap();
        titles.sort();
        assert_eq!(titles, [("a".to_owned(),), ("first".to_owned(),)], "{}", support::name(&db));
    })
    .await;
}

#[tokio::test]
async fn a_patch_changes_only_the_fields_sent() {
    each_backend(|db| async move {
        let client = TestClient::new(app(db));
        client.post("/notes").json(&json!({"title": "first", "body": "text"})).send().await;
        let res = client.patch("/notes/1").json(&json!({"body": "new", "id": 7, "unknown": 1})).send().await;
        assert_eq!(res.status(), 200, "{}", res.text());
        assert_eq!(res.json::<Value>(), json!({"id": 1, "title": "first", "body": "new"}));
        // The model's rules apply to what is sent, with FastAPI's errors, and nothing changes.
        let res = client.patch("/notes/1").json(&json!({"title": "", "body": 5})).send().await;
        assert_eq!(res.status(), 422);
        let detail = res.json::<Value>()["detail"].clone();
        let locs: Vec<&Value> = detail.as_array().unwrap().iter().map(|e| &e["loc"]).collect();
        assert_eq!(locs, [&json!(["body", "title"]), &json!(["body", "body"])], "{detail}");
        assert_eq!(client.get("/notes/1").send().await.json::<Value>()["title"], "first");
        // Not an object: 422; an unknown row: 404.
        assert_eq!(client.patch("/notes/1").json(&json!([1])).send().await.status(), 422);
        assert_eq!(client.patch("/notes/9").json(&json!({"body": "x"})).send().await.status(), 404);
    })
    .await;
}

#[tokio::test]
async fn a_db_with_no_database_installed_is_a_500_that_says_nothing_to_the_client() {
    async fn count(db: Db) -> Result<String> {
        Ok(Note::objects().count(&db).await?.to_string())
    }
    let client = TestClient::new(App::new().route("/count", get(count)));
    let res = client.get("/count").send().await;
    assert_eq!(res.status(), 500);
    assert_eq!(res.json::<Value>(), json!({"detail": "Internal Server Error"}));
}

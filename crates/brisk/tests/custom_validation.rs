//! Custom validators (`#[validate(with = f)]` on fields, `#[validate(model = f)]` on types):
//! pydantic's `field_validator` and "after" `model_validator`, reported in FastAPI's 422 list
//! with the built-in rules' errors, from every source (JSON, query, path, form, nested).

use brisk::prelude::*;
use brisk::testing::TestClient;
use brisk::validation::{validate_json, ValidationIssue};
use serde_json::{json, Value};

fn check_slug(slug: &str) -> Result<(), ValidationIssue> {
    if slug.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') {
        Ok(())
    } else {
        Err(ValidationIssue::new("slug", "'{slug}' is not a slug").with_ctx("slug", slug))
    }
}

fn not_admin(name: &String) -> Result<(), ValidationIssue> {
    if name == "admin" {
        return Err(ValidationIssue::value_error("the name is reserved"));
    }
    Ok(())
}

fn check_dates(b: &Booking) -> Result<(), Vec<ValidationIssue>> {
    let mut issues = Vec::new();
    if b.end < b.start {
        issues.push(ValidationIssue::value_error("end must not be before start").at("end"));
    }
    if b.end - b.start > 30 {
        issues.push(ValidationIssue::new("too_long", "at most {days} days").with_ctx("days", 30));
    }
    if issues.is_empty() {
        Ok(())
    } else {
        Err(issues)
    }
}

#[derive(Debug, Deserialize, JsonSchema, Validate)]
#[validate(model = check_dates)]
struct Booking {
    #[validate(ge = 0)]
    start: i64,
    end: i64,
    #[validate(min_length = 1, with = check_slug)]
    room: String,
}

fn errors(res: &brisk::testing::TestResponse) -> Value {
    assert_eq!(res.status(), 422, "{}", res.text());
    res.json::<Value>()["detail"].clone()
}

fn book_app() -> App {
    App::new().route("/book", post(|Json(b): Json<Booking>| async move { format!("{}-{}", b.start, b.end) }))
}

#[tokio::test]
async fn field_and_model_validators_in_a_json_body() {
    let client = TestClient::new(book_app());
    let ok = client.post("/book").json(&json!({"start": 1, "end": 3, "room": "blue-2"})).send().await;
    assert_eq!((ok.status().as_u16(), ok.text()), (200, "1-3".to_owned()));

    // A field validator: pydantic's PydanticCustomError, template filled from ctx.
    let res = client.post("/book").json(&json!({"start": 1, "end": 3, "room": "Blue 2"})).send().await;
    assert_eq!(
        errors(&res),
        json!([{"type": "slug", "loc": ["body", "room"], "msg": "'Blue 2' is not a slug",
                "input": "Blue 2", "ctx": {"slug": "Blue 2"}}])
    );

    // The model validator: several issues, one at a field, one at the model (input: the model).
    let body = json!({"start": 50, "end": 10, "room": "a"});
    let res = client.post("/book").json(&body).send().await;
    assert_eq!(
        errors(&res),
        json!([{"type": "value_error", "loc": ["body", "end"], "msg": "Value error, end must not be before start",
                "input": 10, "ctx": {"error": {}}}])
    );
    let body = json!({"start": 1, "end": 90, "room": "a"});
    let res = client.post("/book").json(&body).send().await;
    assert_eq!(
        errors(&res),
        json!([{"type": "too_long", "loc": ["body"], "msg": "at most 30 days", "input": body, "ctx": {"days": 30}}])
    );
}

#[tokio::test]
async fn validators_run_only_on_what_passed_its_rules() {
    let client = TestClient::new(book_app());
    // `start` breaks a built-in rule: the model validator (which would complain too) does not
    // run, the room's validator does, and both failures come in one list.
    let res = client.post("/book").json(&json!({"start": -100, "end": -200, "room": "No Slug"})).send().await;
    let list = errors(&res);
    let kinds: Vec<(&str, &Value)> =
        list.as_array().unwrap().iter().map(|e| (e["type"].as_str().unwrap(), &e["loc"])).collect();
    assert_eq!(
        kinds,
        vec![("greater_than_equal", &json!(["body", "start"])), ("slug", &json!(["body", "room"]))],
        "{list}"
    );
    // A field failing its own rule skips its validator: an empty room is too short, not "not a slug".
    let res = client.post("/book").json(&json!({"start": 1, "end": 2, "room": ""})).send().await;
    let list = errors(&res);
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list[0]["type"], "string_too_short");
}

#[derive(Debug, Deserialize, JsonSchema, Validate)]
struct Line {
    #[validate(with = check_slug)]
    slug: String,
    #[validate(gt = 0)]
    qty: u32,
}

#[derive(Debug, Deserialize, JsonSchema, Validate)]
struct Order {
    #[validate(with = not_admin)]
    customer: String,
    items: Vec<Line>,
    note: Option<Box<Line>>,
}

#[tokio::test]
async fn nested_models_and_lists_keep_their_path() {
    let bad = br#"{"customer": "admin", "items": [{"slug": "a", "qty": 1}, {"slug": "b", "qty": 0}, {"slug": "C!", "qty": 2}],
                   "note": {"slug": "N N", "qty": 1}}"#;
    let err = validate_json::<Order>(bad).expect_err("invalid");
    let list = serde_json::to_value(err.validation_errors().expect("a 422")).unwrap();
    let locs: Vec<&Value> = list.as_array().unwrap().iter().map(|e| &e["loc"]).collect();
    assert_eq!(
        locs,
        vec![
            &json!(["body", "items", 1, "qty"]),
            &json!(["body", "customer"]),
            &json!(["body", "items", 2, "slug"]),
            &json!(["body", "note", "slug"]),
        ],
        "{list}"
    );
    assert_eq!(list[1]["msg"], "Value error, the name is reserved");
    assert_eq!(list[1]["input"], "admin");
    assert_eq!(list[2]["input"], "C!");
    assert!(validate_json::<Order>(
        br#"{"customer": "ann", "items": [{"slug": "a", "qty": 1}], "note": null}"#
    )
    .is_ok());
}

#[derive(Debug, Deserialize, JsonSchema, Validate)]
#[validate(model = page_window)]
struct Page {
    #[validate(with = check_slug)]
    q: String,
    #[validate(ge = 1)]
    limit: u32,
    offset: u32,
}

fn page_window(p: &Page) -> Result<(), ValidationIssue> {
    if p.offset % p.limit != 0 {
        return Err(ValidationIssue::value_error("offset must be a multiple of limit").at("offset"));
    }
    Ok(())
}

#[derive(Debug, Deserialize, JsonSchema, Validate)]
struct SlugPath {
    #[validate(with = check_slug)]
    slug: String,
}

#[tokio::test]
async fn query_path_and_form_sources() {
    let app = App::new()
        .route("/search", get(|Query(p): Query<Page>| async move { p.q }))
        .route("/posts/{slug}", get(|Path(p): Path<SlugPath>| async move { p.slug }))
        .route("/form", post(|Form(p): Form<Page>| async move { p.q }));
    let client = TestClient::new(app);
    assert_eq!(client.get("/search?q=ok&limit=10&offset=20").send().await.text(), "ok");

    let res = client.get("/search?q=Not%20OK&limit=10&offset=20").send().await;
    let list = errors(&res);
    assert_eq!(list[0]["loc"], json!(["query", "q"]));
    assert_eq!(list[0]["input"], "Not OK");

    // The model validator's issue at a field: its input is the string received.
    let res = client.get("/search?q=ok&limit=10&offset=25").send().await;
    assert_eq!(
        errors(&res),
        json!([{"type": "value_error", "loc": ["query", "offset"], "msg": "Value error, offset must be a multiple of limit",
                "input": "25", "ctx": {"error": {}}}])
    );
    // A built-in failure and a custom one from the same query; the model validator waits.
    let res = client.get("/search?q=B%20A%20D&limit=0&offset=3").send().await;
    let list = errors(&res);
    let locs: Vec<&Value> = list.as_array().unwrap().iter().map(|e| &e["loc"]).collect();
    assert_eq!(locs, vec![&json!(["query", "limit"]), &json!(["query", "q"])], "{list}");

    let res = client.get("/posts/Hello%20World").send().await;
    assert_eq!(errors(&res)[0]["loc"], json!(["path", "slug"]));
    assert_eq!(client.get("/posts/hello-world").send().await.text(), "hello-world");

    let res = client.post("/form").form(&json!({"q": "x y", "limit": "5", "offset": "5"})).send().await;
    let list = errors(&res);
    assert_eq!(list[0]["loc"], json!(["body", "q"]));
    assert_eq!(list[0]["type"], "slug");
    assert_eq!(
        client.post("/form").form(&json!({"q": "xy", "limit": "5", "offset": "5"})).send().await.text(),
        "xy"
    );
}

/// Errors from several extractors join one list: the query's custom error and the body's.
#[tokio::test]
async fn custom_errors_of_several_extractors_join_one_422() {
    let app = App::new()
        .route("/book", post(|Query(_p): Query<SlugPath>, Json(_b): Json<Booking>| async move { "booked" }));
    let client = TestClient::new(app);
    let res = client.post("/book?slug=X").json(&json!({"start": 1, "end": 2, "room": "Y Y"})).send().await;
    let list = errors(&res);
    let locs: Vec<&Value> = list.as_array().unwrap().iter().map(|e| &e["loc"]).collect();
    assert_eq!(locs, vec![&json!(["query", "slug"]), &json!(["body", "room"])], "{list}");
}

#[derive(Debug, Deserialize, JsonSchema, Validate)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Shape {
    Named { name: SlugPath },
    Boxed(Line),
}

#[derive(Debug, Deserialize, JsonSchema, Validate)]
#[serde(rename_all = "camelCase")]
struct Drawing {
    main_shape: Shape,
    #[serde(rename = "all")]
    others: Vec<Shape>,
}

#[test]
fn enums_and_renamed_fields_locate_issues_where_serde_reads_them() {
    let body = br#"{"mainShape": {"kind": "named", "name": {"slug": "A"}},
                    "all": [{"kind": "boxed", "slug": "ok", "qty": 1}, {"kind": "boxed", "slug": "B", "qty": 1}]}"#;
    let err = validate_json::<Drawing>(body).expect_err("invalid");
    let list = serde_json::to_value(err.validation_errors().expect("a 422")).unwrap();
    let locs: Vec<&Value> = list.as_array().unwrap().iter().map(|e| &e["loc"]).collect();
    assert_eq!(locs, vec![&json!(["body", "mainShape", "name", "slug"]), &json!(["body", "all", 1, "slug"])]);
    assert_eq!(list[1]["input"], "B");
}

fn explode(_: &String) -> Result<(), ValidationIssue> {
    panic!("a bug in a validator")
}

#[derive(Debug, Deserialize, JsonSchema, Validate)]
struct Fragile {
    #[validate(with = explode)]
    name: String,
}

#[tokio::test]
async fn a_panicking_validator_answers_500_and_the_server_keeps_serving() {
    let app = App::new()
        .route("/fragile", post(|Json(f): Json<Fragile>| async move { f.name }))
        .route("/fine", get(|| async { "fine" }));
    let client = TestClient::serve(app).await;
    let res = client.post("/fragile").json(&json!({"name": "x"})).send().await;
    assert_eq!(res.status(), 500);
    assert_eq!(client.get("/fine").send().await.text(), "fine");
    let res = client.post("/fragile").json(&json!({"name": "y"})).send().await;
    assert_eq!(res.status(), 500);
}

/// Custom validation is code, not schema: the OpenAPI document is what the rules alone say.
#[test]
fn the_schema_carries_the_rules_only() {
    let schema = brisk::validation::model_schema::<Booking>();
    assert_eq!(schema["properties"]["room"], json!({"type": "string", "minLength": 1}));
}

/// pydantic validates each field on its own: a field of the wrong type does not stop the
/// custom validators of the others, even though serde cannot build the value.
#[tokio::test]
async fn other_fields_are_checked_when_one_has_the_wrong_type() {
    let body = br#"{"customer": "admin", "items": [{"slug": "ok", "qty": "many"}, {"slug": "B B", "qty": 1}], "note": 7}"#;
    let err = validate_json::<Order>(body).expect_err("invalid");
    let list = serde_json::to_value(err.validation_errors().expect("a 422")).unwrap();
    let kinds: Vec<(&str, &Value)> =
        list.as_array().unwrap().iter().map(|e| (e["type"].as_str().unwrap(), &e["loc"])).collect();
    assert_eq!(
        kinds,
        vec![
            ("int_type", &json!(["body", "items", 0, "qty"])),
            ("model_attributes_type", &json!(["body", "note"])),
            ("value_error", &json!(["body", "customer"])),
            ("slug", &json!(["body", "items", 1, "slug"])),
        ],
        "{list}"
    );
    // A missing field: the model validator does not run, the field validators do.
    let res =
        TestClient::new(book_app()).post("/book").json(&json!({"end": 1, "room": "Bad Room"})).send().await;
    let list = errors(&res);
    let kinds: Vec<&str> = list.as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, vec!["missing", "slug"], "{list}");

    // The same from a query string: `limit` does not parse, `q` still gets checked.
    let app = App::new().route("/search", get(|Query(p): Query<Page>| async move { p.q }));
    let res = TestClient::new(app).get("/search?q=Not%20OK&limit=lots&offset=1").send().await;
    let list = errors(&res);
    let kinds: Vec<(&str, &Value)> =
        list.as_array().unwrap().iter().map(|e| (e["type"].as_str().unwrap(), &e["loc"])).collect();
    assert_eq!(kinds, vec![("int_parsing", &json!(["query", "limit"])), ("slug", &json!(["query", "q"]))]);
    assert_eq!(list[1]["input"], "Not OK");
}

/// A generic type derives too; its type parameter's validators run inside it.
#[derive(Debug, Deserialize, JsonSchema, Validate)]
struct Envelope<T> {
    #[validate(with = not_admin)]
    sender: String,
    payload: T,
}

#[test]
fn generic_types_run_their_parameters_validators() {
    let err = validate_json::<Envelope<Line>>(br#"{"sender": "admin", "payload": {"slug": "X", "qty": 1}}"#)
        .expect_err("invalid");
    let list = serde_json::to_value(err.validation_errors().expect("a 422")).unwrap();
    let locs: Vec<&Value> = list.as_array().unwrap().iter().map(|e| &e["loc"]).collect();
    assert_eq!(locs, vec![&json!(["body", "sender"]), &json!(["body", "payload", "slug"])]);
    let err = validate_json::<Envelope<Line>>(br#"{"sender": "admin", "payload": {"slug": "x", "qty": -1}}"#)
        .expect_err("invalid");
    let list = serde_json::to_value(err.validation_errors().expect("a 422")).unwrap();
    let locs: Vec<&Value> = list.as_array().unwrap().iter().map(|e| &e["loc"]).collect();
    assert_eq!(locs, vec![&json!(["body", "payload", "qty"]), &json!(["body", "sender"])], "{list}");
}

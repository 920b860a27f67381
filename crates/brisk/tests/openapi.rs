//! The OpenAPI document: rules in schemas and at run time, metadata, error enums, refused
//! routes, input/output schemas, and the served docs.

use brisk::openapi::Undocumented;
use brisk::prelude::*;
use brisk::testing::TestClient;
use serde_json::{json, Value};

fn doc(app: &App) -> Value {
    match app.openapi() {
        Ok(doc) => serde_json::to_value(doc).unwrap_or(Value::Null),
        Err(e) => panic!("{e}"),
    }
}

#[derive(Deserialize, Serialize, JsonSchema, Validate)]
struct Signup {
    #[validate(min_length = 3, max_length = 20, pattern = "^[a-z]+$")]
    username: String,
    #[validate(ge = 13, lt = 130)]
    age: u8,
    #[validate(min_length = 1, max_length = 3)]
    roles: Vec<Role>,
    address: Option<Address>,
}

#[derive(Deserialize, Serialize, JsonSchema, Validate)]
#[serde(rename_all = "lowercase")]
enum Role {
    Admin,
    User,
}

#[derive(Deserialize, Serialize, JsonSchema, Validate)]
struct Address {
    #[validate(min_length = 2)]
    city: String,
}

async fn signup(Json(s): Json<Signup>) -> Json<Signup> {
    Json(s)
}

#[tokio::test]
async fn rules_are_published_and_enforced_with_the_same_bounds() {
    let app = || App::new().route("/signup", post(signup));
    let d = doc(&app());
    let schemas = &d["components"]["schemas"];
    let user = &schemas["Signup-Input"]["properties"];
    assert_eq!(user["username"]["minLength"], 3);
    assert_eq!(user["username"]["maxLength"], 20);
    assert_eq!(user["username"]["pattern"], "^[a-z]+$");
    assert_eq!(user["age"]["minimum"], 13);
    assert_eq!(user["age"]["exclusiveMaximum"], 130);
    assert_eq!(user["roles"]["minItems"], 1);
    assert_eq!(user["roles"]["maxItems"], 3);
    assert_eq!(schemas["Address-Input"]["properties"]["city"]["minLength"], 2);
    assert!(schemas.get("Role").is_some(), "identical on both sides: one schema");
    assert_eq!(schemas["Role"]["enum"], json!(["admin", "user"]));

    let client = TestClient::new(app());
    let ok = json!({"username": "ada", "age": 13, "roles": ["admin"], "address": {"city": "Oslo"}});
    assert_eq!(client.post("/signup").json(&ok).send().await.status(), 200);
    let bad = json!({"username": "Ad", "age": 130, "roles": [], "address": {"city": "O"}});
    let res = client.post("/signup").json(&bad).send().await;
    assert_eq!(res.status(), 422);
    let kinds: Vec<(String, String)> = res.json::<Value>()["detail"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|e| (e["type"].as_str().unwrap_or("").to_owned(), e["loc"].to_string()))
        .collect();
    assert_eq!(
        kinds,
        [
            // One error per value, the first constraint that fails, as pydantic does.
            ("string_too_short".to_owned(), r#"["body","username"]"#.to_owned()),
            ("less_than".to_owned(), r#"["body","age"]"#.to_owned()),
            ("too_short".to_owned(), r#"["body","roles"]"#.to_owned()),
            ("string_too_short".to_owned(), r#"["body","address","city"]"#.to_owned()),
        ]
    );
    let bad_pattern = json!({"username": "Ada", "age": 20, "roles": ["user"]});
    let res = client.post("/signup").json(&bad_pattern).send().await;
    assert_eq!(res.json::<Value>()["detail"][0]["type"], "string_pattern_mismatch");
    let bad_role = json!({"username": "ada", "age": 20, "roles": ["root"]});
    let res = client.post("/signup").json(&bad_role).send().await;
    assert_eq!(res.json::<Value>()["detail"][0]["type"], "enum");
}

#[test]
fn input_and_output_schemas_split_only_when_they_differ() {
    let d = doc(&App::new().route("/signup", post(signup)));
    let schemas = d["components"]["schemas"].as_object().cloned().unwrap_or_default();
    // Signup's input carries rules its output does not: two schemas, each side pointing at its own.
    assert!(schemas.contains_key("Signup-Input") && schemas.contains_key("Signup-Output"));
    assert!(!schemas.contains_key("Signup"));
    let op = &d["paths"]["/signup"]["post"];
    assert_eq!(
        op["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/Signup-Input"
    );
    assert_eq!(
        op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/Signup-Output"
    );
    assert!(schemas["Signup-Output"]["properties"]["username"].get("minLength").is_none());
}

#[derive(Debug, ApiError)]
enum AccountError {
    #[api(status = 404, detail = "Account not found")]
    NotFound,
    #[api(status = 409)]
    Taken(String),
}

#[derive(Deserialize, JsonSchema, Validate)]
struct AccountPath {
    account_id: u32,
}

/// Read an account.
///
/// Looks the account up by its id.
#[brisk::endpoint(tags = ["accounts"], operation_id = "read_account", response(status = 410, description = "Closed"))]
async fn read_account(Path(p): Path<AccountPath>) -> Result<String, AccountError> {
    match p.account_id {
        1 => Ok("one".to_owned()),
        2 => Err(AccountError::Taken("name taken".to_owned())),
        _ => Err(AccountError::NotFound),
    }
}

#[brisk::endpoint(deprecated)]
async fn old_accounts() -> &'static str {
    "old"
}

#[tokio::test]
async fn metadata_and_error_enums_are_documented() {
    let app = || {
        App::new()
            .title("Accounts")
            .version("2.1.0")
            .description("All about accounts.")
            .server("/api", Some("behind the proxy"))
            .route("/accounts/{account_id}", get(read_account))
            .route("/accounts-old", get(old_accounts))
    };
    let d = doc(&app());
    assert_eq!(
        d["info"],
        json!({"title": "Accounts", "version": "2.1.0", "description": "All about accounts."})
    );
    assert_eq!(d["servers"], json!([{"url": "/api", "description": "behind the proxy"}]));
    let op = &d["paths"]["/accounts/{account_id}"]["get"];
    assert_eq!(op["summary"], "Read an account.");
    assert_eq!(op["description"], "Looks the account up by its id.");
    assert_eq!(op["operationId"], "read_account");
    assert_eq!(op["tags"], json!(["accounts"]));
    for (status, description) in [
        ("200", "Successful Response"),
        ("404", "Account not found"),
        ("409", "Conflict"),
        ("410", "Closed"),
        ("422", "Validation Error"),
    ] {
        assert_eq!(op["responses"][status]["description"], description, "{status}");
    }
    assert_eq!(
        op["responses"]["404"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/HTTPError"
    );
    assert_eq!(d["paths"]["/accounts-old"]["get"]["deprecated"], true);
    assert_eq!(d["paths"]["/accounts-old"]["get"]["summary"], "Old Accounts");

    let client = TestClient::new(app());
    assert_eq!(client.get("/accounts/1").send().await.text(), "one");
    let res = client.get("/accounts/2").send().await;
    assert_eq!((res.status().as_u16(), res.json::<Value>()), (409, json!({"detail": "name taken"})));
    let res = client.get("/accounts/3").send().await;
    assert_eq!((res.status().as_u16(), res.json::<Value>()), (404, json!({"detail": "Account not found"})));
}

async fn by_id(Path(p): Path<AccountPath>) -> String {
    p.account_id.to_string()
}

async fn no_path() -> &'static str {
    "x"
}

#[test]
fn path_parameters_must_match_the_path_extractor() {
    let err = App::new()
        .route("/accounts/{id}", get(by_id))
        .build()
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains(r#"GET /accounts/{id}: the route's path parameters ["id"] do not match the `Path` extractor's fields ["account_id"]"#), "{err}");
    let err = App::new()
        .route("/things/{thing}", get(no_path))
        .build()
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        err.contains(
            "GET /things/{thing}: the path parameters [\"thing\"] are not read by a `Path` extractor"
        ),
        "{err}"
    );
    assert!(App::new().route("/accounts/{account_id}", get(by_id)).build().is_ok());
}

#[test]
fn operation_ids_are_unique_and_stable() {
    let app = App::new().route("/a", get(no_path)).route("/b", get(no_path)).route("/c", get(old_accounts));
    let d = doc(&app);
    assert_eq!(d["paths"]["/a"]["get"]["operationId"], "no_path_get_a");
    assert_eq!(d["paths"]["/b"]["get"]["operationId"], "no_path_get_b");
    assert_eq!(d["paths"]["/c"]["get"]["operationId"], "old_accounts");
    let twice = App::new().route("/x", get(read_account_x)).route("/y", get(read_account_y));
    let err = twice.build().err().map(|e| e.to_string()).unwrap_or_default();
    assert!(err.contains("operation id `same` is used by both GET /x and GET /y"), "{err}");
}

#[brisk::endpoint(operation_id = "same")]
async fn read_account_x() -> &'static str {
    "x"
}

#[brisk::endpoint(operation_id = "same")]
async fn read_account_y() -> &'static str {
    "y"
}

#[test]
fn undocumented_is_explicit_and_documents_nothing() {
    async fn raw(Undocumented(Query(q)): Undocumented<Query<Value>>) -> Undocumented<String> {
        Undocumented(q.to_string())
    }
    let d = doc(&App::new().route("/raw", get(raw)));
    let op = &d["paths"]["/raw"]["get"];
    assert!(op.get("parameters").is_none());
    assert_eq!(op["responses"], json!({"default": {"description": "Undocumented response"}}));
}

#[tokio::test]
async fn docs_are_served_and_can_be_moved_or_switched_off() {
    let app = App::new().route("/hello", get(no_path)).title("T");
    let expected = serde_json::to_vec(&app.openapi().ok()).unwrap_or_default();
    let client = TestClient::new(app);
    let res = client.get("/openapi.json").send().await;
    assert_eq!(res.header("content-type"), Some("application/json"));
    assert_eq!(res.bytes().as_ref(), expected.as_slice());
    let docs = client.get("/docs").send().await;
    assert_eq!(docs.status(), 200);
    assert!(docs.text().contains("/openapi.json"));
    assert_eq!(client.get("/redoc").send().await.status(), 200);
    // The docs' own routes are not in the document.
    assert!(res.json::<Value>()["paths"].get("/docs").is_none());

    let moved = TestClient::new(
        App::new().openapi_url(Some("/api/spec.json")).docs_url(None).redoc_url(Some("/api/redoc")),
    );
    assert_eq!(moved.get("/api/spec.json").send().await.status(), 200);
    assert_eq!(moved.get("/docs").send().await.status(), 404);
    assert!(moved.get("/api/redoc").send().await.text().contains("/api/spec.json"));
    let off = TestClient::new(App::new().openapi_url(None));
    for path in ["/openapi.json", "/docs", "/redoc"] {
        assert_eq!(off.get(path).send().await.status(), 404, "{path}");
    }
}

#[derive(Serialize, JsonSchema)]
struct Page<T> {
    items: Vec<T>,
    next: Option<u32>,
}

#[derive(Serialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Shape {
    Circle { radius: f64 },
    Square { side: f64 },
}

async fn shapes() -> Json<Page<Shape>> {
    Json(Page { items: vec![Shape::Circle { radius: 1.0 }, Shape::Square { side: 2.0 }], next: None })
}

#[test]
fn generic_nested_and_enum_types_become_components() {
    let d = doc(&App::new().route("/shapes", get(shapes)));
    let schema = &d["paths"]["/shapes"]["get"]["responses"]["200"]["content"]["application/json"]["schema"];
    let name = schema["$ref"].as_str().unwrap_or("").trim_start_matches("#/components/schemas/").to_owned();
    assert!(name.starts_with("Page"), "{name}");
    let page = &d["components"]["schemas"][&name];
    assert_eq!(page["properties"]["items"]["items"]["$ref"], "#/components/schemas/Shape");
    assert_eq!(page["properties"]["next"]["type"], json!(["integer", "null"]));
    let shape = &d["components"]["schemas"]["Shape"];
    assert_eq!(shape["oneOf"].as_array().map(Vec::len), Some(2));
}

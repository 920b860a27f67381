//! The items contract (CONTRACT.md), row by row, over a real socket, on a database of the
//! test's own: SQLite, or PostgreSQL with `BRISK_TEST_BACKEND=postgres` (`scripts/test` runs
//! both).

use brisk::testing::{TestClient, TestResponse};
use brisk_orm::testing::TestDatabase;
use serde_json::{json, Value};

/// The server and the database it stores in (removed when this drops).
struct Server {
    client: TestClient,
    _db: TestDatabase,
}

impl std::ops::Deref for Server {
    type Target = TestClient;
    fn deref(&self) -> &TestClient {
        &self.client
    }
}

async fn server() -> Server {
    let db = TestDatabase::empty_from_env().await.unwrap_or_else(|e| panic!("test database: {e}"));
    let auth = showcase::auth::AuthConfig::new(b"test secret, at least 32 bytes long");
    let client = TestClient::serve(showcase::app_with(auth, db.database())).await;
    Server { client, _db: db }
}

fn item() -> Value {
    json!({"name": "Widget", "description": "A widget", "price": 9.5, "tax": 1.5, "tags": ["a", "b"]})
}

/// The single error of a 422, checked whole except `msg`.
fn only_error(res: &TestResponse) -> Value {
    assert_eq!(res.status(), 422, "{}", res.text());
    let body: Value = res.json();
    let detail = body["detail"].as_array().cloned().unwrap_or_default();
    assert_eq!(detail.len(), 1, "expected one error: {body}");
    assert!(detail[0]["msg"].is_string(), "{body}");
    detail[0].clone()
}

async fn post_body(client: &TestClient, body: Value) -> TestResponse {
    client.post("/items").json(&body).send().await
}

#[tokio::test]
async fn plaintext_and_json() {
    let client = server().await;
    let res = client.get("/plaintext").send().await;
    assert_eq!(res.status(), 200);
    assert!(res.header("content-type").unwrap_or("").starts_with("text/plain"));
    assert_eq!(res.text(), "Hello, World!");

    let res = client.get("/json").send().await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.header("content-type"), Some("application/json"));
    assert_eq!(res.text(), r#"{"message":"Hello, World!"}"#);
}

#[tokio::test]
async fn create_read_replace_delete() {
    let client = server().await;
    let res = post_body(&client, item()).await;
    assert_eq!(res.status(), 201, "{}", res.text());
    let created: Value = res.json();
    assert_eq!(
        created,
        json!({"id": 1, "name": "Widget", "description": "A widget", "price": 9.5, "tax": 1.5, "tags": ["a", "b"]})
    );

    let res = post_body(&client, json!({"name": "Gadget", "price": 2, "extra": "ignored"})).await;
    assert_eq!(res.status(), 201);
    assert_eq!(
        res.json::<Value>(),
        json!({"id": 2, "name": "Gadget", "description": null, "price": 2.0, "tax": null, "tags": []})
    );

    let res = client.get("/items/1").send().await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>(), created);

    let res = client.put("/items/1").json(&json!({"name": "Renamed", "price": 1})).send().await;
    assert_eq!(res.status(), 200, "{}", res.text());
    assert_eq!(res.json::<Value>()["name"], "Renamed");
    assert_eq!(client.get("/items/1").send().await.json::<Value>()["name"], "Renamed");

    let res = client.delete("/items/1").send().await;
    assert_eq!(res.status(), 204);
    assert!(res.bytes().is_empty());

    for res in [
        client.get("/items/1").send().await,
        client.delete("/items/1").send().await,
        client.put("/items/1").json(&item()).send().await,
    ] {
        assert_eq!(res.status(), 404);
        assert_eq!(res.json::<Value>(), json!({"detail": "Item not found"}));
    }
    // Ids are never reused.
    assert_eq!(post_body(&client, item()).await.json::<Value>()["id"], 3);
}

#[tokio::test]
async fn list_pages_and_filters() {
    let client = server().await;
    for name in ["Apple", "banana", "Cherry", "pineapple", "Grape"] {
        assert_eq!(post_body(&client, json!({"name": name, "price": 1})).await.status(), 201);
    }
    let names = |res: TestResponse| -> Vec<String> {
        assert_eq!(res.status(), 200, "{}", res.text());
        res.json::<Vec<Value>>().iter().map(|i| i["name"].as_str().unwrap_or("").to_owned()).collect()
    };
    assert_eq!(names(client.get("/items").send().await), ["Apple", "banana", "Cherry", "pineapple", "Grape"]);
    assert_eq!(names(client.get("/items?skip=1&limit=2").send().await), ["banana", "Cherry"]);
    assert_eq!(names(client.get("/items?q=APPLE").send().await), ["Apple", "pineapple"]);
    assert_eq!(names(client.get("/items?q=").send().await).len(), 5);
    assert!(names(client.get("/items?skip=10").send().await).is_empty());
}

#[tokio::test]
async fn list_query_bounds() {
    let client = server().await;
    let cases = [
        ("/items?skip=-1", "greater_than_equal", "skip", json!("-1"), json!({"ge": 0})),
        ("/items?limit=0", "greater_than_equal", "limit", json!("0"), json!({"ge": 1})),
        ("/items?limit=101", "less_than_equal", "limit", json!("101"), json!({"le": 100})),
        ("/items?limit=ten", "int_parsing", "limit", json!("ten"), Value::Null),
        (
            "/items?skip=99999999999999999999",
            "int_parsing",
            "skip",
            json!("99999999999999999999"),
            Value::Null,
        ),
    ];
    for (url, kind, field, input, ctx) in cases {
        let error = only_error(&client.get(url).send().await);
        assert_eq!(error["type"], kind, "{url}: {error}");
        assert_eq!(error["loc"], json!(["query", field]), "{url}");
        assert_eq!(error["input"], input, "{url}");
        if !ctx.is_null() {
            assert_eq!(error["ctx"], ctx, "{url}");
        }
    }
    let long = "x".repeat(51);
    let error = only_error(&client.get(&format!("/items?q={long}")).send().await);
    assert_eq!(error["type"], "string_too_long");
    assert_eq!(error["ctx"], json!({"max_length": 50}));

    // Several query errors at once.
    let res = client.get("/items?skip=-1&limit=0").send().await;
    assert_eq!(res.status(), 422);
    assert_eq!(res.json::<Value>()["detail"].as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn item_id_must_be_a_positive_integer() {
    let client = server().await;
    let res = client.get("/items/0").send().await;
    assert_eq!(
        res.text(),
        r#"{"detail":[{"type":"greater_than","loc":["path","item_id"],"msg":"Input should be greater than 0","input":"0","ctx":{"gt":0}}]}"#,
        "byte for byte the contract's example, in FastAPI's field order"
    );
    let error = only_error(&res);
    assert_eq!(
        error,
        json!({"type": "greater_than", "loc": ["path", "item_id"], "msg": "Input should be greater than 0", "input": "0", "ctx": {"gt": 0}})
    );
    for bad in ["abc", "1.5", "9223372036854775808", "18446744073709551615", "99999999999999999999"] {
        for res in [
            client.get(&format!("/items/{bad}")).send().await,
            client.delete(&format!("/items/{bad}")).send().await,
        ] {
            let error = only_error(&res);
            assert_eq!(error["type"], "int_parsing", "{bad}");
            assert_eq!(error["loc"], json!(["path", "item_id"]));
            assert_eq!(error["input"], bad);
        }
    }
}

#[tokio::test]
async fn each_body_error_type() {
    let client = server().await;
    let with = |field: &str, value: Value| {
        let mut body = item();
        body[field] = value;
        body
    };
    let cases: Vec<(Value, &str, Value, Value)> = vec![
        (json!({"price": 1}), "missing", json!(["body", "name"]), Value::Null),
        (json!([1, 2]), "model_attributes_type", json!(["body"]), Value::Null),
        (with("price", json!("1.5")), "float_type", json!(["body", "price"]), Value::Null),
        (with("price", json!(true)), "float_type", json!(["body", "price"]), Value::Null),
        (with("name", json!(5)), "string_type", json!(["body", "name"]), Value::Null),
        (with("tags", json!("x")), "list_type", json!(["body", "tags"]), Value::Null),
        (with("tags", json!(["a", "b", "c", 4])), "string_type", json!(["body", "tags", 3]), Value::Null),
        (with("price", json!(0)), "greater_than", json!(["body", "price"]), json!({"gt": 0})),
        (with("price", json!(-3.5)), "greater_than", json!(["body", "price"]), json!({"gt": 0})),
        (with("tax", json!(-1)), "greater_than_equal", json!(["body", "tax"]), json!({"ge": 0})),
        (with("name", json!("")), "string_too_short", json!(["body", "name"]), json!({"min_length": 1})),
        (
            with("name", json!("n".repeat(101))),
            "string_too_long",
            json!(["body", "name"]),
            json!({"max_length": 100}),
        ),
        (
            with("description", json!("d".repeat(1001))),
            "string_too_long",
            json!(["body", "description"]),
            json!({"max_length": 1000}),
        ),
        (
            with("tags", json!(vec!["t"; 11])),
            "too_long",
            json!(["body", "tags"]),
            json!({"field_type": "List", "max_length": 10, "actual_length": 11}),
        ),
    ];
    for (body, kind, loc, ctx) in cases {
        let error = only_error(&post_body(&client, body.clone()).await);
        assert_eq!(error["type"], kind, "{body}: {error}");
        assert_eq!(error["loc"], loc, "{body}");
        if !ctx.is_null() {
            assert_eq!(error["ctx"], ctx, "{body}");
        }
    }
    // Nothing was stored by any of them.
    assert_eq!(client.get("/items").send().await.json::<Vec<Value>>().len(), 0);
}

#[tokio::test]
async fn non_finite_and_invalid_json() {
    let client = server().await;
    let res = client
        .post("/items")
        .header("content-type", "application/json")
        .body(r#"{"name": "x", "price": 1e400}"#)
        .send()
        .await;
    let error = only_error(&res);
    assert_eq!(error["type"], "finite_number");
    assert_eq!(error["loc"], json!(["body", "price"]));

    let res = client
        .post("/items")
        .header("content-type", "application/json")
        .body(r#"{"name": "é", "price": }"#)
        .send()
        .await;
    let error = only_error(&res);
    assert_eq!(error["type"], "json_invalid");
    assert_eq!(error["loc"], json!(["body", 23]));
    assert!(error["ctx"]["error"].is_string());
}

#[tokio::test]
async fn every_body_error_at_once() {
    let client = server().await;
    let res = post_body(&client, json!({"name": "", "price": "free", "tax": -1, "tags": ["ok", 7]})).await;
    assert_eq!(res.status(), 422);
    let body: Value = res.json();
    let mut found: Vec<(String, String)> = body["detail"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|e| (e["type"].as_str().unwrap_or("").to_owned(), e["loc"].to_string()))
        .collect();
    found.sort();
    assert_eq!(
        found,
        vec![
            ("float_type".to_owned(), r#"["body","price"]"#.to_owned()),
            ("greater_than_equal".to_owned(), r#"["body","tax"]"#.to_owned()),
            ("string_too_short".to_owned(), r#"["body","name"]"#.to_owned()),
            ("string_type".to_owned(), r#"["body","tags",1]"#.to_owned()),
        ]
    );

    // Path and body errors of one request come back together.
    let res = client.put("/items/0").json(&json!({"price": 1})).send().await;
    assert_eq!(res.status(), 422);
    let detail = res.json::<Value>()["detail"].clone();
    let locs: Vec<String> =
        detail.as_array().cloned().unwrap_or_default().iter().map(|e| e["loc"].to_string()).collect();
    assert_eq!(locs, [r#"["path","item_id"]"#, r#"["body","name"]"#]);
}

#[tokio::test]
async fn body_must_be_json() {
    let client = server().await;
    let res = client
        .post("/items")
        .header("content-type", "text/plain")
        .body(r#"{"name":"x","price":1}"#)
        .send()
        .await;
    assert_eq!(res.status(), 415);
    assert_eq!(
        res.json::<Value>(),
        json!({"detail": "Unsupported Media Type: this route accepts application/json"})
    );

    let res = client
        .post("/items")
        .header("content-type", "application/merge-patch+json")
        .body(r#"{"name":"x","price":1}"#)
        .send()
        .await;
    assert_eq!(res.status(), 201, "application/*+json is JSON");

    let res = client.post("/items").send().await;
    let error = only_error(&res);
    assert_eq!(error["type"], "missing");
    assert_eq!(error["loc"], json!(["body"]));
}

#[tokio::test]
async fn unknown_paths_and_methods() {
    let client = server().await;
    let res = client.get("/nope").send().await;
    assert_eq!(res.status(), 404);
    assert_eq!(res.json::<Value>(), json!({"detail": "Not Found"}));

    let res = client.delete("/items").send().await;
    assert_eq!(res.status(), 405);
    assert_eq!(res.json::<Value>(), json!({"detail": "Method Not Allowed"}));
    assert_eq!(res.header("allow"), Some("GET, HEAD, POST"));

    let res = client.post("/items/1").send().await;
    assert_eq!(res.status(), 405);
    assert_eq!(res.header("allow"), Some("GET, HEAD, PUT, DELETE"));
}

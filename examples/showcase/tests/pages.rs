//! The showcase's HTML page, `GET /ui`: the items the API stored, escaped, searched by name,
//! with its stylesheet; a bad search is an HTML 422 for a browser. Runs on the backend of
//! `BRISK_TEST_BACKEND` (SQLite by default; `scripts/test` also runs it on PostgreSQL).

use brisk::testing::TestClient;
use brisk_orm::testing::TestDatabase;
use serde_json::json;

const BROWSER: &str = "text/html,application/xhtml+xml,*/*;q=0.8";

#[tokio::test]
async fn the_items_page_lists_searches_and_escapes() {
    let db = TestDatabase::empty_from_env().await.unwrap();
    let auth = showcase::auth::AuthConfig::from_env().unwrap();
    let client = TestClient::serve(showcase::app_with(auth, db.database())).await;
    for name in ["<b>Widget</b>", "Gadget"] {
        let res =
            client.post("/items").json(&json!({"name": name, "price": 2.5, "tags": ["x", "y"]})).send().await;
        assert_eq!(res.status(), 201);
    }
    let page = client.get("/ui").header("accept", BROWSER).send().await;
    assert_eq!(page.status(), 200);
    assert_eq!(page.header("content-type"), Some("text/html; charset=utf-8"));
    let html = page.text();
    assert!(html.contains("<td>&lt;b&gt;Widget&lt;&#x2f;b&gt;</td>"), "{html}");
    assert!(html.contains("<td>Gadget</td><td>2.5</td><td>x, y</td>"), "{html}");
    let found = client.get("/ui?q=GADG").header("accept", BROWSER).send().await.text();
    assert!(found.contains("Gadget") && !found.contains("Widget"), "{found}");
    let none = client.get("/ui?q=zzz").header("accept", BROWSER).send().await.text();
    assert!(none.contains("No items whose name contains “zzz”"), "{none}");
    let css = client.get("/static/showcase/site.css").send().await;
    assert_eq!((css.status().as_u16(), css.header("content-type")), (200, Some("text/css")));
    // A search over 50 characters: an HTML 422 for a browser, FastAPI's JSON for a client.
    let long = format!("/ui?q={}", "x".repeat(51));
    let refused = client.get(&long).header("accept", BROWSER).send().await;
    assert_eq!(refused.status(), 422);
    assert!(refused.header("content-type").is_some_and(|t| t.starts_with("text/html")));
    let api = client.get(&long).send().await;
    assert_eq!(api.json::<serde_json::Value>()["detail"][0]["type"], "string_too_long");
}

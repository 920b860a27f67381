//! The showcase's login, current user and admin-only statistics, over a real socket.

use std::time::Duration;

use brisk::security::jwt::{now, JwtKeys};
use brisk::testing::TestClient;
use serde_json::{json, Value};
use showcase::auth::AuthConfig;

const SECRET: &[u8] = b"test secret, at least 32 bytes long";

async fn server() -> TestClient {
    let auth =
        AuthConfig::new("alice:wonderland:admin;bob:builder:", SECRET).unwrap_or_else(|e| panic!("{e}"));
    TestClient::serve(showcase::app_with(
        auth,
        brisk_orm::Database::open("sqlite::memory:").unwrap_or_else(|e| panic!("{e}")),
    ))
    .await
}

async fn token(client: &TestClient, username: &str, password: &str) -> String {
    let res = client.post("/token").form(&json!({"username": username, "password": password})).send().await;
    assert_eq!(res.status(), 200, "{}", res.text());
    let body: Value = res.json();
    assert_eq!(body["token_type"], "bearer");
    body["access_token"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn login_and_current_user() {
    let client = server().await;
    let alice = token(&client, "alice", "wonderland").await;
    let res = client.get("/users/me").header("authorization", &format!("Bearer {alice}")).send().await;
    assert_eq!(res.json::<Value>(), json!({"username": "alice", "scopes": ["admin"]}));

    for (user, password) in [("alice", "wrong"), ("mallory", "wonderland")] {
        let res = client.post("/token").form(&json!({"username": user, "password": password})).send().await;
        assert_eq!(res.status(), 400);
        assert_eq!(res.json::<Value>(), json!({"detail": "Incorrect username or password"}));
    }
    let res = client.post("/token").form(&json!({"username": "alice"})).send().await;
    assert_eq!(res.status(), 422);
    assert_eq!(res.json::<Value>()["detail"][0]["loc"], json!(["body", "password"]));
}

#[tokio::test]
async fn bad_tokens_are_refused() {
    let client = server().await;
    let res = client.get("/users/me").send().await;
    assert_eq!(res.status(), 401);
    assert_eq!(res.header("www-authenticate"), Some("Bearer"));
    assert_eq!(res.json::<Value>(), json!({"detail": "Not authenticated"}));

    let keys = JwtKeys::hs256(SECRET, "brisk-showcase");
    #[derive(serde::Serialize)]
    struct Claims<'a> {
        sub: &'a str,
        aud: &'a str,
        exp: u64,
        iat: u64,
        scope: &'a str,
    }
    let expired = keys.encode(&Claims {
        sub: "alice",
        aud: "brisk-showcase",
        exp: now() - 10,
        iat: now() - 100,
        scope: "admin",
    });
    let forged = JwtKeys::hs256(b"not the showcase's secret at all!!", "brisk-showcase").encode(&Claims {
        sub: "alice",
        aud: "brisk-showcase",
        exp: now() + 60,
        iat: now(),
        scope: "admin",
    });
    let ghost = keys.encode(&Claims {
        sub: "ghost",
        aud: "brisk-showcase",
        exp: now() + 60,
        iat: now(),
        scope: "admin",
    });
    for (token, detail) in [
        (expired.unwrap_or_default(), "Token expired"),
        (forged.unwrap_or_default(), "Could not validate credentials"),
        (ghost.unwrap_or_default(), "Could not validate credentials"),
        ("garbage".to_owned(), "Could not validate credentials"),
    ] {
        let res = client.get("/users/me").header("authorization", &format!("Bearer {token}")).send().await;
        assert_eq!(res.status(), 401, "{detail}");
        assert!(res.header("www-authenticate").unwrap_or("").starts_with("Bearer"));
        assert_eq!(res.json::<Value>(), json!({ "detail": detail }));
    }
}

#[tokio::test]
async fn stats_need_the_admin_scope() {
    let client = server().await;
    let bob = token(&client, "bob", "builder").await;
    let res = client.get("/stats").header("authorization", &format!("Bearer {bob}")).send().await;
    assert_eq!(res.status(), 403);
    assert_eq!(res.header("www-authenticate"), Some("Bearer error=\"insufficient_scope\", scope=\"admin\""));
    assert_eq!(res.json::<Value>(), json!({"detail": "Not enough permissions"}));

    // A token for alice without the admin scope is refused too.
    let res = client
        .post("/token")
        .form(&json!({"username": "alice", "password": "wonderland", "scope": "read"}))
        .send()
        .await;
    let narrow = res.json::<Value>()["access_token"].as_str().unwrap_or_default().to_owned();
    let res = client.get("/stats").header("authorization", &format!("Bearer {narrow}")).send().await;
    assert_eq!(res.status(), 403);

    let alice = token(&client, "alice", "wonderland").await;
    client.post("/items").json(&json!({"name": "x", "price": 1})).send().await;
    client.get("/items").send().await;
    // Each item request opened a DB session; their teardowns close them after the response.
    let mut stats = Value::Null;
    for _ in 0..50 {
        let res = client.get("/stats").header("authorization", &format!("Bearer {alice}")).send().await;
        assert_eq!(res.status(), 200, "{}", res.text());
        stats = res.json();
        if stats["sessions_open"] == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        stats,
        json!({"items": 1, "sessions_opened": 2, "sessions_open": 0, "model_batches": 0, "model_steps": 0})
    );
}

#[test]
fn security_is_documented() {
    let auth = AuthConfig::new("a:b:", SECRET).unwrap_or_else(|e| panic!("{e}"));
    let doc = serde_json::to_value(
        showcase::app_with(
            auth,
            brisk_orm::Database::open("sqlite::memory:").unwrap_or_else(|e| panic!("{e}")),
        )
        .openapi()
        .ok(),
    )
    .unwrap_or_default();
    assert_eq!(
        doc["components"]["securitySchemes"]["OAuth2PasswordBearer"]["flows"]["password"]["tokenUrl"],
        "/token"
    );
    assert_eq!(doc["paths"]["/users/me"]["get"]["security"], json!([{"OAuth2PasswordBearer": []}]));
    assert_eq!(doc["paths"]["/stats"]["get"]["security"], json!([{"OAuth2PasswordBearer": ["admin"]}]));
    assert!(doc["paths"]["/items"]["get"].get("security").is_none(), "the contract's routes stay public");
    assert_eq!(
        doc["paths"]["/token"]["post"]["requestBody"]["content"]
            .as_object()
            .map(|c| c.keys().cloned().collect::<Vec<_>>()),
        Some(vec!["application/x-www-form-urlencoded".to_owned()])
    );
}

#[tokio::test]
async fn the_default_demo_users_log_in() {
    // SHOWCASE_USERS is not set in the tests: the precomputed hashes are used.
    if std::env::var_os("SHOWCASE_USERS").is_some() {
        return;
    }
    let client = TestClient::serve(showcase::app_with(
        showcase::auth::AuthConfig::from_env().unwrap_or_else(|e| panic!("{e}")),
        brisk_orm::Database::open("sqlite::memory:").unwrap_or_else(|e| panic!("{e}")),
    ))
    .await;
    let alice = token(&client, "alice", "wonderland").await;
    let res = client.get("/users/me").header("authorization", &format!("Bearer {alice}")).send().await;
    assert_eq!(res.json::<Value>(), json!({"username": "alice", "scopes": ["admin"]}));
    token(&client, "bob", "builder").await;
    let res = client.post("/token").form(&json!({"username": "bob", "password": "wonderland"})).send().await;
    assert_eq!(res.status(), 400);
}

//! The showcase's login, current user and admin-only statistics, over a real socket, on the
//! users brisk-auth keeps (alice and bob, seeded by the migration `showcase/0002_demo_users`),
//! on the backend of `BRISK_TEST_BACKEND` (SQLite by default, PostgreSQL with `postgres`).

use std::time::Duration;

use brisk::security::jwt::{now, JwtKeys};
use brisk::testing::TestClient;
use brisk_auth::models::Group;
use brisk_auth::User;
use brisk_orm::testing::TestDatabase;
use brisk_orm::{Database, Model};
use serde_json::{json, Value};
use showcase::auth::AuthConfig;

const SECRET: &[u8] = b"test secret, at least 32 bytes long";

/// The showcase on a database of its own (migrated as it starts), and that database.
struct Server {
    client: TestClient,
    test_db: TestDatabase,
}

impl Server {
    fn db(&self) -> Database {
        self.test_db.database()
    }
}

impl std::ops::Deref for Server {
    type Target = TestClient;
    fn deref(&self) -> &TestClient {
        &self.client
    }
}

async fn server() -> Server {
    let test_db = TestDatabase::empty_from_env().await.unwrap_or_else(|e| panic!("test database: {e}"));
    let client = TestClient::serve(showcase::app_with(AuthConfig::new(SECRET), test_db.database())).await;
    Server { client, test_db }
}

/// `POST /token`'s answer for these credentials (200 asserted): the token and its scopes.
async fn token_and_scope(client: &TestClient, username: &str, password: &str) -> (String, String) {
    let res = client.post("/token").form(&json!({"username": username, "password": password})).send().await;
    assert_eq!(res.status(), 200, "{}", res.text());
    let body: Value = res.json();
    assert_eq!(body["token_type"], "bearer");
    let token = body["access_token"].as_str().unwrap_or_default().to_owned();
    (token, body["scope"].as_str().unwrap_or_default().to_owned())
}

async fn token(client: &TestClient, username: &str, password: &str) -> String {
    token_and_scope(client, username, password).await.0
}

async fn user(db: &Database, name: &str) -> User {
    User::objects().filter(User::username().eq(name)).get(db).await.unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[tokio::test]
async fn login_and_current_user() {
    let client = server().await;
    let alice = token(&client, "alice", "wonderland").await;
    let res = client.get("/users/me").header("authorization", &format!("Bearer {alice}")).send().await;
    assert_eq!(res.json::<Value>(), json!({"username": "alice", "scopes": ["admin"]}));
    let (_, scope) = token_and_scope(&client, "bob", "builder").await;
    assert_eq!(scope, "", "bob is not in the admins group");

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

    // A valid token whose user was deactivated since, or deleted, no longer works.
    let bob = token(&client, "bob", "builder").await;
    let bearer = format!("Bearer {bob}");
    assert_eq!(client.get("/users/me").header("authorization", &bearer).send().await.status(), 200);
    User::objects()
        .filter(User::username().eq("bob"))
        .update([User::is_active().set(false)], &client.db())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let res = client.get("/users/me").header("authorization", &bearer).send().await;
    assert_eq!(res.status(), 401);
    assert_eq!(res.json::<Value>(), json!({"detail": "Could not validate credentials"}));
    // And a deactivated user cannot log in: the same answer as a wrong password.
    let res = client.post("/token").form(&json!({"username": "bob", "password": "builder"})).send().await;
    assert_eq!(res.status(), 400);
    assert_eq!(res.json::<Value>(), json!({"detail": "Incorrect username or password"}));
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

#[tokio::test]
async fn the_admin_scope_is_the_view_stats_permission() {
    let client = server().await;
    let db = client.db();
    let (alice, scope) = token_and_scope(&client, "alice", "wonderland").await;
    assert_eq!(scope, "admin");
    let accounts = showcase::auth::settings().accounts();
    let perms = accounts.permissions(&db, &user(&db, "alice").await).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(perms.into_iter().collect::<Vec<_>>(), ["showcase.view_stats"], "through the group admins");

    // bob joins the group admins: his next token has the scope.
    let admins =
        Group::objects().filter(Group::name().eq("admins")).get(&db).await.unwrap_or_else(|e| panic!("{e}"));
    let bob = user(&db, "bob").await;
    User::groups().add(&bob, [admins.id.value()], &db).await.unwrap_or_else(|e| panic!("{e}"));
    let (bobs, scope) = token_and_scope(&client, "bob", "builder").await;
    assert_eq!(scope, "admin");
    let res = client.get("/stats").header("authorization", &format!("Bearer {bobs}")).send().await;
    assert_eq!(res.status(), 200, "{}", res.text());

    // alice leaves it: the token she already has stops opening /stats at once.
    let alice_user = user(&db, "alice").await;
    User::groups().remove(&alice_user, [admins.id.value()], &db).await.unwrap_or_else(|e| panic!("{e}"));
    let res = client.get("/stats").header("authorization", &format!("Bearer {alice}")).send().await;
    assert_eq!(res.status(), 403);
    assert_eq!(token_and_scope(&client, "alice", "wonderland").await.1, "");

    // A superuser has every permission, so the scope too.
    accounts
        .create_user(&db, "root", "", Some("the root passphrase 9"), true)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(token_and_scope(&client, "root", "the root passphrase 9").await.1, "admin");
}

#[tokio::test]
async fn failed_logins_are_throttled() {
    let client = server().await;
    // brisk-auth's default: 10 failures per username in 15 minutes.
    for _ in 0..10 {
        let res = client.post("/token").form(&json!({"username": "bob", "password": "nope"})).send().await;
        assert_eq!(res.status(), 400);
    }
    let res = client.post("/token").form(&json!({"username": "bob", "password": "builder"})).send().await;
    assert_eq!(res.status(), 429, "even the right password waits: {}", res.text());
    let wait: u64 = res.header("retry-after").and_then(|s| s.parse().ok()).unwrap_or_default();
    assert!((1..=900).contains(&wait), "Retry-After: {wait}");
    assert_eq!(res.json::<Value>(), json!({"detail": "Too many failed login attempts; try again later"}));
    // Another user is not held up.
    token(&client, "alice", "wonderland").await;
}

#[test]
fn security_is_documented() {
    let doc = serde_json::to_value(
        showcase::app_with(
            AuthConfig::new(SECRET),
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
    let token = &doc["paths"]["/token"]["post"];
    assert_eq!(
        token["requestBody"]["content"].as_object().map(|c| c.keys().cloned().collect::<Vec<_>>()),
        Some(vec!["application/x-www-form-urlencoded".to_owned(), "multipart/form-data".to_owned()])
    );
    for status in ["200", "400", "422", "429"] {
        assert!(token["responses"].get(status).is_some(), "POST /token documents {status}");
    }
    // brisk-auth's routes are there too.
    assert!(doc["paths"]["/auth/login"]["post"].is_object());
}

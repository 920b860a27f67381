//! Sessions in the database, on SQLite and on PostgreSQL: the default store once a `Database`
//! is installed, its table made at start-up, ids in the cookie and data in the table, changed-only
//! saving, `cycle_id` and `flush`, expired rows removed on access and by the clean-up, and a
//! forged cookie answered with an empty session.

mod support;

use std::time::Duration;

use brisk::prelude::*;
use brisk::secret_key::SecretKey;
use brisk::sessions::{ManualClock, MemoryStore, Session, SessionConfig, SessionId, SessionStore};
use brisk::testing::{TestClient, TestResponse};
use brisk_orm::sessions::{DatabaseStore, TABLE};
use brisk_orm::{Database, Raw};
use serde_json::{json, Value};
use support::{each_backend, name};

async fn set(session: Session, Path((key, value)): Path<(String, String)>) -> Result<&'static str> {
    session.insert(&key, value)?;
    Ok("set")
}

async fn read(session: Session, Path(key): Path<String>) -> Result<Json<Option<String>>> {
    Ok(Json(session.get::<String>(&key)?))
}

async fn login(session: Session) -> &'static str {
    session.cycle_id();
    "cycled"
}

async fn logout(session: Session) -> &'static str {
    session.flush();
    "flushed"
}

fn config(clock: &ManualClock) -> SessionConfig {
    SessionConfig::new(SecretKey::new("a test key that is long enough: 0123456789").unwrap())
        .clock(clock.clone())
        .idle_timeout(Duration::from_secs(100))
}

fn app(db: Database, config: SessionConfig) -> App {
    App::new()
        .install(db)
        .sessions(config)
        .route("/set/{key}/{value}", get(set))
        .route("/get/{key}", get(read))
        .route("/login", get(login))
        .route("/logout", get(logout))
}

/// The rows of the session table, read without the store (which would create it).
async fn rows(db: &Database) -> i64 {
    let rows: Vec<(i64,)> = Raw::new(format!("SELECT COUNT(*) FROM {TABLE}")).fetch(db).await.unwrap();
    rows[0].0
}

fn cookie(res: &TestResponse) -> String {
    let set = res.header("set-cookie").unwrap_or_default();
    set.split(';').next().unwrap_or_default().to_owned()
}

async fn get_with(client: &TestClient, path: &str, cookie: &str) -> TestResponse {
    client.get(path).header("cookie", cookie).send().await
}

#[tokio::test]
async fn the_installed_database_keeps_the_sessions() {
    each_backend(|db| async move {
        let backend = name(&db);
        let clock = ManualClock::new();
        let client = TestClient::serve(app(db.clone(), config(&clock))).await;
        // The table is made at start-up: once the server answers (here a request without a
        // cookie, which does not reach the store), it is there.
        let res = client.get("/get/user").send().await;
        assert_eq!(res.json::<Value>(), json!(null), "{backend}");
        assert_eq!(rows(&db).await, 0, "{backend}");

        let res = client.get("/set/user/alice").send().await;
        assert_eq!(res.status(), 200, "{backend}: {}", res.text());
        let c = cookie(&res);
        // The cookie holds an id, the table the data.
        let id =
            SessionId::parse(c.trim_start_matches("session=")).unwrap_or_else(|| panic!("{backend}: {c}"));
        assert_eq!(rows(&db).await, 1, "{backend}");
        let stored: Vec<(String,)> =
            Raw::new(format!("SELECT session_data FROM {TABLE} WHERE session_key = ?"))
                .bind(id.as_str().to_owned())
                .fetch(&db)
                .await
                .unwrap();
        assert!(stored[0].0.contains("\"user\":\"alice\""), "{backend}: {}", stored[0].0);

        assert_eq!(get_with(&client, "/get/user", &c).await.json::<Value>(), json!("alice"), "{backend}");
        // Unchanged: no Set-Cookie.
        assert!(get_with(&client, "/get/user", &c).await.header("set-cookie").is_none(), "{backend}");
        // Changed: the same row, updated.
        let res = get_with(&client, "/set/user/bob", &c).await;
        assert_eq!(cookie(&res), c, "{backend}");
        assert_eq!(get_with(&client, "/get/user", &c).await.json::<Value>(), json!("bob"), "{backend}");
        assert_eq!(rows(&db).await, 1, "{backend}");

        // A made-up id or a forged cookie: an empty session, no error, nothing stored.
        for forged in ["session=AAAAAAAAAAAAAAAAAAAAAA", "session=x' OR '1'='1", "session=garbage.sig"] {
            let res = get_with(&client, "/get/user", forged).await;
            assert_eq!(res.status(), 200, "{backend}: {forged}");
            assert_eq!(res.json::<Value>(), json!(null), "{backend}: {forged}");
        }
        assert_eq!(rows(&db).await, 1, "{backend}");
    })
    .await;
}

#[tokio::test]
async fn cycle_id_and_flush() {
    each_backend(|db| async move {
        let backend = name(&db);
        let clock = ManualClock::new();
        let client = TestClient::serve(app(db.clone(), config(&clock))).await;
        let old = cookie(&client.get("/set/user/alice").send().await);
        let new = cookie(&get_with(&client, "/login", &old).await);
        assert_ne!(new, old, "{backend}");
        assert_eq!(get_with(&client, "/get/user", &new).await.json::<Value>(), json!("alice"), "{backend}");
        assert_eq!(get_with(&client, "/get/user", &old).await.json::<Value>(), json!(null), "{backend}");
        assert_eq!(rows(&db).await, 1, "{backend}: the old row is gone");

        let res = get_with(&client, "/logout", &new).await;
        assert!(res.header("set-cookie").unwrap_or_default().contains("Max-Age=0"), "{backend}");
        assert_eq!(rows(&db).await, 0, "{backend}");
        assert_eq!(get_with(&client, "/get/user", &new).await.json::<Value>(), json!(null), "{backend}");
    })
    .await;
}

#[tokio::test]
async fn expired_rows_are_cleaned() {
    each_backend(|db| async move {
        let backend = name(&db);
        let clock = ManualClock::new();
        let client = TestClient::serve(app(db.clone(), config(&clock))).await;
        let first = cookie(&client.get("/set/user/alice").send().await);
        for _ in 0..2 {
            client.get("/set/user/someone").send().await;
        }
        assert_eq!(rows(&db).await, 3, "{backend}");

        // Past the idle timeout: an empty session, and the row it named deleted on access.
        clock.advance(Duration::from_secs(101));
        assert_eq!(get_with(&client, "/get/user", &first).await.json::<Value>(), json!(null), "{backend}");
        assert_eq!(rows(&db).await, 2, "{backend}");

        // The rest go with the clean-up (what the timer runs).
        let store = DatabaseStore::new(db.clone());
        assert_eq!(store.delete_expired(brisk::sessions::Clock::now(&clock)).await.unwrap(), 2, "{backend}");
        assert_eq!(rows(&db).await, 0, "{backend}");

        // A session still in use is not cleaned.
        let alive = cookie(&client.get("/set/user/carol").send().await);
        clock.advance(Duration::from_secs(50));
        assert_eq!(store.clear_expired(brisk::sessions::Clock::now(&clock)).await.unwrap(), 0, "{backend}");
        assert_eq!(get_with(&client, "/get/user", &alive).await.json::<Value>(), json!("carol"), "{backend}");
        assert_eq!(store.count().await.unwrap(), 1, "{backend}");
    })
    .await;
}

#[tokio::test]
async fn a_store_named_in_the_config_wins_over_the_database() {
    each_backend(|db| async move {
        let backend = name(&db);
        let memory = MemoryStore::new();
        let clock = ManualClock::new();
        let client = TestClient::serve(app(db.clone(), config(&clock).store(memory.clone()))).await;
        client.get("/set/user/alice").send().await;
        assert_eq!(memory.len(), 1, "{backend}");
        assert_eq!(DatabaseStore::new(db.clone()).count().await.unwrap(), 0, "{backend}");
    })
    .await;
}

//! Sessions in Redis through brisk apps: a session made through one app instance is valid
//! through another sharing the Redis, and a logout through one ends it everywhere.

mod common;

use std::time::Duration;

use brisk::prelude::*;
use brisk::secret_key::SecretKey;
use brisk::sessions::{Record, Session, SessionConfig, SessionId, SessionStore};
use brisk::testing::{TestClient, TestResponse};
use common::{cleanup, keys, pttl, redis, unique_prefix, URL};
use serde_json::{json, Map};

async fn login(session: Session, Path(user): Path<u64>) -> Result<&'static str> {
    session.cycle_id();
    session.insert("user_id", user)?;
    Ok("welcome")
}

async fn me(session: Session) -> Result<Json<serde_json::Value>> {
    Ok(Json(json!({ "user_id": session.get::<u64>("user_id")? })))
}

async fn logout(session: Session) -> &'static str {
    session.flush();
    "bye"
}

/// One instance of the app (one "process"): its own Redis client, sessions in it.
fn instance(prefix: &str) -> TestClient {
    let key = SecretKey::new("a test key that is long enough: 0123456789").expect("a key");
    TestClient::new(
        App::new()
            .install(redis(prefix))
            .sessions(SessionConfig::new(key))
            .route("/login/{user}", get(login))
            .route("/me", get(me))
            .route("/logout", get(logout)),
    )
}

/// `name=value` of the response's session cookie.
fn cookie(res: &TestResponse) -> String {
    let set: Vec<&str> = res.headers().get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()).collect();
    assert_eq!(set.len(), 1, "one Set-Cookie: {set:?}");
    set[0].split(';').next().unwrap_or_default().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_made_through_one_instance_is_valid_through_another_until_logout() {
    let prefix = unique_prefix("sessions-shared");
    let (a, b) = (instance(&prefix), instance(&prefix));

    let res = a.get("/login/42").send().await;
    assert_eq!(res.status(), 200);
    let session = cookie(&res);
    let id = session.split_once('=').map(|(_, v)| v.to_owned()).unwrap_or_default();
    let stored = keys(URL, &prefix).await;
    assert_eq!(stored, vec![format!("{prefix}session:{id}")], "one key, named by the session id");
    let ttl = pttl(URL, &stored[0]).await;
    assert!(ttl > 0, "the key expires with the session: {ttl}");

    let res = b.get("/me").header("cookie", &session).send().await;
    assert_eq!(res.json::<serde_json::Value>(), json!({"user_id": 42}), "read through the other instance");
    let res = a.get("/me").header("cookie", &session).send().await;
    assert_eq!(res.json::<serde_json::Value>(), json!({"user_id": 42}));

    let res = b.get("/logout").header("cookie", &session).send().await;
    assert_eq!(res.status(), 200);
    assert_eq!(keys(URL, &prefix).await, Vec::<String>::new(), "deleted from Redis");
    for client in [&a, &b] {
        let res = client.get("/me").header("cookie", &session).send().await;
        assert_eq!(res.json::<serde_json::Value>(), json!({"user_id": null}), "ended everywhere");
    }
    cleanup(URL, &prefix).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_loads_only_ids_it_keeps_and_honours_the_expiry() {
    let prefix = unique_prefix("sessions-store");
    let store = redis(&prefix).sessions();
    let now = std::time::SystemTime::now();
    let mut data = Map::new();
    data.insert("cart".into(), json!([1, 2]));
    let record = Record {
        id: SessionId::generate().expect("an id"),
        data,
        created: now,
        expires: now + Duration::from_secs(2),
    };
    let cookie = store.save(&record).await.expect("save");
    assert_eq!(cookie, record.id.as_str());
    let loaded = store.load(&cookie).await.expect("load").expect("kept");
    assert_eq!((loaded.id.clone(), loaded.data.clone()), (record.id.clone(), record.data.clone()));
    let ttl = pttl(URL, &format!("{prefix}session:{cookie}")).await;
    assert!((1..=2000).contains(&ttl), "expires at the record's expiry: {ttl}");

    // Not an id, or an id never saved: nothing, and no error.
    assert!(store.load("not an id").await.expect("load").is_none());
    let unknown = SessionId::generate().expect("an id");
    assert!(store.load(unknown.as_str()).await.expect("load").is_none());
    // A value that is not a record of that id is no session.
    let mut raw = common::raw(URL).await;
    let () = redis::cmd("SET")
        .arg(format!("{prefix}session:{}", unknown.as_str()))
        .arg(&record.to_json().expect("json")[..])
        .query_async(&mut raw)
        .await
        .expect("SET");
    assert!(store.load(unknown.as_str()).await.expect("load").is_none(), "another id's record");

    // Saving an expired record removes it.
    let expired = Record { expires: now - Duration::from_secs(1), ..record.clone() };
    store.save(&expired).await.expect("save");
    assert!(store.load(&cookie).await.expect("load").is_none());

    store.save(&record).await.expect("save");
    store.delete(&record.id).await.expect("delete");
    assert!(store.load(&cookie).await.expect("load").is_none());
    cleanup(URL, &prefix).await;
}

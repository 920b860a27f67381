//! brisk-auth's login under attack, on SQLite and on the real PostgreSQL: no user enumeration
//! (an unknown username and a wrong password get the same status and body, and take the same
//! time: the median response times of 50 of each, interleaved, within 10%), and login
//! throttling across two app instances sharing the database (the 11th bad attempt is 429),
//! with the cost of a refused attempt. Figures are printed for RESULTS.md.

use std::time::{Duration, Instant};

use brisk::prelude::*;
use brisk::secret_key::SecretKey;
use brisk::sessions::SessionConfig;
use brisk::testing::TestClient;
use brisk_auth::{Auth, Throttle};
use brisk_orm::migrations::Migrator;
use brisk_orm::testing::TestDatabase;
use brisk_orm::Database;
use reliability::Latency;
use serde_json::json;

const ROUNDS: usize = 50;

fn app(db: &Database, auth: Auth) -> App {
    App::new().install(db.clone()).install(auth).sessions(SessionConfig::new(
        SecretKey::new("a reliability test key, long enough 0123456789").expect("key"),
    ))
}

async fn databases() -> Vec<(&'static str, TestDatabase)> {
    let all = vec![
        ("sqlite", TestDatabase::empty_sqlite().expect("sqlite")),
        ("postgres", TestDatabase::empty_postgres().await.expect("the PostgreSQL server")),
    ];
    for (_, test) in &all {
        Migrator::new(test.database(), Vec::new()).expect("graph").migrate().await.expect("migrated");
    }
    all
}

async fn attempt(client: &TestClient, username: &str, password: &str) -> (u16, String, Duration) {
    let started = Instant::now();
    let res =
        client.post("/auth/login").json(&json!({"username": username, "password": password})).send().await;
    (res.status().as_u16(), res.text(), started.elapsed())
}

fn median(samples: &[Duration]) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort();
    sorted[sorted.len() / 2]
}

#[tokio::test]
async fn unknown_users_and_wrong_passwords_cannot_be_told_apart() {
    for (backend, test) in databases().await {
        let db = test.database();
        // The default (OWASP) Argon2id cost: what a deployment runs.
        let auth = Auth::default().throttle(Throttle::off());
        auth.accounts()
            .create_user(&db, "victim", "", Some("the victim's passphrase 7"), false)
            .await
            .expect("user");
        let client = TestClient::serve(app(&db, auth)).await;
        attempt(&client, "victim", "warm-up").await;
        // Noise on a shared 2-core machine hits both kinds alike (they alternate); a round
        // whose medians differ by more than 10% is measured again, at most three times.
        let mut last = String::new();
        let mut passed = false;
        for round in 1..=3 {
            let (mut unknown, mut wrong) = (Vec::new(), Vec::new());
            for i in 0..ROUNDS {
                let (s1, b1, t1) = attempt(&client, &format!("nobody-{i}"), "a guess").await;
                let (s2, b2, t2) = attempt(&client, "victim", "a guess").await;
                assert_eq!((s1, s2), (400, 400), "{backend}");
                assert_eq!(b1, b2, "{backend}: the bodies must be identical");
                unknown.push(t1);
                wrong.push(t2);
            }
            let (mu, mw) = (median(&unknown), median(&wrong));
            let gap = (mu.as_secs_f64() - mw.as_secs_f64()).abs() / mu.max(mw).as_secs_f64();
            last = format!(
                "auth ({backend}), round {round}: unknown user {} | wrong password {} | medians differ by {:.1}%",
                Latency::of(unknown),
                Latency::of(wrong),
                gap * 100.0
            );
            println!("{last}");
            if gap <= 0.10 {
                passed = true;
                break;
            }
        }
        assert!(passed, "unknown users answer faster or slower than wrong passwords: {last}");
    }
}

#[tokio::test]
async fn the_eleventh_bad_attempt_is_refused_and_refusals_are_cheap() {
    for (backend, test) in databases().await {
        let db = test.database();
        let auth = Auth::default();
        auth.accounts()
            .create_user(&db, "target", "", Some("the target's passphrase 3"), false)
            .await
            .expect("user");
        let one = TestClient::serve(app(&db, Auth::default())).await;
        let two = TestClient::serve(app(&db, auth)).await;
        let mut checked = Vec::new();
        for i in 1..=10 {
            let client = if i % 2 == 0 { &one } else { &two };
            let (status, _, took) = attempt(client, "target", &format!("guess {i}")).await;
            assert_eq!(status, 400, "{backend}: attempt {i}");
            checked.push(took);
        }
        let mut refused = Vec::new();
        for i in 11..=60 {
            let client = if i % 2 == 0 { &one } else { &two };
            let (status, body, took) = attempt(client, "target", &format!("guess {i}")).await;
            assert_eq!(status, 429, "{backend}: attempt {i}");
            assert!(body.contains("Too many failed login attempts"), "{body}");
            refused.push(took);
        }
        let (status, _, _) = attempt(&one, "target", "the target's passphrase 3").await;
        assert_eq!(status, 429, "{backend}: the right password is refused while blocked");
        println!(
            "auth ({backend}): 10 bad attempts over 2 instances, each checked: {}; attempts 11-60, refused 429 without hashing: {}",
            Latency::of(checked),
            Latency::of(refused)
        );
    }
}

//! A test app with brisk-auth on a throwaway database (SQLite or the real PostgreSQL), and a
//! client that keeps its session cookie as a browser does.
#![allow(dead_code)]

use brisk::prelude::*;
use brisk::secret_key::SecretKey;
use brisk::sessions::SessionConfig;
use brisk::testing::{TestClient, TestResponse};
use brisk_auth::{perm, Argon2Cost, Auth, CurrentUser, OptionalUser, Permission, Staff, User, UserOut};
use brisk_orm::migrations::Migrator;
use brisk_orm::testing::TestDatabase;
use brisk_orm::{Database, Model};
use serde_json::Value;

/// A model of another app, for its default permissions.
#[derive(Debug, Clone, Model)]
#[model(app_label = "reports", verbose_name = "report")]
pub struct Report {
    #[model(primary_key)]
    pub id: brisk_orm::AutoId,
    pub title: String,
}

/// A cheap Argon2 cost, so the tests do not spend 19 MiB per hash (the cost itself is
/// tested in the crate's unit tests, and the timing test uses the default).
pub fn quick() -> Argon2Cost {
    Argon2Cost { memory_kib: 256, iterations: 1, parallelism: 1 }
}

pub const KEY: &str = "a test secret key that is long enough 0123456789";

async fn me(user: CurrentUser) -> Json<UserOut> {
    Json(user.public())
}

async fn maybe(user: OptionalUser) -> String {
    user.0.map_or_else(|| "anonymous".to_owned(), |u| u.username)
}

async fn reports(user: Permission<perm!("reports.view_report")>) -> String {
    format!("reports for {}", user.username)
}

async fn staff(user: Staff) -> String {
    format!("staff {}", user.username)
}

/// The app: the database, its migrations (brisk-auth's shipped ones), Auth configured by
/// `auth`, and a few protected routes.
pub fn app_with(db: &Database, auth: Auth) -> App {
    let key = SecretKey::new(KEY).expect("a key");
    App::new()
        .install(db.clone())
        .install(brisk_orm::Migrations::new(db.clone(), Vec::new()))
        .install(auth)
        .sessions(SessionConfig::new(key))
        .route("/me", get(me))
        .route("/maybe", get(maybe))
        .route("/reports", get(reports))
        .route("/staff", get(staff))
}

pub fn auth() -> Auth {
    Auth::default().argon2(quick())
}

/// Both backends, migrated.
pub async fn databases() -> Vec<TestDatabase> {
    let mut all = vec![TestDatabase::empty_sqlite().expect("sqlite")];
    all.push(
        TestDatabase::empty_postgres().await.expect("the PostgreSQL server (scripts/services starts it)"),
    );
    for test in &all {
        Migrator::new(test.database(), Vec::new()).expect("graph").migrate().await.expect("migrated");
    }
    all
}

/// A client that keeps the session cookie, and checks that every cookie it is given is
/// `HttpOnly` and `SameSite`.
pub struct Browser {
    pub client: TestClient,
    pub cookie: String,
}

impl Browser {
    pub async fn new(app: App) -> Self {
        Browser { client: TestClient::serve(app).await, cookie: String::new() }
    }

    pub fn keep(&mut self, res: &TestResponse) {
        for value in res.headers().get_all("set-cookie") {
            let text = value.to_str().unwrap_or_default();
            assert!(text.contains("HttpOnly"), "a cookie without HttpOnly: {text}");
            assert!(text.contains("SameSite="), "a cookie without SameSite: {text}");
            let pair = text.split(';').next().unwrap_or_default();
            // An expired (deleted) cookie is forgotten.
            if text.contains("Max-Age=0") || pair.ends_with('=') {
                self.cookie.clear();
            } else {
                self.cookie = pair.to_owned();
            }
        }
    }

    pub async fn get(&mut self, path: &str) -> TestResponse {
        let res = self.client.get(path).header("cookie", &self.cookie).send().await;
        self.keep(&res);
        res
    }

    pub async fn post_json(&mut self, path: &str, body: &Value) -> TestResponse {
        // A browser's script: it says the request comes from the page's own site.
        let res = self
            .client
            .post(path)
            .header("cookie", &self.cookie)
            .header("sec-fetch-site", "same-origin")
            .json(body)
            .send()
            .await;
        self.keep(&res);
        res
    }

    pub async fn login(&mut self, username: &str, password: &str) -> TestResponse {
        self.post_json("/auth/login", &serde_json::json!({"username": username, "password": password})).await
    }
}

/// Makes a user with `password` through the accounts of `auth`.
pub async fn user(db: &Database, name: &str, password: &str) -> User {
    auth()
        .accounts()
        .create_user(db, name, &format!("{name}@example.com"), Some(password), false)
        .await
        .expect("user made")
}

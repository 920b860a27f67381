//! What the routes document in OpenAPI, templates an app overrides, object-level rules, one
//! permission query per request however many extractors ask, and failed logins logged without
//! the password.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use brisk::prelude::*;
use brisk::templates::Templates;
use brisk_auth::{perm, Accounts, ObjectPermission, Permission, User};
use brisk_orm::Model;
use common::{app_with, auth, databases, user, Browser};
use serde_json::{json, Value};

#[test]
fn the_security_schemes_and_the_login_route_are_documented() {
    let db = brisk_orm::Database::open("sqlite::memory:").expect("db");
    let doc = serde_json::to_value(app_with(&db, auth()).openapi().expect("document")).expect("json");
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(
        schemes["apiToken"],
        json!({"type": "http", "scheme": "bearer", "description": schemes["apiToken"]["description"]})
    );
    assert_eq!(schemes["sessionCookie"]["in"], "cookie");
    let reports = &doc["paths"]["/reports"]["get"];
    assert_eq!(reports["security"], json!([{"sessionCookie": []}, {"apiToken": []}]));
    assert!(reports["responses"]["401"].is_object() && reports["responses"]["403"].is_object(), "{reports}");
    assert!(reports["description"].as_str().unwrap_or_default().contains("reports.view_report"));
    let me = &doc["paths"]["/me"]["get"]["responses"];
    assert!(me["401"].is_object() && me.get("403").is_none(), "{me}");

    let login = &doc["paths"]["/auth/login"]["post"];
    let body = &login["requestBody"]["content"];
    assert!(
        body["application/json"].is_object() && body["application/x-www-form-urlencoded"].is_object(),
        "{body}"
    );
    for status in ["200", "303", "400", "422", "429"] {
        assert!(login["responses"][status].is_object(), "POST /auth/login documents {status}: {login}");
    }
    assert_eq!(login["tags"], json!(["auth"]));
    for path in [
        "/auth/logout",
        "/auth/logout-everywhere",
        "/auth/me",
        "/auth/password",
        "/auth/tokens",
        "/auth/tokens/{id}",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} documented");
    }
}

#[tokio::test]
async fn an_app_overrides_the_login_page() {
    let db = brisk_orm::Database::open("sqlite::memory:").expect("db");
    let app = app_with(&db, auth())
        .templates(Templates::new().embedded(&[("auth/login.html", "Our own login, next={{ next }}")]));
    let mut browser = Browser::new(app).await;
    let res = browser.get("/auth/login?next=/x").await;
    assert_eq!(res.text(), "Our own login, next=&#x2f;x");
}

struct Post {
    author: i64,
    locked: bool,
}

impl ObjectPermission for Post {
    fn permits(&self, user: &User, perm: &str) -> Option<bool> {
        if self.locked {
            return Some(false);
        }
        (perm == "reports.change_report" && self.author == user.id.value()).then_some(true)
    }
}

/// Three permission checks in one handler.
async fn two_checks(
    _a: Permission<perm!("reports.view_report")>,
    _b: Permission<perm!("reports.view_report")>,
    _c: Permission<perm!("reports.add_report")>,
) -> &'static str {
    "ok"
}

async fn one_check(_a: Permission<perm!("reports.view_report")>) -> &'static str {
    "ok"
}

#[tokio::test]
async fn object_rules_and_one_permission_query_per_request() {
    for test in databases().await {
        let db = test.database();
        let kim = user(&db, "kim", "kim's long passphrase").await;
        let accounts: Accounts = auth().accounts();
        let own = Post { author: kim.id.value(), locked: false };
        let other = Post { author: kim.id.value() + 1, locked: false };
        let locked = Post { author: kim.id.value(), locked: true };
        assert!(accounts.has_object_perm(&db, &kim, "reports.change_report", &own).await.expect("asked"));
        assert!(!accounts.has_object_perm(&db, &kim, "reports.change_report", &other).await.expect("asked"));
        assert!(!accounts.has_object_perm(&db, &kim, "reports.change_report", &locked).await.expect("asked"));
        let err =
            accounts.require_object_perm(&db, &kim, "reports.change_report", &other).await.expect_err("403");
        assert_eq!(err.status(), 403);

        for codename in ["view_report", "add_report"] {
            let perm = brisk_auth::models::Permission::objects()
                .filter(brisk_auth::models::Permission::codename().eq(codename))
                .get(&db)
                .await
                .expect("perm");
            User::user_permissions().add(&kim, [perm.id.value()], &db).await.expect("granted");
        }
        let app = app_with(&db, auth()).route("/three", get(two_checks)).route("/one", get(one_check));
        let mut browser = Browser::new(app).await;
        assert_eq!(browser.login("kim", "kim's long passphrase").await.status(), 200);
        let before = db.queries_run();
        assert_eq!(browser.get("/one").await.status(), 200);
        let one = db.queries_run() - before;
        let before = db.queries_run();
        assert_eq!(browser.get("/three").await.status(), 200);
        let three = db.queries_run() - before;
        assert_eq!(one, three, "three permission extractors cost what one does");
        assert!(one <= 3, "session, user, permissions: {one} queries");
    }
}

/// A writer the log goes to, for the test to read.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn failed_logins_are_logged_without_the_password() {
    let captured = Captured::default();
    let sink = captured.clone();
    let subscriber = tracing_subscriber::fmt().with_writer(move || sink.clone()).with_ansi(false).finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        let db = brisk_orm::Database::open("sqlite::memory:").expect("db");
        brisk_orm::migrations::Migrator::new(db.clone(), Vec::new())
            .expect("graph")
            .migrate()
            .await
            .expect("migrated");
        let accounts: Accounts = auth().accounts();
        let refused =
            accounts.authenticate(&db, "lee", "hunter2-secret-guess", "192.0.2.7".parse().ok()).await;
        assert!(matches!(refused, Err(brisk_auth::LoginError::Invalid)));
    });
    let log = String::from_utf8_lossy(&captured.0.lock().unwrap_or_else(|p| p.into_inner())).into_owned();
    assert!(log.contains("login failed") && log.contains("lee") && log.contains("192.0.2.7"), "{log}");
    assert!(!log.contains("hunter2"), "the password is never logged: {log}");
}

#[tokio::test]
async fn login_needs_its_fields_and_a_known_content_type() {
    let db = brisk_orm::Database::open("sqlite::memory:").expect("db");
    let browser = Browser::new(app_with(&db, auth())).await;
    let res =
        browser.client.post("/auth/login").header("content-type", "text/plain").body("alice:pw").send().await;
    assert_eq!(res.status(), 415);
    let res =
        browser.client.post("/auth/login").header("content-type", "application/json").body("{").send().await;
    assert_eq!(res.status(), 422);
    let long = "x".repeat(151);
    let res =
        browser.client.post("/auth/login").json(&json!({"username": long, "password": "p"})).send().await;
    assert_eq!(res.status(), 422);
    assert_eq!(res.json::<Value>()["detail"][0]["loc"], json!(["body", "username"]));
}

async fn private_page(user: brisk_auth::LoginRequired) -> String {
    format!("hello {}", user.username)
}

#[tokio::test]
async fn login_required_sends_an_anonymous_browser_to_the_login_page_and_back() {
    for test in databases().await {
        let db = test.database();
        user(&db, "noor", "noor's long passphrase").await;
        let mut browser = Browser::new(app_with(&db, auth()).route("/private", get(private_page))).await;
        let res = browser.get("/private?tab=2").await;
        assert_eq!(res.status(), 303);
        assert_eq!(res.header("location"), Some("/auth/login?next=%2Fprivate%3Ftab%3D2"));
        assert_eq!(browser.login("noor", "noor's long passphrase").await.status(), 200);
        assert_eq!(browser.get("/private?tab=2").await.text(), "hello noor");
    }
}

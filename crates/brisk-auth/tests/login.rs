//! Logging in and out over a real socket, on SQLite and on PostgreSQL: JSON and the HTML form,
//! session fixation, logout, password changes ending other sessions, Django hashes upgraded,
//! permissions through groups, deactivated users, staff.

mod common;

use brisk_auth::models::{Group, Permission};
use brisk_auth::User;
use brisk_orm::{Database, Model, ModelExt};
use common::{app_with, auth, databases, user, Browser};
use serde_json::{json, Value};

#[tokio::test]
async fn json_login_sessions_and_logout() {
    for test in databases().await {
        let db = test.database();
        user(&db, "alice", "a long passphrase 42").await;
        let mut browser = Browser::new(app_with(&db, auth())).await;

        let res = browser.get("/me").await;
        assert_eq!(res.status(), 401);
        assert_eq!(res.json::<Value>(), json!({"detail": "Not authenticated"}));
        assert_eq!(browser.get("/maybe").await.text(), "anonymous");

        // A session that exists before login (the login page made it for its CSRF token).
        let page = browser.get("/auth/login").await;
        assert_eq!(page.status(), 200);
        let before = browser.cookie.clone();
        assert!(before.starts_with("session="), "the login page starts a session: {before:?}");

        let res = browser.login("alice", "a long passphrase 42").await;
        assert_eq!(res.status(), 200, "{}", res.text());
        let body: Value = res.json();
        assert_eq!(body["username"], "alice");
        assert!(body.get("password").is_none(), "the hash is never shown");
        assert_ne!(browser.cookie, before, "login gives the session a new id");
        assert_eq!(browser.get("/me").await.json::<Value>()["username"], "alice");
        assert_eq!(browser.get("/maybe").await.text(), "alice");

        // Session fixation: the id planted before login is anonymous after it.
        let res = browser.client.get("/me").header("cookie", &before).send().await;
        assert_eq!(res.status(), 401);

        let last_login = User::objects().filter(User::username().eq("alice")).get(&db).await.expect("alice");
        assert!(last_login.last_login.is_some(), "last_login is set");

        // Logout flushes the session server-side: the old cookie, kept, is anonymous.
        let logged_in = browser.cookie.clone();
        let res = browser.post_json("/auth/logout", &json!({})).await;
        assert_eq!(res.status(), 204);
        let res = browser.client.get("/me").header("cookie", &logged_in).send().await;
        assert_eq!(res.status(), 401, "a cookie kept after logout is anonymous");
    }
}

#[tokio::test]
async fn unknown_users_and_wrong_passwords_look_the_same() {
    for test in databases().await {
        let db = test.database();
        user(&db, "bob", "bob's long passphrase").await;
        let mut browser = Browser::new(app_with(&db, auth())).await;
        let wrong = browser.login("bob", "not it at all").await;
        let unknown = browser.login("nobody", "not it at all").await;
        assert_eq!(wrong.status(), 400);
        assert_eq!(unknown.status(), wrong.status());
        assert_eq!(unknown.text(), wrong.text());
        assert_eq!(wrong.json::<Value>(), json!({"detail": "Incorrect username or password"}));

        // Missing fields are a 422 in FastAPI's shape.
        let res = browser.post_json("/auth/login", &json!({"username": "bob"})).await;
        assert_eq!(res.status(), 422);
        assert_eq!(res.json::<Value>()["detail"][0]["loc"], json!(["body", "password"]));
    }
}

#[tokio::test]
async fn a_password_change_ends_the_other_sessions() {
    for test in databases().await {
        let db = test.database();
        user(&db, "carol", "carol's first passphrase").await;
        let app_a = app_with(&db, auth());
        let mut a = Browser::new(app_a).await;
        let mut b = Browser::new(app_with(&db, auth())).await;
        assert_eq!(a.login("carol", "carol's first passphrase").await.status(), 200);
        assert_eq!(b.login("carol", "carol's first passphrase").await.status(), 200);

        // Validators refuse a weak new password, with FastAPI's 422.
        let res = a
            .post_json(
                "/auth/password",
                &json!({"old_password": "carol's first passphrase", "new_password": "12345678"}),
            )
            .await;
        assert_eq!(res.status(), 422, "{}", res.text());
        let messages = res.text();
        assert!(messages.contains("too common") && messages.contains("entirely numeric"), "{messages}");
        // A wrong old password is refused.
        let res = a
            .post_json(
                "/auth/password",
                &json!({"old_password": "nope", "new_password": "a new passphrase 77"}),
            )
            .await;
        assert_eq!(res.status(), 422);

        let res = a
            .post_json(
                "/auth/password",
                &json!({"old_password": "carol's first passphrase", "new_password": "carol's second passphrase"}),
            )
            .await;
        assert_eq!(res.status(), 204, "{}", res.text());
        assert_eq!(a.get("/me").await.status(), 200, "the session that changed it stays logged in");
        assert_eq!(b.get("/me").await.status(), 401, "the other session ended");
        assert_eq!(b.login("carol", "carol's first passphrase").await.status(), 400);
        assert_eq!(b.login("carol", "carol's second passphrase").await.status(), 200);

        // Log out everywhere: both end.
        assert_eq!(a.post_json("/auth/logout-everywhere", &json!({})).await.status(), 204);
        assert_eq!(a.get("/me").await.status(), 401);
        assert_eq!(b.get("/me").await.status(), 401);
    }
}

#[tokio::test]
async fn a_django_hash_logs_in_and_is_rehashed_to_argon2id() {
    for test in databases().await {
        let db = test.database();
        let mut dave = user(&db, "dave", "placeholder passphrase").await;
        // pbkdf2_sha256 of "correct horse", as Django stores it.
        dave.password =
            "pbkdf2_sha256$1000$Zq2eXYcQ5Fh3zV0A$MOnZ7OkMcMwWIeHNsjCo5NTviFx/T+cfWrfE/xr72Ac=".into();
        dave.save(&db).await.expect("saved");
        let mut browser = Browser::new(app_with(&db, auth())).await;
        assert_eq!(browser.login("dave", "correct horsf").await.status(), 400);
        assert_eq!(browser.login("dave", "correct horse").await.status(), 200);
        let stored = User::objects().filter(User::username().eq("dave")).get(&db).await.expect("dave");
        assert!(stored.password.starts_with("$argon2id$v=19$m=256,t=1,p=1$"), "{}", stored.password);
        // The session bound to the new hash keeps working.
        assert_eq!(browser.get("/me").await.status(), 200);
        assert_eq!(
            Browser::new(app_with(&db, auth())).await.login("dave", "correct horse").await.status(),
            200
        );
    }
}

async fn grant_through_group(db: &Database, user: &User, codename: &str) {
    let perm = Permission::objects()
        .filter(Permission::app_label().eq("reports").and(Permission::codename().eq(codename)))
        .get(db)
        .await
        .expect("migrate made the default permission");
    let group = Group::objects()
        .create(Group { id: Default::default(), name: "readers".into(), permissions: Default::default() }, db)
        .await
        .expect("group");
    Group::permissions().add(&group, [perm.id.value()], db).await.expect("perm added");
    User::groups().add(user, [group.id.value()], db).await.expect("joined");
}

#[tokio::test]
async fn permissions_through_groups_superusers_and_deactivated_users() {
    for test in databases().await {
        let db = test.database();
        // migrate made the default permissions of every model, other apps' too.
        for (app, code) in [
            ("auth", "view_user"),
            ("auth", "change_group"),
            ("reports", "view_report"),
            ("reports", "delete_report"),
        ] {
            let n = Permission::objects()
                .filter(Permission::app_label().eq(app).and(Permission::codename().eq(code)))
                .count(&db)
                .await
                .expect("count");
            assert_eq!(n, 1, "{app}.{code}");
        }
        let erin = user(&db, "erin", "erin's long passphrase").await;
        let mut browser = Browser::new(app_with(&db, auth())).await;
        assert_eq!(browser.get("/reports").await.status(), 401);
        assert_eq!(browser.login("erin", "erin's long passphrase").await.status(), 200);
        let res = browser.get("/reports").await;
        assert_eq!(res.status(), 403);
        assert_eq!(res.json::<Value>()["detail"], "You do not have permission to perform this action");

        grant_through_group(&db, &erin, "view_report").await;
        let res = browser.get("/reports").await;
        assert_eq!(res.status(), 200);
        assert_eq!(res.text(), "reports for erin");
        let accounts = auth().accounts();
        let perms = accounts.permissions(&db, &erin).await.expect("perms");
        assert_eq!(perms.into_iter().collect::<Vec<_>>(), ["reports.view_report"]);
        assert!(!accounts.has_perm(&db, &erin, "reports.delete_report").await.expect("asked"));

        assert_eq!(browser.get("/staff").await.status(), 403);
        let su = auth()
            .accounts()
            .create_user(&db, "root", "", Some("the root passphrase 9"), true)
            .await
            .expect("su");
        assert!(su.is_staff && su.is_superuser);
        let mut admin = Browser::new(app_with(&db, auth())).await;
        assert_eq!(admin.login("root", "the root passphrase 9").await.status(), 200);
        assert_eq!(admin.get("/reports").await.status(), 200, "superusers have every permission");
        assert_eq!(admin.get("/staff").await.text(), "staff root");

        // Deactivated: the open session ends, and logging in again is refused.
        User::objects()
            .filter(User::username().eq("erin"))
            .update([User::is_active().set(false)], &db)
            .await
            .expect("off");
        assert_eq!(browser.get("/me").await.status(), 401);
        assert_eq!(browser.get("/reports").await.status(), 401);
        assert_eq!(browser.login("erin", "erin's long passphrase").await.status(), 400);
        let erin = User::objects().filter(User::username().eq("erin")).get(&db).await.expect("erin");
        assert!(!accounts.has_perm(&db, &erin, "reports.view_report").await.expect("asked"));
    }
}

/// A form post from the page's own origin, with its CSRF token.
async fn post_form(
    browser: &mut Browser,
    path: &str,
    fields: &[(&str, &str)],
) -> brisk::testing::TestResponse {
    let body: String = form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
    let res = browser
        .client
        .post(path)
        .header("accept", "text/html")
        .header("cookie", &browser.cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await;
    browser.keep(&res);
    res
}

fn csrf(page: &str) -> String {
    let at = page.find("name=\"csrf_token\" value=\"").expect("a csrf token in the form") + 25;
    page[at..].split('"').next().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn the_html_login_form() {
    for test in databases().await {
        let db = test.database();
        user(&db, "fay", "fay's long passphrase").await;
        let mut browser = Browser::new(app_with(&db, auth())).await;
        let page = browser.get("/auth/login?next=/reports").await;
        assert_eq!(page.status(), 200);
        let html = page.text();
        // minijinja escapes `/` as `&#x2f;` in HTML.
        assert!(html.contains("<form method=\"post\" action=\"&#x2f;auth&#x2f;login\">"), "{html}");
        assert!(html.contains("name=\"next\" value=\"&#x2f;reports\""), "{html}");
        let token = csrf(&html);

        // Without the token the form is refused (CSRF is on by default).
        let res = post_form(
            &mut browser,
            "/auth/login",
            &[("username", "fay"), ("password", "fay's long passphrase")],
        )
        .await;
        assert_eq!(res.status(), 403);

        let res = post_form(
            &mut browser,
            "/auth/login",
            &[("csrf_token", &token), ("username", "fay"), ("password", "wrong"), ("next", "/reports")],
        )
        .await;
        assert_eq!(res.status(), 400);
        let html = res.text();
        assert!(html.contains("role=\"alert\"") && html.contains("Incorrect username or password"), "{html}");
        assert!(html.contains("value=\"fay\""), "the username is kept");

        let res = post_form(
            &mut browser,
            "/auth/login",
            &[
                ("csrf_token", &csrf(&html)),
                ("username", "fay"),
                ("password", "fay's long passphrase"),
                ("next", "//evil.example/"),
            ],
        )
        .await;
        assert_eq!(res.status(), 303);
        assert_eq!(res.header("location"), Some("/"), "another origin is never a `next`");
        assert_eq!(browser.get("/me").await.status(), 200);

        // Logging out from a form shows the logged-out page. The session was cycled at login:
        // a fresh token is needed (the login page gives one).
        let page = browser.get("/auth/login").await.text();
        let res = post_form(&mut browser, "/auth/logout", &[("csrf_token", &csrf(&page))]).await;
        assert_eq!(res.status(), 200);
        assert!(res.text().contains("You are logged out"));
        assert_eq!(browser.get("/me").await.status(), 401);
    }
}

//! Personal access tokens on SQLite and PostgreSQL: made from a logged-in session, shown once,
//! stored hashed, used as `Authorization: Bearer`, limited by their scopes, revoked, expired.

mod common;

use brisk_auth::models::{ApiToken, Permission};
use brisk_auth::User;
use brisk_orm::{DateTime, Model};
use common::{app_with, auth, databases, user, Browser};
use serde_json::{json, Value};

#[tokio::test]
async fn tokens_act_as_their_user_within_their_scopes() {
    for test in databases().await {
        let db = test.database();
        let jo = user(&db, "jo", "jo's long passphrase").await;
        let perm = Permission::objects()
            .filter(Permission::app_label().eq("reports").and(Permission::codename().eq("view_report")))
            .get(&db)
            .await
            .expect("perm");
        User::user_permissions().add(&jo, [perm.id.value()], &db).await.expect("granted");
        let mut browser = Browser::new(app_with(&db, auth())).await;
        assert_eq!(browser.post_json("/auth/tokens", &json!({"name": "ci"})).await.status(), 401);
        assert_eq!(browser.login("jo", "jo's long passphrase").await.status(), 200);

        // A scope the user does not have is refused.
        let res =
            browser.post_json("/auth/tokens", &json!({"name": "x", "scopes": ["auth.delete_user"]})).await;
        assert_eq!(res.status(), 422, "{}", res.text());

        let res = browser.post_json("/auth/tokens", &json!({"name": "ci", "expires_in_days": 30})).await;
        assert_eq!(res.status(), 201, "{}", res.text());
        let made: Value = res.json();
        let token = made["token"].as_str().expect("the token").to_owned();
        assert!(token.starts_with("brisk_") && token.len() > 40, "{token}");
        let stored = ApiToken::objects().get(&db).await.expect("stored");
        assert_ne!(stored.digest, token, "only a hash is stored");
        assert!(!stored.digest.contains(&token[6..]));

        // A script elsewhere, on another instance of the app: only the token.
        let api = &brisk::testing::TestClient::serve(app_with(&db, auth())).await;
        let bearer = format!("Bearer {token}");
        let res = api.get("/me").header("authorization", &bearer).send().await;
        assert_eq!(res.status(), 200);
        assert_eq!(res.json::<Value>()["username"], "jo");
        assert_eq!(api.get("/reports").header("authorization", &bearer).send().await.status(), 200);
        // A token cannot mint tokens.
        let res = api
            .post("/auth/tokens")
            .header("authorization", &bearer)
            .json(&json!({"name": "more"}))
            .send()
            .await;
        assert_eq!(res.status(), 403);

        // Scoped: only what the scopes name.
        let res = browser
            .post_json("/auth/tokens", &json!({"name": "narrow", "scopes": ["reports.view_report"]}))
            .await;
        let narrow = format!("Bearer {}", res.json::<Value>()["token"].as_str().expect("token"));
        assert_eq!(api.get("/reports").header("authorization", &narrow).send().await.status(), 200);
        let res =
            browser.post_json("/auth/tokens", &json!({"name": "none", "scopes": ["auth.view_user"]})).await;
        assert_eq!(res.status(), 422, "jo lacks auth.view_user");

        // Listed without secrets; revoked; unknown and garbage tokens are 401.
        let list: Value = browser.get("/auth/tokens").await.json();
        assert_eq!(list.as_array().map(Vec::len), Some(2));
        assert!(!list.to_string().contains(&token), "a list never shows a token");
        let id = made["id"].as_i64().expect("id");
        let res = browser
            .client
            .delete(&format!("/auth/tokens/{id}"))
            .header("cookie", &browser.cookie)
            .header("sec-fetch-site", "same-origin")
            .send()
            .await;
        assert_eq!(res.status(), 204);
        let res = api.get("/me").header("authorization", &bearer).send().await;
        assert_eq!(res.status(), 401);
        assert_eq!(res.header("www-authenticate"), Some("Bearer"));
        for junk in ["Bearer brisk_nope", "Bearer brisk_", "Bearer brisk_\u{e9}x%00"] {
            assert_eq!(api.get("/me").header("authorization", junk).send().await.status(), 401, "{junk:?}");
        }

        // Expired: refused.
        ApiToken::objects()
            .update([ApiToken::expires().set(DateTime::from_micros(0))], &db)
            .await
            .expect("expired");
        assert_eq!(api.get("/reports").header("authorization", &narrow).send().await.status(), 401);
    }
}

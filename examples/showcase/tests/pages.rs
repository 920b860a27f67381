//! The showcase's HTML page, `GET /ui`: the items the API stored, escaped, searched by name,
//! with its stylesheet; a bad search is an HTML 422 for a browser; logging in and out from it
//! with brisk-auth's form. Runs on the backend of `BRISK_TEST_BACKEND` (SQLite by default;
//! `scripts/test` also runs it on PostgreSQL).

use brisk::testing::{TestClient, TestResponse};
use brisk_orm::testing::TestDatabase;
use serde_json::json;

const BROWSER: &str = "text/html,application/xhtml+xml,*/*;q=0.8";

#[tokio::test]
async fn the_items_page_lists_searches_and_escapes() {
    let db = TestDatabase::empty_from_env().await.unwrap();
    let auth = showcase::auth::AuthConfig::new(b"test secret, at least 32 bytes long");
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

/// A browser: keeps the session cookie it is given, and sends forms as a page does (no
/// `Origin` or `Sec-Fetch-Site`, so the form's CSRF token is what lets them in).
struct Browser {
    client: TestClient,
    cookie: String,
}

impl Browser {
    fn keep(&mut self, res: &TestResponse) {
        for value in res.headers().get_all("set-cookie") {
            let text = value.to_str().unwrap_or_default();
            assert!(text.contains("HttpOnly") && text.contains("SameSite="), "{text}");
            let pair = text.split(';').next().unwrap_or_default();
            if text.contains("Max-Age=0") || pair.ends_with('=') {
                self.cookie.clear();
            } else {
                self.cookie = pair.to_owned();
            }
        }
    }

    async fn get(&mut self, path: &str) -> TestResponse {
        let res = self.client.get(path).header("accept", BROWSER).header("cookie", &self.cookie).send().await;
        self.keep(&res);
        res
    }

    async fn post_form(&mut self, path: &str, fields: &serde_json::Value) -> TestResponse {
        let res = self
            .client
            .post(path)
            .header("accept", BROWSER)
            .header("cookie", &self.cookie)
            .form(fields)
            .send()
            .await;
        self.keep(&res);
        res
    }
}

/// The value of the hidden `csrf_token` field of the page's form.
fn csrf_token(html: &str) -> String {
    let marker = "name=\"csrf_token\" value=\"";
    let at = html.find(marker).unwrap_or_else(|| panic!("no CSRF token in the form: {html}")) + marker.len();
    html[at..].split('"').next().unwrap_or_default().to_owned()
}

// minijinja escapes `/` in HTML as `&#x2f;`; a browser reads it back as `/`.
const LOGIN_LINK: &str = "<a href=\"&#x2f;auth&#x2f;login?next=&#x2f;ui\">Log in</a>";

#[tokio::test]
async fn logging_in_and_out_from_the_items_page() {
    let db = TestDatabase::empty_from_env().await.unwrap();
    let auth = showcase::auth::AuthConfig::new(b"test secret, at least 32 bytes long");
    let client = TestClient::serve(showcase::app_with(auth, db.database())).await;
    let mut browser = Browser { client, cookie: String::new() };

    // Anonymous: a link to the login page, which brings the browser back here.
    let page = browser.get("/ui").await;
    assert_eq!(page.status(), 200);
    let html = page.text();
    assert!(html.contains(LOGIN_LINK), "{html}");
    assert!(!html.contains("Logged in as") && !html.contains("Log out"), "{html}");
    assert!(browser.cookie.is_empty(), "an anonymous page view starts no session");

    let login = browser.get("/auth/login?next=/ui").await;
    assert_eq!(login.status(), 200);
    let html = login.text();
    assert!(html.contains("name=\"next\" value=\"&#x2f;ui\""), "{html}");
    let token = csrf_token(&html);

    // A wrong password: the form again, with the error, and no session user.
    let res = browser
        .post_form(
            "/auth/login",
            &json!({"csrf_token": token, "username": "alice", "password": "nope", "next": "/ui"}),
        )
        .await;
    assert_eq!(res.status(), 400);
    let html = res.text();
    assert!(html.contains("Incorrect username or password"), "{html}");

    // The right one: 303 back to /ui, which now says who is logged in.
    let res = browser
        .post_form(
            "/auth/login",
            &json!({"csrf_token": csrf_token(&html), "username": "alice", "password": "wonderland", "next": "/ui"}),
        )
        .await;
    assert_eq!(res.status(), 303, "{}", res.text());
    assert_eq!(res.header("location"), Some("/ui"));
    let page = browser.get("/ui").await.text();
    assert!(page.contains("Logged in as <strong>alice</strong>"), "{page}");
    assert!(!page.contains(LOGIN_LINK), "{page}");
    assert!(page.contains("<form method=\"post\" action=\"&#x2f;auth&#x2f;logout\">"), "{page}");

    // Without the page's CSRF token the logout form is refused; with it, logged out.
    let res = browser.post_form("/auth/logout", &json!({})).await;
    assert_eq!(res.status(), 403);
    assert!(browser.get("/ui").await.text().contains("Logged in as"), "still logged in");
    let page = browser.get("/ui").await.text();
    let res = browser.post_form("/auth/logout", &json!({"csrf_token": csrf_token(&page)})).await;
    assert_eq!(res.status(), 200);
    assert!(res.text().contains("You are logged out"));
    let page = browser.get("/ui").await.text();
    assert!(page.contains(LOGIN_LINK) && !page.contains("Logged in as"), "{page}");

    // The form with no `next` lands on /ui too (the showcase's login redirect).
    let html = browser.get("/auth/login").await.text();
    let res = browser
        .post_form(
            "/auth/login",
            &json!({"csrf_token": csrf_token(&html), "username": "bob", "password": "builder"}),
        )
        .await;
    assert_eq!((res.status().as_u16(), res.header("location")), (303, Some("/ui")));
    assert!(browser.get("/ui").await.text().contains("Logged in as <strong>bob</strong>"));
}

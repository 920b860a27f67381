//! notes-web as a browser uses it, over a real socket, on SQLite and on PostgreSQL: the form,
//! its errors shown beside the fields (422), the redirect and its flash (once), escaping,
//! editing, deleting, CSRF refusals, the stylesheet and the HTML 404 page.

use brisk::testing::{TestClient, TestResponse};
use brisk_orm::testing::TestDatabase;

const HTML: &str = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8";

/// A browser: the session cookie it was given, sent back.
struct Browser {
    client: TestClient,
    cookie: String,
}

impl Browser {
    async fn new(db: &TestDatabase) -> Self {
        std::env::set_var("SECRET_KEY", "a-test-secret-key-that-is-long-enough-0123456789");
        let app = notes_web::app_with(db.database()).expect("the app");
        Browser { client: TestClient::serve(app).await, cookie: String::new() }
    }

    fn keep(&mut self, res: &TestResponse) {
        if let Some(c) = res.header("set-cookie") {
            self.cookie = c.split(';').next().unwrap_or_default().to_owned();
        }
    }

    async fn get(&mut self, path: &str) -> TestResponse {
        let res = self.client.get(path).header("accept", HTML).header("cookie", &self.cookie).send().await;
        self.keep(&res);
        res
    }

    /// A form post from this site (the browser sends its origin, and the form's token).
    async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> TestResponse {
        let body: String = form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
        let res = self
            .client
            .post(path)
            .header("accept", HTML)
            .header("cookie", &self.cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await;
        self.keep(&res);
        res
    }
}

fn token(page: &str) -> String {
    let at = page.find("name=\"csrf_token\" value=\"").expect("a csrf token in the form") + 25;
    page[at..].split('"').next().unwrap_or_default().to_owned()
}

async fn journey(db: TestDatabase) {
    let mut browser = Browser::new(&db).await;
    let list = browser.get("/notes").await;
    assert_eq!(list.status(), 200);
    assert!(list.text().contains("No notes yet."), "{}", list.text());

    // The form, sent empty: the same page again, 422, the error beside the field, values kept.
    let form = browser.get("/notes/new").await.text();
    let csrf = token(&form);
    let refused =
        browser.post("/notes", &[("csrf_token", &csrf), ("title", ""), ("body", "kept <text>")]).await;
    assert_eq!(refused.status(), 422);
    let page = refused.text();
    assert!(page.contains("<p class=\"error\" id=\"title-error\">"), "{page}");
    assert!(page.contains("aria-invalid=\"true\""), "{page}");
    assert!(page.contains(">kept &lt;text&gt;</textarea>"), "the values refill the form, escaped: {page}");

    // Sent right: a redirect to the note, which shows the flash once; the title is escaped.
    let saved = browser
        .post("/notes", &[("csrf_token", &csrf), ("title", "<script>x</script>"), ("body", "hi")])
        .await;
    assert_eq!(saved.status(), 303);
    let location = saved.header("location").expect("a redirect").to_owned();
    let note = browser.get(&location).await.text();
    assert!(note.contains("Note saved."), "{note}");
    assert!(note.contains("<h1>&lt;script&gt;x&lt;&#x2f;script&gt;</h1>"), "{note}");
    assert!(!note.contains("<script>x"), "never unescaped");
    assert!(!browser.get(&location).await.text().contains("Note saved."), "a flash shows once");

    // Edited, then deleted.
    let edit = browser.get(&format!("{location}/edit")).await.text();
    assert!(edit.contains("value=\"&lt;script&gt;x&lt;&#x2f;script&gt;\""), "{edit}");
    let changed = browser
        .post(&format!("{location}/edit"), &[("csrf_token", &token(&edit)), ("title", "Plain"), ("body", "")])
        .await;
    assert_eq!(changed.status(), 303);
    assert!(browser.get(&location).await.text().contains("<h1>Plain</h1>"));
    let gone = browser.post(&format!("{location}/delete"), &[("csrf_token", &csrf)]).await;
    assert_eq!(gone.status(), 303);
    assert!(browser.get("/notes").await.text().contains("Deleted “Plain”."));
    assert_eq!(browser.get(&location).await.status(), 404);

    // Another site's form posting with this browser's cookie: refused, nothing written.
    let forged = browser
        .client
        .post("/notes")
        .header("accept", HTML)
        .header("cookie", &browser.cookie)
        .header("origin", "https://evil.example")
        .header("content-type", "application/x-www-form-urlencoded")
        .body("title=pwned")
        .send()
        .await;
    assert_eq!(forged.status(), 403);
    assert!(forged.header("content-type").is_some_and(|t| t.starts_with("text/html")));
    // And a post without the form's token, where no Origin tells where it came from.
    assert_eq!(browser.post("/notes", &[("title", "no token")]).await.status(), 403);
    assert!(browser.get("/notes").await.text().contains("No notes yet."));

    // The stylesheet, and the app's own 404 page for browsers (JSON for API clients).
    let css = browser.get("/static/css/site.css").await;
    assert_eq!(css.status(), 200);
    assert_eq!(css.header("content-type"), Some("text/css"));
    let missing = browser.get("/nowhere").await;
    assert_eq!(missing.status(), 404);
    assert!(missing.text().contains("Back to the notes."), "{}", missing.text());
    let api = browser.client.get("/nowhere").send().await;
    assert_eq!(api.text(), r#"{"detail":"Not Found"}"#);
}

#[tokio::test]
async fn a_browser_writes_edits_and_deletes_notes_on_sqlite() {
    journey(TestDatabase::empty_sqlite().unwrap()).await;
}

#[tokio::test]
async fn a_browser_writes_edits_and_deletes_notes_on_postgres() {
    journey(TestDatabase::empty_postgres().await.unwrap()).await;
}

#[test]
fn the_migrations_match_the_models() {
    let db = TestDatabase::empty_sqlite().unwrap();
    let app = notes_web::app_with(db.database()).unwrap();
    let mut out = Vec::new();
    let code = brisk::cli::run(app, ["notes-web", "makemigrations", "--check"], &mut out);
    assert_eq!((code, String::from_utf8_lossy(&out).as_ref()), (0, "No changes detected.\n"));
}

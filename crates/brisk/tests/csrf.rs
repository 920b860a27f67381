//! CSRF protection over a real socket: what is checked (unsafe methods carrying the session
//! cookie, not bearer calls), tower-http's Sec-Fetch-Site / Origin check, the form token when
//! neither header came, and the 403 (HTML for browsers, JSON otherwise).

use brisk::bytes::Bytes;
use brisk::csrf::{Csrf, CsrfToken};
use brisk::prelude::*;
use brisk::secret_key::SecretKey;
use brisk::sessions::{MemoryStore, Session, SessionConfig};
use brisk::testing::{TestClient, TestResponse};
use serde_json::Value;

#[derive(Deserialize, JsonSchema, Validate)]
struct Transfer {
    amount: u32,
}

async fn login(session: Session) -> Result<&'static str> {
    session.insert("user", "alice")?;
    Ok("in")
}

async fn token(token: CsrfToken) -> String {
    token.to_string()
}

async fn relogin(session: Session) -> &'static str {
    session.cycle_id();
    "cycled"
}

async fn transfer(Form(t): Form<Transfer>) -> String {
    format!("sent {}", t.amount)
}

async fn api(body: Bytes) -> String {
    format!("{} bytes", body.len())
}

fn config() -> SessionConfig {
    SessionConfig::new(SecretKey::new("a test key that is long enough: 0123456789").unwrap())
        .store(MemoryStore::new())
}

fn routes(app: App) -> App {
    app.route("/login", get(login))
        .route("/token", get(token))
        .route("/relogin", get(relogin))
        .route("/transfer", post(transfer))
        .route("/api/items", post(api).delete(api))
        .route("/webhooks/pay", post(api))
}

async fn client(csrf: Option<Csrf>) -> TestClient {
    let app = routes(App::new().sessions(config()));
    TestClient::serve(match csrf {
        Some(csrf) => app.csrf(csrf),
        None => app,
    })
    .await
}

/// Logs in; returns the session cookie.
async fn session_cookie(client: &TestClient) -> String {
    let res = client.get("/login").send().await;
    res.header("set-cookie").and_then(|c| c.split(';').next()).map(str::to_owned).unwrap_or_default()
}

async fn form_post(
    client: &TestClient,
    path: &str,
    cookie: Option<&str>,
    headers: &[(&str, &str)],
    body: &str,
) -> TestResponse {
    let mut req =
        client.post(path).header("content-type", "application/x-www-form-urlencoded").body(body.to_owned());
    if let Some(cookie) = cookie {
        req = req.header("cookie", cookie);
    }
    for (name, value) in headers {
        req = req.header(name, value);
    }
    req.send().await
}

#[tokio::test]
async fn cross_site_posts_with_the_session_cookie_are_refused() {
    let client = client(None).await;
    let c = session_cookie(&client).await;
    // A browser navigating from another site: an HTML page saying why.
    let res = form_post(
        &client,
        "/transfer",
        Some(&c),
        &[("sec-fetch-site", "cross-site"), ("origin", "https://evil.example"), ("accept", "text/html,*/*")],
        "amount=100",
    )
    .await;
    assert_eq!(res.status(), 403);
    assert!(res.header("content-type").unwrap_or_default().starts_with("text/html"));
    assert!(res.text().contains("CSRF check failed"), "{}", res.text());
    assert!(res.text().contains("another site"), "{}", res.text());
    // A script: JSON.
    let res =
        form_post(&client, "/transfer", Some(&c), &[("sec-fetch-site", "same-site")], "amount=100").await;
    assert_eq!(res.status(), 403);
    assert_eq!(res.header("content-type"), Some("application/json"));
    let detail = res.json::<Value>()["detail"].as_str().unwrap_or_default().to_owned();
    assert!(detail.starts_with("CSRF check failed: "), "{detail}");
    // An old browser: no Sec-Fetch-Site, an Origin that is not this host.
    let res =
        form_post(&client, "/transfer", Some(&c), &[("origin", "http://evil.example")], "amount=100").await;
    assert_eq!(res.status(), 403);
    assert!(res.json::<Value>()["detail"].as_str().unwrap_or_default().contains("another origin"));
    // Every unsafe method is checked.
    let res =
        client.delete("/api/items").header("cookie", &c).header("sec-fetch-site", "cross-site").send().await;
    assert_eq!(res.status(), 403);
}

#[tokio::test]
async fn same_origin_posts_pass() {
    let client = client(None).await;
    let c = session_cookie(&client).await;
    let res =
        form_post(&client, "/transfer", Some(&c), &[("sec-fetch-site", "same-origin")], "amount=5").await;
    assert_eq!(res.status(), 200, "{}", res.text());
    assert_eq!(res.text(), "sent 5");
    let origin = format!("http://{}", client.addr().unwrap());
    let res = form_post(&client, "/transfer", Some(&c), &[("origin", &origin)], "amount=6").await;
    assert_eq!(res.text(), "sent 6");
    // Typed in the address bar, or a bookmark.
    let res = form_post(&client, "/transfer", Some(&c), &[("sec-fetch-site", "none")], "amount=7").await;
    assert_eq!(res.text(), "sent 7");
}

#[tokio::test]
async fn requests_without_the_session_cookie_or_with_a_bearer_token_are_not_checked() {
    let client = client(None).await;
    let res = form_post(&client, "/transfer", None, &[("sec-fetch-site", "cross-site")], "amount=1").await;
    assert_eq!(res.status(), 200);
    // Another cookie is not the session's.
    let res =
        form_post(&client, "/transfer", Some("theme=dark"), &[("sec-fetch-site", "cross-site")], "amount=2")
            .await;
    assert_eq!(res.status(), 200);
    let c = session_cookie(&client).await;
    let res = client
        .post("/api/items")
        .header("cookie", &c)
        .header("authorization", "Bearer some.api.token")
        .header("sec-fetch-site", "cross-site")
        .body("{}")
        .send()
        .await;
    assert_eq!(res.status(), 200, "{}", res.text());
    // Basic credentials are sent by browsers by themselves: not exempt.
    let res = client
        .post("/api/items")
        .header("cookie", &c)
        .header("authorization", "Basic YWxpY2U6d29uZGVybGFuZA==")
        .header("sec-fetch-site", "cross-site")
        .send()
        .await;
    assert_eq!(res.status(), 403);
    // Safe methods never are.
    let res = client.get("/token").header("cookie", &c).header("sec-fetch-site", "cross-site").send().await;
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn without_origin_headers_the_form_token_is_checked() {
    let client = client(None).await;
    let c = session_cookie(&client).await;
    // Neither Origin nor Sec-Fetch-Site (a proxy stripped them): the token is required.
    let res = form_post(&client, "/transfer", Some(&c), &[("accept", "text/html")], "amount=1").await;
    assert_eq!(res.status(), 403);
    assert!(res.text().contains("CSRF token is missing"), "{}", res.text());

    let res = client.get("/token").header("cookie", &c).send().await;
    let token = res.text();
    assert_eq!(token.len(), 86);
    // The secret went into the session: it is saved (same id, memory store).
    assert!(res.header("set-cookie").is_some());
    // In the form, with the rest of the form read by the handler as usual.
    let body = format!("amount=42&{}={token}", CsrfToken::FIELD);
    let res = form_post(&client, "/transfer", Some(&c), &[], &body).await;
    assert_eq!(res.status(), 200, "{}", res.text());
    assert_eq!(res.text(), "sent 42");
    // In the header, for scripts.
    let res =
        client.post("/api/items").header("cookie", &c).header("x-csrf-token", &token).body("{}").send().await;
    assert_eq!(res.status(), 200);
    // Each token is masked differently, and each is valid.
    let other = client.get("/token").header("cookie", &c).send().await.text();
    assert_ne!(other, token);
    let res = form_post(&client, "/transfer", Some(&c), &[("x-csrf-token", &other)], "amount=3").await;
    assert_eq!(res.status(), 200);
    // A wrong token, or another session's.
    let res = form_post(&client, "/transfer", Some(&c), &[], "amount=1&csrf_token=forged").await;
    assert_eq!(res.status(), 403);
    assert!(res.json::<Value>()["detail"].as_str().unwrap_or_default().contains("incorrect"));
    let mallory = session_cookie(&client).await;
    let theirs = client.get("/token").header("cookie", &mallory).send().await.text();
    let res = form_post(&client, "/transfer", Some(&c), &[("x-csrf-token", &theirs)], "amount=1").await;
    assert_eq!(res.status(), 403);
}

#[tokio::test]
async fn login_renews_the_token() {
    let client = client(None).await;
    let c = session_cookie(&client).await;
    let before = client.get("/token").header("cookie", &c).send().await.text();
    let res = client.get("/relogin").header("cookie", &c).send().await;
    let c = res.header("set-cookie").and_then(|c| c.split(';').next()).unwrap_or_default().to_owned();
    let res = form_post(&client, "/transfer", Some(&c), &[("x-csrf-token", &before)], "amount=1").await;
    assert_eq!(res.status(), 403);
    let after = client.get("/token").header("cookie", &c).send().await.text();
    let res = form_post(&client, "/transfer", Some(&c), &[("x-csrf-token", &after)], "amount=1").await;
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn exempt_paths_trusted_origins_and_switching_it_off() {
    let csrf = Csrf::default().exempt("/webhooks/").trusted_origin("https://admin.example.com");
    let client = client(Some(csrf)).await;
    let c = session_cookie(&client).await;
    let res = form_post(&client, "/webhooks/pay", Some(&c), &[("sec-fetch-site", "cross-site")], "x=1").await;
    assert_eq!(res.status(), 200);
    let res = form_post(
        &client,
        "/transfer",
        Some(&c),
        &[("sec-fetch-site", "cross-site"), ("origin", "https://admin.example.com")],
        "amount=9",
    )
    .await;
    assert_eq!(res.status(), 200);
    let res =
        form_post(&client, "/transfer", Some(&c), &[("sec-fetch-site", "cross-site")], "amount=9").await;
    assert_eq!(res.status(), 403);

    let client = client_off().await;
    let c = session_cookie(&client).await;
    let res =
        form_post(&client, "/transfer", Some(&c), &[("sec-fetch-site", "cross-site")], "amount=9").await;
    assert_eq!(res.status(), 200);
}

async fn client_off() -> TestClient {
    client(Some(Csrf::disabled())).await
}

#[test]
fn configuration_mistakes_refuse_to_build() {
    let e = App::new().csrf(Csrf::default()).build().err().map(|e| e.to_string()).unwrap_or_default();
    assert!(e.contains("add App::sessions"), "{e}");
    // Switching off what is not there is fine.
    assert!(App::new().csrf(Csrf::disabled()).build().is_ok());
    let e =
        routes(App::new().sessions(config()).csrf(Csrf::default().trusted_origin("https://example.com/")))
            .build()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
    assert!(e.contains("Csrf::trusted_origin"), "{e}");
}

//! Security schemes: missing, malformed and valid credentials (status, WWW-Authenticate, body),
//! and their entries in the OpenAPI document; JWT verification; password hashing.

use brisk::prelude::*;
use brisk::security::{
    constant_time_eq, ApiKey, ApiKeyCookie, ApiKeyHeader, ApiKeyQuery, HttpBasic, HttpBearer, OAuth2Flow,
    OAuth2PasswordBearer, OAuth2Scoped, RequiredScopes,
};
use brisk::testing::{TestClient, TestResponse};
use serde_json::{json, Value};

struct Auth;
impl OAuth2Flow for Auth {
    const TOKEN_URL: &'static str = "/token";
    const SCOPES: &'static [(&'static str, &'static str)] = &[("admin", "Administer"), ("read", "Read")];
}

struct Admin;
impl RequiredScopes for Admin {
    const SCOPES: &'static [&'static str] = &["admin"];
}

struct Key;
impl ApiKey for Key {
    const NAME: &'static str = "x-key";
    const SCHEME_NAME: &'static str = "KeyAuth";
}

struct QueryKey;
impl ApiKey for QueryKey {
    const NAME: &'static str = "api_key";
}

struct CookieKey;
impl ApiKey for CookieKey {
    const NAME: &'static str = "session";
}

async fn oauth(auth: OAuth2PasswordBearer<Auth>) -> String {
    auth.token
}
async fn scoped(auth: OAuth2Scoped<Auth, Admin>) -> String {
    format!("{} needs {:?}", auth.token, auth.required())
}
async fn bearer(auth: HttpBearer) -> String {
    auth.token
}
async fn basic(auth: HttpBasic) -> String {
    format!("{}:{}", auth.username, auth.password)
}
async fn header_key(k: ApiKeyHeader<Key>) -> String {
    k.key
}
async fn query_key(k: ApiKeyQuery<QueryKey>) -> String {
    k.key
}
async fn cookie_key(k: ApiKeyCookie<CookieKey>) -> String {
    k.key
}
async fn maybe(auth: Option<HttpBearer>) -> String {
    auth.map_or("anonymous".to_owned(), |a| a.token)
}

fn app() -> App {
    App::new()
        .route("/oauth", get(oauth))
        .route("/scoped", get(scoped))
        .route("/bearer", get(bearer))
        .route("/basic", get(basic))
        .route("/header-key", get(header_key))
        .route("/query-key", get(query_key))
        .route("/cookie-key", get(cookie_key))
        .route("/maybe", get(maybe))
}

fn refused(res: &TestResponse, challenge: &str, detail: &str) {
    assert_eq!(res.status(), 401, "{}", res.text());
    assert_eq!(res.header("www-authenticate"), Some(challenge));
    assert_eq!(res.json::<Value>(), json!({ "detail": detail }));
}

#[tokio::test]
async fn bearer_schemes() {
    let client = TestClient::new(app());
    for path in ["/oauth", "/scoped", "/bearer"] {
        refused(&client.get(path).send().await, "Bearer", "Not authenticated");
        refused(
            &client.get(path).header("authorization", "Basic YTpi").send().await,
            "Bearer",
            "Not authenticated",
        );
        refused(
            &client.get(path).header("authorization", "Bearer ").send().await,
            "Bearer",
            "Not authenticated",
        );
    }
    assert_eq!(client.get("/oauth").header("authorization", "Bearer abc.def").send().await.text(), "abc.def");
    assert_eq!(client.get("/bearer").header("authorization", "bearer tok").send().await.text(), "tok");
    assert_eq!(
        client.get("/scoped").header("authorization", "Bearer t").send().await.text(),
        r#"t needs ["admin"]"#
    );
    assert_eq!(client.get("/maybe").send().await.text(), "anonymous");
    assert_eq!(client.get("/maybe").header("authorization", "Bearer x").send().await.text(), "x");
    refused(
        &client.get("/maybe").header("authorization", "Token x").send().await,
        "Bearer",
        "Not authenticated",
    );
}

#[tokio::test]
async fn basic_scheme() {
    let client = TestClient::new(app());
    refused(&client.get("/basic").send().await, "Basic", "Not authenticated");
    for bad in ["Basic !!!notbase64", "Basic bm9jb2xvbg==", "Bearer x"] {
        refused(
            &client.get("/basic").header("authorization", bad).send().await,
            "Basic",
            "Invalid authentication credentials",
        );
    }
    // alice:wonder:land — the password may contain colons.
    let res = client.get("/basic").header("authorization", "Basic YWxpY2U6d29uZGVyOmxhbmQ=").send().await;
    assert_eq!(res.text(), "alice:wonder:land");
}

#[tokio::test]
async fn api_key_schemes() {
    let client = TestClient::new(app());
    for path in ["/header-key", "/query-key", "/cookie-key"] {
        refused(&client.get(path).send().await, "APIKey", "Not authenticated");
    }
    refused(&client.get("/header-key").header("x-key", "").send().await, "APIKey", "Not authenticated");
    assert_eq!(client.get("/header-key").header("x-key", "k1").send().await.text(), "k1");
    assert_eq!(client.get("/query-key?api_key=k%202").send().await.text(), "k 2");
    assert_eq!(client.get("/cookie-key").header("cookie", "a=b; session=k3").send().await.text(), "k3");
}

#[test]
fn schemes_are_in_the_document() {
    let doc = serde_json::to_value(app().openapi().ok()).unwrap_or_default();
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(
        schemes["OAuth2PasswordBearer"],
        json!({"type": "oauth2", "flows": {"password": {"tokenUrl": "/token", "scopes": {"admin": "Administer", "read": "Read"}}}})
    );
    assert_eq!(schemes["HTTPBearer"], json!({"type": "http", "scheme": "bearer"}));
    assert_eq!(schemes["HTTPBasic"], json!({"type": "http", "scheme": "basic"}));
    assert_eq!(schemes["KeyAuth"], json!({"type": "apiKey", "in": "header", "name": "x-key"}));
    assert_eq!(schemes["api_key"], json!({"type": "apiKey", "in": "query", "name": "api_key"}));
    assert_eq!(schemes["session"], json!({"type": "apiKey", "in": "cookie", "name": "session"}));
    let paths = &doc["paths"];
    assert_eq!(paths["/oauth"]["get"]["security"], json!([{"OAuth2PasswordBearer": []}]));
    assert_eq!(paths["/scoped"]["get"]["security"], json!([{"OAuth2PasswordBearer": ["admin"]}]));
    assert_eq!(paths["/header-key"]["get"]["security"], json!([{"KeyAuth": []}]));
    assert_eq!(paths["/basic"]["get"]["security"], json!([{"HTTPBasic": []}]));
    // The refusals are documented too, so clients (and schemathesis) expect them.
    assert_eq!(paths["/oauth"]["get"]["responses"]["401"]["description"], "Not authenticated");
    assert!(paths["/oauth"]["get"]["responses"].get("403").is_none());
    assert_eq!(paths["/scoped"]["get"]["responses"]["403"]["description"], "Not enough permissions");
}

#[test]
fn secrets_compare_in_constant_time() {
    assert!(constant_time_eq(b"abc", b"abc"));
    assert!(!constant_time_eq(b"abc", b"abd"));
    assert!(!constant_time_eq(b"abc", b"abcd"));
}

#[cfg(feature = "jwt")]
mod jwt {
    use brisk::security::jwt::{now, JwtKeys};
    use serde::{Deserialize, Serialize};

    #[derive(Debug, Serialize, Deserialize, PartialEq)]
    struct Claims {
        sub: String,
        aud: String,
        exp: u64,
    }

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn claims(exp: u64, aud: &str) -> Claims {
        Claims { sub: "alice".into(), aud: aud.into(), exp }
    }

    fn rejected(keys: &JwtKeys, token: &str, detail: &str) {
        let err = match keys.decode::<Claims>(token) {
            Ok(c) => panic!("accepted {c:?}"),
            Err(e) => e,
        };
        assert_eq!(err.status(), 401);
        let challenge = err.headers().and_then(|h| h.get("www-authenticate")).and_then(|v| v.to_str().ok());
        assert_eq!(challenge, Some("Bearer error=\"invalid_token\""));
        assert!(err.to_string().contains(detail), "{err}");
    }

    #[test]
    fn valid_expired_forged_misaddressed_and_other_algorithms() {
        let keys = JwtKeys::hs256(SECRET, "api");
        let exp = now() + 60;
        let good = keys.encode(&claims(exp, "api")).unwrap_or_default();
        assert_eq!(keys.decode::<Claims>(&good).ok(), Some(claims(exp, "api")));
        rejected(&keys, &keys.encode(&claims(now() - 1, "api")).unwrap_or_default(), "Token expired");
        let forger = JwtKeys::hs256(b"another secret, 32 bytes long!!!", "api");
        rejected(
            &keys,
            &forger.encode(&claims(now() + 60, "api")).unwrap_or_default(),
            "Could not validate credentials",
        );
        rejected(
            &keys,
            &keys.encode(&claims(now() + 60, "other")).unwrap_or_default(),
            "Could not validate credentials",
        );
        rejected(&keys, "not.a.token", "Could not validate credentials");
        // `alg: none` with no signature.
        let none = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{}.", good.split('.').nth(1).unwrap_or(""));
        rejected(&keys, &none, "Could not validate credentials");
        // A token without `exp` is refused.
        #[derive(Serialize)]
        struct NoExp {
            sub: &'static str,
            aud: &'static str,
        }
        rejected(
            &keys,
            &keys.encode(&NoExp { sub: "a", aud: "api" }).unwrap_or_default(),
            "Could not validate credentials",
        );
    }
}

#[cfg(feature = "password")]
#[test]
fn passwords_hash_with_argon2id_at_owasp_parameters() {
    use brisk::security::password::{hash_password, verify_password};
    let hash = hash_password("hunter2").unwrap_or_default();
    assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
    assert!(verify_password("hunter2", &hash));
    assert!(!verify_password("hunter3", &hash));
    assert!(!verify_password("hunter2", "not a hash"));
    assert_ne!(hash, hash_password("hunter2").unwrap_or_default(), "salted");
}

#[derive(Clone)]
struct Caller(String);
impl Dependency for Caller {
    type Inputs = (HttpBearer, brisk::http::Method);
    async fn provide((bearer, _): Self::Inputs, _: &Scope) -> Result<Self> {
        Ok(Caller(bearer.token))
    }
}

#[tokio::test]
async fn a_scheme_inside_a_dependency_keeps_its_challenge() {
    let client =
        TestClient::new(App::new().route("/", get(|Depends(c): Depends<Caller>| async move { c.0 })));
    refused(&client.get("/").send().await, "Bearer", "Not authenticated");
    assert_eq!(client.get("/").header("authorization", "Bearer t").send().await.text(), "t");
}

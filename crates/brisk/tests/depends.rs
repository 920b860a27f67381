//! Dependency injection: once-per-request caching, teardown after the response, router and
//! app dependencies, overrides, documentation, cycles.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use brisk::prelude::*;
use brisk::testing::TestClient;
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

#[derive(Clone, Default)]
struct Counter(Arc<AtomicUsize>);

impl Counter {
    fn get(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
    fn bump(&self) -> usize {
        self.0.fetch_add(1, Ordering::SeqCst) + 1
    }
}

/// The bottom of the graph: counts how often it is built.
#[derive(Clone)]
struct Config(usize);
impl Dependency for Config {
    type Inputs = (State<Counter>,);
    async fn provide((State(counter),): Self::Inputs, _: &Scope) -> Result<Self> {
        Ok(Config(counter.bump()))
    }
}

#[derive(Clone)]
struct Db(usize);
impl Dependency for Db {
    type Inputs = (Depends<Config>,);
    async fn provide((Depends(config),): Self::Inputs, _: &Scope) -> Result<Self> {
        Ok(Db(config.0))
    }
}

#[derive(Clone)]
struct Service(usize, usize);
impl Dependency for Service {
    type Inputs = (Depends<Db>, Depends<Config>);
    async fn provide((Depends(db), Depends(config)): Self::Inputs, _: &Scope) -> Result<Self> {
        Ok(Service(db.0, config.0))
    }
}

async fn graph(
    Depends(service): Depends<Service>,
    Depends(db): Depends<Db>,
    Depends(config): Depends<Config>,
    Fresh(fresh): Fresh<Config>,
) -> String {
    format!("{} {} {} {} {}", service.0, service.1, db.0, config.0, fresh.0)
}

#[tokio::test]
async fn each_dependency_runs_once_per_request_unless_fresh() {
    let counter = Counter::default();
    let client = TestClient::new(App::new().route("/", get(graph)).with_state(counter.clone()));
    // One shared Config for the three levels; the Fresh one is built again.
    assert_eq!(client.get("/").send().await.text(), "1 1 1 1 2");
    assert_eq!(client.get("/").send().await.text(), "3 3 3 3 4");
    assert_eq!(counter.get(), 4);
}

/// A session whose teardown takes a while and records when it is done.
#[derive(Clone)]
struct Session;
impl Dependency for Session {
    type Inputs = (State<Counter>,);
    async fn provide((State(done),): Self::Inputs, scope: &Scope) -> Result<Self> {
        scope.on_teardown("session", async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            done.bump();
            Ok(())
        });
        Ok(Session)
    }
}

async fn with_session(Depends(_s): Depends<Session>) -> &'static str {
    "body"
}

async fn failing(Depends(_s): Depends<Session>) -> Result<&'static str> {
    Err(Error::http(StatusCode::CONFLICT, "no"))
}

async fn hanging(Depends(_s): Depends<Session>) -> &'static str {
    tokio::time::sleep(Duration::from_secs(60)).await;
    "never"
}

async fn wait_for(counter: &Counter, n: usize) -> bool {
    for _ in 0..100 {
        if counter.get() >= n {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

#[tokio::test]
async fn teardown_runs_after_the_response_on_error_and_on_disconnect() {
    let done = Counter::default();
    let app = App::new()
        .route("/ok", get(with_session))
        .route("/fail", get(failing))
        .route("/hang", get(hanging))
        .with_state(done.clone());
    let client = TestClient::serve(app).await;

    let res = client.get("/ok").send().await;
    assert_eq!(res.text(), "body");
    assert_eq!(done.get(), 0, "the client had the body before teardown finished");
    assert!(wait_for(&done, 1).await, "teardown ran after the response");

    let res = client.get("/fail").send().await;
    assert_eq!(res.status(), 409);
    assert!(wait_for(&done, 2).await, "teardown ran after a failed handler");

    let addr = client.addr().expect("socket mode");
    let mut conn = TcpStream::connect(addr).await.expect("connect");
    conn.write_all(b"GET /hang HTTP/1.1\r\nhost: x\r\n\r\n").await.expect("write");
    tokio::time::sleep(Duration::from_millis(100)).await;
    drop(conn);
    assert!(wait_for(&done, 3).await, "teardown ran after the client went away");
}

#[derive(Clone)]
struct BrokenTeardown;
impl Dependency for BrokenTeardown {
    type Inputs = ();
    async fn provide(_: (), scope: &Scope) -> Result<Self> {
        scope.on_teardown("broken", async { Err(Error::internal("could not close")) });
        Ok(BrokenTeardown)
    }
}

#[tokio::test]
async fn a_failing_teardown_does_not_touch_the_response() {
    let client =
        TestClient::new(App::new().route("/", get(|Depends(_b): Depends<BrokenTeardown>| async { "fine" })));
    let res = client.get("/").send().await;
    assert_eq!((res.status().as_u16(), res.text()), (200, "fine".to_owned()));
}

#[derive(Deserialize, JsonSchema, Validate)]
struct ApiKeyHeader {
    x_api_key: String,
}

/// A router-level check: needs a header, counts the calls.
#[derive(Clone)]
struct RequireKey;
impl Dependency for RequireKey {
    type Inputs = (Header<ApiKeyHeader>, State<Counter>);
    async fn provide((Header(h), State(calls)): Self::Inputs, _: &Scope) -> Result<Self> {
        calls.bump();
        if h.x_api_key == "secret" {
            Ok(RequireKey)
        } else {
            Err(Error::http(StatusCode::FORBIDDEN, "Bad key"))
        }
    }
}

async fn admin_stats() -> &'static str {
    "stats"
}

async fn public_page() -> &'static str {
    "public"
}

#[tokio::test]
async fn router_dependencies_run_for_every_route_and_are_documented() {
    let calls = Counter::default();
    let admin = Router::new().route("/stats", get(admin_stats)).dependency::<RequireKey>();
    let app = || {
        App::new().nest("/admin", admin.clone()).route("/public", get(public_page)).with_state(calls.clone())
    };
    let client = TestClient::new(app());
    assert_eq!(client.get("/admin/stats").header("x-api-key", "secret").send().await.text(), "stats");
    assert_eq!(client.get("/admin/stats").header("x-api-key", "nope").send().await.status(), 403);
    let res = client.get("/admin/stats").send().await;
    assert_eq!(res.status(), 422);
    assert_eq!(res.json::<Value>()["detail"][0]["loc"], json!(["header", "x-api-key"]));
    assert_eq!(client.get("/public").send().await.text(), "public");
    assert_eq!(calls.get(), 2, "the check ran for admin routes only (the missing header failed before it)");

    let doc = serde_json::to_value(app().openapi().ok()).unwrap_or_default();
    let params = &doc["paths"]["/admin/stats"]["get"]["parameters"];
    assert_eq!(params[0]["name"], "x-api-key");
    assert_eq!(params[0]["in"], "header");
    assert!(doc["paths"]["/public"]["get"].get("parameters").is_none());
}

#[tokio::test]
async fn app_dependencies_cover_routes_added_later() {
    let calls = Counter::default();
    let app =
        App::new().dependency::<RequireKey>().route("/late", get(public_page)).with_state(calls.clone());
    let client = TestClient::new(app);
    assert_eq!(client.get("/late").header("x-api-key", "nope").send().await.status(), 403);
    assert_eq!(calls.get(), 1);
}

#[derive(Deserialize, JsonSchema, Validate)]
struct Paging {
    #[validate(le = 50)]
    limit: Option<u32>,
}

#[derive(Clone)]
struct Page(u32);
impl Dependency for Page {
    type Inputs = (Query<Paging>,);
    async fn provide((Query(p),): Self::Inputs, _: &Scope) -> Result<Self> {
        Ok(Page(p.limit.unwrap_or(10)))
    }
}

async fn list(Depends(page): Depends<Page>) -> String {
    page.0.to_string()
}

#[tokio::test]
async fn dependency_parameters_are_validated_and_in_the_spec() {
    let app = || App::new().route("/list", get(list));
    let client = TestClient::new(app());
    assert_eq!(client.get("/list?limit=5").send().await.text(), "5");
    let res = client.get("/list?limit=51").send().await;
    assert_eq!(res.json::<Value>()["detail"][0]["type"], "less_than_equal");
    let doc = serde_json::to_value(app().openapi().ok()).unwrap_or_default();
    let op = &doc["paths"]["/list"]["get"];
    assert_eq!(op["parameters"][0]["name"], "limit");
    assert_eq!(op["parameters"][0]["schema"]["maximum"], 50);
    assert!(op["responses"].get("422").is_some());
}

#[derive(Clone)]
struct CurrentUser(String);
impl Dependency for CurrentUser {
    type Inputs = ();
    async fn provide(_: (), _: &Scope) -> Result<Self> {
        Err(Error::http(StatusCode::UNAUTHORIZED, "Not authenticated"))
    }
}

async fn me(Depends(user): Depends<CurrentUser>) -> String {
    user.0
}

#[tokio::test]
async fn overrides_replace_a_dependency() {
    let real = TestClient::new(App::new().route("/me", get(me)));
    assert_eq!(real.get("/me").send().await.status(), 401);
    let overridden =
        TestClient::new(App::new().route("/me", get(me)).override_dependency(|| CurrentUser("alice".into())));
    assert_eq!(overridden.get("/me").send().await.text(), "alice");
}

#[derive(Clone)]
struct Chicken;
#[derive(Clone)]
struct Egg;
impl Dependency for Chicken {
    type Inputs = (Depends<Egg>,);
    async fn provide(_: Self::Inputs, _: &Scope) -> Result<Self> {
        Ok(Chicken)
    }
}
impl Dependency for Egg {
    type Inputs = (Depends<Chicken>,);
    async fn provide(_: Self::Inputs, _: &Scope) -> Result<Self> {
        Ok(Egg)
    }
}

#[test]
fn dependency_cycles_refuse_to_build() {
    let app = App::new().route("/", get(|Depends(_c): Depends<Chicken>| async { "never" }));
    let err = app.build().err().map(|e| e.to_string()).unwrap_or_default();
    assert!(err.contains("dependency cycle through"), "{err}");
}

#[derive(Clone)]
struct Greeting(String);

#[brisk::depends::dependency]
async fn greeting(Query(p): Query<Paging>, Depends(page): Depends<Page>, scope: Scope) -> Result<Greeting> {
    scope.on_teardown("greeting", async { Ok(()) });
    Ok(Greeting(format!("limit {:?} page {}", p.limit, page.0)))
}

#[tokio::test]
async fn an_async_fn_can_provide_a_dependency() {
    let app = || App::new().route("/greet", get(|Depends(g): Depends<Greeting>| async move { g.0 }));
    let client = TestClient::new(app());
    assert_eq!(client.get("/greet?limit=7").send().await.text(), "limit Some(7) page 7");
    let res = client.get("/greet?limit=99").send().await;
    assert_eq!(res.status(), 422);
    assert_eq!(res.json::<Value>()["detail"].as_array().map(Vec::len), Some(1), "read twice, reported once");
    let doc = serde_json::to_value(app().openapi().ok()).unwrap_or_default();
    assert_eq!(doc["paths"]["/greet"]["get"]["parameters"][0]["name"], "limit");
}

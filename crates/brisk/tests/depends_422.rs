//! A router- or app-level dependency's 422 lists the handler's failures too (FastAPI validates
//! every dependency's and the endpoint's parameters before answering), while a dependency's
//! other errors (401, 403) answer at once and the handler never runs on a failed request.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use brisk::prelude::*;
use brisk::testing::{TestClient, TestResponse};
use serde_json::{json, Value};

#[derive(Clone, Default)]
struct Runs(Arc<AtomicUsize>);

impl Runs {
    fn get(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
    fn bump(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[derive(Deserialize, JsonSchema, Validate)]
struct ApiKeyHeader {
    x_api_key: String,
}

/// Needs a header; a wrong key is a 403.
#[derive(Clone)]
struct RequireKey;
impl Dependency for RequireKey {
    type Inputs = (Header<ApiKeyHeader>,);
    async fn provide((Header(h),): Self::Inputs, _: &Scope) -> Result<Self> {
        if h.x_api_key == "secret" {
            Ok(RequireKey)
        } else {
            Err(Error::http(StatusCode::FORBIDDEN, "Bad key"))
        }
    }
}

#[derive(Deserialize, JsonSchema, Validate)]
struct TenantQuery {
    #[validate(ge = 1)]
    tenant: u32,
}

/// Reads a query parameter; never fails on its own.
#[derive(Clone)]
struct Tenant(u32);
impl Dependency for Tenant {
    type Inputs = (Query<TenantQuery>,);
    async fn provide((Query(q),): Self::Inputs, _: &Scope) -> Result<Self> {
        Ok(Tenant(q.tenant))
    }
}

/// Always refuses: its inputs are fine, its answer is 401.
#[derive(Clone)]
struct Refuse;
impl Dependency for Refuse {
    type Inputs = ();
    async fn provide(_: (), _: &Scope) -> Result<Self> {
        Err(Error::http(StatusCode::UNAUTHORIZED, "Not authenticated"))
    }
}

/// Its own function answers a 422: that is the answer, at once (as a `RequestValidationError`
/// raised in a FastAPI dependency function is).
#[derive(Clone)]
struct ProvideRejects;
impl Dependency for ProvideRejects {
    type Inputs = ();
    async fn provide(_: (), _: &Scope) -> Result<Self> {
        let error = brisk::error::ValidationError::new(
            "value_error",
            brisk::error::Loc::root("query").key("token"),
            "Value error, token expired",
            Value::Null,
        );
        Err(Error::validation(vec![error]))
    }
}

#[derive(Deserialize, JsonSchema, Validate)]
struct Page {
    #[validate(ge = 1)]
    limit: u32,
}

#[derive(Deserialize, JsonSchema, Validate, Serialize)]
struct Item {
    #[validate(min_length = 1)]
    name: String,
}

fn locs(res: &TestResponse) -> Vec<Value> {
    assert_eq!(res.status(), 422, "{}", res.text());
    let body = res.json::<Value>();
    body["detail"].as_array().map(|list| list.iter().map(|e| e["loc"].clone()).collect()).unwrap_or_default()
}

fn items_router(runs: &Runs) -> Router {
    let runs = runs.clone();
    Router::new().route(
        "/items",
        post(move |Query(p): Query<Page>, Json(item): Json<Item>| {
            let runs = runs.clone();
            async move {
                runs.bump();
                format!("{} x{}", item.name, p.limit)
            }
        }),
    )
}

#[tokio::test]
async fn a_router_dependency_s_422_lists_the_handler_s_failures_after_its_own() {
    let runs = Runs::default();
    let client = TestClient::new(App::new().nest("/v1", items_router(&runs).dependency::<RequireKey>()));

    // Everything wrong: the dependency's header first, then the handler's query, then its body.
    let res = client.post("/v1/items?limit=0").json(&json!({"name": ""})).send().await;
    assert_eq!(
        locs(&res),
        vec![json!(["header", "x-api-key"]), json!(["query", "limit"]), json!(["body", "name"])]
    );
    // Only the dependency wrong: its error alone.
    let res = client.post("/v1/items?limit=2").json(&json!({"name": "pen"})).send().await;
    assert_eq!(locs(&res), vec![json!(["header", "x-api-key"])]);
    // Only the handler wrong.
    let res =
        client.post("/v1/items").header("x-api-key", "secret").json(&json!({"name": "pen"})).send().await;
    assert_eq!(locs(&res), vec![json!(["query", "limit"])]);
    assert_eq!(runs.get(), 0, "the handler never ran on an invalid request");

    // A dependency's own answer (403) comes at once, whatever the handler's arguments hold.
    let res =
        client.post("/v1/items?limit=0").header("x-api-key", "nope").json(&json!({"name": ""})).send().await;
    assert_eq!(res.status(), 403);
    assert_eq!(res.json::<Value>(), json!({"detail": "Bad key"}));

    let res = client
        .post("/v1/items?limit=2")
        .header("x-api-key", "secret")
        .json(&json!({"name": "pen"}))
        .send()
        .await;
    assert_eq!(res.text(), "pen x2");
    assert_eq!(runs.get(), 1);
}

#[tokio::test]
async fn app_dependencies_in_order_and_a_later_refusal_still_answers() {
    let runs = Runs::default();
    // Router dependencies wrap what was added before: Tenant is checked first, then RequireKey.
    let app = App::new().merge(items_router(&runs)).dependency::<RequireKey>().dependency::<Tenant>();
    let client = TestClient::new(app);
    let res = client.post("/items?tenant=0&limit=0").json(&json!({})).send().await;
    assert_eq!(
        locs(&res),
        vec![
            json!(["query", "tenant"]),
            json!(["header", "x-api-key"]),
            json!(["query", "limit"]),
            json!(["body", "name"]),
        ]
    );

    // The first dependency's inputs fail, the next one refuses: FastAPI runs that one and its
    // HTTPException is the answer.
    let app = App::new().merge(items_router(&runs)).dependency::<Refuse>().dependency::<Tenant>();
    let client = TestClient::new(app);
    let res = client.post("/items?tenant=0&limit=0").json(&json!({})).send().await;
    assert_eq!(res.status(), 401);
    assert_eq!(runs.get(), 0);
}

#[tokio::test]
async fn a_provider_s_own_422_answers_at_once() {
    let runs = Runs::default();
    let client = TestClient::new(App::new().merge(items_router(&runs).dependency::<ProvideRejects>()));
    let res = client.post("/items?limit=0").json(&json!({"name": ""})).send().await;
    assert_eq!(locs(&res), vec![json!(["query", "token"])]);
    assert_eq!(runs.get(), 0);
}

#[tokio::test]
async fn handlers_without_arguments_and_handlers_asking_for_the_same_dependency() {
    let runs = Runs::default();
    let counted = runs.clone();
    let router = Router::new()
        .route(
            "/ping",
            get(move || {
                let runs = counted.clone();
                async move {
                    runs.bump();
                    "pong"
                }
            }),
        )
        .route(
            "/tenant",
            get(|Depends(t): Depends<Tenant>, Query(p): Query<Page>| async move {
                format!("{} {}", t.0, p.limit)
            }),
        )
        .dependency::<Tenant>();
    let client = TestClient::new(App::new().merge(router));

    let res = client.get("/ping?tenant=0").send().await;
    assert_eq!(locs(&res), vec![json!(["query", "tenant"])]);
    assert_eq!(runs.get(), 0, "a handler with no arguments does not run past a failed dependency");
    assert_eq!(client.get("/ping?tenant=3").send().await.text(), "pong");

    // The handler asks for the failed dependency too: its failure is listed once.
    let res = client.get("/tenant?tenant=0&limit=0").send().await;
    assert_eq!(locs(&res), vec![json!(["query", "tenant"]), json!(["query", "limit"])]);
    assert_eq!(client.get("/tenant?tenant=3&limit=4").send().await.text(), "3 4");
}

#[tokio::test]
async fn around_a_tower_layer_the_dependency_answers_alone_and_nothing_runs() {
    let runs = Runs::default();
    // A layer makes the route a tower service, which cannot promise to stop on the
    // dependency's errors: the dependency answers its 422 itself, as before.
    let router = items_router(&runs).layer(tower::layer::layer_fn(|route| route)).dependency::<RequireKey>();
    let client = TestClient::new(App::new().merge(router));
    let res = client.post("/items?limit=0").json(&json!({"name": ""})).send().await;
    assert_eq!(locs(&res), vec![json!(["header", "x-api-key"])]);
    assert_eq!(runs.get(), 0);
    let res =
        client.post("/items?limit=0").header("x-api-key", "secret").json(&json!({"name": "a"})).send().await;
    assert_eq!(locs(&res), vec![json!(["query", "limit"])]);

    // A concurrency limit or a timeout between them passes the request through unchanged.
    let router = items_router(&runs).concurrency_limit(2, 2).dependency::<RequireKey>();
    let client = TestClient::new(App::new().merge(router));
    let res = client.post("/items?limit=0").json(&json!({"name": "a"})).send().await;
    assert_eq!(locs(&res), vec![json!(["header", "x-api-key"]), json!(["query", "limit"])]);
    assert_eq!(runs.get(), 0);
}

/// An extractor that fails with a validation error listing nothing (a hand-written check can
/// build one).
struct RejectsWithNothing;
impl brisk::extract::FromRequestParts for RejectsWithNothing {
    async fn from_request_parts(
        _: &mut http::request::Parts,
        _: &brisk::extract::RequestContext,
    ) -> Result<Self> {
        Err(Error::validation(Vec::new()))
    }
}
impl brisk::openapi::DescribeInput for RejectsWithNothing {
    fn describe_input(_: &mut brisk::openapi::DocContext, _: &mut brisk::openapi::Operation) {}
}

/// Its input fails, listing nothing.
#[derive(Clone)]
struct NeedsEmpty;
impl Dependency for NeedsEmpty {
    type Inputs = (RejectsWithNothing,);
    async fn provide(_: Self::Inputs, _: &Scope) -> Result<Self> {
        Ok(NeedsEmpty)
    }
}

#[tokio::test]
async fn an_input_failure_that_lists_nothing_still_stops_the_handler() {
    let runs = Runs::default();
    let client = TestClient::new(App::new().merge(items_router(&runs).dependency::<NeedsEmpty>()));
    let res = client.post("/items?limit=2").json(&json!({"name": "pen"})).send().await;
    assert_eq!(runs.get(), 0, "the handler must not run when its dependency failed");
    // A failure that names nothing is a bug of the extractor: a 500 (logged), never a pass.
    assert_eq!(res.status(), 500, "{}", res.text());
}

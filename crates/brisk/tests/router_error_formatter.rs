//! `Router::error_formatter`: one router's errors in another shape (OpenAI's), rendered and
//! documented so, while the rest of the app keeps FastAPI's.

use brisk::error::OpenAiFormatter;
use brisk::prelude::*;
use brisk::testing::TestClient;
use serde_json::{json, Value};

#[derive(Deserialize, JsonSchema, Validate)]
struct Completion {
    #[validate(min_length = 1)]
    model: String,
    #[validate(ge = 1, le = 1024)]
    max_tokens: Option<u32>,
}

async fn complete(Json(req): Json<Completion>) -> Result<String> {
    if req.model == "missing" {
        return Err(Error::http(StatusCode::NOT_FOUND, "The model `missing` does not exist"));
    }
    Ok(req.model)
}

async fn plain(Json(req): Json<Completion>) -> String {
    req.model
}

fn app() -> App {
    let openai = Router::new()
        .route("/v1/completions", post(complete))
        .concurrency_limit(1, 0)
        .error_formatter(OpenAiFormatter);
    App::new().merge(openai).route("/plain", post(plain))
}

#[tokio::test]
async fn the_routers_errors_are_in_openais_shape_and_the_apps_keep_fastapis() {
    let client = TestClient::new(app());
    let res = client.post("/v1/completions").json(&json!({"model": "", "max_tokens": 0})).send().await;
    assert_eq!(res.status(), 422);
    assert_eq!(
        res.json::<Value>(),
        json!({"error": {
            "message": "model: String should have at least 1 character; max_tokens: Input should be greater than or equal to 1",
            "type": "invalid_request_error", "param": "model", "code": "string_too_short"}})
    );
    let res = client.post("/v1/completions").json(&json!({"model": "missing"})).send().await;
    assert_eq!(res.status(), 404);
    assert_eq!(
        res.json::<Value>(),
        json!({"error": {"message": "The model `missing` does not exist", "type": "invalid_request_error", "param": null, "code": null}})
    );
    // A body that is not JSON at all, refused by the extractor.
    let res = client.post("/v1/completions").header("content-type", "text/plain").body("hi").send().await;
    assert_eq!(res.status(), 415);
    assert_eq!(res.json::<Value>()["error"]["type"], "invalid_request_error");
    let ok = client.post("/v1/completions").json(&json!({"model": "m"})).send().await;
    assert_eq!((ok.status().as_u16(), ok.text()), (200, "m".to_owned()));

    let res = client.post("/plain").json(&json!({"model": ""})).send().await;
    assert_eq!(res.status(), 422);
    assert_eq!(res.json::<Value>()["detail"][0]["type"], "string_too_short");
    // Outside the routes (an unknown path) the app's formatter answers.
    let res = client.get("/v1/unknown").send().await;
    assert_eq!(res.status(), 404);
    assert!(res.json::<Value>().get("detail").is_some());
}

#[tokio::test]
async fn the_operations_error_responses_are_documented_with_the_formatters_schema() {
    let doc = serde_json::to_value(app().openapi().expect("the document builds")).expect("JSON");
    let op = &doc["paths"]["/v1/completions"]["post"]["responses"];
    for status in ["422", "415", "503"] {
        assert_eq!(
            op[status]["content"]["application/json"]["schema"]["$ref"], "#/components/schemas/OpenAIError",
            "{status}: {}",
            op[status]
        );
    }
    assert_eq!(op["200"]["content"]["application/json"], Value::Null, "{}", op["200"]);
    let error = &doc["components"]["schemas"]["OpenAIError"];
    assert_eq!(error["required"], json!(["error"]));
    assert_eq!(error["properties"]["error"]["required"], json!(["message", "type", "param", "code"]));
    let plain = &doc["paths"]["/plain"]["post"]["responses"]["422"]["content"]["application/json"]["schema"];
    assert_eq!(plain["$ref"], "#/components/schemas/HTTPValidationError");
}

/// Needs an `x-api-key` header; a wrong key is a 401.
#[derive(Clone)]
struct ApiKey;

#[derive(Deserialize, JsonSchema, Validate)]
struct ApiKeyHeader {
    x_api_key: String,
}

impl Dependency for ApiKey {
    type Inputs = (brisk::extract::Header<ApiKeyHeader>,);
    async fn provide((brisk::extract::Header(h),): Self::Inputs, _: &Scope) -> Result<Self> {
        if h.x_api_key == "sk-test" {
            Ok(ApiKey)
        } else {
            Err(Error::http(StatusCode::UNAUTHORIZED, "Incorrect API key provided"))
        }
    }
}

async fn missing_model(Path(name): Path<String>) -> Result<String> {
    Err(Error::http(StatusCode::NOT_FOUND, format!("The model `{name}` does not exist")))
}

async fn tagged() -> ([(&'static str, &'static str); 1], Result<String>) {
    ([("x-request-id", "req-1")], Err(Error::http(StatusCode::CONFLICT, "Busy")))
}

#[tokio::test]
async fn wrappers_added_later_and_the_apps_dependencies_answer_through_the_formatter_with_their_headers() {
    use brisk::rate_limit::RateLimit;
    let openai = Router::new()
        .route("/v1/models/{name}", get(missing_model))
        .route("/v1/tagged", get(tagged))
        .error_formatter(OpenAiFormatter)
        .rate_limit(RateLimit::per_minute(3));
    let app = App::new().merge(openai).route("/plain/{name}", get(missing_model)).dependency::<ApiKey>();
    let client = TestClient::new(app);

    // The app's dependency, wrapped around the route after the formatter: OpenAI's shape.
    let res = client.get("/v1/models/gpt").header("x-api-key", "wrong").send().await;
    assert_eq!(res.status(), 401);
    assert_eq!(res.json::<Value>()["error"]["type"], "authentication_error");
    let res = client.get("/v1/models/gpt").send().await;
    assert_eq!(res.status(), 422);
    assert_eq!(res.json::<Value>()["error"]["param"], "x-api-key");

    // A handler's 404 keeps the rate limit's headers; the handler's own header is kept too.
    let res = client.get("/v1/models/gpt").header("x-api-key", "sk-test").send().await;
    assert_eq!(res.status(), 404);
    assert!(res.header("ratelimit-policy").is_some(), "the limit's headers are kept");
    assert_eq!(res.json::<Value>()["error"]["message"], "The model `gpt` does not exist");
    let res = client.get("/v1/tagged").header("x-api-key", "sk-test").send().await;
    assert_eq!((res.status().as_u16(), res.header("x-request-id")), (409, Some("req-1")));
    assert_eq!(res.header("content-type"), Some("application/json"));
    assert_eq!(res.json::<Value>()["error"]["message"], "Busy");

    // The limit's own 429, added after the formatter, is OpenAI's too, with Retry-After.
    let res = client.get("/v1/models/gpt").header("x-api-key", "sk-test").send().await;
    assert_eq!(res.status(), 429, "{}", res.text());
    assert!(res.header("retry-after").is_some());
    assert_eq!(res.json::<Value>()["error"]["code"], "rate_limit_exceeded");

    // Routes without the formatter keep FastAPI's.
    let res = client.get("/plain/gpt").header("x-api-key", "wrong").send().await;
    assert_eq!(res.json::<Value>(), json!({"detail": "Incorrect API key provided"}));
}

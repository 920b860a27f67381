//! Each extractor with good and bad input, in process.

use brisk::extract::{CookieJar, Multipart, MultipartLimits};
use brisk::prelude::*;
use brisk::testing::{TestClient, TestResponse};
use serde_json::{json, Value};

fn errors(res: &TestResponse) -> Vec<Value> {
    assert_eq!(res.status(), 422, "{}", res.text());
    res.json::<Value>()["detail"].as_array().cloned().unwrap_or_default()
}

#[derive(Deserialize, JsonSchema, Validate)]
struct Search {
    #[validate(min_length = 2)]
    q: String,
    #[serde(default)]
    tag: Vec<String>,
    #[serde(default)]
    exact: bool,
    #[validate(ge = 0.0, lt = 1.0)]
    threshold: Option<f64>,
}

async fn search(Query(s): Query<Search>) -> Json<Value> {
    Json(json!({"q": s.q, "tag": s.tag, "exact": s.exact, "threshold": s.threshold}))
}

#[tokio::test]
async fn query_parses_repeats_bools_and_reports_every_error() {
    let client = TestClient::new(App::new().route("/s", get(search)));
    let res = client.get("/s?q=rust&tag=a&tag=b&exact=yes&threshold=0.5").send().await;
    assert_eq!(res.json::<Value>(), json!({"q": "rust", "tag": ["a", "b"], "exact": true, "threshold": 0.5}));

    let res = client.get("/s?exact=maybe&threshold=nan").send().await;
    let errs = errors(&res);
    let kinds: Vec<&str> = errs.iter().filter_map(|e| e["type"].as_str()).collect();
    assert_eq!(kinds.len(), 3, "{errs:?}");
    assert!(
        kinds.contains(&"missing") && kinds.contains(&"bool_parsing") && kinds.contains(&"finite_number"),
        "{kinds:?}"
    );

    let errs = errors(&client.get("/s?q=r&threshold=1").send().await);
    assert_eq!(errs[0]["type"], "string_too_short");
    assert_eq!(errs[1]["type"], "less_than");
    assert_eq!(errs[1]["ctx"], json!({"lt": 1.0}));
}

#[derive(Deserialize, JsonSchema, Validate)]
struct Client {
    user_agent: String,
    #[validate(ge = 1, le = 5)]
    x_priority: Option<u8>,
}

#[tokio::test]
async fn header_struct_matches_hyphenated_names() {
    async fn who(Header(c): Header<Client>) -> String {
        format!("{}/{:?}", c.user_agent, c.x_priority)
    }
    let client = TestClient::new(App::new().route("/", get(who)));
    let res = client.get("/").header("User-Agent", "curl").header("x-priority", "3").send().await;
    assert_eq!(res.text(), "curl/Some(3)");
    let errs = errors(&client.get("/").header("x-priority", "9").send().await);
    let locs: Vec<Value> = errs.iter().map(|e| e["loc"].clone()).collect();
    assert_eq!(locs, [json!(["header", "user-agent"]), json!(["header", "x-priority"])]);
}

#[tokio::test]
async fn typed_header_missing_and_malformed() {
    async fn agent(TypedHeader(ua): TypedHeader<brisk::headers::UserAgent>) -> String {
        ua.to_string()
    }
    async fn maybe(ct: Option<TypedHeader<brisk::headers::ContentLength>>) -> String {
        format!("{:?}", ct.map(|TypedHeader(c)| c.0))
    }
    let client = TestClient::new(App::new().route("/ua", get(agent)).route("/len", post(maybe)));
    assert_eq!(client.get("/ua").header("user-agent", "x/1").send().await.text(), "x/1");
    let errs = errors(&client.get("/ua").send().await);
    assert_eq!(errs[0]["type"], "missing");
    assert_eq!(errs[0]["loc"], json!(["header", "user-agent"]));
    assert_eq!(client.post("/len").send().await.text(), "None");
}

#[derive(Deserialize, JsonSchema, Validate)]
struct Session {
    session_id: u64,
}

#[tokio::test]
async fn cookies_typed_and_jar() {
    async fn typed(Cookies(s): Cookies<Session>) -> String {
        s.session_id.to_string()
    }
    async fn jar(jar: CookieJar) -> String {
        jar.get("theme").unwrap_or("none").to_owned()
    }
    let client = TestClient::new(App::new().route("/typed", get(typed)).route("/jar", get(jar)));
    assert_eq!(client.get("/typed").header("cookie", "a=b; session_id=42").send().await.text(), "42");
    let errs = errors(&client.get("/typed").header("cookie", "session_id=abc").send().await);
    assert_eq!(errs[0]["type"], "int_parsing");
    assert_eq!(errs[0]["loc"], json!(["cookie", "session_id"]));
    assert_eq!(errors(&client.get("/typed").send().await)[0]["type"], "missing");
    assert_eq!(client.get("/jar").header("cookie", "theme=dark").send().await.text(), "dark");
    // A repeated name: both extractors take the first value, in one header or across several.
    let twice = client.get("/typed").header("cookie", "session_id=1; session_id=2");
    assert_eq!(twice.send().await.text(), "1");
    let across = client.get("/typed").header("cookie", "session_id=3").header("cookie", "session_id=abc");
    assert_eq!(across.send().await.text(), "3");
    assert_eq!(client.get("/jar").header("cookie", "theme=dark; theme=light").send().await.text(), "dark");
    // A list field keeps every value, in order.
    #[derive(Deserialize, JsonSchema, Validate)]
    struct Flags {
        flag: Vec<String>,
    }
    async fn flags(Cookies(f): Cookies<Flags>) -> String {
        f.flag.join(",")
    }
    let client = TestClient::new(App::new().route("/flags", get(flags)));
    let res = client.get("/flags").header("cookie", "flag=a; x=1").header("cookie", "flag=b").send().await;
    assert_eq!(res.text(), "a,b");
}

#[derive(Deserialize, Serialize, JsonSchema, Validate)]
struct Login {
    #[validate(min_length = 3)]
    username: String,
    remember: Option<bool>,
}

#[tokio::test]
async fn form_bodies() {
    async fn login(Form(f): Form<Login>) -> String {
        format!("{}:{:?}", f.username, f.remember)
    }
    let client = TestClient::new(App::new().route("/login", post(login)));
    let res = client.post("/login").form(&json!({"username": "ada", "remember": "on"})).send().await;
    assert_eq!(res.text(), "ada:Some(true)");
    let errs = errors(&client.post("/login").form(&json!({"username": "x"})).send().await);
    assert_eq!(errs[0]["loc"], json!(["body", "username"]));
    assert_eq!(errs[0]["type"], "string_too_short");
    let res = client.post("/login").json(&json!({"username": "ada"})).send().await;
    assert_eq!(res.status(), 415);
}

#[tokio::test]
async fn json_optional_and_nested_locations() {
    #[derive(Deserialize, JsonSchema, Validate)]
    struct Line {
        #[validate(gt = 0)]
        qty: u32,
    }
    #[derive(Deserialize, JsonSchema, Validate)]
    struct Order {
        lines: Vec<Line>,
    }
    async fn order(Json(o): Json<Order>) -> String {
        o.lines.iter().map(|l| l.qty).sum::<u32>().to_string()
    }
    async fn maybe(body: Option<Json<Order>>) -> String {
        body.map_or("none".to_owned(), |Json(o)| o.lines.len().to_string())
    }
    let client = TestClient::new(App::new().route("/order", post(order)).route("/maybe", post(maybe)));
    assert_eq!(
        client.post("/order").json(&json!({"lines": [{"qty": 2}, {"qty": 3}]})).send().await.text(),
        "5"
    );
    let errs =
        errors(&client.post("/order").json(&json!({"lines": [{"qty": 2}, {"qty": 0}, {}]})).send().await);
    let locs: Vec<Value> = errs.iter().map(|e| e["loc"].clone()).collect();
    assert_eq!(locs, [json!(["body", "lines", 1, "qty"]), json!(["body", "lines", 2, "qty"])]);
    assert_eq!(errs[0]["type"], "greater_than");
    assert_eq!(errs[1]["type"], "missing");
    let errs = errors(&client.post("/order").json(&json!({"lines": [{"qty": -1}]})).send().await);
    assert_eq!(errs[0]["type"], "greater_than_equal", "u32 cannot be negative: {errs:?}");

    assert_eq!(client.post("/maybe").send().await.text(), "none");
    assert_eq!(client.post("/maybe").json(&json!({"lines": []})).send().await.text(), "0");
    assert_eq!(client.post("/maybe").json(&json!({"lines": 1})).send().await.status(), 422);
}

/// serde reads a struct from an array of its fields too; a body gets the object the schema
/// describes or a 422 (schemathesis sent `"stream_options": []` to the showcase's chat).
#[tokio::test]
async fn an_array_where_an_object_belongs_is_a_422() {
    #[derive(Deserialize, JsonSchema, Validate)]
    struct Options {
        #[serde(default)]
        include_usage: Option<bool>,
    }
    #[derive(Deserialize, JsonSchema, Validate)]
    struct Ask {
        model: String,
        #[serde(default)]
        options: Option<Options>,
    }
    async fn ask(Json(a): Json<Ask>) -> String {
        format!("{}:{:?}", a.model, a.options.and_then(|o| o.include_usage))
    }
    let client = TestClient::new(App::new().route("/ask", post(ask)));
    let ok =
        client.post("/ask").json(&json!({"model": "m", "options": {"include_usage": true}})).send().await;
    assert_eq!(ok.text(), "m:Some(true)");
    for body in [json!({"model": "m", "options": []}), json!(["m"]), json!(["m", {}])] {
        let res = client.post("/ask").json(&body).send().await;
        assert_eq!(res.status(), 422, "{body}: {}", res.text());
        let errs = errors(&res);
        assert!(errs[0]["type"].as_str().is_some_and(|t| t.ends_with("_type")), "{body}: {errs:?}");
    }
}

#[tokio::test]
async fn deep_json_is_refused() {
    async fn any(Json(v): Json<Value>) -> String {
        v.to_string().len().to_string()
    }
    let client = TestClient::new(App::new().route("/", post(any)));
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let res = client.post("/").header("content-type", "application/json").body(deep).send().await;
    let errs = errors(&res);
    assert_eq!(errs[0]["type"], "json_invalid");
}

#[tokio::test]
async fn raw_bodies() {
    async fn text(body: String) -> String {
        body.to_uppercase()
    }
    async fn bytes(body: bytes::Bytes) -> String {
        body.len().to_string()
    }
    let client = TestClient::new(App::new().route("/text", post(text)).route("/bytes", post(bytes)));
    assert_eq!(client.post("/text").body("abc").send().await.text(), "ABC");
    let errs = errors(&client.post("/text").body(vec![0xff, 0xfe]).send().await);
    assert_eq!(errs[0]["type"], "string_unicode");
    assert_eq!(client.post("/bytes").body(vec![0xff, 0xfe]).send().await.text(), "2");
}

#[tokio::test]
async fn state_present() {
    #[derive(Clone)]
    struct Config(&'static str);
    async fn read(State(c): State<Config>) -> &'static str {
        c.0
    }
    let client = TestClient::new(App::new().route("/", get(read)).with_state(Config("prod")));
    assert_eq!(client.get("/").send().await.text(), "prod");
    // Missing state fails the build: `state_no_one_provides_fails_the_build`.
}

#[tokio::test]
async fn request_parts() {
    async fn parts(method: http::Method, uri: http::Uri, headers: http::HeaderMap) -> String {
        format!("{method} {uri} {}", headers.len())
    }
    let client = TestClient::new(App::new().route("/p", post(parts)));
    assert_eq!(client.post("/p?x=1").header("a", "b").send().await.text(), "POST /p?x=1 1");
}

fn multipart_body(parts: &[(&str, Option<&str>, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, file, data) in parts {
        body.extend_from_slice(b"--XBOUNDARY\r\n");
        match file {
            Some(f) => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\n\r\n")
                    .as_bytes(),
            ),
            None => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            ),
        }
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(b"--XBOUNDARY--\r\n");
    body
}

async fn upload(mut form: Multipart) -> brisk::Result<String> {
    let mut out = Vec::new();
    while let Some(field) = form.next_field().await? {
        let name = field.name().unwrap_or("").to_owned();
        let file = field.file_name().map(str::to_owned);
        let len = field.bytes().await?.len();
        out.push(format!("{name}:{file:?}:{len}"));
    }
    Ok(out.join(","))
}

#[tokio::test]
async fn multipart_uploads_and_limits() {
    let limits = MultipartLimits { max_fields: 2, max_files: 1, max_part_size: 100 };
    let client = TestClient::new(App::new().route("/up", post(upload)).with_state(limits));
    let send = |body: Vec<u8>| {
        client.post("/up").header("content-type", "multipart/form-data; boundary=XBOUNDARY").body(body).send()
    };

    let res = send(multipart_body(&[("title", None, b"hello"), ("doc", Some("a.txt"), b"12345")])).await;
    assert_eq!(res.text(), r#"title:None:5,doc:Some("a.txt"):5"#);

    let res = send(multipart_body(&[("a", None, b"1"), ("b", None, b"2"), ("c", None, b"3")])).await;
    assert_eq!(res.status(), 400);
    assert!(res.text().contains("Too many fields"), "{}", res.text());

    let res = send(multipart_body(&[("f1", Some("1"), b"1"), ("f2", Some("2"), b"2")])).await;
    assert_eq!(res.status(), 400);
    assert!(res.text().contains("Too many files"));

    let res = send(multipart_body(&[("big", None, &[b'x'; 200])])).await;
    assert_eq!(res.status(), 413);

    let res = send(b"garbage".to_vec()).await;
    assert_eq!(res.status(), 400);

    let res = client.post("/up").header("content-type", "multipart/form-data").body("x").send().await;
    assert_eq!(res.status(), 400, "missing boundary");
    let res = client.post("/up").json(&json!({})).send().await;
    assert_eq!(res.status(), 415);
}

#[tokio::test]
async fn request_context_reads_path_params_by_name() {
    async fn raw(cx: brisk::extract::RequestContext) -> String {
        let params: Vec<String> = cx.path_params().map(|(k, v)| format!("{k}={v}")).collect();
        format!("{} limit {}", params.join(","), cx.body_limit())
    }
    // Reading the parameters through the context counts as reading them: the app builds.
    let client = TestClient::new(App::new().route("/a/{x}/{y}", get(raw)).body_limit(123));
    assert_eq!(client.get("/a/1/two").send().await.text(), "x=1,y=two limit 123");
}

#[derive(Deserialize, JsonSchema, Validate)]
struct Kg {
    #[validate(gt = 0)]
    kg: f64,
}

#[derive(Deserialize, JsonSchema, Validate)]
enum Weight {
    Metric(Kg),
    Unknown,
}

#[derive(Deserialize, JsonSchema, Validate)]
struct Parcel {
    weight: Weight,
}

async fn parcel(Json(p): Json<Parcel>) -> String {
    match p.weight {
        Weight::Metric(w) => w.kg.to_string(),
        Weight::Unknown => "?".to_owned(),
    }
}

#[tokio::test]
async fn rules_inside_enum_variants_are_reported_where_they_fail() {
    let client = TestClient::new(App::new().route("/parcel", post(parcel)));
    let ok = client.post("/parcel").json(&json!({"weight": {"Metric": {"kg": 2.5}}})).send().await;
    assert_eq!(ok.text(), "2.5");
    let res = client.post("/parcel").json(&json!({"weight": {"Metric": {"kg": 0}}})).send().await;
    let errs = errors(&res);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(errs[0]["type"], "greater_than", "{errs:?}");
    assert_eq!(errs[0]["loc"], json!(["body", "weight", "Metric", "kg"]), "{errs:?}");
    assert_eq!(errs[0]["ctx"], json!({"gt": 0}), "{errs:?}");
}

#[tokio::test]
async fn a_body_that_is_not_utf8_is_invalid_json_even_where_unknown_fields_hide_it() {
    let client = TestClient::new(App::new().route("/parcel", post(parcel)));
    let mut body = br#"{"weight": "Unknown", "note": "caf"#.to_vec();
    body.push(0x9d);
    body.extend_from_slice(br#""}"#);
    let res = client.post("/parcel").header("content-type", "application/json").body(body).send().await;
    let errs = errors(&res);
    assert_eq!(errs[0]["type"], "json_invalid", "{errs:?}");
}

/// A body extractor of the user's own that implements `from_request` only: it still sees the
/// whole request when other extractors ran before it.
struct Echoed {
    method: String,
    uri: String,
    header: Option<String>,
    body: String,
}

impl brisk::extract::FromRequest for Echoed {
    async fn from_request(
        req: brisk::extract::Request,
        _cx: &brisk::extract::RequestContext,
    ) -> Result<Self> {
        let (parts, body) = req.into_parts();
        let body =
            body.collect_bytes().await.map_err(|_| Error::http(StatusCode::BAD_REQUEST, "unreadable"))?;
        Ok(Echoed {
            method: parts.method.to_string(),
            uri: parts.uri.to_string(),
            header: parts.headers.get("x-tag").and_then(|v| v.to_str().ok()).map(str::to_owned),
            body: String::from_utf8_lossy(&body).into_owned(),
        })
    }
}

impl brisk::openapi::DescribeInput for Echoed {
    fn describe_input(_cx: &mut brisk::openapi::DocContext, _op: &mut brisk::openapi::Operation) {}
}

#[tokio::test]
async fn a_custom_body_extractor_last_gets_the_whole_request() {
    async fn handler(Path(id): Path<u32>, Query(s): Query<Search>, echoed: Echoed) -> Json<Value> {
        Json(json!({
            "id": id, "q": s.q, "method": echoed.method, "uri": echoed.uri,
            "header": echoed.header, "body": echoed.body,
        }))
    }
    let client = TestClient::new(App::new().route("/e/{id}", put(handler)));
    let res = client.put("/e/7?q=rust").header("x-tag", "blue").body("payload").send().await;
    assert_eq!(
        res.json::<Value>(),
        json!({"id": 7, "q": "rust", "method": "PUT", "uri": "/e/7?q=rust", "header": "blue", "body": "payload"})
    );
}

/// State no one provides is found when the app is built, not as a 500 at every request.
#[test]
fn state_no_one_provides_fails_the_build() {
    #[derive(Clone)]
    struct Greeting(&'static str);
    async fn hello(State(g): State<Greeting>) -> &'static str {
        g.0
    }
    let err = App::new().route("/hello", get(hello)).build().err().expect("refused");
    let message = err.to_string();
    assert!(message.contains("GET /hello: the handler reads `State<"), "{message}");
    assert!(message.contains("Greeting>`, which no `App::with_state` provides"), "{message}");
    // Provided: it builds.
    assert!(App::new().route("/hello", get(hello)).with_state(Greeting("hi")).build().is_ok());
}

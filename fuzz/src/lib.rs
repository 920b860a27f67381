//! The shared harness of brisk's fuzz targets.
//!
//! One [`App`] with a route per extractor under test is built once, with a current-thread tokio
//! runtime; every fuzz input becomes one `http::Request` driven through the public
//! [`AppService::call`] in process (no socket). Each target then checks properties of the
//! answer, not just "no crash":
//!
//! - never a 500 (brisk turns a panicking handler or extractor into a 500; under libFuzzer the
//!   panic hook aborts first, so a panic is reported as a crash with its stack);
//! - the status is one the route may give for that input;
//! - a 422 is FastAPI's `{"detail":[{type,loc,msg,input[,ctx]}]}`: non-empty, `loc` a list of
//!   strings and integers starting with the source the target feeds;
//! - other errors are `{"detail": "..."}`;
//! - a 2xx echoes values that obey every declared rule and equal what an independent decoding
//!   of the input says (where that is cheap to know).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use brisk::body::Body;
use brisk::bytes::Bytes;
use brisk::extract::{CookieJar, Multipart, MultipartLimits};
use brisk::http::{self, HeaderMap, StatusCode};
use brisk::prelude::*;
use brisk::AppService;
use http_body_util::BodyExt;
use serde_json::Value;

pub use brisk::http::{HeaderValue, Method, Request};

/// The body limit of the fuzz app (small, so the fuzzer can reach it).
pub const BODY_LIMIT: usize = 8 * 1024;

/// The multipart limits of the fuzz app.
pub const MULTIPART_LIMITS: MultipartLimits =
    MultipartLimits { max_fields: 8, max_files: 4, max_part_size: 512 };

/// The pattern of [`PathStruct::code`]: a lowercase UUID.
pub const UUID_PATTERN: &str = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$";

// ---------------------------------------------------------------------------------------------
// Path

/// `/p/{id}/{name}/{code}`.
#[derive(Debug, Deserialize, Serialize, JsonSchema, Validate, PartialEq)]
pub struct PathStruct {
    #[validate(gt = 0)]
    pub id: i64,
    #[validate(min_length = 1, max_length = 16)]
    pub name: String,
    #[validate(pattern = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]
    pub code: String,
}

/// `/e/{flag}/{ratio}/{size}`.
#[derive(Debug, Deserialize, Serialize, JsonSchema, Validate, PartialEq)]
pub struct PathMixed {
    pub flag: bool,
    #[validate(ge = 0, le = 1)]
    pub ratio: f64,
    pub size: Size,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, JsonSchema, Validate, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Size {
    Small,
    Large,
}

async fn path_struct(Path(p): Path<PathStruct>) -> Json<PathStruct> {
    Json(p)
}

async fn path_tuple(Path(p): Path<(u32, String)>) -> Json<(u32, String)> {
    Json(p)
}

async fn path_one(Path(v): Path<i16>) -> Json<i16> {
    Json(v)
}

async fn path_mixed(Path(p): Path<PathMixed>) -> Json<PathMixed> {
    Json(p)
}

// ---------------------------------------------------------------------------------------------
// Query and form

/// The query / form struct: optional, repeated, boolean, integer, float, enum and validated fields.
#[derive(Debug, Deserialize, Serialize, JsonSchema, Validate, PartialEq)]
pub struct Search {
    #[validate(min_length = 1, max_length = 32)]
    pub q: Option<String>,
    #[validate(ge = 1, le = 100)]
    pub limit: Option<u32>,
    #[serde(default)]
    #[validate(max_length = 5)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub flag: bool,
    pub offset: Option<i64>,
    #[validate(gt = 0)]
    pub score: Option<f64>,
    pub sort: Option<Sort>,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, JsonSchema, Validate, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Sort {
    Asc,
    Desc,
}

/// A strict struct: a required bounded field, a required non-empty list, unknown names refused.
#[derive(Debug, Deserialize, Serialize, JsonSchema, Validate, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Strict {
    #[validate(ge = -5, le = 5)]
    pub n: i8,
    #[validate(min_length = 1, max_length = 4)]
    pub ids: Vec<u16>,
}

async fn query_search(Query(q): Query<Search>) -> Json<Search> {
    Json(q)
}

async fn query_strict(Query(q): Query<Strict>) -> Json<Strict> {
    Json(q)
}

/// A list of integers, an optional bool and a renamed field.
#[derive(Debug, Deserialize, Serialize, JsonSchema, Validate, PartialEq)]
pub struct Nums {
    #[serde(default)]
    #[validate(max_length = 50)]
    pub n: Vec<i32>,
    pub b: Option<bool>,
    #[serde(rename = "x-y")]
    pub xy: Option<u8>,
}

async fn query_nums(Query(q): Query<Nums>) -> Json<Nums> {
    Json(q)
}

async fn query_optional(q: Option<Query<Search>>) -> Json<Option<Search>> {
    Json(q.map(|Query(q)| q))
}

async fn form_search(Form(f): Form<Search>) -> Json<Search> {
    Json(f)
}

async fn form_strict(Form(f): Form<Strict>) -> Json<Strict> {
    Json(f)
}

// ---------------------------------------------------------------------------------------------
// Cookies

#[derive(Debug, Deserialize, Serialize, JsonSchema, Validate, PartialEq)]
pub struct Session {
    #[validate(min_length = 1, max_length = 64)]
    pub session: String,
    pub theme: Option<Theme>,
    #[validate(le = 1000)]
    pub visits: Option<u16>,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, JsonSchema, Validate, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Theme {
    Light,
    Dark,
}

async fn cookies_typed(Cookies(c): Cookies<Session>) -> Json<Session> {
    Json(c)
}

async fn cookies_jar(jar: CookieJar) -> Json<BTreeMap<String, String>> {
    Json(jar.iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect())
}

// ---------------------------------------------------------------------------------------------
// Multipart

/// What the multipart handler saw of one part.
#[derive(Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
pub struct PartInfo {
    pub name: Option<String>,
    pub file_name: Option<String>,
    pub content_type: Option<String>,
    pub len: usize,
}

/// Reads every part: `text` as UTF-8, `chunks` chunk by chunk, the rest as bytes.
async fn multipart_all(mut form: Multipart) -> brisk::Result<Json<Vec<PartInfo>>> {
    let mut out = Vec::new();
    while let Some(mut field) = form.next_field().await? {
        let name = field.name().map(str::to_owned);
        let file_name = field.file_name().map(str::to_owned);
        let content_type = field.content_type().map(str::to_owned);
        let len = match name.as_deref() {
            Some("text") => field.text().await?.len(),
            Some("chunks") => {
                let mut n = 0;
                while let Some(chunk) = field.chunk().await? {
                    n += chunk.len();
                }
                n
            }
            _ => field.bytes().await?.len(),
        };
        out.push(PartInfo { name, file_name, content_type, len });
    }
    Ok(Json(out))
}

/// Reads the first part's name only and drops the rest of the body unread.
async fn multipart_first(mut form: Multipart) -> brisk::Result<Json<Option<String>>> {
    let first = form.next_field().await?;
    Ok(Json(first.and_then(|f| f.name().map(str::to_owned))))
}

// ---------------------------------------------------------------------------------------------
// JSON

/// A JSON body with nested objects, lists, a map, a tagged enum, a tuple and rules at every level.
#[derive(Debug, Deserialize, Serialize, JsonSchema, Validate, PartialEq)]
pub struct Item {
    #[validate(min_length = 1, max_length = 50)]
    pub name: String,
    #[validate(gt = 0)]
    pub price: f64,
    #[serde(default)]
    #[validate(max_length = 10)]
    pub tags: Vec<Tag>,
    pub dims: Option<Dims>,
    #[serde(default)]
    pub variants: Vec<Variant>,
    #[serde(default)]
    #[validate(max_length = 8)]
    pub meta: BTreeMap<String, i32>,
    pub kind: Option<Kind>,
    pub flags: Option<(bool, u8)>,
}

#[derive(Debug, Deserialize, Serialize, JsonSchema, Validate, PartialEq)]
pub struct Tag {
    #[validate(min_length = 1, max_length = 20)]
    pub label: String,
}

#[derive(Debug, Deserialize, Serialize, JsonSchema, Validate, PartialEq)]
pub struct Dims {
    #[validate(ge = 1, le = 10000)]
    pub w: u32,
    #[validate(ge = 1, le = 10000)]
    pub h: u32,
}

#[derive(Debug, Deserialize, Serialize, JsonSchema, Validate, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Variant {
    #[validate(pattern = "^[A-Z]{3}-[0-9]{2}$")]
    pub sku: String,
    #[validate(ge = 0)]
    pub qty: i64,
}

#[derive(Debug, Deserialize, Serialize, JsonSchema, Validate, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Kind {
    Physical { weight: Weight },
    Digital { url: String },
}

#[derive(Debug, Deserialize, Serialize, JsonSchema, Validate, PartialEq)]
pub struct Weight {
    #[validate(gt = 0, le = 1000)]
    pub kg: f64,
}

/// An untagged union of a number, a string and a struct.
#[derive(Debug, Deserialize, Serialize, JsonSchema, Validate, PartialEq)]
#[serde(untagged)]
pub enum Loose {
    Int(i64),
    Text(String),
    Pair(Dims),
}

async fn json_item(Json(item): Json<Item>) -> Json<Item> {
    Json(item)
}

async fn json_list(Json(list): Json<Vec<Dims>>) -> Json<Vec<Dims>> {
    Json(list)
}

async fn json_loose(Json(v): Json<Vec<Loose>>) -> Json<Vec<Loose>> {
    Json(v)
}

async fn json_optional(body: Option<Json<Kind>>) -> Json<Option<Kind>> {
    Json(body.map(|Json(k)| k))
}

// ---------------------------------------------------------------------------------------------
// The app and the runtime

struct Harness {
    rt: tokio::runtime::Runtime,
    app: AppService,
}

fn app() -> App {
    App::new()
        .body_limit(BODY_LIMIT)
        .with_state(MULTIPART_LIMITS)
        .route("/p/{id}/{name}/{code}", get(path_struct))
        .route("/t/{a}/{b}", get(path_tuple))
        .route("/one/{v}", get(path_one))
        .route("/e/{flag}/{ratio}/{size}", get(path_mixed))
        .route("/q", get(query_search))
        .route("/qs", get(query_strict))
        .route("/qm", get(query_nums))
        .route("/qo", get(query_optional))
        .route("/f", post(form_search))
        .route("/fs", post(form_strict))
        .route("/c", get(cookies_typed))
        .route("/jar", get(cookies_jar))
        .route("/m", post(multipart_all))
        .route("/m1", post(multipart_first))
        .route("/j", post(json_item))
        .route("/jl", post(json_list))
        .route("/ju", post(json_loose))
        .route("/jo", post(json_optional))
}

fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap_or_else(|e| panic!("no runtime: {e}"));
        let app = app().build().unwrap_or_else(|e| panic!("the fuzz app does not build: {e}"));
        Harness { rt, app }
    })
}

/// A whole response.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    /// The status as a number.
    pub fn code(&self) -> u16 {
        self.status.as_u16()
    }

    /// The body parsed as JSON (panics, naming the body, when it is not).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{} body is not JSON ({e}): {:?}", self.status, self.text()))
    }

    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Sends one request through the app, in process, and reads the whole response.
pub fn send(req: Request<Body>) -> Reply {
    let h = harness();
    let app = h.app.clone();
    h.rt.block_on(async move {
        let res = app.call(req).await;
        let (parts, body) = res.into_parts();
        let body = match body.collect().await {
            Ok(c) => c.to_bytes(),
            Err(e) => panic!("the response body failed: {e}"),
        };
        Reply { status: parts.status, headers: parts.headers, body }
    })
}

/// Builds a request (`None` when `http` refuses the URI: the fuzzer made an unsendable one).
pub fn request(
    method: Method,
    uri: &str,
    headers: &[(&'static str, HeaderValue)],
    body: Vec<u8>,
) -> Option<Request<Body>> {
    let uri: http::Uri = uri.parse().ok()?;
    let mut req = Request::new(Body::from(body));
    *req.method_mut() = method;
    *req.uri_mut() = uri;
    for (name, value) in headers {
        req.headers_mut().append(*name, value.clone());
    }
    Some(req)
}

// ---------------------------------------------------------------------------------------------
// Checks

/// The checks every answer passes: not a 500, a status from `allowed`, and an error body in
/// FastAPI's format (422s with locations under one of `roots`).
pub fn check_common(reply: &Reply, allowed: &[u16], roots: &[&str], input: &[u8]) {
    let code = reply.code();
    assert!(
        code != 500,
        "500 (an extractor or handler panicked) for input {:?}: {}",
        String::from_utf8_lossy(input),
        reply.text()
    );
    assert!(
        allowed.contains(&code),
        "unexpected status {code} (allowed {allowed:?}) for input {:?}: {}",
        String::from_utf8_lossy(input),
        reply.text()
    );
    if code == 422 {
        check_422(reply, roots);
    } else if code >= 400 {
        let body = reply.json();
        let detail = body.get("detail");
        assert!(
            body.as_object().is_some_and(|o| o.len() == 1) && detail.is_some_and(Value::is_string),
            "{code} body is not {{\"detail\": string}}: {body}"
        );
    }
}

/// A 422 body is `{"detail": [..]}` with pydantic's entries; returns them.
pub fn check_422<'a>(reply: &'a Reply, roots: &[&str]) -> Vec<Value> {
    let ct = reply.headers.get("content-type").and_then(|v| v.to_str().ok());
    assert_eq!(ct, Some("application/json"), "422 content type");
    let body = reply.json();
    let object = body.as_object().unwrap_or_else(|| panic!("422 body is not an object: {body}"));
    assert_eq!(object.len(), 1, "422 body has keys besides detail: {body}");
    let detail = object
        .get("detail")
        .and_then(Value::as_array)
        .unwrap_or_else(|| panic!("422 detail is not a list: {body}"));
    assert!(!detail.is_empty(), "422 with an empty detail list");
    assert!(detail.len() <= 1000, "422 with {} errors (the cap is 1000)", detail.len());
    for entry in detail {
        let e = entry.as_object().unwrap_or_else(|| panic!("422 entry is not an object: {entry}"));
        let ty = e.get("type").and_then(Value::as_str);
        assert!(ty.is_some_and(|t| !t.is_empty()), "422 entry without a type: {entry}");
        assert!(e.get("msg").is_some_and(Value::is_string), "422 entry without a msg: {entry}");
        assert!(e.contains_key("input"), "422 entry without an input: {entry}");
        if let Some(ctx) = e.get("ctx") {
            assert!(ctx.is_object(), "422 ctx is not an object: {entry}");
        }
        for key in e.keys() {
            assert!(
                ["type", "loc", "msg", "input", "ctx"].contains(&key.as_str()),
                "422 entry with an unknown key {key}: {entry}"
            );
        }
        let loc = e
            .get("loc")
            .and_then(Value::as_array)
            .unwrap_or_else(|| panic!("422 loc is not a list: {entry}"));
        assert!(!loc.is_empty(), "422 loc is empty: {entry}");
        assert!(
            loc.iter().all(|l| l.is_string() || l.is_u64()),
            "422 loc holds something besides strings and indexes: {entry}"
        );
        let root = loc[0].as_str().unwrap_or("");
        assert!(roots.contains(&root), "422 loc starts with {root:?}, not one of {roots:?}: {entry}");
    }
    detail.clone()
}

/// The `(type, loc)` pairs of a 422's entries, for set checks.
pub fn errors_of(detail: &[Value]) -> Vec<(String, Vec<Value>)> {
    detail
        .iter()
        .map(|e| {
            let ty = e["type"].as_str().unwrap_or("").to_owned();
            let loc = e["loc"].as_array().cloned().unwrap_or_default();
            (ty, loc)
        })
        .collect()
}

/// Whether some error is located exactly at `loc`.
pub fn has_error_at(detail: &[Value], loc: &[&str]) -> bool {
    detail.iter().any(|e| {
        e["loc"]
            .as_array()
            .is_some_and(|l| l.len() == loc.len() && l.iter().zip(loc).all(|(a, b)| a.as_str() == Some(*b)))
    })
}

// ---------------------------------------------------------------------------------------------
// Input helpers

/// Percent-encodes the bytes `http::Uri` would refuse in a path (and `?`/`#`), keeping `/`,
/// `%` and every other allowed byte as the fuzzer wrote it.
pub fn encode_path(raw: &[u8]) -> String {
    encode(raw, |b| b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/%".contains(&b))
}

/// Percent-encodes the bytes `http::Uri` would refuse in a query (and `#`), keeping `&`, `=`,
/// `+`, `%` and every other allowed byte as the fuzzer wrote it.
pub fn encode_query(raw: &[u8]) -> String {
    encode(raw, |b| b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/?%".contains(&b))
}

fn encode(raw: &[u8], keep: impl Fn(u8) -> bool) -> String {
    let mut out = String::with_capacity(raw.len());
    for &b in raw {
        if keep(b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A canonical decimal integer (no sign, no leading zero unless it is `0`, at most 18 digits).
pub fn canonical_uint(s: &str) -> Option<i64> {
    let ok = !s.is_empty()
        && s.len() <= 18
        && s.bytes().all(|b| b.is_ascii_digit())
        && (s == "0" || !s.starts_with('0'));
    if ok {
        s.parse().ok()
    } else {
        None
    }
}

/// A canonical decimal integer, optionally negative.
pub fn canonical_int(s: &str) -> Option<i64> {
    match s.strip_prefix('-') {
        Some(rest) if rest != "0" => canonical_uint(rest).map(|v| -v),
        Some(_) => None,
        None => canonical_uint(s),
    }
}

/// Whether `s` matches [`UUID_PATTERN`] (checked by hand, independently of brisk's regex).
pub fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, &c)| match i {
            8 | 13 | 18 | 23 => c == b'-',
            _ => c.is_ascii_digit() || (b'a'..=b'f').contains(&c),
        })
}

/// Decodes `application/x-www-form-urlencoded` pairs (the query and form oracle): split on
/// `&` (empty pieces skipped), then on the first `=`, `+` as a space, percent-decoded. `None`
/// when a name or value is not UTF-8 once decoded: brisk answers that with a 400 (see
/// [`check_not_utf8`]), where `form_urlencoded::parse` would replace the bytes with `U+FFFD`.
pub fn decode_pairs(raw: &[u8]) -> Option<Vec<(String, String)>> {
    let decode = |raw: &[u8]| {
        let spaced: Vec<u8> = raw.iter().map(|&b| if b == b'+' { b' ' } else { b }).collect();
        String::from_utf8(percent_encoding::percent_decode(&spaced).collect()).ok()
    };
    let pairs: Option<Vec<(String, String)>> = raw
        .split(|&b| b == b'&')
        .filter(|piece| !piece.is_empty())
        .map(|piece| {
            let (name, value) = match piece.iter().position(|&b| b == b'=') {
                Some(at) => (&piece[..at], &piece[at + 1..]),
                None => (piece, &[][..]),
            };
            Some((decode(name)?, decode(value)?))
        })
        .collect();
    // Where every piece is UTF-8, the reading is `form_urlencoded`'s.
    if let Some(pairs) = &pairs {
        let theirs: Vec<(String, String)> =
            form_urlencoded::parse(raw).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
        assert_eq!(*pairs, theirs, "the oracle disagrees with form_urlencoded");
    }
    pairs
}

/// Checks brisk's answer to a name or value that is not UTF-8 once decoded: 400
/// `{"detail": "Invalid <noun> ...: `...` decodes to bytes that are not valid UTF-8"}`, where
/// `noun` is `query parameter`, `form field` or `path parameter`.
pub fn check_not_utf8(reply: &Reply, noun: &str) {
    assert_eq!(reply.code(), 400, "a name or value that is not UTF-8: {}", reply.text());
    let body = reply.json();
    let detail = body["detail"].as_str().unwrap_or_default();
    assert!(
        detail.starts_with(&format!("Invalid {noun}"))
            && detail.ends_with("decodes to bytes that are not valid UTF-8"),
        "the 400 names the {noun} and says why: {detail}"
    );
}

/// Every value of `name`, in order.
pub fn values<'a>(pairs: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    pairs.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str()).collect()
}

// ---------------------------------------------------------------------------------------------
// Shared oracles of the query and form targets

const SEARCH_FIELDS: [&str; 7] = ["q", "limit", "tags", "flag", "offset", "score", "sort"];

/// Checks a reply of a route taking [`Search`] from `pairs` (locations under `root`).
pub fn check_search(reply: &Reply, pairs: &[(String, String)], root: &str) {
    let last = |name: &str| values(pairs, name).last().copied();
    let tags = values(pairs, "tags");
    // What an independent reading says: every given field certainly valid, or one certainly not.
    let mut certainly_valid = true;
    let mut certainly_bad: Vec<&str> = Vec::new();
    if let Some(q) = last("q") {
        let n = q.chars().count();
        certainly_valid &= (1..=32).contains(&n);
        if n > 32 {
            certainly_bad.push("q");
        }
    }
    if let Some(limit) = last("limit") {
        match canonical_uint(limit) {
            Some(v) if (1..=100).contains(&v) => {}
            Some(_) => {
                certainly_valid = false;
                certainly_bad.push("limit");
            }
            None => {
                certainly_valid = false;
                if !limit.bytes().any(|b| b.is_ascii_digit()) {
                    certainly_bad.push("limit");
                }
            }
        }
    }
    if tags.len() > 5 {
        certainly_valid = false;
        certainly_bad.push("tags");
    }
    if let Some(flag) = last("flag") {
        certainly_valid &= flag == "true" || flag == "false";
    }
    if let Some(offset) = last("offset") {
        certainly_valid &= canonical_int(offset).is_some();
        if !offset.bytes().any(|b| b.is_ascii_digit()) {
            certainly_bad.push("offset");
        }
    }
    if let Some(score) = last("score") {
        certainly_valid &= canonical_uint(score).is_some_and(|v| v > 0);
        if !score.bytes().any(|b| b.is_ascii_digit()) && !score.to_ascii_lowercase().contains("inf") {
            certainly_bad.push("score");
        }
    }
    if let Some(sort) = last("sort") {
        certainly_valid &= sort == "asc" || sort == "desc";
        if !sort.is_empty() && sort != "asc" && sort != "desc" {
            certainly_bad.push("sort");
        }
    }
    match reply.code() {
        200 => {
            let echo: Search = serde_json::from_slice(&reply.body)
                .unwrap_or_else(|e| panic!("200 echo is not a Search ({e}): {}", reply.text()));
            assert!(certainly_bad.is_empty(), "200 although {certainly_bad:?} are invalid: {echo:?}");
            // Every rule holds.
            assert!(echo.q.as_ref().is_none_or(|q| (1..=32).contains(&q.chars().count())), "{echo:?}");
            assert!(echo.limit.is_none_or(|l| (1..=100).contains(&l)), "{echo:?}");
            assert!(echo.tags.len() <= 5, "{echo:?}");
            assert!(echo.score.is_none_or(|s| s.is_finite() && s > 0.0), "{echo:?}");
            // And the values are the input's (the last of a repeated scalar, every list item).
            assert_eq!(echo.q.as_deref(), last("q"), "q");
            assert_eq!(echo.tags, tags, "tags");
            if let Some(limit) = last("limit").and_then(canonical_uint) {
                assert_eq!(echo.limit.map(i64::from), Some(limit), "limit");
            }
            assert_eq!(last("limit").is_some(), echo.limit.is_some(), "limit presence");
            match last("flag") {
                Some("true") => assert!(echo.flag),
                Some("false") | None => assert!(!echo.flag),
                Some(_) => {}
            }
            if let Some(offset) = last("offset").and_then(canonical_int) {
                assert_eq!(echo.offset, Some(offset), "offset");
            }
            assert_eq!(last("offset").is_some(), echo.offset.is_some(), "offset presence");
            assert_eq!(last("score").is_some(), echo.score.is_some(), "score presence");
            let sort = echo.sort.map(|s| if s == Sort::Asc { "asc" } else { "desc" });
            assert_eq!(sort, last("sort"), "sort");
        }
        422 => {
            assert!(!certainly_valid, "422 for a valid input {pairs:?}: {}", reply.text());
            let detail = check_422(reply, &[root]);
            for field in &certainly_bad {
                assert!(has_error_at(&detail, &[root, field]), "no error at {field}: {}", reply.text());
            }
            for e in &detail {
                let field = e["loc"].get(1).and_then(Value::as_str).unwrap_or("");
                assert!(SEARCH_FIELDS.contains(&field), "422 names a field Search lacks: {e}");
            }
        }
        other => panic!("status {other} for Search pairs {pairs:?}: {}", reply.text()),
    }
}

/// Checks a reply of a route taking [`Strict`] from `pairs`.
pub fn check_strict(reply: &Reply, pairs: &[(String, String)], root: &str) {
    let unknown: Vec<&str> =
        pairs.iter().map(|(k, _)| k.as_str()).filter(|k| *k != "n" && *k != "ids").collect();
    let n = values(pairs, "n");
    let ids = values(pairs, "ids");
    let certainly_valid = unknown.is_empty()
        && n.last().and_then(|v| canonical_int(v)).is_some_and(|v| (-5..=5).contains(&v))
        && (1..=4).contains(&ids.len())
        && ids.iter().all(|v| canonical_uint(v).is_some_and(|v| v <= 65535));
    match reply.code() {
        200 => {
            let echo: Strict = serde_json::from_slice(&reply.body)
                .unwrap_or_else(|e| panic!("200 echo is not a Strict ({e}): {}", reply.text()));
            assert!(unknown.is_empty(), "200 with unknown names {unknown:?}");
            assert!((-5..=5).contains(&echo.n) && (1..=4).contains(&echo.ids.len()), "{echo:?}");
            assert_eq!(echo.ids.len(), ids.len(), "ids");
            for (got, raw) in echo.ids.iter().zip(&ids) {
                if let Some(v) = canonical_uint(raw) {
                    assert_eq!(i64::from(*got), v, "ids item");
                }
            }
            if let Some(v) = n.last().and_then(|v| canonical_int(v)) {
                assert_eq!(i64::from(echo.n), v, "n");
            }
        }
        422 => {
            assert!(!certainly_valid, "422 for a valid Strict input {pairs:?}: {}", reply.text());
            let detail = check_422(reply, &[root]);
            if n.is_empty() {
                assert!(has_error_at(&detail, &[root, "n"]), "no error for a missing n: {}", reply.text());
            }
            if ids.is_empty() {
                assert!(has_error_at(&detail, &[root, "ids"]), "no error for missing ids: {}", reply.text());
            }
            // A walk stops at 1000 errors, counted before exact repeats are merged, so with
            // that many pairs an unknown name may go unreported.
            if pairs.len() < 990 {
                let found = errors_of(&detail);
                for name in &unknown {
                    let at = |(ty, loc): &(String, Vec<Value>)| {
                        ty == "extra_forbidden" && loc.get(1).and_then(Value::as_str) == Some(*name)
                    };
                    assert!(found.iter().any(at), "no extra_forbidden for {name:?}: {}", reply.text());
                }
            }
        }
        other => panic!("status {other} for Strict pairs {pairs:?}: {}", reply.text()),
    }
}

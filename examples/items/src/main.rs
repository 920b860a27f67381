//! The items contract (`/plaintext`, `/json`, `POST /items`, `GET /items/{item_id}`) and
//! nothing else, written the way brisk's README teaches. The benchmark runs it beside the
//! showcase: the peers (raw hyper, axum, actix-web) implement exactly these four endpoints,
//! while the showcase also carries auth, chat, WebSockets and a per-request session dependency.
//! It still serves `/openapi.json`, `/docs` and `/redoc`, as every brisk app does.
//!
//! ```sh
//! cargo run --release -p items     # PORT=8000, HOST=127.0.0.1 by default
//! ```

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use brisk::prelude::*;

/// An item as clients send it.
#[derive(Clone, Deserialize, JsonSchema, Validate)]
struct ItemIn {
    #[validate(min_length = 1, max_length = 100)]
    name: String,
    #[serde(default)]
    #[validate(max_length = 1000)]
    description: Option<String>,
    #[validate(gt = 0)]
    price: f64,
    #[serde(default)]
    #[validate(ge = 0)]
    tax: Option<f64>,
    #[serde(default)]
    #[validate(max_length = 10)]
    tags: Vec<String>,
}

/// An item as the server returns it: the input plus its id.
#[derive(Serialize, JsonSchema)]
struct ItemOut {
    id: u64,
    name: String,
    description: Option<String>,
    price: f64,
    tax: Option<f64>,
    tags: Vec<String>,
}

impl ItemOut {
    fn new(id: u64, item: ItemIn) -> Self {
        let ItemIn { name, description, price, tax, tags } = item;
        ItemOut { id, name, description, price, tax, tags }
    }
}

#[derive(Deserialize, JsonSchema, Validate)]
struct ItemPath {
    #[validate(gt = 0)]
    item_id: i64,
}

#[derive(Serialize, JsonSchema)]
struct Message {
    message: &'static str,
}

#[derive(Debug, ApiError)]
enum ItemError {
    #[api(status = 404, detail = "Item not found")]
    NotFound,
}

/// Items by id, from 1 up.
#[derive(Clone, Default)]
struct Store(Arc<RwLock<(u64, BTreeMap<u64, ItemIn>)>>);

async fn plaintext() -> &'static str {
    "Hello, World!"
}

async fn hello_json() -> Json<Message> {
    Json(Message { message: "Hello, World!" })
}

async fn create_item(State(store): State<Store>, Json(item): Json<ItemIn>) -> Created<Json<ItemOut>> {
    let mut guard = store.0.write().unwrap_or_else(|poisoned| poisoned.into_inner());
    guard.0 += 1;
    let id = guard.0;
    guard.1.insert(id, item.clone());
    Created(Json(ItemOut::new(id, item)))
}

async fn get_item(
    State(store): State<Store>,
    Path(path): Path<ItemPath>,
) -> Result<Json<ItemOut>, ItemError> {
    let id = u64::try_from(path.item_id).map_err(|_| ItemError::NotFound)?;
    let guard = store.0.read().unwrap_or_else(|poisoned| poisoned.into_inner());
    guard.1.get(&id).map(|item| Json(ItemOut::new(id, item.clone()))).ok_or(ItemError::NotFound)
}

fn main() -> Result<(), brisk::ServeError> {
    let app = App::new()
        .title("Items")
        .route("/plaintext", get(plaintext))
        .route("/json", get(hello_json))
        .route("/items", post(create_item))
        .route("/items/{item_id}", get(get_item))
        .with_state(Store::default());
    brisk::run(app)
}

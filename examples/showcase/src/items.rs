//! The items endpoints and their models.

use brisk::prelude::*;

use crate::store::Store;

/// An item as clients send it.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema, Validate)]
pub struct ItemIn {
    /// 1 to 100 characters.
    #[validate(min_length = 1, max_length = 100)]
    pub name: String,
    /// At most 1000 characters.
    #[serde(default)]
    #[validate(max_length = 1000)]
    pub description: Option<String>,
    /// Greater than 0.
    #[validate(gt = 0)]
    pub price: f64,
    /// 0 or more.
    #[serde(default)]
    #[validate(ge = 0)]
    pub tax: Option<f64>,
    /// At most 10 tags.
    #[serde(default)]
    #[validate(max_length = 10)]
    pub tags: Vec<String>,
}

/// An item as the server returns it: the input plus its id.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
pub struct ItemOut {
    /// Assigned by the server, from 1 up.
    pub id: u64,
    /// See [`ItemIn`].
    pub name: String,
    /// See [`ItemIn`].
    pub description: Option<String>,
    /// See [`ItemIn`].
    pub price: f64,
    /// See [`ItemIn`].
    pub tax: Option<f64>,
    /// See [`ItemIn`].
    pub tags: Vec<String>,
}

impl ItemOut {
    /// Joins an id and an item.
    pub fn new(id: u64, item: ItemIn) -> Self {
        ItemOut {
            id,
            name: item.name,
            description: item.description,
            price: item.price,
            tax: item.tax,
            tags: item.tags,
        }
    }
}

/// `/items/{item_id}`: a positive 64-bit integer.
#[derive(Debug, Deserialize, JsonSchema, Validate)]
pub struct ItemPath {
    /// The item's id.
    #[validate(gt = 0)]
    pub item_id: i64,
}

/// `GET /items` paging and search.
#[derive(Debug, Deserialize, JsonSchema, Validate)]
pub struct ListQuery {
    /// Items to skip.
    #[serde(default)]
    #[validate(ge = 0)]
    pub skip: i64,
    /// Items to return, 1 to 100.
    #[serde(default = "default_limit")]
    #[validate(ge = 1, le = 100)]
    pub limit: i64,
    /// Case-insensitive substring of the name.
    #[validate(max_length = 50)]
    pub q: Option<String>,
}

fn default_limit() -> i64 {
    10
}

/// A database-session style dependency: opened per request, closed by its teardown after the
/// response has been sent (the in-memory store counts them; `GET /stats` shows the counts).
#[derive(Clone)]
pub struct DbSession(Store);

impl Dependency for DbSession {
    type Inputs = (State<Store>,);
    async fn provide((State(store),): Self::Inputs, scope: &Scope) -> Result<Self> {
        store.open_session();
        let closing = store.clone();
        scope.on_teardown("db session", async move {
            closing.close_session();
            Ok(())
        });
        Ok(DbSession(store))
    }
}

/// What the item routes can answer besides success.
#[derive(Debug, ApiError)]
pub enum ItemError {
    /// No item has this id.
    #[api(status = 404, detail = "Item not found")]
    NotFound,
}

// The rules above guarantee these are non-negative; the conversions cannot fail after them.
fn id_of(path: &ItemPath) -> u64 {
    u64::try_from(path.item_id).unwrap_or(0)
}

/// List items.
///
/// Ordered by id; `q` keeps the items whose name contains it, in any case.
#[brisk::endpoint]
async fn list_items(
    Depends(DbSession(store)): Depends<DbSession>,
    Query(q): Query<ListQuery>,
) -> Json<Vec<ItemOut>> {
    let skip = usize::try_from(q.skip).unwrap_or(usize::MAX);
    let limit = usize::try_from(q.limit).unwrap_or(0);
    Json(store.list(skip, limit, q.q.as_deref()))
}

/// Create an item.
///
/// The server assigns the id, from 1 up.
#[brisk::endpoint]
async fn create_item(
    Depends(DbSession(store)): Depends<DbSession>,
    Json(item): Json<ItemIn>,
) -> Created<Json<ItemOut>> {
    Created(Json(store.create(item)))
}

/// Read an item.
#[brisk::endpoint]
async fn get_item(
    Depends(DbSession(store)): Depends<DbSession>,
    Path(path): Path<ItemPath>,
) -> Result<Json<ItemOut>, ItemError> {
    store.get(id_of(&path)).map(Json).ok_or(ItemError::NotFound)
}

/// Replace an item.
#[brisk::endpoint]
async fn replace_item(
    Depends(DbSession(store)): Depends<DbSession>,
    Path(path): Path<ItemPath>,
    Json(item): Json<ItemIn>,
) -> Result<Json<ItemOut>, ItemError> {
    store.replace(id_of(&path), item).map(Json).ok_or(ItemError::NotFound)
}

/// Delete an item.
#[brisk::endpoint]
async fn delete_item(
    Depends(DbSession(store)): Depends<DbSession>,
    Path(path): Path<ItemPath>,
) -> Result<NoContent, ItemError> {
    if store.delete(id_of(&path)) {
        Ok(NoContent)
    } else {
        Err(ItemError::NotFound)
    }
}

/// The items routes.
pub fn router() -> Router {
    Router::new()
        .route("/items", get(list_items).post(create_item))
        .route("/items/{item_id}", get(get_item).put(replace_item).delete(delete_item))
        .tag("items")
}

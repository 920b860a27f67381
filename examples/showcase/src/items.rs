//! The items endpoints and their models.

use brisk::prelude::*;

use brisk_orm::prelude::*;

use crate::store::Sessions;

/// An item: the table's row, the request body and the response body at once. The id is
/// assigned by the database (read-only in the API: a client's `id` is ignored).
#[derive(Debug, Clone, PartialEq, Model, Deserialize, Serialize, JsonSchema, Validate)]
#[model(table = "items", ordering = ["id"])]
pub struct Item {
    /// Assigned by the server, from 1 up.
    #[model(primary_key)]
    pub id: AutoId,
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
    #[model(default = "[]")]
    #[validate(max_length = 10)]
    pub tags: Json<Vec<String>>,
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

/// A database-session style dependency: the database handle, opened per request and closed
/// by its teardown after the response has been sent (`GET /stats` shows the counts).
#[derive(Clone)]
pub struct DbSession(Db);

impl Dependency for DbSession {
    type Inputs = (Db, State<Sessions>);
    async fn provide((db, State(sessions)): Self::Inputs, scope: &Scope) -> Result<Self> {
        sessions.open();
        scope.on_teardown("db session", async move {
            sessions.close();
            Ok(())
        });
        Ok(DbSession(db))
    }
}

/// What the item routes can answer besides success.
#[derive(Debug, ApiError)]
pub enum ItemError {
    /// No item has this id.
    #[api(status = 404, detail = "Item not found")]
    NotFound,
    /// The database failed: a 503 while it is unreachable, else a 500 (the cause is logged).
    #[api(transparent)]
    Database(brisk_orm::Error),
}

fn by_id(path: &ItemPath) -> QuerySet<Item> {
    Item::objects().filter(Item::id().eq(path.item_id))
}

/// List items.
///
/// Ordered by id; `q` keeps the items whose name contains it, in any case.
#[brisk::endpoint]
async fn list_items(
    Depends(DbSession(db)): Depends<DbSession>,
    Query(q): Query<ListQuery>,
) -> Result<Json<Vec<Item>>> {
    let mut items = Item::objects();
    if let Some(needle) = q.q.filter(|q| !q.is_empty()) {
        items = items.filter(Item::name().icontains(needle));
    }
    let page = items.offset(q.skip.unsigned_abs()).limit(q.limit.unsigned_abs()).all(&db).await?;
    Ok(Json(page))
}

/// Create an item.
///
/// The server assigns the id, from 1 up.
#[brisk::endpoint]
async fn create_item(
    Depends(DbSession(db)): Depends<DbSession>,
    Json(item): Json<Item>,
) -> Result<Created<Json<Item>>> {
    Ok(Created(Json(Item::objects().create(item, &db).await?)))
}

/// Read an item.
#[brisk::endpoint]
async fn get_item(
    Depends(DbSession(db)): Depends<DbSession>,
    Path(path): Path<ItemPath>,
) -> Result<Json<Item>, ItemError> {
    match by_id(&path).first(&db).await {
        Ok(Some(item)) => Ok(Json(item)),
        Ok(None) => Err(ItemError::NotFound),
        Err(e) => Err(ItemError::Database(e)),
    }
}

/// Replace an item.
#[brisk::endpoint]
async fn replace_item(
    Depends(DbSession(db)): Depends<DbSession>,
    Path(path): Path<ItemPath>,
    Json(mut item): Json<Item>,
) -> Result<Json<Item>, ItemError> {
    item.id = AutoId::from(path.item_id);
    match item.update(&db).await {
        Ok(true) => Ok(Json(item)),
        Ok(false) => Err(ItemError::NotFound),
        Err(e) => Err(ItemError::Database(e)),
    }
}

/// Delete an item.
#[brisk::endpoint]
async fn delete_item(
    Depends(DbSession(db)): Depends<DbSession>,
    Path(path): Path<ItemPath>,
) -> Result<NoContent, ItemError> {
    match by_id(&path).delete(&db).await {
        Ok(0) => Err(ItemError::NotFound),
        Ok(_) => Ok(NoContent),
        Err(e) => Err(ItemError::Database(e)),
    }
}

/// The items routes.
pub fn router() -> Router {
    Router::new()
        .route("/items", get(list_items).post(create_item))
        .route("/items/{item_id}", get(get_item).put(replace_item).delete(delete_item))
        .tag("items")
}

//! The root README's brisk-orm example, compiled and run: the posts API on SQLite.

use brisk::prelude::*;
use brisk::testing::TestClient;
use brisk_orm::prelude::*;
use brisk_orm::testing::TestDatabase;
use serde_json::{json, Value};

#[derive(Debug, Clone, Model, Serialize, Deserialize, JsonSchema, Validate)]
#[model(ordering = ["-created_at"])]
struct Post {
    #[model(primary_key)]
    id: AutoId,
    #[validate(min_length = 1, max_length = 200)]
    title: String,
    #[model(unique)]
    #[validate(max_length = 50)]
    slug: String,
    published: bool,
    #[model(auto_now_add)]
    #[serde(default = "DateTime::now")]
    created_at: DateTime,
}

#[derive(Deserialize, JsonSchema, Validate)]
struct Search {
    #[serde(default)]
    q: String,
}

async fn list_posts(db: Db, Query(s): Query<Search>) -> Result<Json<Vec<Post>>> {
    let posts = Post::objects()
        .filter(Post::title().icontains(s.q) & Post::published().eq(true))
        .order_by([Post::created_at().desc()])
        .limit(20)
        .all(&db)
        .await?;
    Ok(Json(posts))
}

async fn create_post(db: Db, Json(post): Json<Post>) -> Result<Created<Json<Post>>> {
    Ok(Created(Json(Post::objects().create(post, &db).await?)))
}

#[tokio::test]
async fn the_readme_posts_api_works() {
    let test_db = TestDatabase::sqlite().await.unwrap();
    let app = App::new().install(test_db.database()).route("/posts", get(list_posts).post(create_post));
    let client = TestClient::new(app);
    for (title, slug, published) in
        [("Rust ORM", "rust-orm", true), ("Draft", "draft", false), ("rusty", "rusty", true)]
    {
        let res = client
            .post("/posts")
            .json(&json!({"title": title, "slug": slug, "published": published}))
            .send()
            .await;
        assert_eq!(res.status(), 201, "{}", res.text());
    }
    let res = client
        .post("/posts")
        .json(&json!({"title": "again", "slug": "rusty", "published": true}))
        .send()
        .await;
    assert_eq!(res.status(), 409);
    let found: Vec<Value> = client.get("/posts?q=RUST").send().await.json();
    let titles: Vec<&str> = found.iter().filter_map(|p| p["title"].as_str()).collect();
    assert_eq!(titles, ["rusty", "Rust ORM"], "newest first, drafts left out");
}

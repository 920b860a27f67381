//! The example that opens brisk-orm's issue, as written there (with the `User` and `Tag`
//! models it points at), served and queried on both backends.

use brisk::prelude::*;
use brisk::testing::TestClient;
use brisk_orm::prelude::*;
use brisk_orm::testing::TestDatabase;
use serde_json::{json, Value};

#[derive(Debug, Clone, Model, Serialize, Deserialize, JsonSchema, Validate)]
struct User {
    #[model(primary_key)]
    id: AutoId,
    #[model(unique)]
    #[validate(max_length = 40)]
    username: String,
}

#[derive(Debug, Clone, Model, Serialize, Deserialize, JsonSchema, Validate)]
struct Tag {
    #[model(primary_key)]
    id: AutoId,
    name: String,
}

#[derive(Model, Serialize, Deserialize, JsonSchema, Validate)]
#[model(ordering = ["-created_at"], indexes(["author", "created_at"]))]
struct Post {
    #[model(primary_key)]
    id: AutoId,
    #[validate(min_length = 1, max_length = 200)]
    title: String,
    #[model(unique)]
    #[validate(max_length = 50)]
    slug: String,
    body: String,
    published: bool,
    #[model(on_delete = Cascade)]
    author: ForeignKey<User>,
    tags: ManyToMany<Tag>,
    #[model(auto_now_add)]
    created_at: DateTime,
}

#[derive(Deserialize, JsonSchema, Validate)]
struct PostQuery {
    #[serde(default)]
    search: String,
    #[serde(default = "ten")]
    limit: u64,
    #[serde(default)]
    skip: u64,
}

fn ten() -> u64 {
    10
}

async fn list_posts(db: Db, Query(q): Query<PostQuery>) -> Result<Json<Vec<Post>>> {
    let posts = Post::objects()
        .filter(Post::title().icontains(&q.search).and(Post::published().eq(true)))
        .exclude(Post::author().username().eq("spam"))
        .select_related(Post::author())
        .order_by([Post::created_at().desc()])
        .limit(q.limit)
        .offset(q.skip)
        .all(&db)
        .await?;
    Ok(Json(posts))
}

#[tokio::test]
async fn the_issue_example_works_on_both_backends() {
    for test_db in [TestDatabase::sqlite().await.unwrap(), TestDatabase::postgres().await.unwrap()] {
        let db = test_db.database();
        for name in ["ada", "spam"] {
            User::objects().create(User { id: AutoId::default(), username: name.into() }, &db).await.unwrap();
        }
        for (i, (title, author, published)) in
            [("Rust ORM", 1, true), ("rust spam", 2, true), ("Draft rust", 1, false), ("Trusty", 1, true)]
                .into_iter()
                .enumerate()
        {
            let post = Post {
                id: AutoId::default(),
                title: title.into(),
                slug: format!("p{i}"),
                body: String::new(),
                published,
                author: ForeignKey::new(author),
                tags: ManyToMany::default(),
                created_at: DateTime::now(),
            };
            Post::objects().create(post, &db).await.unwrap();
        }
        let client = TestClient::new(App::new().install(db.clone()).route("/posts", get(list_posts)));
        let posts: Vec<Value> = client.get("/posts?search=RUST").send().await.json();
        let titles: Vec<&str> = posts.iter().filter_map(|p| p["title"].as_str()).collect();
        assert_eq!(titles, ["Trusty", "Rust ORM"], "{}", db.url());
        assert_eq!(posts[0]["author"], json!(1));
        let page: Vec<Value> = client.get("/posts?search=rust&limit=1&skip=1").send().await.json();
        assert_eq!(page.len(), 1);
        assert_eq!(page[0]["title"], "Rust ORM");
    }
}

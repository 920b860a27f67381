//! The blog over a real socket, on SQLite and on PostgreSQL (a database of the test's own).

use brisk::testing::TestClient;
use brisk_orm::testing::TestDatabase;
use serde_json::{json, Value};

async fn on_each_backend<F, Fut>(body: F)
where
    F: Fn(TestClient, &'static str) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for (name, db) in [("sqlite", TestDatabase::sqlite().await), ("postgres", TestDatabase::postgres().await)]
    {
        let db = db.unwrap_or_else(|e| panic!("{name} test database: {e}"));
        body(TestClient::serve(blog::app(db.database())).await, name).await;
    }
}

async fn seed(client: &TestClient) {
    for author in ["ada", "bob"] {
        assert_eq!(client.post("/authors").json(&json!({"username": author})).send().await.status(), 201);
    }
    for tag in ["rust", "sql"] {
        assert_eq!(client.post("/tags").json(&json!({"name": tag})).send().await.status(), 201);
    }
    let posts = [
        json!({"title": "Rust ORMs", "slug": "rust-orms", "published": true, "author": 1, "tags": [1, 2]}),
        json!({"title": "Draft", "slug": "draft", "author": 1, "tags": [1]}),
        json!({"title": "SQL for rustaceans", "slug": "sql", "published": true, "author": 2, "tags": [2]}),
    ];
    for post in posts {
        let res = client.post("/posts").json(&post).send().await;
        assert_eq!(res.status(), 201, "{}", res.text());
    }
}

#[tokio::test]
async fn lists_published_posts_with_authors_and_tags() {
    on_each_backend(|client, backend| async move {
        seed(&client).await;
        let posts: Vec<Value> = client.get("/posts").send().await.json();
        let titles: Vec<&str> = posts.iter().filter_map(|p| p["title"].as_str()).collect();
        assert_eq!(titles, ["SQL for rustaceans", "Rust ORMs"], "newest first, no draft on {backend}");
        assert_eq!(posts[1]["author"], "ada");
        assert_eq!(posts[1]["tags"], json!(["rust", "sql"]));
        let rusty: Vec<Value> = client.get("/posts?search=RUST").send().await.json();
        assert_eq!(rusty.len(), 2, "icontains");
        let tagged: Vec<Value> = client.get("/posts?tag=rust").send().await.json();
        assert_eq!(tagged.len(), 1);
        assert_eq!(tagged[0]["slug"], "rust-orms");
    })
    .await;
}

#[tokio::test]
async fn a_post_with_an_unknown_tag_is_not_created() {
    on_each_backend(|client, backend| async move {
        seed(&client).await;
        let res = client
            .post("/posts")
            .json(&json!({"title": "Ghost", "slug": "ghost", "published": true, "author": 1, "tags": [99]}))
            .send()
            .await;
        assert_eq!(res.status(), 409, "{} on {backend}", res.text());
        let res = client
            .post("/posts")
            .json(&json!({"title": "Ghost", "slug": "ghost", "published": true, "author": 1}))
            .send()
            .await;
        assert_eq!(res.status(), 201, "the slug is free: the refused post was rolled back ({backend})");
        let res =
            client.post("/posts").json(&json!({"title": "Again", "slug": "ghost", "author": 1})).send().await;
        assert_eq!(res.status(), 409);
        assert_eq!(res.json::<Value>()["detail"][0]["loc"], json!(["body", "slug"]));
        let res = client
            .post("/posts")
            .json(&json!({"title": "Orphan", "slug": "orphan", "author": 42}))
            .send()
            .await;
        assert_eq!(res.status(), 409, "an unknown author");
    })
    .await;
}

#[tokio::test]
async fn patch_views_stats_and_cascade() {
    on_each_backend(|client, backend| async move {
        seed(&client).await;
        let res = client.patch("/posts/2").json(&json!({"published": true, "title": "Ready"})).send().await;
        assert_eq!(res.status(), 200, "{}", res.text());
        assert_eq!(res.json::<Value>()["slug"], "draft", "unchanged fields stay");
        assert_eq!(client.patch("/posts/2").json(&json!({"views": -1})).send().await.status(), 422);
        for _ in 0..5 {
            assert_eq!(client.post("/posts/1/view").send().await.status(), 204);
        }
        assert_eq!(client.post("/posts/9/view").send().await.status(), 404);
        let stats: Value = client.get("/authors/stats").send().await.json();
        assert_eq!(
            stats,
            json!([{"author": 1, "posts": 2, "views": 5}, {"author": 2, "posts": 1, "views": 0}]),
            "{backend}"
        );
        assert_eq!(client.delete("/authors/1").send().await.status(), 204);
        let posts: Vec<Value> = client.get("/posts").send().await.json();
        assert_eq!(posts.len(), 1, "ada's posts went with her");
        assert_eq!(client.delete("/authors/1").send().await.status(), 404);
    })
    .await;
}

//! A blog API on brisk-orm: the features of the ORM in one small app.
//!
//! - `GET /posts?search=&tag=` — published posts with their authors (one JOIN) and tags (one
//!   more query), filtered by a case-insensitive search and a tag name.
//! - `POST /posts` — create a post and link its tags, in one transaction (`atomic_requests`).
//! - `PATCH /posts/{id}` — change any fields of a post (`Patch<Post>`).
//! - `POST /posts/{id}/view` — count a view with an F expression (no lost updates).
//! - `GET /authors/stats` — posts and views per author (`group_by`).
//! - `POST /authors`, `POST /tags`, `DELETE /authors/{id}` (their posts go with them).

pub mod models;

use brisk::prelude::*;
use brisk_orm::aggregate::count;
use brisk_orm::prelude::*;
use brisk_orm::{atomic_requests, Patch};

use models::{Author, Post, Tag};

#[derive(Deserialize, JsonSchema, Validate)]
struct Search {
    /// Case-insensitive part of the title.
    #[serde(default)]
    #[validate(max_length = 50)]
    search: String,
    /// Only posts with this tag.
    tag: Option<String>,
}

#[derive(Deserialize, JsonSchema, Validate)]
struct Id {
    #[validate(gt = 0)]
    id: i64,
}

/// A post as the list shows it: with its author's name and its tags' names.
#[derive(Serialize, JsonSchema)]
struct PostView {
    id: i64,
    title: String,
    slug: String,
    author: String,
    tags: Vec<String>,
    views: i64,
}

async fn list_posts(db: Db, Query(s): Query<Search>) -> Result<Json<Vec<PostView>>> {
    let mut posts = Post::objects()
        .filter(Post::published().eq(true) & Post::title().icontains(s.search))
        .select_related(Post::author())
        .prefetch_many(Post::tags());
    if let Some(tag) = s.tag {
        posts = posts.filter(Post::tags().any(Tag::name().eq(tag)));
    }
    let views = posts
        .all(&db)
        .await?
        .into_iter()
        .map(|p| PostView {
            id: p.id.value(),
            author: p.author.get().map(|a| a.username.clone()).unwrap_or_default(),
            tags: p.tags.get().unwrap_or_default().iter().map(|t| t.name.clone()).collect(),
            title: p.title,
            slug: p.slug,
            views: p.views,
        })
        .collect();
    Ok(Json(views))
}

async fn create_post(db: Db, Json(post): Json<Post>) -> Result<Created<Json<Post>>> {
    let tags = post.tags.keys().unwrap_or_default();
    let mut stored = Post::objects().create(post, &db).await?;
    // Under atomic_requests: an unknown tag id fails the link, and the post is undone too.
    Post::tags().set(&stored, tags, &db).await?;
    stored.tags = Post::objects()
        .filter(Post::id().eq(stored.id.value()))
        .prefetch_many(Post::tags())
        .get(&db)
        .await?
        .tags;
    Ok(Created(Json(stored)))
}

async fn patch_post(db: Db, Path(p): Path<Id>, patch: Patch<Post>) -> Result<Json<Post>> {
    let mut post = Post::objects().filter(Post::id().eq(p.id)).get_or_404(&db).await?;
    patch.apply(&mut post)?;
    post.update(&db).await?;
    Ok(Json(post))
}

async fn view_post(db: Db, Path(p): Path<Id>) -> Result<NoContent> {
    let changed = Post::objects()
        .filter(Post::id().eq(p.id))
        .update([Post::views().set(Post::views() + 1)], &db)
        .await?;
    if changed == 0 {
        return Err(Error::http(StatusCode::NOT_FOUND, "Post not found"));
    }
    Ok(NoContent)
}

/// Posts and views of one author.
#[derive(Serialize, JsonSchema)]
struct AuthorStats {
    author: i64,
    posts: i64,
    views: i64,
}

async fn author_stats(db: Db) -> Result<Json<Vec<AuthorStats>>> {
    let groups = Post::objects().group_by((Post::author(),), (count(), Post::views().sum()), &db).await?;
    let stats = groups
        .into_iter()
        .map(|((author,), (posts, views))| AuthorStats {
            author: *author.key(),
            posts,
            views: views.unwrap_or(0),
        })
        .collect();
    Ok(Json(stats))
}

async fn create_author(db: Db, Json(author): Json<Author>) -> Result<Created<Json<Author>>> {
    Ok(Created(Json(Author::objects().create(author, &db).await?)))
}

async fn delete_author(db: Db, Path(p): Path<Id>) -> Result<NoContent> {
    Author::objects().filter(Author::id().eq(p.id)).get_or_404(&db).await?.delete(&db).await?;
    Ok(NoContent)
}

async fn create_tag(db: Db, Json(tag): Json<Tag>) -> Result<Created<Json<Tag>>> {
    Ok(Created(Json(Tag::objects().create(tag, &db).await?)))
}

/// The blog on `db`; its tables are created at start-up if they do not exist.
pub fn app(db: Database) -> App {
    let tables = db.clone();
    let writes = Router::new().route("/posts", post(create_post)).layer(atomic_requests(db.clone()));
    App::new()
        .title("blog")
        .install(db)
        .on_startup(move || async move {
            tables.create_tables_for(&[Author::META, Tag::META, Post::META]).await?;
            Ok(())
        })
        .route("/posts", get(list_posts))
        .merge(writes)
        .route("/posts/{id}", patch(patch_post))
        .route("/posts/{id}/view", post(view_post))
        .route("/authors", post(create_author))
        .route("/authors/stats", get(author_stats))
        .route("/authors/{id}", delete(delete_author))
        .route("/tags", post(create_tag))
}

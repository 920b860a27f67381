//! Foreign keys on both backends: on_delete rules enforced alike, lookups across relations,
//! select_related (one query) and prefetch_related (two queries) with the N+1 case counted.

mod support;

use brisk_orm::prelude::*;
use brisk_orm::Error;
use support::{each_backend, name};

#[derive(Debug, Clone, PartialEq, Model)]
struct Team {
    #[model(primary_key)]
    id: AutoId,
    #[model(unique)]
    name: String,
}

#[derive(Debug, Clone, Model)]
struct Author {
    #[model(primary_key)]
    id: AutoId,
    #[model(unique)]
    username: String,
    #[model(on_delete = SetNull)]
    team: Option<ForeignKey<Team>>,
}

#[derive(Debug, Clone, Model)]
#[model(ordering = ["title"])]
struct Post {
    #[model(primary_key)]
    id: AutoId,
    title: String,
    #[model(on_delete = Cascade)]
    author: ForeignKey<Author>,
}

/// Points at an author and protects it from deletion.
#[derive(Debug, Clone, Model)]
struct Invoice {
    #[model(primary_key)]
    id: AutoId,
    #[model(on_delete = Protect)]
    author: ForeignKey<Author>,
}

/// One profile per author.
#[derive(Debug, Clone, Model)]
struct Profile {
    #[model(primary_key)]
    id: AutoId,
    #[model(on_delete = Cascade)]
    author: OneToOne<Author>,
    bio: String,
}

async fn seed(db: &Database) -> (Author, Author) {
    let team = Team::objects().create(Team { id: AutoId::default(), name: "core".into() }, db).await.unwrap();
    let ada = Author { id: AutoId::default(), username: "ada".into(), team: ForeignKey::of(team) };
    let ada = Author::objects().create(ada, db).await.unwrap();
    let bob = Author { id: AutoId::default(), username: "bob".into(), team: None };
    let bob = Author::objects().create(bob, db).await.unwrap();
    let mut posts = Vec::new();
    for (title, author) in [("a1", &ada), ("a2", &ada), ("b1", &bob), ("a3", &ada)] {
        let author = ForeignKey::new(author.id.value());
        posts.push(Post { id: AutoId::default(), title: title.into(), author });
    }
    Post::objects().bulk_create(posts, db).await.unwrap();
    (ada, bob)
}

fn titles(posts: &[Post]) -> Vec<&str> {
    posts.iter().map(|p| p.title.as_str()).collect()
}

#[tokio::test]
async fn lookups_follow_foreign_keys() {
    each_backend(|db| async move {
        seed(&db).await;
        let by_ada =
            Post::objects().filter(Post::author().join(Author::username()).eq("ada")).all(&db).await.unwrap();
        assert_eq!(titles(&by_ada), ["a1", "a2", "a3"], "{}", name(&db));
        // Two hops: posts whose author is in the team "core".
        let core = Post::author().join(Author::team()).join(Team::name());
        assert_eq!(Post::objects().filter(core.eq("core")).count(&db).await.unwrap(), 3);
        // The same, as Django writes it (the generated AuthorFields and TeamFields traits).
        let core = Post::author().team().name();
        assert_eq!(Post::objects().filter(core.eq("core")).count(&db).await.unwrap(), 3);
        let by_name = Post::objects().filter(Post::author().username().eq("bob")).all(&db).await.unwrap();
        assert_eq!(titles(&by_name), ["b1"]);
        assert_eq!(
            Post::objects()
                .exclude(Post::author().join(Author::username()).eq("ada"))
                .count(&db)
                .await
                .unwrap(),
            1
        );
        // Ordering by a related field.
        let ordered = Post::objects()
            .order_by([Post::author().join(Author::username()).desc(), Post::title().asc()])
            .all(&db)
            .await
            .unwrap();
        assert_eq!(titles(&ordered), ["b1", "a1", "a2", "a3"]);
        // An update and a delete through a relation run on the right rows only.
        let n = Post::objects()
            .filter(Post::author().join(Author::username()).eq("bob"))
            .update([Post::title().set("b1!")], &db)
            .await
            .unwrap();
        assert_eq!(n, 1);
        let gone = Post::objects()
            .filter(Post::author().join(Author::username()).eq("ada"))
            .delete(&db)
            .await
            .unwrap();
        assert_eq!(gone, 3);
        assert_eq!(titles(&Post::objects().all(&db).await.unwrap()), ["b1!"]);
        // A foreign key compared by key.
        let bob_id =
            Author::objects().filter(Author::username().eq("bob")).get(&db).await.unwrap().id.value();
        assert_eq!(Post::objects().filter(Post::author().eq(bob_id)).count(&db).await.unwrap(), 1);
    })
    .await;
}

#[tokio::test]
async fn select_related_reads_the_targets_in_the_same_query() {
    each_backend(|db| async move {
        seed(&db).await;
        let before = db.queries_run();
        let posts = Post::objects().select_related(Post::author()).all(&db).await.unwrap();
        assert_eq!(db.queries_run() - before, 1, "one query for posts and authors on {}", name(&db));
        let authors: Vec<&str> =
            posts.iter().map(|p| p.author.get().map_or("?", |a| a.username.as_str())).collect();
        assert_eq!(authors, ["ada", "ada", "ada", "bob"]);
        // A nullable relation: NULL gives no object.
        let authors = Author::objects()
            .select_related(Author::team())
            .order_by([Author::username().asc()])
            .all(&db)
            .await
            .unwrap();
        let teams: Vec<Option<&str>> =
            authors.iter().map(|a| a.team.as_ref().and_then(|t| t.get()).map(|t| t.name.as_str())).collect();
        assert_eq!(teams, [Some("core"), None]);
        // get and first honour select_related too.
        let one = Post::objects()
            .select_related(Post::author())
            .filter(Post::title().eq("b1"))
            .get(&db)
            .await
            .unwrap();
        assert_eq!(one.author.get().map(|a| a.username.as_str()), Some("bob"));
    })
    .await;
}

#[tokio::test]
async fn prefetch_related_is_two_queries_however_many_rows() {
    each_backend(|db| async move {
        seed(&db).await;
        // Without it, reading each post's author is one query per post: N+1.
        let before = db.queries_run();
        let posts = Post::objects().all(&db).await.unwrap();
        for post in &posts {
            post.author.fetch(&db).await.unwrap();
        }
        assert_eq!(db.queries_run() - before, 1 + posts.len() as u64);
        // With it: two queries, whatever the number of posts.
        let before = db.queries_run();
        let posts = Post::objects().prefetch_related(Post::author()).all(&db).await.unwrap();
        assert_eq!(db.queries_run() - before, 2, "{}", name(&db));
        for post in &posts {
            let author = post.author.fetch(&db).await.unwrap(); // already loaded: no query
            assert_eq!(author.id.value(), *post.author.key());
        }
        assert_eq!(db.queries_run() - before, 2);
        // `get` reads its one row apart from a list; its prefetch still runs, on the pool and
        // inside a transaction.
        let first = &posts[0];
        let before = db.queries_run();
        let one = Post::objects().prefetch_related(Post::author()).filter(Post::id().eq(first.id.value()));
        let post = one.get(&db).await.unwrap();
        assert_eq!(db.queries_run() - before, 2, "{}", name(&db));
        assert_eq!(post.author.get().map(|a| a.id.value()), Some(*first.author.key()));
        let in_tx = db
            .atomic(|tx| async move {
                Post::objects()
                    .prefetch_related(Post::author())
                    .filter(Post::id().eq(first.id.value()))
                    .get(&tx)
                    .await
            })
            .await
            .unwrap();
        assert_eq!(in_tx.author.get().map(|a| a.id.value()), Some(*first.author.key()));
        let none = Post::objects().prefetch_related(Post::author()).filter(Post::title().eq("no such post"));
        assert!(matches!(none.get(&db).await, Err(Error::DoesNotExist { model: "Post" })));
        let many =
            Post::objects().prefetch_related(Post::author()).filter(Post::author().eq(*first.author.key()));
        assert!(matches!(many.get(&db).await, Err(Error::MultipleObjectsReturned { model: "Post" })));
    })
    .await;
}

#[tokio::test]
async fn on_delete_rules_are_enforced_alike() {
    each_backend(|db| async move {
        let (ada, bob) = seed(&db).await;
        // Protect: an invoice keeps its author; the delete is refused, nothing removed.
        Invoice::objects()
            .create(Invoice { id: AutoId::default(), author: ForeignKey::new(bob.id.value()) }, &db)
            .await
            .unwrap();
        let refused = bob.delete(&db).await;
        assert!(matches!(refused, Err(Error::ForeignKeyViolation { .. })), "{refused:?} on {}", name(&db));
        let http: brisk::Error = refused.unwrap_err().into();
        assert_eq!(http.status(), 409);
        assert_eq!(Post::objects().count(&db).await.unwrap(), 4);
        // Cascade: deleting ada deletes her posts and profile.
        Profile::objects()
            .create(
                Profile { id: AutoId::default(), author: ForeignKey::new(ada.id.value()), bio: "x".into() },
                &db,
            )
            .await
            .unwrap();
        assert!(ada.delete(&db).await.unwrap());
        assert_eq!(titles(&Post::objects().all(&db).await.unwrap()), ["b1"]);
        assert_eq!(Profile::objects().count(&db).await.unwrap(), 0);
        // SetNull: deleting the team leaves its authors without one.
        Team::objects().delete(&db).await.unwrap();
        let authors = Author::objects().filter(Author::team().isnull(true)).count(&db).await.unwrap();
        assert_eq!(authors, 1);
        // A key that points nowhere is refused on insert.
        let orphan = Post { id: AutoId::default(), title: "x".into(), author: ForeignKey::new(999) };
        assert!(matches!(Post::objects().create(orphan, &db).await, Err(Error::ForeignKeyViolation { .. })));
        // One-to-one: a second profile for the same author is a unique violation.
        let bio = |b: &str| Profile {
            id: AutoId::default(),
            author: ForeignKey::new(bob.id.value()),
            bio: b.into(),
        };
        Profile::objects().create(bio("one"), &db).await.unwrap();
        assert!(matches!(
            Profile::objects().create(bio("two"), &db).await,
            Err(Error::UniqueViolation { .. })
        ));
    })
    .await;
}

#[test]
fn the_registry_records_relations() {
    let post = brisk_orm::registry().into_iter().find(|m| m.name == "Post").expect("registered");
    let author = post.field("author").expect("author field");
    let relation = author.relation.expect("a relation");
    assert_eq!((relation.target)().name, "Author");
    assert_eq!(relation.on_delete, OnDelete::Cascade);
    assert!(author.index, "foreign keys are indexed");
    let profile = brisk_orm::registry().into_iter().find(|m| m.name == "Profile").expect("registered");
    assert!(profile.field("author").is_some_and(|f| f.unique), "one-to-one is unique");
}

#[tokio::test]
async fn reverse_relations_read_the_rows_pointing_back() {
    each_backend(|db| async move {
        let (ada, bob) = seed(&db).await;
        assert_eq!(Post::author().of(&ada).unwrap().count(&db).await.unwrap(), 3, "{}", name(&db));
        assert_eq!(titles(&Post::author().of(&bob).unwrap().all(&db).await.unwrap()), ["b1"]);
        let unsaved = Author { id: AutoId::default(), username: "x".into(), team: None };
        assert!(Post::author().of(&unsaved).is_err());
        // Every author with their posts: two queries however many authors.
        let before = db.queries_run();
        let all = Author::objects()
            .order_by([Author::username().asc()])
            .with_related(Post::author(), &db)
            .await
            .unwrap();
        assert_eq!(db.queries_run() - before, 2);
        let summary: Vec<(String, Vec<&str>)> =
            all.iter().map(|(a, posts)| (a.username.clone(), titles(posts))).collect();
        assert_eq!(summary, [("ada".to_owned(), vec!["a1", "a2", "a3"]), ("bob".to_owned(), vec!["b1"])]);
        // Through a nullable relation too.
        let teams = Team::objects().with_related(Author::team(), &db).await.unwrap();
        assert_eq!(teams.len(), 1);
        assert_eq!(teams[0].1.len(), 1);
    })
    .await;
}

/// A post's title and its author's name, read into a struct (Django's `values()`, typed).
#[derive(Debug, PartialEq, brisk_orm::Values)]
#[values(model = Post)]
struct TitleAndAuthor {
    title: String,
    #[values(from = Post::author().join(Author::username()))]
    author: String,
}

/// Only the key and the title, by the model's own field names.
#[derive(Debug, PartialEq, brisk_orm::Values)]
#[values(model = Post)]
struct JustTitle {
    id: AutoId,
    title: String,
}

#[tokio::test]
async fn values_read_structs_across_relations_in_one_query() {
    each_backend(|db| async move {
        seed(&db).await;
        let before = db.queries_run();
        let rows: Vec<TitleAndAuthor> =
            Post::objects().filter(Post::title().startswith("a")).values(&db).await.unwrap();
        assert_eq!(db.queries_run() - before, 1, "{}", name(&db));
        let expect = |t: &str, a: &str| TitleAndAuthor { title: t.into(), author: a.into() };
        assert_eq!(rows, [expect("a1", "ada"), expect("a2", "ada"), expect("a3", "ada")], "{}", name(&db));
        let sql = Post::objects().filter(Post::title().eq("b1")).sql(brisk_orm::Dialect::Postgres);
        assert!(!sql.contains("JOIN"), "a plain query joins nothing: {sql}");
        let b: Vec<JustTitle> = Post::objects().filter(Post::title().eq("b1")).values(&db).await.unwrap();
        assert_eq!(b.len(), 1);
        assert_eq!(b[0].title, "b1");
        assert!(b[0].id.value() > 0);
    })
    .await;
}

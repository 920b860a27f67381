//! Many-to-many on both backends: add, remove, set, clear, the rows of one owner, filtering
//! owners by their links, and prefetch_many in two queries; links go with a deleted row.

mod support;

use brisk_orm::prelude::*;
use support::{each_backend, name};

#[derive(Debug, Clone, Model, serde::Serialize)]
struct Tag {
    #[model(primary_key)]
    id: AutoId,
    #[model(unique)]
    name: String,
}

#[derive(Debug, Clone, Model, serde::Serialize)]
#[model(ordering = ["title"])]
struct Article {
    #[model(primary_key)]
    id: AutoId,
    title: String,
    tags: ManyToMany<Tag>,
}

async fn tag(db: &Database, name: &str) -> i64 {
    Tag::objects().create(Tag { id: AutoId::default(), name: name.into() }, db).await.unwrap().id.value()
}

async fn article(db: &Database, title: &str) -> Article {
    Article::objects()
        .create(Article { id: AutoId::default(), title: title.into(), tags: ManyToMany::default() }, db)
        .await
        .unwrap()
}

fn names(tags: &[Tag]) -> Vec<&str> {
    tags.iter().map(|t| t.name.as_str()).collect()
}

#[tokio::test]
async fn links_are_added_removed_and_listed() {
    each_backend(|db| async move {
        let (rust, sql, web) = (tag(&db, "rust").await, tag(&db, "sql").await, tag(&db, "web").await);
        let a = article(&db, "a").await;
        let b = article(&db, "b").await;
        Article::tags().add(&a, [rust, sql], &db).await.unwrap();
        Article::tags().add(&a, [rust], &db).await.unwrap(); // already linked: kept once
        Article::tags().add(&b, [web], &db).await.unwrap();
        let of_a = Article::tags().of(&a).unwrap().order_by([Tag::name().asc()]).all(&db).await.unwrap();
        assert_eq!(names(&of_a), ["rust", "sql"], "{}", name(&db));
        assert_eq!(Article::tags().remove(&a, [sql, web], &db).await.unwrap(), 1);
        assert_eq!(names(&Article::tags().of(&a).unwrap().all(&db).await.unwrap()), ["rust"]);
        Article::tags().set(&a, [web, sql], &db).await.unwrap();
        let of_a = Article::tags().of(&a).unwrap().order_by([Tag::name().asc()]).all(&db).await.unwrap();
        assert_eq!(names(&of_a), ["sql", "web"]);
        // Owners filtered by their links.
        let with_web =
            Article::objects().filter(Article::tags().any(Tag::name().eq("web"))).all(&db).await.unwrap();
        let titles: Vec<&str> = with_web.iter().map(|a| a.title.as_str()).collect();
        assert_eq!(titles, ["a", "b"]);
        let with_sql =
            Article::objects().filter(Article::tags().any(Tag::name().eq("sql"))).count(&db).await.unwrap();
        assert_eq!(with_sql, 1);
        assert_eq!(Article::tags().clear(&a, &db).await.unwrap(), 2);
        assert!(Article::tags().of(&a).unwrap().all(&db).await.unwrap().is_empty());
        // A key that is no tag is refused, and nothing is linked.
        assert!(Article::tags().add(&b, [9999], &db).await.is_err());
        assert_eq!(Article::tags().of(&b).unwrap().count(&db).await.unwrap(), 1);
        // An unsaved owner has no links to change.
        let unsaved = Article { id: AutoId::default(), title: "x".into(), tags: ManyToMany::default() };
        assert!(Article::tags().add(&unsaved, [rust], &db).await.is_err());
    })
    .await;
}

#[tokio::test]
async fn prefetch_many_is_two_queries_and_deletes_cascade_to_links() {
    each_backend(|db| async move {
        let tags = [tag(&db, "a").await, tag(&db, "b").await, tag(&db, "c").await];
        for (i, title) in ["x", "y", "z"].iter().enumerate() {
            let art = article(&db, title).await;
            Article::tags().add(&art, tags[..=i].iter().copied(), &db).await.unwrap();
        }
        let before = db.queries_run();
        let arts = Article::objects().prefetch_many(Article::tags()).all(&db).await.unwrap();
        assert_eq!(db.queries_run() - before, 2, "{}", name(&db));
        let counts: Vec<usize> = arts.iter().map(|a| a.tags.get().map_or(0, |t| t.len())).collect();
        assert_eq!(counts, [1, 2, 3]);
        let json = serde_json::to_value(&arts[1]).unwrap();
        assert_eq!(json["tags"], serde_json::json!([tags[0], tags[1]]), "loaded links serialise as keys");
        // Deleting a tag removes its links, not the articles.
        Tag::objects().filter(Tag::name().eq("a")).delete(&db).await.unwrap();
        let arts = Article::objects().prefetch_many(Article::tags()).all(&db).await.unwrap();
        let counts: Vec<usize> = arts.iter().map(|a| a.tags.get().map_or(0, |t| t.len())).collect();
        assert_eq!(counts, [0, 1, 2]);
    })
    .await;
}

#[test]
fn the_registry_records_the_through_table() {
    let meta = brisk_orm::registry().into_iter().find(|m| m.name == "Article").expect("registered");
    assert!(meta.field("tags").is_none(), "no column");
    let many = meta.many_to_many[0];
    assert_eq!(
        (many.name, many.through, many.from_column, many.to_column),
        ("tags", "many_article_tags", "article_id", "tag_id")
    );
    assert_eq!((many.target)().name, "Tag");
}

#[derive(Debug, Clone, Model)]
struct Course {
    #[model(primary_key)]
    id: AutoId,
    code: String,
}

/// A student's courses, through a model that holds the grade too.
#[derive(Debug, Clone, Model)]
struct Student {
    #[model(primary_key)]
    id: AutoId,
    name: String,
    #[model(through = Enrollment)]
    courses: ManyToMany<Course>,
}

/// The explicit through model: its two keys unique together, and a grade of its own.
#[derive(Debug, Clone, Model)]
#[model(unique_together(["student", "course"]))]
struct Enrollment {
    #[model(primary_key)]
    id: AutoId,
    #[model(on_delete = Cascade)]
    student: ForeignKey<Student>,
    #[model(on_delete = Cascade)]
    course: ForeignKey<Course>,
    grade: Option<i32>,
}

#[tokio::test]
async fn an_explicit_through_model_holds_the_links_and_their_data() {
    each_backend(|db| async move {
        let course = |code: &str| Course { id: AutoId::default(), code: code.into() };
        let maths = Course::objects().create(course("maths"), &db).await.unwrap();
        let art = Course::objects().create(course("art"), &db).await.unwrap();
        let ada = Student { id: AutoId::default(), name: "ada".into(), courses: ManyToMany::default() };
        let ada = Student::objects().create(ada, &db).await.unwrap();
        // A link with data: a row of the through model.
        let enrol = Enrollment {
            id: AutoId::default(),
            student: ForeignKey::new(ada.id.value()),
            course: ForeignKey::new(maths.id.value()),
            grade: Some(17),
        };
        Enrollment::objects().create(enrol, &db).await.unwrap();
        // A link without: add() fills the two keys (the grade stays NULL), once.
        Student::courses().add(&ada, [art.id.value(), art.id.value()], &db).await.unwrap();
        Student::courses().add(&ada, [art.id.value()], &db).await.unwrap();
        let codes: Vec<(String,)> = Student::courses()
            .of(&ada)
            .unwrap()
            .order_by([Course::code().asc()])
            .values_list((Course::code(),), &db)
            .await
            .unwrap();
        assert_eq!(codes, [("art".into(),), ("maths".into(),)], "{}", name(&db));
        let graded =
            Enrollment::objects().filter(Enrollment::grade().isnull(false)).count(&db).await.unwrap();
        assert_eq!(graded, 1);
        assert_eq!(
            Student::objects()
                .filter(Student::courses().any(Course::code().eq("maths")))
                .count(&db)
                .await
                .unwrap(),
            1
        );
        let loaded = Student::objects().prefetch_many(Student::courses()).all(&db).await.unwrap();
        assert_eq!(loaded[0].courses.get().map(|c| c.len()), Some(2), "{}", name(&db));
        assert_eq!(Student::courses().remove(&ada, [maths.id.value()], &db).await.unwrap(), 1);
        assert_eq!(Enrollment::objects().count(&db).await.unwrap(), 1);
    })
    .await;
}

#[test]
fn migrations_make_the_through_models_table_once() {
    use brisk_orm::migrations::{detect, steps, NonInteractive, Operation, ProjectState};
    use brisk_orm::Dialect;
    let declared = ProjectState::from_registry(&brisk_orm::registry());
    let app = Student::META.app_label;
    let ops = detect(&ProjectState::default(), &declared, app, &mut NonInteractive).unwrap();
    let added = ops.iter().find_map(|op| match op {
        Operation::AddManyToMany { field, .. } if field.name == "courses" => Some(field.clone()),
        _ => None,
    });
    let added = added.expect("the courses field is an operation");
    assert_eq!(added.through, Enrollment::META.table);
    assert_eq!(added.through_model.as_deref(), Some(format!("{app}.Enrollment").as_str()));
    assert_eq!((added.from_column.as_str(), added.to_column.as_str()), ("student", "course"));
    for dialect in [Dialect::Sqlite, Dialect::Postgres] {
        let mut state = ProjectState::default();
        let mut creates = 0;
        for op in &ops {
            let before = state.clone();
            op.state_forwards(&mut state).unwrap();
            for step in steps(op, &before, &state, dialect).unwrap() {
                let brisk_orm::migrations::Step::Sql(sql) = step else { continue };
                if sql.contains(&format!("CREATE TABLE \"{}\"", Enrollment::META.table)) {
                    creates += 1;
                }
            }
        }
        assert_eq!(creates, 1, "{dialect:?}");
    }
}

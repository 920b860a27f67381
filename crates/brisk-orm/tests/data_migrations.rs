//! RunRust data migrations on both backends: a registered function reads and writes the rows
//! of the models as the migrations left them, inside the migration's transaction; undone by
//! its reverse; an unknown name or a failing function leaves the database as it was.

use brisk_orm::migrations::{DataMigration, DynRow, FieldState, Migration, Migrator, ModelState, Operation};
use brisk_orm::testing::TestDatabase;
use brisk_orm::{ColumnKind, Database, Error, Raw};

fn post() -> ModelState {
    ModelState {
        app: "press".into(),
        name: "Post".into(),
        table: "press_post".into(),
        fields: vec![
            FieldState { primary_key: true, ..FieldState::new("id", ColumnKind::AutoBigInt) },
            FieldState::new("title", ColumnKind::Text),
            FieldState { nullable: true, ..FieldState::new("slug", ColumnKind::Text) },
            FieldState { nullable: true, ..FieldState::new("stamped", ColumnKind::DateTime) },
        ],
        many_to_many: Vec::new(),
        indexes: Vec::new(),
        constraints: Vec::new(),
    }
}

async fn fill_slugs(m: &DataMigration) -> Result<(), Error> {
    for mut row in m.rows("press.Post").await? {
        let slug = row.get_str("title").unwrap_or_default().to_lowercase().replace(' ', "-");
        row.set("slug", slug);
        row.set("stamped", "2026-12-06T10:00:00.000001Z");
        m.update("press.Post", &row).await?;
    }
    let mut extra = DynRow::new();
    extra.set("title", "Added by the migration");
    m.insert("press.Post", &extra).await
}
brisk_orm::data_migration!("press.fill_slugs", fill_slugs);

async fn clear_slugs(m: &DataMigration) -> Result<(), Error> {
    Raw::new("DELETE FROM press_post WHERE title = ?")
        .bind("Added by the migration".to_owned())
        .execute(m.transaction())
        .await?;
    for mut row in m.rows("press.Post").await? {
        row.set("slug", serde_json::Value::Null);
        row.set("stamped", serde_json::Value::Null);
        m.update("press.Post", &row).await?;
    }
    Ok(())
}
brisk_orm::data_migration!("press.clear_slugs", clear_slugs);

async fn refuses(m: &DataMigration) -> Result<(), Error> {
    let mut row = DynRow::new();
    row.set("title", 42); // not text: refused before any SQL
    m.insert("press.Post", &row).await
}
brisk_orm::data_migration!("press.refuses", refuses);

fn file(name: &str, deps: &[&str], operations: Vec<Operation>) -> Migration {
    let mut m = Migration::parse("press", name, "").unwrap();
    m.dependencies = deps.iter().map(|d| format!("press/{d}")).collect();
    m.operations = operations;
    Migration::parse("press", name, &m.to_toml()).unwrap()
}

fn rust(forward: &str, reverse: Option<&str>) -> Operation {
    Operation::RunRust { forward: forward.into(), reverse: reverse.map(str::to_owned) }
}

async fn slugs(db: &Database) -> Vec<(String, Option<String>, Option<brisk_orm::DateTime>)> {
    Raw::new("SELECT title, slug, stamped FROM press_post ORDER BY id").fetch(db).await.unwrap()
}

#[tokio::test]
async fn a_rust_data_migration_fills_rows_and_is_undone_by_its_reverse() {
    for test_db in [TestDatabase::empty_sqlite().unwrap(), TestDatabase::empty_postgres().await.unwrap()] {
        let db = test_db.database();
        let first = file("0001_initial", &[], vec![Operation::CreateModel { model: post() }]);
        Migrator::new(db.clone(), vec![first.clone()]).unwrap().migrate().await.unwrap();
        for title in ["Hello World", "Second Post"] {
            Raw::new("INSERT INTO press_post (title) VALUES (?)")
                .bind(title.to_owned())
                .execute(&db)
                .await
                .unwrap();
        }
        let second =
            file("0002_slugs", &["0001_initial"], vec![rust("press.fill_slugs", Some("press.clear_slugs"))]);
        // sqlmigrate says what it is.
        let both = Migrator::new(db.clone(), vec![first.clone(), second.clone()]).unwrap();
        assert_eq!(
            both.sql(&second, db.dialect()).unwrap(),
            ["-- RunRust press.fill_slugs: Rust code, no SQL of its own"]
        );
        assert_eq!(both.migrate().await.unwrap(), ["press/0002_slugs"]);
        let stamped = Some(brisk_orm::DateTime::from_micros(1_796_551_200_000_001));
        assert_eq!(
            slugs(&db).await,
            [
                ("Hello World".into(), Some("hello-world".into()), stamped),
                ("Second Post".into(), Some("second-post".into()), stamped),
                ("Added by the migration".into(), None, None),
            ],
            "{}",
            test_db.url()
        );
        assert_eq!(both.migrate_back("press", Some("0001_initial")).await.unwrap(), ["press/0002_slugs"]);
        assert_eq!(
            slugs(&db).await,
            [("Hello World".into(), None, None), ("Second Post".into(), None, None)],
            "{}",
            test_db.url()
        );
    }
}

#[tokio::test]
async fn an_unknown_or_failing_data_migration_leaves_the_database_as_it_was() {
    for test_db in [TestDatabase::empty_sqlite().unwrap(), TestDatabase::empty_postgres().await.unwrap()] {
        let db = test_db.database();
        let first = file("0001_initial", &[], vec![Operation::CreateModel { model: post() }]);
        Migrator::new(db.clone(), vec![first.clone()]).unwrap().migrate().await.unwrap();
        Raw::new("INSERT INTO press_post (title) VALUES ('kept')").execute(&db).await.unwrap();
        // The first operation runs, then the second fails: both are undone.
        let index = Operation::AddIndex { model: "press.Post".into(), fields: vec!["title".into()] };
        let unknown = file("0002_unknown", &["0001_initial"], vec![index.clone(), rust("press.nope", None)]);
        let err =
            Migrator::new(db.clone(), vec![first.clone(), unknown]).unwrap().migrate().await.unwrap_err();
        let message = err.to_string();
        assert!(message.contains("migrations/press/0002_unknown.toml"), "{message}");
        assert!(
            message.contains("RunRust press.nope: no function is registered under this name"),
            "{message}"
        );
        let failing = file("0002_failing", &["0001_initial"], vec![index, rust("press.refuses", None)]);
        let migrator = Migrator::new(db.clone(), vec![first.clone(), failing]).unwrap();
        let message = migrator.migrate().await.unwrap_err().to_string();
        assert!(message.contains("press.Post.title: 42 is not a value of this field"), "{message}");
        assert_eq!(migrator.applied().await.unwrap().len(), 1, "{}", test_db.url());
        assert_eq!(slugs(&db).await, [("kept".into(), None, None)]);
        // An index was not left behind: adding it again works.
        let index = Operation::AddIndex { model: "press.Post".into(), fields: vec!["title".into()] };
        let fine = file("0002_index", &["0001_initial"], vec![index]);
        Migrator::new(db.clone(), vec![first, fine]).unwrap().migrate().await.unwrap();
        // Without a reverse it cannot be undone.
        let op = rust("press.fill_slugs", None);
        let err = op.reverse(&brisk_orm::migrations::ProjectState::default()).unwrap_err();
        assert!(err.to_string().contains("has no reverse function"), "{err}");
    }
}

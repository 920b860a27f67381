//! Migrations applied, checked and undone on both backends: a model goes through eight
//! changes with rows present, every change is undone back to nothing, and applied again; bad
//! files (changed after applying, failing SQL) leave the database as it was.

use brisk_orm::migrations::{
    Constraint, FieldState, Fill, ManyToManyState, Migration, Migrator, ModelState, Operation,
};
use brisk_orm::testing::TestDatabase;
use brisk_orm::{ColumnKind, Database, Dialect, OnDelete, Raw};

fn field(name: &str, kind: ColumnKind) -> FieldState {
    FieldState::new(name, kind)
}

fn id() -> FieldState {
    FieldState { primary_key: true, ..field("id", ColumnKind::AutoBigInt) }
}

fn migration(name: &str, deps: &[&str], operations: Vec<Operation>) -> Migration {
    let mut m = Migration::parse("journal", name, "").unwrap();
    m.dependencies = deps.iter().map(|d| format!("journal/{d}")).collect();
    m.operations = operations;
    // Through the file format, as a user's files are.
    Migration::parse("journal", name, &m.to_toml()).unwrap()
}

const AUTHOR: &str = "journal.Author";

/// A migration's operations: a nullable `nick` column added to the author, then `sql` on both
/// backends (with no way back).
fn nick_then(sql: &str) -> Vec<Operation> {
    vec![
        Operation::AddField {
            model: AUTHOR.into(),
            field: FieldState { nullable: true, ..field("nick", ColumnKind::Text) },
            fill: None,
        },
        Operation::RunSql {
            sqlite: sql.into(),
            postgres: sql.into(),
            reverse_sqlite: None,
            reverse_postgres: None,
        },
    ]
}

fn steps() -> Vec<Migration> {
    let author = ModelState {
        app: "journal".into(),
        name: "Author".into(),
        table: "journal_author".into(),
        fields: vec![id(), FieldState { max_length: Some(50), ..field("name", ColumnKind::Text) }],
        many_to_many: vec![],
        indexes: vec![],
        constraints: vec![],
    };
    let book = ModelState {
        app: "journal".into(),
        name: "Book".into(),
        table: "journal_book".into(),
        fields: vec![
            id(),
            field("title", ColumnKind::Text),
            FieldState {
                references: Some(AUTHOR.into()),
                on_delete: Some(OnDelete::Cascade),
                index: true,
                ..field("author", ColumnKind::BigInt)
            },
        ],
        many_to_many: vec![],
        indexes: vec![],
        constraints: vec![],
    };
    let op = |m: &str, o| migration(m, &[], vec![o]);
    let mut all = vec![op("0001_initial", Operation::CreateModel { model: author })];
    let mut next = |name: &str, ops: Vec<Operation>| {
        let previous = all.last().map(|m: &Migration| m.name.clone()).unwrap_or_default();
        all.push(migration(name, &[&previous], ops));
    };
    // 2. a nullable field
    next(
        "0002_bio",
        vec![Operation::AddField {
            model: AUTHOR.into(),
            field: FieldState { nullable: true, ..field("bio", ColumnKind::Text) },
            fill: None,
        }],
    );
    // 3. a NOT NULL field, the rows there filled
    next(
        "0003_age",
        vec![Operation::AddField {
            model: AUTHOR.into(),
            field: field("age", ColumnKind::BigInt),
            fill: Some(Fill::Int(30)),
        }],
    );
    // 4. a rename, data kept
    next(
        "0004_full_name",
        vec![Operation::RenameField { model: AUTHOR.into(), old: "name".into(), new: "full_name".into() }],
    );
    // 5. a type change, data converted
    next(
        "0005_age_text",
        vec![Operation::AlterField {
            model: AUTHOR.into(),
            field: field("age", ColumnKind::Text),
            fill: None,
        }],
    );
    // 6. a foreign key to a new model, and a unique constraint
    next(
        "0006_books",
        vec![
            Operation::CreateModel { model: book },
            Operation::AddConstraint {
                model: "journal.Book".into(),
                constraint: Constraint::Unique { fields: vec!["title".into(), "author".into()] },
            },
            Operation::AddManyToMany {
                model: AUTHOR.into(),
                field: ManyToManyState {
                    name: "friends".into(),
                    to: AUTHOR.into(),
                    through: "journal_author_friends".into(),
                    from_column: "from_author_id".into(),
                    to_column: "to_author_id".into(),
                    through_model: None,
                },
            },
        ],
    );
    // 7. a field removed
    next(
        "0007_no_bio",
        vec![Operation::RemoveField {
            model: AUTHOR.into(),
            field: FieldState { nullable: true, ..field("bio", ColumnKind::Text) },
        }],
    );
    // 8. the model renamed
    next(
        "0008_writer",
        vec![Operation::RenameModel {
            old: AUTHOR.into(),
            new: "Writer".into(),
            table: "journal_writer".into(),
        }],
    );
    all
}

async fn strings(db: &Database, sql: &str) -> Vec<String> {
    Raw::new(sql).fetch::<(String,)>(db).await.unwrap().into_iter().map(|(s,)| s).collect()
}

async fn tables(db: &Database) -> Vec<String> {
    let sql = match db.dialect() {
        Dialect::Sqlite => "SELECT name FROM sqlite_schema WHERE type = 'table' AND name LIKE 'journal%' ORDER BY name",
        Dialect::Postgres => "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public' AND table_name LIKE 'journal%' ORDER BY 1",
    };
    strings(db, sql).await
}

/// Applies the journey one migration at a time, checking the data after each.
async fn journey(db: &Database) {
    let all = steps();
    for n in 1..=all.len() {
        let migrator = Migrator::new(db.clone(), all[..n].to_vec()).unwrap();
        let applied = migrator.migrate().await.unwrap_or_else(|e| panic!("{}: {e}", all[n - 1].name));
        assert_eq!(applied, [all[n - 1].key()]);
        match n {
            1 => {
                Raw::new("INSERT INTO journal_author (name) VALUES (?), (?)")
                    .bind("Ada".to_owned())
                    .bind("Bob".to_owned())
                    .execute(db)
                    .await
                    .unwrap();
            }
            3 => assert_eq!(
                strings(db, "SELECT CAST(age AS TEXT) FROM journal_author ORDER BY id").await,
                ["30", "30"]
            ),
            4 => assert_eq!(
                strings(db, "SELECT full_name FROM journal_author ORDER BY id").await,
                ["Ada", "Bob"]
            ),
            5 => {
                assert_eq!(strings(db, "SELECT age FROM journal_author ORDER BY id").await, ["30", "30"]);
                Raw::new("INSERT INTO journal_author (full_name, age) VALUES (?, ?)")
                    .bind("Cy".to_owned())
                    .bind("old".to_owned())
                    .execute(db)
                    .await
                    .unwrap();
            }
            6 => {
                Raw::new("INSERT INTO journal_book (title, author) VALUES (?, ?)")
                    .bind("Notes".to_owned())
                    .bind(1i64)
                    .execute(db)
                    .await
                    .unwrap();
                let twice = Raw::new("INSERT INTO journal_book (title, author) VALUES (?, ?)")
                    .bind("Notes".to_owned())
                    .bind(1i64)
                    .execute(db)
                    .await;
                assert!(matches!(twice, Err(brisk_orm::Error::UniqueViolation { .. })), "{twice:?}");
                let orphan = Raw::new("INSERT INTO journal_book (title, author) VALUES (?, ?)")
                    .bind("X".to_owned())
                    .bind(99i64)
                    .execute(db)
                    .await;
                assert!(matches!(orphan, Err(brisk_orm::Error::ForeignKeyViolation { .. })), "{orphan:?}");
            }
            7 => assert_eq!(
                strings(db, "SELECT full_name FROM journal_author ORDER BY id").await,
                ["Ada", "Bob", "Cy"]
            ),
            8 => {
                assert_eq!(
                    strings(db, "SELECT full_name FROM journal_writer ORDER BY id").await,
                    ["Ada", "Bob", "Cy"]
                );
                // The foreign key followed the renamed table: deleting a writer cascades.
                Raw::new("DELETE FROM journal_writer WHERE id = ?").bind(1i64).execute(db).await.unwrap();
                assert!(strings(db, "SELECT title FROM journal_book").await.is_empty());
            }
            _ => {}
        }
    }
    assert_eq!(tables(db).await, ["journal_author_friends", "journal_book", "journal_writer"]);
}

#[tokio::test]
async fn a_model_evolves_is_undone_and_applied_again_on_both_backends() {
    for test_db in [TestDatabase::sqlite().await.unwrap(), TestDatabase::postgres().await.unwrap()] {
        let db = test_db.database();
        journey(&db).await;
        let migrator = Migrator::new(db.clone(), steps()).unwrap();
        assert!(migrator.migrate().await.unwrap().is_empty(), "nothing left to apply");
        // Back to 0004: age turns into an integer again, which Cy's "old" cannot be: refused,
        // and that migration's undoing is rolled back whole (the later ones stay undone).
        let err = migrator.migrate_back("journal", Some("0004_full_name")).await.unwrap_err().to_string();
        assert!(err.contains("0005_age_text.toml"), "{err}");
        assert_eq!(
            strings(&db, "SELECT age FROM journal_author ORDER BY id").await,
            ["30", "old"],
            "{}",
            db.url()
        );
        Raw::new("UPDATE journal_author SET age = ? WHERE age = ?")
            .bind("41".to_owned())
            .bind("old".to_owned())
            .execute(&db)
            .await
            .unwrap();
        let undone = migrator.migrate_back("journal", Some("0004_full_name")).await.unwrap();
        assert_eq!(undone, ["journal/0005_age_text"]);
        assert_eq!(strings(&db, "SELECT full_name FROM journal_author ORDER BY id").await, ["Bob", "Cy"]);
        assert_eq!(
            strings(&db, "SELECT CAST(age AS TEXT) FROM journal_author ORDER BY id").await,
            ["30", "41"]
        );
        // To nothing, then everything again.
        migrator.migrate_back("journal", None).await.unwrap();
        assert!(tables(&db).await.is_empty(), "{:?}", tables(&db).await);
        assert_eq!(migrator.migrate().await.unwrap().len(), 8);
        assert_eq!(tables(&db).await, ["journal_author_friends", "journal_book", "journal_writer"]);
    }
}

#[tokio::test]
async fn a_failing_migration_leaves_the_database_as_it_was() {
    for test_db in [TestDatabase::sqlite().await.unwrap(), TestDatabase::postgres().await.unwrap()] {
        let db = test_db.database();
        let mut all = steps()[..2].to_vec();
        all.push(migration("0003_broken", &["0002_bio"], nick_then("SELECT * FROM nowhere")));
        let migrator = Migrator::new(db.clone(), all.clone()).unwrap();
        let err = migrator.migrate().await.unwrap_err().to_string();
        assert!(err.contains("migrations/journal/0003_broken.toml"), "{err}");
        // 0001 and 0002 are applied; 0003's added column is not there, nor its record.
        let applied: Vec<String> = migrator.applied().await.unwrap().into_iter().map(|a| a.name).collect();
        assert_eq!(applied, ["0001_initial", "0002_bio"]);
        let nick = Raw::new("SELECT nick FROM journal_author").fetch::<(Option<String>,)>(&db).await;
        assert!(nick.is_err(), "the column was rolled back with the migration");

        // Transaction control in a RunSql would end the migration's transaction halfway
        // (the added column committed, the record not): refused before it is sent.
        let mut committing = all[..2].to_vec();
        committing.push(migration(
            "0003_commits",
            &["0002_bio"],
            nick_then("UPDATE journal_author SET nick = 'x'; COMMIT"),
        ));
        let err = Migrator::new(db.clone(), committing).unwrap().migrate().await.unwrap_err().to_string();
        assert!(
            err.contains("0003_commits.toml") && err.contains("`COMMIT` in SQL written by hand"),
            "{err}"
        );
        let nick = Raw::new("SELECT nick FROM journal_author").fetch::<(Option<String>,)>(&db).await;
        assert!(nick.is_err(), "nothing of the migration was committed");

        // A file changed after it was applied stops everything, naming it.
        let mut changed = all[..2].to_vec();
        changed[1].operations.push(Operation::AddIndex { model: AUTHOR.into(), fields: vec!["bio".into()] });
        let err = Migrator::new(db.clone(), changed).unwrap().migrate().await.unwrap_err().to_string();
        assert!(err.contains("0002_bio.toml changed after it was applied"), "{err}");
        // An irreversible migration says so when asked to undo it.
        let mut irreversible = all[..2].to_vec();
        irreversible.push(migration(
            "0003_sql",
            &["0002_bio"],
            vec![Operation::RunSql {
                sqlite: "SELECT 1".into(),
                postgres: "SELECT 1".into(),
                reverse_sqlite: None,
                reverse_postgres: None,
            }],
        ));
        let migrator = Migrator::new(db.clone(), irreversible).unwrap();
        migrator.migrate().await.unwrap();
        let err = migrator.migrate_back("journal", None).await.unwrap_err().to_string();
        assert!(err.contains("0003_sql.toml cannot be undone"), "{err}");
        assert_eq!(migrator.applied().await.unwrap().len(), 3, "nothing was undone");
    }
}

#[tokio::test]
async fn makemigrations_writes_files_that_migrate_and_then_finds_nothing() {
    use brisk_orm::migrations::{load, next_migration, write, Graph, NonInteractive, ProjectState};
    let dir = std::env::temp_dir().join(format!("brisk_makemigrations_{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let author = steps()[0].operations[0].clone();
    let Operation::CreateModel { model } = author else { unreachable!() };
    let mut declared = ProjectState::default();
    declared.models.insert(model.label(), model.clone());

    // The first migration, written and read back.
    let graph = Graph::new(load(&dir).unwrap()).unwrap();
    let first = next_migration(&graph, &declared, "journal", &mut NonInteractive).unwrap().unwrap();
    let path = write(&dir, &first).unwrap();
    assert!(path.ends_with("migrations/journal/0001_initial.toml"), "{}", path.display());
    // A NOT NULL field with a default: no question, the rows get the default.
    let mut with_rank = model.clone();
    with_rank.fields.push(FieldState { default: Some(Fill::Int(7)), ..field("rank", ColumnKind::BigInt) });
    declared.models.insert(with_rank.label(), with_rank);
    let graph = Graph::new(load(&dir).unwrap()).unwrap();
    let second = next_migration(&graph, &declared, "journal", &mut NonInteractive).unwrap().unwrap();
    assert_eq!(
        (second.name.as_str(), second.dependencies.as_slice()),
        ("0002_auto", &["journal/0001_initial".to_owned()][..])
    );
    write(&dir, &second).unwrap();
    let files = load(&dir).unwrap();
    assert!(
        next_migration(&Graph::new(files.clone()).unwrap(), &declared, "journal", &mut NonInteractive)
            .unwrap()
            .is_none(),
        "a second run writes nothing"
    );

    for test_db in [TestDatabase::sqlite().await.unwrap(), TestDatabase::postgres().await.unwrap()] {
        let db = test_db.database();
        let only_first = Migrator::new(db.clone(), files[..1].to_vec()).unwrap();
        only_first.migrate().await.unwrap();
        Raw::new("INSERT INTO journal_author (name) VALUES (?)")
            .bind("Ada".to_owned())
            .execute(&db)
            .await
            .unwrap();
        let all = Migrator::new(db.clone(), files.clone()).unwrap();
        assert_eq!(all.migrate().await.unwrap(), ["journal/0002_auto"]);
        let ranks: Vec<(i64,)> = Raw::new("SELECT rank FROM journal_author").fetch(&db).await.unwrap();
        assert_eq!(ranks, [(7,)], "{}", db.url());
        // sqlmigrate: the SQL of a migration, per backend.
        let sql = all.sql(&files[1], db.dialect()).unwrap().join(";\n");
        assert!(sql.contains("rank"), "{sql}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn seven_days() -> brisk_orm::Duration {
    brisk_orm::Duration::from_micros(7 * 86_400_000_000)
}

/// A NOT NULL field added with a function default.
#[derive(brisk_orm::Model)]
#[model(app_label = "leases")]
struct Lease {
    #[model(primary_key)]
    id: brisk_orm::AutoId,
    #[model(default_fn = seven_days)]
    term: brisk_orm::Duration,
    #[model(default_fn = default_label)]
    label: String,
}

fn default_label() -> String {
    "it's new".into()
}

#[tokio::test]
async fn a_function_default_fills_the_rows_there_without_asking() {
    use brisk_orm::migrations::{detect, NonInteractive, ProjectState};
    use brisk_orm::Model;
    let declared = ProjectState::from_registry(&[Lease::META]);
    let mut before = declared.clone();
    let lease = before.models.get_mut("leases.Lease").unwrap();
    lease.fields.retain(|f| f.name == "id");
    // NonInteractive would refuse a NOT NULL field with no default: the functions answer.
    let ops = detect(&before, &declared, "leases", &mut NonInteractive).unwrap();
    let fills: Vec<_> = ops
        .iter()
        .filter_map(|op| match op {
            Operation::AddField { field, fill, .. } => Some((field.name.clone(), fill.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        fills,
        [
            ("term".to_owned(), Some(Fill::Int(7 * 86_400_000_000))),
            ("label".to_owned(), Some(Fill::Text("it's new".into())))
        ]
    );
    // Applied with a row there, on both backends.
    let create = Operation::CreateModel { model: before.models["leases.Lease"].clone() };
    let first = {
        let mut m = Migration::parse("leases", "0001_initial", "").unwrap();
        m.operations = vec![create];
        Migration::parse("leases", "0001_initial", &m.to_toml()).unwrap()
    };
    let second = {
        let mut m = Migration::parse("leases", "0002_auto", "").unwrap();
        m.dependencies = vec!["leases/0001_initial".into()];
        m.operations = ops;
        Migration::parse("leases", "0002_auto", &m.to_toml()).unwrap()
    };
    for test_db in [TestDatabase::empty_sqlite().unwrap(), TestDatabase::empty_postgres().await.unwrap()] {
        let db = test_db.database();
        Migrator::new(db.clone(), vec![first.clone()]).unwrap().migrate().await.unwrap();
        Raw::new("INSERT INTO leases_lease DEFAULT VALUES").execute(&db).await.unwrap();
        Migrator::new(db.clone(), vec![first.clone(), second.clone()]).unwrap().migrate().await.unwrap();
        let rows: Vec<(i64, String)> =
            Raw::new("SELECT term, label FROM leases_lease").fetch(&db).await.unwrap();
        assert_eq!(rows, [(7 * 86_400_000_000, "it's new".to_owned())], "{}", db.url());
    }
}

#[tokio::test]
async fn two_migrate_runs_at_once_apply_each_migration_once() {
    for test_db in [TestDatabase::empty_sqlite().unwrap(), TestDatabase::empty_postgres().await.unwrap()] {
        // Two handles on one database, as two processes migrating at start.
        let (a, b) = (test_db.database(), Database::open(test_db.url()).unwrap());
        let (one, two) = (Migrator::new(a.clone(), steps()).unwrap(), Migrator::new(b, steps()).unwrap());
        let (ran_one, ran_two) = tokio::join!(one.migrate(), two.migrate());
        let (ran_one, ran_two) = (ran_one.unwrap(), ran_two.unwrap());
        let mut all: Vec<String> = ran_one.iter().chain(&ran_two).cloned().collect();
        all.sort();
        let mut expected: Vec<String> = steps().iter().map(|m| format!("journal/{}", m.name)).collect();
        expected.sort();
        assert_eq!(all, expected, "each applied by exactly one run ({})", test_db.url());
        assert_eq!(one.applied().await.unwrap().len(), expected.len());
    }
}

#[tokio::test]
async fn check_reports_models_changed_without_a_migration() {
    let test_db = TestDatabase::empty_sqlite().unwrap();
    // No migration files at all, and models in the registry (this test binary's).
    let problems = brisk_orm::Migrations::new(test_db.database(), Vec::new()).problems().await.unwrap();
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("the models of leases changed without a migration (+ model leases.Lease")
                && p.ends_with("run `makemigrations`")),
        "{problems:?}"
    );
}

/// Was `Article`; renamed in the code, with a field added in the same change.
#[derive(brisk_orm::Model)]
#[model(app_label = "shop", renamed_from = "Article")]
struct Product {
    #[model(primary_key)]
    id: brisk_orm::AutoId,
    name: String,
    price: Option<i64>,
}

#[tokio::test]
async fn a_model_declared_renamed_is_renamed_without_asking_and_keeps_its_rows() {
    use brisk_orm::migrations::{detect, NonInteractive, ProjectState};
    use brisk_orm::Model;
    let declared = ProjectState::from_registry(&[Product::META]);
    let mut article = declared.models["shop.Product"].clone();
    article.name = "Article".into();
    article.table = "shop_article".into();
    article.fields.retain(|f| f.name != "price");
    let mut before = ProjectState::default();
    before.models.insert(article.label(), article.clone());
    // NonInteractive never guesses a rename: the declaration says it.
    let ops = detect(&before, &declared, "shop", &mut NonInteractive).unwrap();
    assert_eq!(ops.len(), 2, "{ops:?}");
    assert!(
        matches!(&ops[0], Operation::RenameModel { old, new, table } if old == "shop.Article" && new == "Product" && table == "shop_product"),
        "{ops:?}"
    );
    assert!(matches!(&ops[1], Operation::AddField { field, .. } if field.name == "price"), "{ops:?}");
    let first = {
        let mut m = Migration::parse("shop", "0001_initial", "").unwrap();
        m.operations = vec![Operation::CreateModel { model: article }];
        Migration::parse("shop", "0001_initial", &m.to_toml()).unwrap()
    };
    let second = {
        let mut m = Migration::parse("shop", "0002_auto", "").unwrap();
        m.dependencies = vec!["shop/0001_initial".into()];
        m.operations = ops;
        Migration::parse("shop", "0002_auto", &m.to_toml()).unwrap()
    };
    for test_db in [TestDatabase::empty_sqlite().unwrap(), TestDatabase::empty_postgres().await.unwrap()] {
        let db = test_db.database();
        Migrator::new(db.clone(), vec![first.clone()]).unwrap().migrate().await.unwrap();
        Raw::new("INSERT INTO shop_article (name) VALUES ('lamp')").execute(&db).await.unwrap();
        let all = Migrator::new(db.clone(), vec![first.clone(), second.clone()]).unwrap();
        all.migrate().await.unwrap();
        let rows: Vec<(String, Option<i64>)> =
            Raw::new("SELECT name, price FROM shop_product").fetch(&db).await.unwrap();
        assert_eq!(rows, [("lamp".to_owned(), None)], "{}", db.url());
        // And back.
        all.migrate_back("shop", Some("0001_initial")).await.unwrap();
        let rows: Vec<(String,)> = Raw::new("SELECT name FROM shop_article").fetch(&db).await.unwrap();
        assert_eq!(rows, [("lamp".to_owned(),)], "{}", db.url());
    }
}

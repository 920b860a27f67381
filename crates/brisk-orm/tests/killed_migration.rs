//! A migration whose process is killed half-way (SIGKILL: no destructor, no rollback by the
//! program) leaves the database as it was before that migration, on both backends: its
//! first operations ran inside the migration's transaction, which the database drops.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use brisk_orm::migrations::{FieldState, Migration, Migrator, ModelState, Operation};
use brisk_orm::testing::TestDatabase;
use brisk_orm::{ColumnKind, Database, Raw};

const CHILD_URL: &str = "BRISK_KILLED_MIGRATION_URL";

fn model() -> ModelState {
    ModelState {
        app: "killed".into(),
        name: "Row".into(),
        table: "killed_row".into(),
        fields: vec![
            FieldState { primary_key: true, ..FieldState::new("id", ColumnKind::AutoBigInt) },
            FieldState::new("note", ColumnKind::Text),
        ],
        many_to_many: Vec::new(),
        indexes: Vec::new(),
        constraints: Vec::new(),
    }
}

/// A table, a row in it, then a statement that runs for minutes.
fn slow_migration() -> Migration {
    let mut m = Migration::parse("killed", "0001_initial", "").unwrap();
    m.operations = vec![
        Operation::CreateModel { model: model() },
        Operation::RunSql {
            sqlite: "INSERT INTO killed_row (note) VALUES ('half-way')".into(),
            postgres: "INSERT INTO killed_row (note) VALUES ('half-way')".into(),
            reverse_sqlite: None,
            reverse_postgres: None,
        },
        Operation::RunSql {
            sqlite: "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 5000000000) SELECT count(*) FROM c".into(),
            postgres: "SELECT pg_sleep(600)".into(),
            reverse_sqlite: None,
            reverse_postgres: None,
        },
    ];
    Migration::parse("killed", "0001_initial", &m.to_toml()).unwrap()
}

async fn tables(db: &Database) -> Vec<String> {
    let sql = match db.dialect() {
        brisk_orm::Dialect::Sqlite => {
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'killed%'"
        }
        brisk_orm::Dialect::Postgres => {
            "SELECT table_name::text FROM information_schema.tables WHERE table_name LIKE 'killed%'"
        }
    };
    Raw::new(sql).fetch::<(String,)>(db).await.unwrap().into_iter().map(|(t,)| t).collect()
}

/// The child: runs the slow migration on the database the parent names, and says when the
/// transaction is under way. Does nothing in a normal test run.
#[tokio::test]
async fn child_runs_the_slow_migration() {
    let Ok(url) = std::env::var(CHILD_URL) else { return };
    let db = Database::open(&url).unwrap();
    let migrator = Migrator::new(db, vec![slow_migration()]).unwrap();
    let run = tokio::spawn(async move { migrator.migrate().await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    println!("MIGRATING");
    let _ = run.await;
    println!("FINISHED");
}

#[tokio::test]
async fn a_migration_killed_half_way_leaves_the_database_as_it_was() {
    if std::env::var(CHILD_URL).is_ok() {
        return;
    }
    for test_db in [TestDatabase::empty_sqlite().unwrap(), TestDatabase::empty_postgres().await.unwrap()] {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["child_runs_the_slow_migration", "--exact", "--nocapture", "--test-threads", "1"])
            .env(CHILD_URL, test_db.url())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let said = lines.by_ref().map_while(Result::ok).find(|l| l.contains("MIGRATING"));
        assert!(said.is_some(), "the child started migrating ({})", test_db.url());
        let db = test_db.database();
        if db.dialect() == brisk_orm::Dialect::Postgres {
            // The migration's transaction is in its sleep: its table and row exist in there.
            let mut asleep = false;
            for _ in 0..100 {
                let rows: Vec<(i64,)> = Raw::new(
                    "SELECT COUNT(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(600)%'",
                )
                .fetch(&db)
                .await
                .unwrap();
                if rows[0].0 > 0 {
                    asleep = true;
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            assert!(asleep, "the child reached the slow statement");
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        if db.dialect() == brisk_orm::Dialect::Postgres {
            // The server notices the closed connection and rolls its transaction back.
            for _ in 0..100 {
                let rows: Vec<(i64,)> = Raw::new(
                    "SELECT COUNT(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(600)%'",
                )
                .fetch(&db)
                .await
                .unwrap();
                if rows[0].0 == 0 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        assert!(tables(&db).await.is_empty(), "no table of the killed migration ({})", test_db.url());
        let migrator = Migrator::new(db.clone(), vec![slow_migration()]).unwrap();
        assert!(migrator.applied().await.unwrap().is_empty(), "not recorded ({})", test_db.url());
        // The same database takes a migration afterwards (no lock or journal left behind).
        let mut quick = Migration::parse("killed", "0001_initial", "").unwrap();
        quick.operations = vec![Operation::CreateModel { model: model() }];
        let quick = Migration::parse("killed", "0001_initial", &quick.to_toml()).unwrap();
        let done = Migrator::new(db.clone(), vec![quick]).unwrap().migrate().await.unwrap();
        assert_eq!(done, ["killed/0001_initial"]);
        assert_eq!(tables(&db).await, ["killed_row"]);
    }
}

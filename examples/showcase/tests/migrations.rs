//! The showcase's migrations match its models (as `cargo run -p showcase -- makemigrations
//! --check` says), and migrate an empty database on either backend (`BRISK_TEST_BACKEND`).
//!
//! After changing a model, `cargo run -p showcase -- makemigrations` writes the next
//! migration into `migrations/showcase/`; review it and list it in `showcase::migrations`.
//! (`UPDATE_MIGRATIONS=1` on this test writes it too.)

use brisk_orm::migrations::{next_migration, write, Graph, Migrator, NonInteractive, ProjectState};
use brisk_orm::testing::TestDatabase;

#[test]
fn the_migrations_match_the_models() {
    let graph = Graph::new(showcase::migrations().unwrap()).unwrap();
    let declared = ProjectState::from_registry(&brisk_orm::registry());
    let next = next_migration(&graph, &declared, "showcase", &mut NonInteractive).unwrap();
    if let (Some(next), Some(_)) = (&next, std::env::var_os("UPDATE_MIGRATIONS")) {
        let path = write(std::path::Path::new(env!("CARGO_MANIFEST_DIR")), next).unwrap();
        println!("wrote {}", path.display());
        return;
    }
    assert!(
        next.is_none(),
        "the models changed without a migration: run UPDATE_MIGRATIONS=1 cargo test -p showcase --test migrations\n{:?}",
        next.map(|m| m.operations.iter().map(|o| o.describe()).collect::<Vec<_>>())
    );
}

#[tokio::test]
async fn the_migrations_make_the_tables_on_an_empty_database() {
    let test_db = TestDatabase::empty_from_env().await.unwrap();
    let migrator = Migrator::new(test_db.database(), showcase::migrations().unwrap()).unwrap();
    assert_eq!(migrator.migrate().await.unwrap(), ["showcase/0001_initial"]);
    assert!(migrator.migrate().await.unwrap().is_empty(), "applied once");
    let count: Vec<(i64,)> =
        brisk_orm::Raw::new("SELECT COUNT(*) FROM items").fetch(&test_db.database()).await.unwrap();
    assert_eq!(count, [(0,)]);
}

//! The `jobs` migrations shipped in this crate describe its model exactly: a model changed
//! without its migration fails here. `BRISK_WRITE_MIGRATIONS=1 cargo test -p brisk-jobs --test
//! shipped_migrations` writes the missing migration into `migrations/jobs/`.

use brisk_orm::migrations::{next_migration, write, Graph, NonInteractive, ProjectState};

#[test]
fn the_shipped_migrations_match_the_models() {
    // Linking the crate is what registers its model and migrations.
    let _ = brisk_jobs::Jobs::new();
    let graph = Graph::new(Vec::new()).expect("the shipped migrations form a graph");
    let declared = ProjectState::from_registry(&brisk_orm::registry());
    let missing = next_migration(&graph, &declared, "jobs", &mut NonInteractive).expect("no decision needed");
    if let Some(migration) = &missing {
        if std::env::var_os("BRISK_WRITE_MIGRATIONS").is_some() {
            let path = write(std::path::Path::new(env!("CARGO_MANIFEST_DIR")), migration).expect("written");
            eprintln!("wrote {}", path.display());
        }
    }
    assert!(
        missing.is_none(),
        "the jobs model changed without a migration: {:?}",
        missing.map(|m| m.operations.iter().map(|op| op.describe()).collect::<Vec<_>>())
    );
    assert!(graph.head("jobs").is_some(), "brisk-jobs ships its migrations");
}

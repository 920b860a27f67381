//! The `jobs` migrations shipped in this crate describe its models exactly: a model changed
//! without its migration fails here. `BRISK_WRITE_MIGRATIONS=1 cargo test -p brisk-jobs --test
//! shipped_migrations` writes the missing migration into `migrations/jobs/`.

#[test]
fn the_shipped_migrations_match_the_models() {
    // Linking the crate is what registers its models and migrations.
    let _ = brisk_jobs::Jobs::new();
    brisk_orm::testing::assert_shipped_migrations_current("jobs", env!("CARGO_MANIFEST_DIR"));
}

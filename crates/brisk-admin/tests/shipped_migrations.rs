//! The `admin` migrations shipped in this crate describe its models exactly: a model changed
//! without its migration fails here. `BRISK_WRITE_MIGRATIONS=1 cargo test -p brisk-admin --test
//! shipped_migrations` writes the missing migration into `migrations/admin/`.

#[test]
fn the_shipped_migrations_match_the_models() {
    // Linking the crate is what registers its models and migrations.
    let _ = brisk_admin::Admin::new();
    brisk_orm::testing::assert_shipped_migrations_current("admin", env!("CARGO_MANIFEST_DIR"));
}

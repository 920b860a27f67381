//! Embeds `migrations/` into the binary (read by `brisk_orm::embedded_migrations!()`).
fn main() {
    brisk_build::embed_migrations("migrations");
}

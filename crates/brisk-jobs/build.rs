//! Embeds `migrations/` (the `jobs` app's) into the crate, shipped to every app that links it.
fn main() {
    brisk_build::embed_migrations("migrations");
}

//! Embeds `migrations/` (the `admin` app's: its history table), shipped to every app that links it.
fn main() {
    brisk_build::embed_migrations("migrations");
}

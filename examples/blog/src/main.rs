//! `cargo run -p blog` serves the blog on http://127.0.0.1:8000 (`DATABASE_URL`, default
//! `sqlite://blog.db`; `postgres://...` for PostgreSQL).

fn main() {
    let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| "sqlite://blog.db".to_owned());
    let db = match brisk_orm::Database::open(&url) {
        Ok(db) => db,
        Err(e) => {
            eprintln!("blog: {e}");
            std::process::exit(2);
        }
    };
    if let Err(e) = brisk::run(blog::app(db)) {
        eprintln!("blog: {e}");
        std::process::exit(1);
    }
}

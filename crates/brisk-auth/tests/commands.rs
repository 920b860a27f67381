//! `createsuperuser --no-input` (BRISK_SUPERUSER_*), as a deployment script runs it, through
//! the app's command line, on SQLite and on PostgreSQL; the password validators hold there too.

mod common;

use brisk_auth::User;
use brisk_orm::Model;
use common::{app_with, auth, databases, Browser};

fn run(db: &brisk_orm::Database, args: &[&str]) -> (i32, String) {
    let mut out = Vec::new();
    let mut argv = vec!["app"];
    argv.extend_from_slice(args);
    let code = brisk::cli::run(app_with(db, auth()), argv, &mut out);
    (code, String::from_utf8_lossy(&out).into_owned())
}

// One test, so the environment it sets is not read by another at the same time.
#[test]
fn createsuperuser_without_input() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    for test in runtime.block_on(databases()) {
        let db = test.database();
        std::env::set_var("BRISK_SUPERUSER_USERNAME", "admin");
        std::env::set_var("BRISK_SUPERUSER_EMAIL", "admin@example.com");
        std::env::set_var("BRISK_SUPERUSER_PASSWORD", "12345678");
        let (code, out) = run(&db, &["createsuperuser", "--no-input"]);
        assert_eq!(code, 1, "{out}");
        assert!(out.contains("too common") && out.contains("entirely numeric"), "{out}");
        assert_eq!(runtime.block_on(User::objects().count(&db)).expect("count"), 0, "nothing made");

        std::env::set_var("BRISK_SUPERUSER_PASSWORD", "a deploy script's passphrase");
        let (code, out) = run(&db, &["createsuperuser", "--no-input"]);
        assert_eq!(code, 0, "{out}");
        assert_eq!(out.trim(), "Superuser admin created.");
        let admin =
            runtime.block_on(User::objects().filter(User::username().eq("admin")).get(&db)).expect("admin");
        assert!(admin.is_superuser && admin.is_staff && admin.is_active);
        assert_eq!(admin.email, "admin@example.com");
        assert!(admin.password.starts_with("$argon2id$"));

        let (code, out) = run(&db, &["createsuperuser", "--no-input"]);
        assert_eq!(code, 1, "a second admin: {out}");
        assert!(out.contains("already exists"), "{out}");
        for name in ["BRISK_SUPERUSER_USERNAME", "BRISK_SUPERUSER_EMAIL", "BRISK_SUPERUSER_PASSWORD"] {
            std::env::remove_var(name);
        }
        let (code, out) = run(&db, &["createsuperuser", "--no-input"]);
        assert_eq!(code, 1, "{out}");
        assert!(out.contains("BRISK_SUPERUSER_USERNAME"), "{out}");

        let logged_in = runtime.block_on(async {
            let mut browser = Browser::new(app_with(&db, auth())).await;
            browser.login("admin", "a deploy script's passphrase").await.status()
        });
        assert_eq!(logged_in, 200);
    }
}

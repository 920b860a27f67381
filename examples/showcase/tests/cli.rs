//! The showcase's management commands, run in process as `showcase <command>` would run them.

use brisk_orm::testing::TestDatabase;

fn run(db: &TestDatabase, args: &[&str]) -> (i32, String) {
    let auth = showcase::auth::AuthConfig::from_env().unwrap_or_else(|e| panic!("{e}"));
    let app = showcase::app_with(auth, db.database());
    let mut out = Vec::new();
    let code = brisk::cli::run(app, std::iter::once("showcase").chain(args.iter().copied()), &mut out);
    (code, String::from_utf8_lossy(&out).into_owned())
}

#[test]
fn migrations_are_shown_applied_undone_and_checked() {
    let db = TestDatabase::empty_sqlite().unwrap();
    assert_eq!(run(&db, &["showmigrations"]), (0, "[ ] showcase/0001_initial\n".into()));
    let (code, out) = run(&db, &["migrate"]);
    assert_eq!((code, out.as_str()), (0, "  Applied showcase/0001_initial\n"));
    assert_eq!(run(&db, &["migrate"]).1, "No migrations to apply.\n");
    assert_eq!(run(&db, &["showmigrations"]).1, "[X] showcase/0001_initial\n");
    let (code, out) = run(&db, &["sqlmigrate", "showcase", "0001_initial"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("CREATE TABLE \"items\""), "{out}");
    // The models and the migrations agree: what CI runs.
    assert_eq!(run(&db, &["makemigrations", "--check"]), (0, "No changes detected.\n".into()));
    // Back to nothing.
    assert_eq!(run(&db, &["migrate", "showcase", "zero"]), (0, "  Undid showcase/0001_initial\n".into()));
    assert_eq!(run(&db, &["showmigrations"]).1, "[ ] showcase/0001_initial\n");
}

#[test]
fn wrong_commands_answer_with_a_sentence_and_a_code() {
    let db = TestDatabase::empty_sqlite().unwrap();
    let (code, out) = run(&db, &["frobnicate"]);
    assert_eq!(code, 2);
    assert!(out.contains("unrecognized subcommand 'frobnicate'"), "{out}");
    let (code, out) = run(&db, &["migrate", "showcase"]);
    assert_eq!(code, 1);
    assert!(out.contains("say where to take showcase"), "{out}");
    let (code, out) = run(&db, &["sqlmigrate", "showcase", "0009_nope"]);
    assert_eq!((code, out.as_str()), (1, "error: there is no migration showcase/0009_nope\n"));
    let (code, out) = run(&db, &["--help"]);
    assert_eq!(code, 0);
    for command in
        ["runserver", "routes", "openapi", "migrate", "makemigrations", "showmigrations", "sqlmigrate"]
    {
        assert!(out.contains(command), "{command} in {out}");
    }
    let (code, out) = run(&db, &["routes"]);
    assert_eq!(code, 0);
    assert!(out.contains("/items/{item_id}  GET, PUT, DELETE"), "{out}");
}

//! The showcase's management commands, run in process as `showcase <command>` would run them,
//! and brisk-auth's `createsuperuser` and `changepassword` run by the showcase binary itself,
//! as an operator or a deployment script runs them.

use brisk_orm::testing::TestDatabase;
use brisk_orm::Model;

fn run(db: &TestDatabase, args: &[&str]) -> (i32, String) {
    let auth = showcase::auth::AuthConfig::new(b"test secret, at least 32 bytes long");
    let app = showcase::app_with(auth, db.database());
    let mut out = Vec::new();
    let code = brisk::cli::run(app, std::iter::once("showcase").chain(args.iter().copied()), &mut out);
    (code, String::from_utf8_lossy(&out).into_owned())
}

const NONE_APPLIED: &str = "[ ] admin/0001_initial\n[ ] auth/0001_initial\n[ ] jobs/0001_initial\n[ ] jobs/0002_claim_indexes\n[ ] jobs/0003_lean_indexes\n[ ] jobs/0004_partial_unique_keys\n[ ] jobs/0005_sqlite_partial_unique_keys\n[ ] showcase/0001_initial\n[ ] showcase/0002_demo_users\n[ ] showcase/0003_item_tags_default\n[ ] showcase/0004_scale_out\n";

#[test]
fn migrations_are_shown_applied_undone_and_checked() {
    let db = TestDatabase::empty_sqlite().unwrap();
    // brisk-auth's migrations are in the graph: the demo users' data migration needs them.
    assert_eq!(run(&db, &["showmigrations"]), (0, NONE_APPLIED.into()));
    let (code, out) = run(&db, &["migrate"]);
    assert_eq!(
        (code, out.as_str()),
        (0, "  Applied admin/0001_initial\n  Applied auth/0001_initial\n  Applied jobs/0001_initial\n  Applied jobs/0002_claim_indexes\n  Applied jobs/0003_lean_indexes\n  Applied jobs/0004_partial_unique_keys\n  Applied jobs/0005_sqlite_partial_unique_keys\n  Applied showcase/0001_initial\n  Applied showcase/0002_demo_users\n  Applied showcase/0003_item_tags_default\n  Applied showcase/0004_scale_out\n")
    );
    assert_eq!(run(&db, &["migrate"]).1, "No migrations to apply.\n");
    assert_eq!(
        run(&db, &["showmigrations"]).1,
        "[X] admin/0001_initial\n[X] auth/0001_initial\n[X] jobs/0001_initial\n[X] jobs/0002_claim_indexes\n[X] jobs/0003_lean_indexes\n[X] jobs/0004_partial_unique_keys\n[X] jobs/0005_sqlite_partial_unique_keys\n[X] showcase/0001_initial\n[X] showcase/0002_demo_users\n[X] showcase/0003_item_tags_default\n[X] showcase/0004_scale_out\n"
    );
    let (code, out) = run(&db, &["sqlmigrate", "showcase", "0001_initial"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("CREATE TABLE \"items\""), "{out}");
    let (code, out) = run(&db, &["sqlmigrate", "showcase", "0002"]);
    assert_eq!((code, out.trim()), (0, "-- RunRust showcase.seed_demo_users: Rust code, no SQL of its own;"));
    // The models and the migrations agree: what CI runs.
    assert_eq!(run(&db, &["makemigrations", "--check"]), (0, "No changes detected.\n".into()));
    // An empty migration to write a data migration in, after the latest.
    let (code, out) = run(&db, &["makemigrations", "--empty", "showcase", "--dry-run"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("migrations/showcase/0005_data.toml:"), "{out}");
    assert!(out.contains("showcase/0004_scale_out"), "{out}");
    // Back to nothing: the data migration's reverse runs first.
    assert_eq!(
        run(&db, &["migrate", "showcase", "zero"]),
        (
            0,
            "  Undid showcase/0004_scale_out\n  Undid showcase/0003_item_tags_default\n  Undid showcase/0002_demo_users\n  Undid showcase/0001_initial\n"
                .into()
        )
    );
    assert_eq!(
        run(&db, &["showmigrations"]).1,
        "[X] admin/0001_initial\n[X] auth/0001_initial\n[X] jobs/0001_initial\n[X] jobs/0002_claim_indexes\n[X] jobs/0003_lean_indexes\n[X] jobs/0004_partial_unique_keys\n[X] jobs/0005_sqlite_partial_unique_keys\n[ ] showcase/0001_initial\n[ ] showcase/0002_demo_users\n[ ] showcase/0003_item_tags_default\n[ ] showcase/0004_scale_out\n"
    );
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
    assert_eq!(
        (code, out.as_str()),
        (1, "error: there is no migration showcase/0009_nope: `showmigrations` lists them\n")
    );
    let (code, out) = run(&db, &["--help"]);
    assert_eq!(code, 0);
    for command in [
        "runserver",
        "routes",
        "openapi",
        "check",
        "migrate",
        "makemigrations",
        "showmigrations",
        "sqlmigrate",
        "dbshell",
        "createsuperuser",
        "changepassword",
    ] {
        assert!(out.contains(command), "{command} in {out}");
    }
    let (code, out) = run(&db, &["routes"]);
    assert_eq!(code, 0);
    assert!(out.contains("/items/{item_id}  GET, PUT, DELETE"), "{out}");
}

#[test]
fn check_reports_pending_migrations_until_they_are_applied() {
    let db = TestDatabase::empty_sqlite().unwrap();
    let (code, out) = run(&db, &["check"]);
    assert_eq!(code, 1, "{out}");
    for migration in [
        "admin/0001_initial",
        "auth/0001_initial",
        "jobs/0001_initial",
        "jobs/0002_claim_indexes",
        "jobs/0003_lean_indexes",
        "jobs/0004_partial_unique_keys",
        "jobs/0005_sqlite_partial_unique_keys",
        "showcase/0001_initial",
        "showcase/0002_demo_users",
        "showcase/0003_item_tags_default",
        "showcase/0004_scale_out",
    ] {
        let line =
            format!("error: migrations/{migration}.toml is not applied to the database: run `migrate`");
        assert!(out.contains(&line), "{out}");
    }
    assert!(out.ends_with("System check identified 11 issues.\n"), "{out}");
    run(&db, &["migrate"]);
    assert_eq!(run(&db, &["check"]), (0, "System check identified no issues.\n".into()));
}

#[test]
fn sqlmigrate_takes_a_prefix_and_another_backend() {
    let db = TestDatabase::empty_sqlite().unwrap();
    let (code, sqlite) = run(&db, &["sqlmigrate", "showcase", "0001"]);
    assert_eq!(code, 0, "{sqlite}");
    assert!(sqlite.contains("AUTOINCREMENT"), "{sqlite}");
    let url = "postgres://postgres@127.0.0.1:5432/anything";
    let (code, pg) = run(&db, &["sqlmigrate", "showcase", "0001", "--database", url]);
    assert_eq!(code, 0, "{pg}");
    assert!(pg.contains("GENERATED BY DEFAULT AS IDENTITY"), "{pg}");
    let (code, out) = run(&db, &["sqlmigrate", "showcase", "0001", "--database", "mysql://x"]);
    assert_eq!(code, 1);
    assert!(out.contains("must start with sqlite:// or postgres://"), "{out}");
}

#[test]
fn dbshell_prints_its_command() {
    let db = TestDatabase::empty_sqlite().unwrap();
    let (code, out) = run(&db, &["dbshell", "--print"]);
    assert_eq!(code, 0);
    let path = db.url().strip_prefix("sqlite://").unwrap();
    assert_eq!(out, format!("sqlite3 {path}\n"));
}

/// The real shell, as a user types into it: the showcase binary, its stdin piped.
#[tokio::test]
async fn dbshell_opens_the_backends_shell_on_the_database() {
    use std::io::Write as _;
    for test_db in [TestDatabase::empty_sqlite().unwrap(), TestDatabase::empty_postgres().await.unwrap()] {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_showcase"))
            .arg("dbshell")
            .env("DATABASE_URL", test_db.url())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(b"SELECT 40 + 2 AS answer;\n").unwrap();
        let done = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&done.stdout);
        assert!(done.status.success(), "{stdout} {}", String::from_utf8_lossy(&done.stderr));
        assert!(stdout.contains("42"), "{} answered {stdout}", test_db.url());
    }
}

const KEY: &str = "a test secret key for the showcase's sessions 0123456789";

/// The showcase binary on the database at `url`, with none of the environment's superuser
/// settings (each test gives its own).
fn showcase_binary(url: &str, args: &[&str]) -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_showcase"));
    command.args(args).env("DATABASE_URL", url).env("SECRET_KEY", KEY).env("RUST_LOG", "warn");
    for name in
        ["BRISK_SUPERUSER_USERNAME", "BRISK_SUPERUSER_EMAIL", "BRISK_SUPERUSER_PASSWORD", "SHOWCASE_USERS"]
    {
        command.env_remove(name);
    }
    command
}

/// Runs it: the exit code, and stdout and stderr together.
fn finish(command: &mut std::process::Command) -> (i32, String) {
    let done = command.output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&done.stdout), String::from_utf8_lossy(&done.stderr));
    (done.status.code().unwrap_or(-1), text)
}

/// `POST /token` on a showcase serving `db`: the status and the granted scope.
async fn token(db: &TestDatabase, username: &str, password: &str) -> (u16, String) {
    let auth = showcase::auth::AuthConfig::new(b"test secret, at least 32 bytes long");
    let client = brisk::testing::TestClient::serve(showcase::app_with(auth, db.database())).await;
    let res = client
        .post("/token")
        .form(&serde_json::json!({"username": username, "password": password}))
        .send()
        .await;
    let body: serde_json::Value = res.json();
    (res.status().as_u16(), body["scope"].as_str().unwrap_or_default().to_owned())
}

#[tokio::test]
async fn createsuperuser_without_input_makes_a_superuser_who_logs_in() {
    let db = TestDatabase::empty_sqlite().unwrap();
    assert_eq!(finish(&mut showcase_binary(db.url(), &["migrate"])).0, 0);
    let create = |password: &str| {
        let mut command = showcase_binary(db.url(), &["createsuperuser", "--no-input"]);
        command
            .env("BRISK_SUPERUSER_USERNAME", "root")
            .env("BRISK_SUPERUSER_EMAIL", "root@example.com")
            .env("BRISK_SUPERUSER_PASSWORD", password);
        finish(&mut command)
    };

    // A weak password is refused, saying why, and nothing is made.
    let (code, out) = create("12345678");
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("too common") && out.contains("entirely numeric"), "{out}");
    assert_eq!(token(&db, "root", "12345678").await.0, 400, "no root was made");

    let (code, out) = create("a deploy script's passphrase");
    assert_eq!((code, out.trim()), (0, "Superuser root created."), "{out}");
    let root = brisk_auth::User::objects()
        .filter(brisk_auth::User::username().eq("root"))
        .get(&db.database())
        .await
        .unwrap();
    assert!(root.is_superuser && root.is_staff && root.is_active);
    assert_eq!(root.email, "root@example.com");
    assert!(root.password.starts_with("$argon2id$"), "{}", root.password);
    // A superuser has every permission: its token gets the admin scope.
    assert_eq!(token(&db, "root", "a deploy script's passphrase").await, (200, "admin".into()));

    let (code, out) = create("another deploy passphrase");
    assert_eq!(code, 1, "a second root: {out}");
    assert!(out.contains("already exists"), "{out}");
}

#[tokio::test]
async fn changepassword_reads_the_password_twice_from_a_pipe() {
    use std::io::Write as _;
    let db = TestDatabase::empty_sqlite().unwrap();
    assert_eq!(finish(&mut showcase_binary(db.url(), &["migrate"])).0, 0);
    let change = |user: &str, lines: &str| {
        let mut child = showcase_binary(db.url(), &["changepassword", user])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(lines.as_bytes()).unwrap();
        let done = child.wait_with_output().unwrap();
        let out =
            format!("{}{}", String::from_utf8_lossy(&done.stdout), String::from_utf8_lossy(&done.stderr));
        (done.status.code().unwrap_or(-1), out)
    };

    // A weak password is refused (and asked again: the input ends), the old one still works.
    let (code, out) = change("alice", "12345678\n12345678\n");
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("too common") && out.contains("entirely numeric"), "{out}");
    assert_eq!(token(&db, "alice", "wonderland").await, (200, "admin".into()));

    let (code, out) = change("alice", "through the looking glass 7\nthrough the looking glass 7\n");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("Password changed successfully for user alice."), "{out}");
    assert_eq!(token(&db, "alice", "wonderland").await.0, 400, "the old password is refused");
    assert_eq!(token(&db, "alice", "through the looking glass 7").await, (200, "admin".into()));

    let (code, out) = change("nobody", "whatever it is 42\nwhatever it is 42\n");
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("no user \"nobody\""), "{out}");
}

/// The first start on an empty database, as a newcomer's first `cargo run`: the migrations run
/// before anything reads their tables (the job workers claimed from `jobs_job` before it
/// existed, and warned), on both backends, and the app answers.
#[tokio::test]
async fn a_first_start_on_an_empty_database_warns_of_nothing() {
    for test_db in [TestDatabase::empty_sqlite().unwrap(), TestDatabase::empty_postgres().await.unwrap()] {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut child = showcase_binary(test_db.url(), &[])
            .env("HOST", "127.0.0.1")
            .env("PORT", port.to_string())
            .env("BRISK_JOBS_WORKERS", "2")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut answered = false;
        for _ in 0..100 {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            if let Ok(res) = raw_get(port, "/healthz").await {
                answered = res.starts_with("HTTP/1.1 200");
                if answered {
                    break;
                }
            }
        }
        // A claim or two after the start (the workers poll every second).
        tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
        let _ = child.kill();
        let done = child.wait_with_output().unwrap();
        let text =
            format!("{}{}", String::from_utf8_lossy(&done.stdout), String::from_utf8_lossy(&done.stderr));
        assert!(answered, "{}: the showcase did not answer /healthz: {text}", test_db.url());
        let warnings: Vec<&str> =
            text.lines().filter(|l| l.contains("WARN") || l.contains("ERROR")).collect();
        assert!(warnings.is_empty(), "{}: a first start warned: {warnings:#?}", test_db.url());
    }
}

/// `GET path` on 127.0.0.1:`port` with a bare HTTP/1.1 request: the answer's text.
async fn raw_get(port: u16, path: &str) -> std::io::Result<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    stream
        .write_all(format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").as_bytes())
        .await?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await?;
    Ok(answer)
}

//! The secret key as the environment gives it: `SECRET_KEY` wins, else a key file created at
//! first start (0600, with a warning) and read again at restart; production refuses a missing
//! key, and every environment a short one, with a sentence saying how to make one.
//!
//! One test, in its own process (this file), since it changes the environment.

use std::io::Write;
use std::sync::{Arc, Mutex};

use brisk::prelude::*;
use brisk::secret_key::SecretKey;
use brisk::sessions::{Session, SessionConfig};
use brisk::testing::TestClient;
use tracing_subscriber::fmt::MakeWriter;

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut lines) = self.0.lock() {
            lines.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Capture {
    type Writer = Capture;
    fn make_writer(&'a self) -> Capture {
        self.clone()
    }
}

/// Resolves the key from the environment, returning it and what was logged.
fn resolve() -> (Result<SecretKey, brisk::secret_key::SecretKeyError>, String) {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::fmt().with_writer(capture.clone()).with_ansi(false).finish();
    let key = tracing::subscriber::with_default(subscriber, SecretKey::from_env);
    let logged = capture.0.lock().map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default();
    (key, logged)
}

fn same(a: &SecretKey, b: &SecretKey) -> bool {
    a.signer("t").sign(b"m") == b.signer("t").sign(b"m")
}

async fn visit(session: Session) -> Result<&'static str> {
    session.insert("seen", true)?;
    Ok("ok")
}

fn build_error() -> String {
    App::new().sessions(SessionConfig::from_env()).build().err().map(|e| e.to_string()).unwrap_or_default()
}

#[tokio::test]
async fn the_secret_key_from_the_environment() {
    let dir = std::env::temp_dir().join(format!("brisk_secret_key_test_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("secret_key");
    for name in ["SECRET_KEY", "SECRET_KEY_FALLBACKS", "BRISK_ENV", "SESSION_COOKIE_SECURE"] {
        std::env::remove_var(name);
    }
    std::env::set_var("SECRET_KEY_FILE", &file);

    // First start: a key file is made, privately, and the developer is told.
    let (first, logged) = resolve();
    let first = first.unwrap();
    assert!(logged.contains("WARN"), "{logged}");
    assert!(logged.contains("created a new random secret key"), "{logged}");
    assert_eq!(std::fs::read_to_string(&file).unwrap().trim().len(), 64);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
    }
    // A restart reads it again, silently: sessions signed before stay valid.
    let (again, logged) = resolve();
    assert!(same(&first, &again.unwrap()));
    assert!(!logged.contains("created"), "{logged}");
    // An app with sessions starts with no set-up.
    let client = TestClient::new(App::new().sessions(SessionConfig::from_env()).route("/", get(visit)));
    assert_eq!(client.get("/").send().await.status(), 200);

    // SECRET_KEY wins over the file.
    std::env::set_var("SECRET_KEY", "an environment key that is long enough 123");
    let (from_env, _) = resolve();
    let from_env = from_env.unwrap();
    assert!(!same(&first, &from_env));
    assert!(same(&from_env, &SecretKey::new("an environment key that is long enough 123").unwrap()));
    // The old key, listed as a fallback, still verifies.
    std::env::set_var("SECRET_KEY_FALLBACKS", std::fs::read_to_string(&file).unwrap().trim());
    let tag = first.signer("t").sign(b"m");
    assert!(resolve().0.unwrap().signer("t").verify(b"m", &tag));
    std::env::remove_var("SECRET_KEY_FALLBACKS");

    // A short key never starts, in any environment.
    std::env::set_var("SECRET_KEY", "changeme");
    let e = build_error();
    assert!(e.contains("the secret key from SECRET_KEY is too weak (8 bytes"), "{e}");
    assert!(e.contains("openssl rand -hex 32"), "{e}");

    // Production: a missing key refuses to start, and no key file is made.
    std::env::remove_var("SECRET_KEY");
    std::env::remove_var("SECRET_KEY_FILE");
    std::env::set_var("BRISK_ENV", "production");
    let default_file = std::path::Path::new(brisk::secret_key::DEFAULT_KEY_FILE);
    let existed = default_file.exists();
    let e = build_error();
    assert!(e.contains("BRISK_ENV=production and no SECRET_KEY is set: set SECRET_KEY"), "{e}");
    assert!(e.contains("openssl rand -hex 32"), "{e}");
    assert_eq!(default_file.exists(), existed);
    std::env::set_var("SECRET_KEY", "short");
    assert!(build_error().contains("too weak"));

    // With a key, production cookies are Secure (a TLS-terminating proxy is assumed).
    std::env::set_var("SECRET_KEY", "a production key that is long enough 1234");
    let client = TestClient::new(App::new().sessions(SessionConfig::from_env()).route("/", get(visit)));
    let res = client.get("/").send().await;
    let set = res.header("set-cookie").unwrap_or_default().to_owned();
    assert!(set.starts_with("__Host-session=") && set.ends_with("; Secure"), "{set}");

    for name in ["SECRET_KEY", "BRISK_ENV"] {
        std::env::remove_var(name);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

//! The access log: one INFO line per request on `brisk::access`, silent when filtered out.

use std::io::Write;
use std::sync::{Arc, Mutex};

use brisk::prelude::*;
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

impl Capture {
    fn text(&self) -> String {
        self.0.lock().map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default()
    }
}

async fn requests(filter: &str) -> String {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(capture.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let client = TestClient::new(App::new().route("/items", get(|| async { "ok" })));
    client.get("/items?x=1").send().await;
    client.post("/missing").send().await;
    capture.text()
}

#[tokio::test(flavor = "current_thread")]
async fn one_line_per_request_at_info() {
    let log = requests("info").await;
    let lines: Vec<&str> = log.lines().filter(|l| l.contains("brisk::access")).collect();
    assert_eq!(lines.len(), 2, "{log}");
    assert!(
        lines[0].contains("method=GET")
            && lines[0].contains("path=\"/items\"")
            && lines[0].contains("status=200"),
        "{}",
        lines[0]
    );
    assert!(lines[0].contains("latency="), "{}", lines[0]);
    assert!(lines[1].contains("method=POST") && lines[1].contains("status=404"), "{}", lines[1]);
}

#[tokio::test(flavor = "current_thread")]
async fn silent_when_filtered_out() {
    let log = requests("warn").await;
    assert!(!log.contains("brisk::access"), "{log}");
}

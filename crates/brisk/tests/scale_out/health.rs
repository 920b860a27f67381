use std::time::Duration;

use brisk::prelude::*;
use brisk::testing::TestClient;
use serde_json::json;

use crate::raw_get;

#[tokio::test]
async fn health_routes_answer_and_are_not_documented() {
    let app = App::new().health_routes().readiness_check("database", || Box::pin(async { Ok(()) }));
    let doc = serde_json::to_value(app.openapi().unwrap()).unwrap();
    let client = TestClient::new(app);
    let live = client.get("/healthz").send().await;
    assert_eq!(live.status(), 200);
    assert_eq!(live.json::<serde_json::Value>(), json!({"status": "ok"}));
    assert_eq!(live.header("cache-control"), Some("no-store"));
    let ready = client.get("/readyz").send().await;
    assert_eq!(ready.status(), 200);
    assert_eq!(ready.json::<serde_json::Value>(), json!({"status": "ok", "checks": {"database": "ok"}}));
    assert!(doc["paths"].get("/healthz").is_none() && doc["paths"].get("/readyz").is_none(), "{doc}");
}

#[tokio::test]
async fn health_routes_are_off_unless_asked_for() {
    let client = TestClient::new(App::new());
    assert_eq!(client.get("/healthz").send().await.status(), 404);
}

#[tokio::test]
async fn a_failing_or_slow_check_makes_the_app_unready() {
    let app = App::new()
        .health_routes_at("/live", "/ready")
        .readiness_timeout(Duration::from_millis(50))
        .readiness_check("redis", || Box::pin(async { Err("connection refused".to_owned()) }))
        .readiness_check("slow", || {
            Box::pin(async {
                tokio::time::sleep(Duration::from_secs(30)).await;
                Ok(())
            })
        })
        .readiness_check("database", || Box::pin(async { Ok(()) }));
    let client = TestClient::new(app);
    let ready = client.get("/ready").send().await;
    assert_eq!(ready.status(), 503);
    assert_eq!(
        ready.json::<serde_json::Value>(),
        json!({"status": "unavailable", "checks": {"database": "ok", "redis": "connection refused", "slow": "timed out"}})
    );
    assert_eq!(client.get("/live").send().await.status(), 200, "alive all the same");
}

#[tokio::test]
async fn healthz_says_503_once_shutdown_starts_while_the_grace_period_still_serves() {
    let app = App::new().health_routes().shutdown_grace(Duration::from_secs(2));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.serve_with_shutdown(listener, async {
        let _ = stopped.await;
    }));
    assert_eq!(raw_get(addr, "/healthz").await.0, 200);
    stop.send(()).unwrap();
    // The signal is taken by the accept loop; then, within the grace, new connections are served.
    let mut answered = 0;
    for _ in 0..50 {
        let (status, body) = raw_get(addr, "/healthz").await;
        if status == 503 {
            assert!(body.contains(r#"{"status":"draining"}"#), "{body}");
            answered = 503;
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(answered, 503, "/healthz never said draining");
    assert_eq!(raw_get(addr, "/readyz").await.0, 503);
    tokio::time::timeout(Duration::from_secs(10), server).await.unwrap().unwrap().unwrap();
    assert!(tokio::net::TcpStream::connect(addr).await.is_err(), "the port is closed after the grace");
}

async fn hello() -> &'static str {
    "hi"
}

#[tokio::test]
async fn the_instance_header_names_the_process_on_every_answer() {
    let client = TestClient::new(App::new().instance_header().route("/", get(hello)));
    let name = brisk::instance::instance_name();
    assert!(!name.is_empty());
    assert_eq!(client.get("/").send().await.header("x-instance"), Some(name.as_str()));
    assert_eq!(client.get("/missing").send().await.header("x-instance"), Some(name.as_str()));
    let plain = TestClient::new(App::new().route("/", get(hello)));
    assert_eq!(plain.get("/").send().await.header("x-instance"), None);
}

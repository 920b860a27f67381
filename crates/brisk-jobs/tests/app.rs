//! brisk-jobs installed in an app: a handler enqueues in its request's transaction (a failed
//! request enqueues nothing), the web process's workers run the job with the app's state, and
//! the `worker` command is there; `BRISK_JOBS_WORKERS=0` keeps workers out of the web process.

mod common;

use std::time::Duration;

use brisk::prelude::*;
use brisk::testing::TestClient;
use brisk_jobs::{Job, JobContext, JobError, JobExt, JobState, Jobs};
use brisk_orm::{Database, Db};
use common::*;
use serde::{Deserialize, Serialize};

#[derive(Clone)]
struct Greeting(&'static str);

#[derive(Serialize, Deserialize)]
struct Greet {
    name: String,
}

impl Job for Greet {
    const NAME: &'static str = "greet";

    async fn run(self, cx: JobContext) -> Result<(), JobError> {
        let greeting = cx.state::<Greeting>().ok_or_else(|| JobError::permanent("no Greeting state"))?;
        record_run(cx.db(), &format!("{} {}", greeting.0, self.name), cx.attempt()).await
    }
}

#[derive(Deserialize, JsonSchema, Validate)]
struct Form {
    name: String,
    fail: bool,
}

async fn greet(db: Db, Json(form): Json<Form>) -> Result<&'static str> {
    let database: Database = (*db).clone();
    database
        .atomic(|tx| async move {
            Greet { name: form.name }.enqueue(&tx).await?;
            if form.fail {
                return Err(Error::http(StatusCode::CONFLICT, "refused after enqueueing"));
            }
            Ok("queued")
        })
        .await
}

fn app(db: &Database) -> App {
    App::new()
        .install(db.clone())
        .with_state(Greeting("hello"))
        .install(Jobs::new().task::<Greet>().app_state::<Greeting>().poll_interval(Duration::from_millis(50)))
        .route("/greet", post(greet))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_enqueues_in_its_transaction_and_the_web_process_runs_it() {
    for test in backends().await {
        let db = test.database();
        let client = TestClient::serve(app(&db)).await;
        let res = client.post("/greet").json(&serde_json::json!({"name": "ada", "fail": false})).send().await;
        assert_eq!(res.status(), 200, "{}", res.text());
        let res = client.post("/greet").json(&serde_json::json!({"name": "bob", "fail": true})).send().await;
        assert_eq!(res.status(), 409);
        eventually("ada greeted", || async { in_state(&db, JobState::Done).await == 1 }).await;
        client.shutdown().await;
        assert_eq!(runs(&db).await, ["hello ada"], "the failed request enqueued nothing");
    }
}

#[tokio::test]
async fn the_worker_command_is_installed() {
    let db = Database::open("sqlite::memory:").expect("db");
    let mut out = Vec::new();
    let code = brisk::cli::run(app(&db), ["app", "worker", "--help"], &mut out);
    let text = String::from_utf8_lossy(&out);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("--queues") && text.contains("--concurrency"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_workers_in_the_web_process_when_told() {
    // SAFETY of the test: this process (nextest runs each test alone) reads it only here.
    std::env::set_var(brisk_jobs::WORKERS_ENV, "0");
    let test = brisk_orm::testing::TestDatabase::sqlite().await.expect("db");
    let db = test.database();
    db.execute_raw("CREATE TABLE test_runs (k TEXT NOT NULL, attempt BIGINT NOT NULL, at BIGINT NOT NULL)")
        .await
        .expect("table");
    let client = TestClient::serve(app(&db)).await;
    let res = client.post("/greet").json(&serde_json::json!({"name": "ada", "fail": false})).send().await;
    assert_eq!(res.status(), 200);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(in_state(&db, JobState::Available).await, 1, "left for `myapp worker`");
    client.shutdown().await;
    // A worker (as `myapp worker` starts) runs it.
    let worker = Jobs::new().task::<Greet>().state(Greeting("hi")).start(&db).expect("worker");
    eventually("greeted by the worker", || async { in_state(&db, JobState::Done).await == 1 }).await;
    worker.shutdown().await;
    assert_eq!(runs(&db).await, ["hi ada"]);
}

async fn slow() -> &'static str {
    tokio::time::sleep(Duration::from_secs(2)).await;
    "slow"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_workers_stop_claiming_at_the_shutdown_signal_not_after_the_drain() {
    let backends = backends().await;
    let db = backends[0].database();
    let app = app(&db).route("/slow", get(slow));
    let listener = brisk::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (signal, signalled) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.serve_with_shutdown(listener, async move {
        let _ = signalled.await;
    }));
    // A request that keeps the drain going for 2 s.
    let in_flight = tokio::spawn(async move {
        let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        stream.write_all(b"GET /slow HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").await.expect("write");
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer).await;
        answer
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let _ = signal.send(());
    tokio::time::sleep(Duration::from_millis(200)).await;
    // Enqueued after the signal, while the last request drains: the web workers (polling every
    // 50 ms) no longer claim it.
    Greet { name: "late".into() }.enqueue(&db).await.expect("enqueue");
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(in_state(&db, JobState::Available).await, 1, "claimed after the shutdown signal");
    assert!(in_flight.await.expect("request").contains("slow"), "the in-flight request finished");
    server.await.expect("server task").expect("served");
    assert!(runs(&db).await.is_empty());
}

//! Graceful shutdown: N requests in flight on N connections, each handler sleeping 2 s; the
//! `serve_with_shutdown` future is triggered while all are inside their handlers. Every request
//! completes with 200, new connections are refused after the trigger, and the serve future
//! resolves well before the drain deadline (10 s).
//!
//! N is 200 by default (quick form) and 1000 with `RELIABILITY_FULL=1`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use brisk::prelude::*;
use reliability::{Conn, Server};

const DRAIN: Duration = Duration::from_secs(10);
const WORK: Duration = Duration::from_secs(2);

#[derive(Clone, Default)]
struct Counters {
    entered: Arc<AtomicUsize>,
    finished: Arc<AtomicUsize>,
}

async fn slow(State(c): State<Counters>) -> &'static str {
    c.entered.fetch_add(1, Ordering::SeqCst);
    tokio::time::sleep(WORK).await;
    c.finished.fetch_add(1, Ordering::SeqCst);
    "done"
}

fn in_flight() -> usize {
    if std::env::var("RELIABILITY_FULL").is_ok_and(|v| v == "1") {
        1000
    } else {
        200
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn in_flight_requests_drain_and_new_connections_are_refused() {
    let n = in_flight();
    let counters = Counters::default();
    let app = App::new().route("/slow", get(slow)).with_state(counters.clone()).drain_timeout(DRAIN);
    let mut server = Server::start(app).await;
    let addr = server.addr;

    let started = Instant::now();
    let clients: Vec<_> = (0..n)
        .map(|_| {
            tokio::spawn(async move {
                let mut conn = Conn::connect(addr).await.expect("connect before shutdown");
                let res = conn.send(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n").await;
                res.map(|r| (r.status, r.text()))
            })
        })
        .collect();

    // Wait until every request is inside its handler.
    let all_in = tokio::time::timeout(Duration::from_secs(30), async {
        while counters.entered.load(Ordering::SeqCst) < n {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    assert!(
        all_in.is_ok(),
        "only {} of {n} requests reached the handler",
        counters.entered.load(Ordering::SeqCst)
    );
    let ramp = started.elapsed();
    let finished_before_trigger = counters.finished.load(Ordering::SeqCst);

    let trigger = Instant::now();
    server.trigger_shutdown();
    let serving = tokio::spawn(async move {
        let result = server.join().await;
        (result, trigger.elapsed())
    });

    // New connections are refused once the serve loop has seen the trigger (it is polled
    // asynchronously, so allow it up to 2 s on a loaded CI machine; typically < 1 ms).
    let (late_error, refused_after) = loop {
        match tokio::net::TcpStream::connect(addr).await {
            Err(e) => break (e.kind(), trigger.elapsed()),
            Ok(_) if trigger.elapsed() < Duration::from_secs(2) => {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            Ok(_) => panic!("new connections were still accepted 2 s after the shutdown trigger"),
        }
    };

    let mut ok = 0;
    for client in clients {
        match client.await.expect("client task") {
            Ok((200, body)) if body == "done" => ok += 1,
            other => panic!("an in-flight request was lost: {other:?}"),
        }
    }
    let (result, resolved_after) = serving.await.expect("server task");
    result.expect("serve_with_shutdown returned an error");
    assert_eq!(ok, n, "every in-flight request completed with 200");
    assert_eq!(counters.finished.load(Ordering::SeqCst), n);
    assert!(resolved_after < DRAIN, "the server took {resolved_after:?}, past the {DRAIN:?} drain deadline");

    println!(
        "shutdown: {n} in flight (all inside the handler {ramp:.2?} after the first connect; {finished_before_trigger} had finished before the trigger)"
    );
    println!(
        "shutdown: {ok}/{n} completed with 200; new connections refused ({late_error:?}) {refused_after:.2?} after the trigger; serve future resolved {resolved_after:.2?} after the trigger (drain deadline {DRAIN:?})"
    );
}

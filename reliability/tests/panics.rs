//! Panics: 10,000 requests to a panicking route (50 keep-alive connections, 200 each) all get
//! 500 `{"detail":"Internal Server Error"}`, the connections survive, and a healthy route keeps
//! answering. Its latency before and during the flood is printed for RESULTS.md (no timed
//! assertion: CI machines vary).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use brisk::prelude::*;
use reliability::{quiet_panics_containing, Conn, Latency, Server};

const MARKER: &str = "reliability: intentional panic";
const CONNECTIONS: usize = 50;
const PER_CONNECTION: usize = 200;

async fn boom() -> &'static str {
    panic!("{MARKER}")
}

async fn healthy() -> &'static str {
    "ok"
}

const GET_ROOT: &[u8] = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
const GET_OTHER: &[u8] = b"GET /other HTTP/1.1\r\nHost: x\r\n\r\n";
const GET_PANIC: &[u8] = b"GET /panic HTTP/1.1\r\nHost: x\r\n\r\n";

async fn sample_healthy(conn: &mut Conn, n: usize) -> Vec<Duration> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let res = conn.send(GET_ROOT).await.expect("GET /");
        out.push(t.elapsed());
        assert_eq!(res.status, 200);
    }
    out
}

/// Floods `request` over `CONNECTIONS` keep-alive connections while a probe connection keeps
/// timing `GET /`; returns the probe's samples, the flood's duration and the probe back.
async fn flood(
    addr: std::net::SocketAddr,
    request: &'static [u8],
    expect: (u16, &'static str),
    mut probe: Conn,
) -> (Vec<Duration>, Duration, usize, Conn) {
    let answered = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let senders: Vec<_> = (0..CONNECTIONS)
        .map(|_| {
            let answered = answered.clone();
            tokio::spawn(async move {
                // One keep-alive connection each: a panic must not cost the connection.
                let mut conn = Conn::connect(addr).await.expect("connect");
                for _ in 0..PER_CONNECTION {
                    let res = conn.send(request).await.expect("a response to every request");
                    assert_eq!((res.status, res.text().as_str()), expect);
                    answered.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    let prober = {
        let done = done.clone();
        tokio::spawn(async move {
            let mut samples = Vec::new();
            while !done.load(Ordering::Relaxed) {
                samples.extend(sample_healthy(&mut probe, 10).await);
            }
            (samples, probe)
        })
    };
    for task in senders {
        task.await.expect("flood connection");
    }
    let took = started.elapsed();
    done.store(true, Ordering::Relaxed);
    let (samples, probe) = prober.await.expect("probe");
    (samples, took, answered.load(Ordering::Relaxed), probe)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_thousand_panics_all_answer_500() {
    quiet_panics_containing(MARKER);
    let app = App::new().route("/", get(healthy)).route("/other", get(healthy)).route("/panic", get(boom));
    let server = Server::start(app).await;
    let addr = server.addr;

    let mut probe = Conn::connect(addr).await.expect("connect");
    sample_healthy(&mut probe, 50).await; // warm up
    let before = Latency::of(sample_healthy(&mut probe, 1000).await);

    // Control: the same load on a route that does not panic, to separate "load" from "panics".
    let (control, control_took, control_n, probe) = flood(addr, GET_OTHER, (200, "ok"), probe).await;
    assert_eq!(control_n, CONNECTIONS * PER_CONNECTION);
    let (samples, took, total, mut probe) =
        flood(addr, GET_PANIC, (500, r#"{"detail":"Internal Server Error"}"#), probe).await;
    assert_eq!(total, CONNECTIONS * PER_CONNECTION, "every panicking request was answered");
    let after = Latency::of(sample_healthy(&mut probe, 1000).await);

    println!(
        "panics: {total} requests to /panic over {CONNECTIONS} keep-alive connections: all 500, in {took:.2?} ({:.0} req/s)",
        total as f64 / took.as_secs_f64()
    );
    println!(
        "panics: control: {control_n} requests to /other (no panic) in {control_took:.2?} ({:.0} req/s)",
        control_n as f64 / control_took.as_secs_f64()
    );
    println!("panics: GET / latency before:                 {before}");
    println!("panics: GET / latency during control flood:   {}", Latency::of(control));
    println!("panics: GET / latency during panic flood:     {}", Latency::of(samples));
    println!("panics: GET / latency after:                  {after}");
    server.stop().await;
}

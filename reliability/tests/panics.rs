//! Panics: 10,000 requests to a panicking route (50 keep-alive connections, 200 each) all get
//! 500 `{"detail":"Internal Server Error"}`, the connections survive, and a healthy route keeps
//! answering. Its latency before and during the flood is printed for RESULTS.md (no timed
//! assertion: CI machines vary).

use std::time::{Duration, Instant};

use brisk::prelude::*;
use reliability::flood::{Flood, Flooded};
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

fn flood(request: &'static [u8], expect: (u16, &'static str)) -> Flood {
    Flood { request, expect, connections: CONNECTIONS, per_connection: PER_CONNECTION, probe: GET_ROOT }
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
    let Flooded { probe_samples: control, took: control_took, answered: control_n, probe } =
        flood(GET_OTHER, (200, "ok")).run(addr, probe).await;
    assert_eq!(control_n, CONNECTIONS * PER_CONNECTION);
    let Flooded { probe_samples: samples, took, answered: total, mut probe } =
        flood(GET_PANIC, (500, r#"{"detail":"Internal Server Error"}"#)).run(addr, probe).await;
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

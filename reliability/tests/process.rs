//! The real process: `reliability-server` (src/bin, served by `brisk::run`) started as a
//! separate process, stopped with a real `kill -TERM` / `kill -INT`, and flooded with panics.
//!
//! - SIGTERM with N requests in flight (each handler sleeps 3 s; N = 200, or 1000 with
//!   `RELIABILITY_FULL=1`): every one completes with 200, new connections are refused after the
//!   signal, the process exits with status 0 well before the 30 s drain deadline.
//! - SIGINT (Ctrl-C) takes the same path.
//! - A request that outlives the drain deadline (`DRAIN_TIMEOUT_MS=1500`) does not keep the
//!   process alive: it exits at the deadline and the request is cut.
//! - 10,000 requests to a panicking route: all 500, and the same pid is still serving after.
//!
//! The binary is the one cargo builds for this test (debug), or `RELIABILITY_SERVER_BIN`
//! (`reliability/scripts/sigterm` passes the release build).

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use reliability::flood::{Flood, Flooded};
use reliability::process::ServerProcess;
use reliability::{get_path, Conn, Latency};

const DEFAULT_DRAIN: Duration = Duration::from_secs(30);
const SLOW_MS: u64 = 3000;

fn server_bin() -> String {
    std::env::var("RELIABILITY_SERVER_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_reliability-server").to_owned())
}

fn full() -> bool {
    std::env::var("RELIABILITY_FULL").is_ok_and(|v| v == "1")
}

async fn in_flight(addr: SocketAddr) -> usize {
    let res = get_path(addr, "/in-flight").await.expect("GET /in-flight");
    res.text().parse().expect("a number")
}

/// Fires `n` `GET /slow?ms=..` on `n` connections and waits until all are inside the handler.
async fn fire_slow(
    addr: SocketAddr,
    n: usize,
    ms: u64,
) -> (Vec<tokio::task::JoinHandle<(std::io::Result<(u16, String)>, Instant)>>, Duration) {
    let started = Instant::now();
    let request = format!("GET /slow?ms={ms} HTTP/1.1\r\nHost: x\r\n\r\n");
    let clients: Vec<_> = (0..n)
        .map(|_| {
            let request = request.clone();
            tokio::spawn(async move {
                let mut conn = Conn::connect(addr).await.expect("connect before the signal");
                let res = conn.send(request.as_bytes()).await.map(|r| (r.status, r.text()));
                (res, Instant::now())
            })
        })
        .collect();
    let all_in = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let now = in_flight(addr).await;
            if now >= n {
                return now;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    let ramp = started.elapsed();
    assert_eq!(all_in.ok(), Some(n), "not all {n} requests were inside the handler at once (ramp {ramp:?})");
    (clients, ramp)
}

/// Connects until refused (at most 2 s after `since`); then 20 more attempts must all be refused.
async fn wait_refused(addr: SocketAddr, since: Instant) -> (std::io::ErrorKind, Duration, usize) {
    let mut accepted_meanwhile = 0;
    let (kind, after) = loop {
        match tokio::net::TcpStream::connect(addr).await {
            Err(e) => break (e.kind(), since.elapsed()),
            Ok(_) if since.elapsed() < Duration::from_secs(2) => {
                accepted_meanwhile += 1;
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            Ok(_) => panic!("new connections were still accepted 2 s after the signal"),
        }
    };
    for _ in 0..20 {
        assert!(
            tokio::net::TcpStream::connect(addr).await.is_err(),
            "a connection was accepted after a refusal"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    (kind, after, accepted_meanwhile)
}

async fn drain_on_signal(signal: &str, n: usize) {
    let mut server = ServerProcess::start(&server_bin(), &[]);
    let addr = server.addr;
    let (clients, ramp) = fire_slow(addr, n, SLOW_MS).await;

    let sent = Instant::now();
    server.signal(signal);
    let (refusal, refused_after, accepted_meanwhile) = wait_refused(addr, sent).await;

    let mut ok = 0;
    let mut last_answer = Duration::ZERO;
    for client in clients {
        let (res, at) = client.await.expect("client task");
        match res {
            Ok((200, body)) if body == "slept" => ok += 1,
            other => panic!("an in-flight request was lost after SIG{signal}: {other:?}"),
        }
        last_answer = last_answer.max(at.saturating_duration_since(sent));
    }
    let exited = server.wait_exit(DEFAULT_DRAIN + Duration::from_secs(5)).await;
    let (status, exited_at) = exited.unwrap_or_else(|| {
        panic!(
            "the process was still running {:?} after SIG{signal}: {:?}",
            DEFAULT_DRAIN,
            server.stderr_tail()
        )
    });
    let exit_after = exited_at.duration_since(sent);
    assert!(status.success(), "exit status after SIG{signal}: {status}; stderr: {:?}", server.stderr_tail());
    assert_eq!(ok, n, "every in-flight request completed with 200");
    assert!(exit_after < DEFAULT_DRAIN, "exited {exit_after:?} after SIG{signal}, past the drain deadline");
    println!(
        "process SIG{signal}: pid {} with {n} requests in flight (all inside the handler {ramp:.2?} after the first connect)",
        server.pid
    );
    println!(
        "process SIG{signal}: {ok}/{n} completed with 200 (last answer {last_answer:.2?} after the signal); new connections refused ({refusal:?}) {refused_after:.2?} after the signal ({accepted_meanwhile} accepted before that); {status}, {exit_after:.2?} after the signal (drain deadline {DEFAULT_DRAIN:?})"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_drains_in_flight_requests_then_exits() {
    drain_on_signal("TERM", if full() { 1000 } else { 200 }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_drains_in_flight_requests_then_exits() {
    drain_on_signal("INT", 20).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drain_deadline_bounds_the_exit() {
    let drain = Duration::from_millis(1500);
    let mut server = ServerProcess::start(&server_bin(), &[("DRAIN_TIMEOUT_MS", "1500")]);
    let addr = server.addr;
    let (clients, _) = fire_slow(addr, 20, 60_000).await;
    let sent = Instant::now();
    server.signal("TERM");
    let (status, exited_at) = server
        .wait_exit(Duration::from_secs(20))
        .await
        .expect("the process outlived a 60 s request despite a 1.5 s drain deadline");
    let exit_after = exited_at.duration_since(sent);
    assert!(status.success(), "exit status {status}");
    assert!(exit_after >= drain, "exited {exit_after:?} after SIGTERM, before the drain deadline");
    assert!(exit_after < drain + Duration::from_secs(3), "exited {exit_after:?} after SIGTERM");
    let mut cut = 0;
    for client in clients {
        match client.await.expect("client task").0 {
            Err(_) => cut += 1,
            Ok(answer) => panic!("a 60 s request got an answer after the drain deadline: {answer:?}"),
        }
    }
    assert_eq!(cut, 20);
    println!(
        "process drain deadline: 20 requests of 60 s in flight, SIGTERM, drain deadline {drain:?}: {status} after {exit_after:.2?}; {cut}/20 connections closed without an answer"
    );
}

const CONNECTIONS: usize = 50;
const PER_CONNECTION: usize = 200;
const PANIC_BODY: &str = r#"{"detail":"Internal Server Error"}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn panic_flood_leaves_the_same_process_serving() {
    let mut server = ServerProcess::start(&server_bin(), &[]);
    let addr = server.addr;
    let pid_before = get_path(addr, "/pid").await.expect("GET /pid").text();
    assert_eq!(pid_before, server.pid.to_string(), "/pid answers the spawned process's id");

    let probe = Conn::connect(addr).await.expect("connect");
    let flood = Flood {
        request: b"GET /panic HTTP/1.1\r\nHost: x\r\n\r\n",
        expect: (500, PANIC_BODY),
        connections: CONNECTIONS,
        per_connection: PER_CONNECTION,
        probe: b"GET /json HTTP/1.1\r\nHost: x\r\n\r\n",
    };
    let Flooded { probe_samples: samples, took, answered: total, .. } = flood.run(addr, probe).await;
    assert_eq!(total, CONNECTIONS * PER_CONNECTION);

    assert!(server.alive(), "the server process died: {:?}", server.stderr_tail());
    let pid_after = get_path(addr, "/pid").await.expect("GET /pid after the flood").text();
    assert_eq!(pid_after, pid_before, "the pid changed");
    let json = get_path(addr, "/json").await.expect("GET /json after the flood");
    assert_eq!(json.status, 200);
    // The panic hook's lines reach the pipe asynchronously; give them a moment.
    let deadline = Instant::now() + Duration::from_secs(5);
    while server.stderr.panic_lines.load(Ordering::Relaxed) < total && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    println!(
        "process panics: {total} GET /panic over {CONNECTIONS} keep-alive connections: all 500 {PANIC_BODY} in {took:.2?} ({:.0} req/s); pid {pid_before} before and {pid_after} after, process alive, GET /json 200; {} stderr lines mention the panic",
        total as f64 / took.as_secs_f64(),
        server.stderr.panic_lines.load(Ordering::Relaxed)
    );
    println!("process panics: GET /json latency during the flood: {}", Latency::of(samples));
    server.signal("TERM");
    let (status, _) = server.wait_exit(Duration::from_secs(10)).await.expect("exit after SIGTERM");
    assert!(status.success());
}

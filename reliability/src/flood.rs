//! A request flood over keep-alive connections while one more connection keeps timing a healthy
//! request: how the panic tests (in-process and against a separate process) load a server.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::Conn;

/// What to send, and what every answer must be.
#[derive(Clone, Copy, Debug)]
pub struct Flood {
    /// The exact request bytes, sent again and again on each connection.
    pub request: &'static [u8],
    /// The status and body every answer must have.
    pub expect: (u16, &'static str),
    /// Keep-alive connections, each sending `per_connection` requests one after the other.
    pub connections: usize,
    /// Requests per connection.
    pub per_connection: usize,
    /// The request the probe connection times meanwhile (it must answer 200).
    pub probe: &'static [u8],
}

/// What a flood measured.
pub struct Flooded {
    /// The probe's round trips during the flood.
    pub probe_samples: Vec<Duration>,
    /// How long the flood took.
    pub took: Duration,
    /// Answers that matched `expect` (the test fails on any other).
    pub answered: usize,
    /// The probe connection, for more samples after.
    pub probe: Conn,
}

impl Flood {
    /// Runs the flood against `addr`, timing `probe` meanwhile.
    pub async fn run(self, addr: SocketAddr, mut probe: Conn) -> Flooded {
        let answered = Arc::new(AtomicUsize::new(0));
        let done = Arc::new(AtomicBool::new(false));
        let started = Instant::now();
        let senders: Vec<_> = (0..self.connections)
            .map(|_| {
                let answered = answered.clone();
                tokio::spawn(async move {
                    // One keep-alive connection each: a panic must not cost the connection.
                    let mut conn = Conn::connect(addr).await.expect("connect");
                    for _ in 0..self.per_connection {
                        let res = conn.send(self.request).await.expect("an answer to every request");
                        assert_eq!((res.status, res.text().as_str()), self.expect);
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
                    let t = Instant::now();
                    let res = probe.send(self.probe).await.expect("the probe's request");
                    samples.push(t.elapsed());
                    assert_eq!(res.status, 200);
                }
                (samples, probe)
            })
        };
        for sender in senders {
            sender.await.expect("flood connection");
        }
        let took = started.elapsed();
        done.store(true, Ordering::Relaxed);
        let (probe_samples, probe) = prober.await.expect("probe");
        Flooded { probe_samples, took, answered: answered.load(Ordering::Relaxed), probe }
    }
}

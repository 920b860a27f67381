//! Request smuggling and framing: every case of `corpus/smuggling.txt` is sent as exact bytes
//! over a raw TCP socket to its own brisk server whose handlers count what they see. Each case
//! must end as its corpus entry documents (rejected, or exactly one request accepted), and no
//! request for `/smuggled` may ever reach a handler.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use brisk::extract::BodyStream;
use brisk::http::{Method, Uri};
use brisk::prelude::*;
use reliability::corpus::{self, Case, Expect};
use reliability::{exchange, Exchange, Server};

/// What the handlers saw on one server.
#[derive(Default)]
struct Seen {
    /// Every request that reached a handler: method and target.
    entered: Vec<String>,
    /// Requests whose whole body was read without error, with the body length.
    completed: Vec<(String, usize)>,
}

#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Seen>>);

async fn record(
    State(rec): State<Recorder>,
    method: Method,
    uri: Uri,
    mut body: BodyStream,
) -> Result<String> {
    let target = format!("{method} {uri}");
    rec.0.lock().unwrap().entered.push(target.clone());
    let mut len = 0;
    while let Some(chunk) = body.next().await {
        len += chunk?.len();
    }
    rec.0.lock().unwrap().completed.push((target, len));
    Ok(format!("ok {len}"))
}

fn app(rec: Recorder) -> App {
    App::new()
        .route("/", get(record).post(record).put(record))
        .route("/smuggled", get(record).post(record))
        .fallback(record)
        .with_state(rec)
        .header_read_timeout(Duration::from_secs(3))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Rejected,
    Accepted,
    Other,
}

struct Outcome {
    case: Case,
    ex: Exchange,
    entered: Vec<String>,
    completed: Vec<(String, usize)>,
    verdict: Verdict,
}

impl Outcome {
    fn smuggled(&self) -> bool {
        self.entered.iter().any(|t| t.contains("/smuggled"))
    }

    fn passes(&self) -> bool {
        !self.smuggled()
            && match self.case.expect {
                Expect::Reject => self.verdict == Verdict::Rejected,
                Expect::Accept => self.verdict == Verdict::Accepted,
                Expect::Either => self.verdict != Verdict::Other,
            }
    }

    fn summary(&self) -> String {
        let statuses: Vec<u16> = self.ex.responses.iter().map(|r| r.status).collect();
        let how = if self.ex.closed_by_server {
            "server closed"
        } else if self.ex.closed_after_our_eof {
            "closed after our EOF"
        } else {
            "left open"
        };
        format!(
            "{:<34} expect={:<6} got={:<8} statuses={:?} {} handler_entered={} completed={:?}{}",
            self.case.name,
            format!("{:?}", self.case.expect).to_lowercase(),
            format!("{:?}", self.verdict).to_lowercase(),
            statuses,
            how,
            self.entered.len(),
            self.completed.iter().map(|(_, n)| *n).collect::<Vec<_>>(),
            if self.ex.trailing.is_empty() {
                String::new()
            } else {
                format!(" trailing={:?}", String::from_utf8_lossy(&self.ex.trailing))
            },
        )
    }
}

fn judge(ex: &Exchange, entered: &[String], completed: &[(String, usize)]) -> Verdict {
    let any_success = ex.responses.iter().any(|r| r.status < 400);
    let first_error = ex.responses.first().is_some_and(|r| r.status >= 400);
    let closed = ex.closed_by_server || ex.closed_after_our_eof;
    if completed.is_empty() && !any_success && (first_error || (ex.responses.is_empty() && closed)) {
        return Verdict::Rejected;
    }
    let ok = ex.responses.len() == 1 && (200..300).contains(&ex.responses[0].status);
    if entered.len() == 1 && completed.len() == 1 && ok {
        return Verdict::Accepted;
    }
    Verdict::Other
}

async fn run_case(case: Case) -> Outcome {
    let rec = Recorder::default();
    let server = Server::start(app(rec.clone())).await;
    let addr: SocketAddr = server.addr;
    let ex =
        exchange(addr, &case.bytes, Duration::from_millis(500)).await.expect("connect to the test server");
    // The server is still healthy for a well-formed request afterwards.
    let health = reliability::get_path(addr, "/").await.map(|r| r.status).ok();
    assert_eq!(health, Some(200), "{}: server unhealthy after the case", case.name);
    server.stop().await;
    let seen = rec.0.lock().unwrap();
    // Remove the health check's own request from the record.
    let mut entered = seen.entered.clone();
    let mut completed = seen.completed.clone();
    entered.pop();
    completed.pop();
    let verdict = judge(&ex, &entered, &completed);
    Outcome { case, ex, entered, completed, verdict }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn smuggling_corpus() {
    let text = include_str!("../corpus/smuggling.txt");
    let cases = corpus::parse(text).expect("corpus parses");
    assert!(cases.len() >= 50, "the corpus must hold at least 50 cases, has {}", cases.len());
    let started = Instant::now();
    let outcomes = futures_util::future::join_all(cases.into_iter().map(|c| tokio::spawn(run_case(c))))
        .await
        .into_iter()
        .map(|r| r.expect("case task"))
        .collect::<Vec<_>>();
    let elapsed = started.elapsed();
    let mut failures = Vec::new();
    for o in &outcomes {
        println!("{} {}", if o.passes() { "PASS" } else { "FAIL" }, o.summary());
        if !o.passes() {
            failures.push(o.summary());
        }
    }
    let rejected = outcomes.iter().filter(|o| o.verdict == Verdict::Rejected).count();
    let accepted = outcomes.iter().filter(|o| o.verdict == Verdict::Accepted).count();
    let smuggled = outcomes.iter().filter(|o| o.smuggled()).count();
    println!(
        "smuggling corpus: {} cases, {rejected} rejected, {accepted} accepted once, {smuggled} reached /smuggled, {} failed, in {:.2?}",
        outcomes.len(),
        failures.len(),
        elapsed
    );
    assert!(failures.is_empty(), "{} case(s) failed:\n{}", failures.len(), failures.join("\n"));
}

//! Announcing an enqueue: this process's workers are woken at once, and on PostgreSQL every
//! other process's listener (`LISTEN brisk_jobs`) hears of it by a `NOTIFY` sent just after
//! the enqueue's commit, by a task of this process, never by the enqueue's own transaction.
//!
//! PostgreSQL serializes the commits of transactions that notified (a database-wide lock held
//! to the end of each commit), and a notification costs the server more than the job's row:
//! with the `NOTIFY` in the enqueue's statement, 16 producers each committing its own job made
//! 3,300 jobs/s in `bench/run --jobs`, and 6,060 without it (PostgreSQL's CPU 162 against 67 µs
//! a job). So an enqueue only names its queue after the commit; one task per process and
//! database sends the notifications, one statement at a time, each for every queue enqueued to
//! since the previous round began, at most one round per [`GAP`] (2 ms): a lone enqueue is
//! announced right after its commit, a burst costs one notification per queue every 2 ms. A
//! process that dies between a commit and its notification leaves the job to the workers'
//! polling: found later, never lost.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use brisk_orm::{Database, Dialect, Raw};

use crate::listen::CHANNEL;

/// The queues of one database waiting to be announced, and whether a task is sending.
#[derive(Default)]
struct Pending {
    queues: BTreeSet<String>,
    sending: bool,
}

/// Each database's pending queues, by URL.
static SENDERS: LazyLock<Mutex<HashMap<String, Arc<Mutex<Pending>>>>> = LazyLock::new(Mutex::default);

fn pending_of(url: &str) -> Arc<Mutex<Pending>> {
    let mut senders = SENDERS.lock().unwrap_or_else(|p| p.into_inner());
    senders.entry(url.to_owned()).or_default().clone()
}

/// Tells the workers that a job was enqueued (committed) on `queue`.
pub(crate) fn announce(db: &Database, queue: &str) {
    crate::wake::wake_local(db.url(), queue);
    if db.dialect() != Dialect::Postgres {
        return;
    }
    // Outside a runtime there is no task to send with: the other processes poll.
    let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
    let pending = pending_of(db.url());
    let start = {
        let mut p = pending.lock().unwrap_or_else(|p| p.into_inner());
        p.queues.insert(queue.to_owned());
        !std::mem::replace(&mut p.sending, true)
    };
    if start {
        runtime.spawn(send(db.clone(), Sending { pending, finished: false }));
    }
}

/// The sending task's claim on its database's queue set: given up when the task finds nothing
/// left to send, or when its runtime drops it midway (the next enqueue then starts another).
struct Sending {
    pending: Arc<Mutex<Pending>>,
    finished: bool,
}

impl Drop for Sending {
    fn drop(&mut self) {
        // After a normal end the claim is given up already, and may be another task's now.
        if !self.finished {
            self.pending.lock().unwrap_or_else(|p| p.into_inner()).sending = false;
        }
    }
}

/// At most one round of notifications per this long. The first enqueue after a quiet spell
/// is announced at once; during a burst, the enqueues of each gap share one notification per
/// queue. An idle worker of another process hears of a job at most this much later; a busy one
/// claims again as its jobs finish and needs no notification. (Sent back to back, a burst of
/// 16 producers made ~2,000 notifications a second: a third of PostgreSQL's work per job.)
pub(crate) const GAP: Duration = Duration::from_millis(2);

async fn send(db: Database, mut sending: Sending) {
    loop {
        let queues = {
            let mut p = sending.pending.lock().unwrap_or_else(|p| p.into_inner());
            if p.queues.is_empty() {
                p.sending = false;
                sending.finished = true;
                return;
            }
            std::mem::take(&mut p.queues)
        };
        let round = tokio::time::Instant::now();
        for queue in queues {
            let sent =
                Raw::new("SELECT pg_notify(?, ?)").bind(CHANNEL.to_owned()).bind(queue).execute(&db).await;
            if let Err(e) = sent {
                tracing::debug!(target: "brisk_jobs", error = %e, "could not notify the workers (they poll)");
            }
        }
        tokio::time::sleep_until(round + GAP).await;
    }
}

#[cfg(test)]
mod tests {
    use brisk_orm::testing::TestDatabase;
    use futures_util::StreamExt;
    use tokio_postgres::AsyncMessage;

    use super::*;

    /// The notifications `url`'s `brisk_jobs` channel carries while `during` runs, and for
    /// 300 ms after.
    async fn heard(url: &str, during: impl std::future::Future<Output = ()>) -> Vec<String> {
        let (client, mut connection) =
            tokio_postgres::connect(url, tokio_postgres::NoTls).await.expect("listener");
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let driver = tokio::spawn(async move {
            let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
            while let Some(Ok(message)) = messages.next().await {
                if let AsyncMessage::Notification(n) = message {
                    let _ = tx.send(n.payload().to_owned());
                }
            }
        });
        client.batch_execute(&format!("LISTEN {CHANNEL}")).await.expect("listen");
        during.await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        driver.abort();
        let mut out = Vec::new();
        while let Ok(queue) = rx.try_recv() {
            out.push(queue);
        }
        out
    }

    /// Announcements made while a notification is being sent are sent together: one per
    /// queue, however many enqueues named it.
    #[tokio::test]
    async fn a_burst_of_announcements_is_one_notification_per_queue() {
        let test = TestDatabase::empty_postgres().await.expect("pg");
        let db = test.database();
        let heard = heard(test.url(), async {
            for _ in 0..50 {
                announce(&db, "default");
                announce(&db, "mail");
            }
        })
        .await;
        assert_eq!(heard, ["default", "mail"]);
        // Later announcements are sent again.
        let again = super::tests::heard(test.url(), async { announce(&db, "mail") }).await;
        assert_eq!(again, ["mail"]);
    }

    /// A stream of announcements is sent at most once per [`GAP`] (not back to back, one per
    /// round trip), and still sent all along, not only at its end.
    #[tokio::test]
    async fn a_stream_of_announcements_is_sent_once_per_gap() {
        let test = TestDatabase::empty_postgres().await.expect("pg");
        let db = test.database();
        let stream = Duration::from_millis(100);
        let heard = heard(test.url(), async {
            let started = tokio::time::Instant::now();
            while started.elapsed() < stream {
                announce(&db, "default");
                tokio::task::yield_now().await;
            }
        })
        .await;
        let most = (stream.as_millis() / GAP.as_millis()) as usize + 2;
        assert!(heard.len() <= most, "{} notifications in {stream:?}, at most {most}", heard.len());
        assert!(heard.len() >= 5, "sent during the stream: {}", heard.len());
    }

    /// A notification PostgreSQL cannot take (the server is not there) is given up without
    /// a panic, and the sender lets the next announcement start another.
    #[tokio::test]
    async fn an_unreachable_database_costs_the_notification_only() {
        let db = Database::open("postgres://postgres@127.0.0.1:1/nowhere").expect("a URL");
        announce(&db, "default");
        let pending = pending_of(db.url());
        for _ in 0..100 {
            if !pending.lock().expect("not poisoned").sending {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let p = pending.lock().expect("not poisoned");
        assert!(!p.sending && p.queues.is_empty(), "the sender ended and kept nothing");
    }

    /// A sending task dropped before it ran (its runtime shut down) gives up its claim: the
    /// next announcement, on another runtime, is sent.
    #[test]
    fn a_sender_dropped_with_its_runtime_does_not_silence_the_next_announcements() {
        let runtime = || tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let first = runtime();
        let test = first.block_on(TestDatabase::empty_postgres()).expect("pg");
        let db = test.database();
        first.block_on(async { announce(&db, "default") }); // spawned, never polled
        drop(first);
        assert!(!pending_of(test.url()).lock().expect("not poisoned").sending);
        let heard = runtime().block_on(heard(test.url(), async { announce(&db, "default") }));
        assert_eq!(heard, ["default"]);
    }
}

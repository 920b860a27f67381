//! PostgreSQL's shared connections: each thread's queries go out on one of them, so the
//! queries of one request are pipelined together on one connection.

mod support;

use std::collections::BTreeSet;

use brisk_orm::prelude::*;
use brisk_orm::{DbOptions, Raw};

/// The PostgreSQL server process answering each of `n` queries run one after another on this
/// thread's runtime.
async fn backends(db: &Database, n: usize) -> BTreeSet<i32> {
    let mut pids = BTreeSet::new();
    for _ in 0..n {
        let rows: Vec<(i32,)> = Raw::new("SELECT pg_backend_pid()").fetch(db).await.expect("runs");
        pids.insert(rows[0].0);
    }
    pids
}

/// Runs `backends` on a thread of its own, sends the answer, and keeps that thread's runtime
/// (which drives the connection it opened) running until `stop` fires.
fn on_its_own_thread(
    db: Database,
    answer: std::sync::mpsc::Sender<BTreeSet<i32>>,
    stop: tokio::sync::oneshot::Receiver<()>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        runtime.block_on(async {
            // Concurrent queries too, as a request's `try_join_all` sends them.
            let together = futures_util::future::join_all((0..8).map(|_| backends(&db, 1))).await;
            let mut pids = backends(&db, 8).await;
            pids.extend(together.into_iter().flatten());
            answer.send(pids).expect("the test waits");
            let _ = stop.await;
        })
    })
}

#[test]
fn a_threads_queries_share_one_connection_and_threads_spread_over_the_others() {
    let options = DbOptions { connections: Some(2), ..Default::default() };
    let db = Database::open_with(&support::admin_url(), options).expect("opens");
    let (answer, answers) = std::sync::mpsc::channel();
    let (stop_first, first_stops) = tokio::sync::oneshot::channel();
    let (stop_second, second_stops) = tokio::sync::oneshot::channel();
    let first_thread = on_its_own_thread(db.clone(), answer.clone(), first_stops);
    let first = answers.recv().expect("answer");
    // The first thread's connection is still open (its runtime runs) while the second queries.
    let second_thread = on_its_own_thread(db, answer, second_stops);
    let second = answers.recv().expect("answer");
    let _ = (stop_first.send(()), stop_second.send(()));
    first_thread.join().expect("thread");
    second_thread.join().expect("thread");
    assert_eq!(first.len(), 1, "one connection for every query of a thread: {first:?}");
    assert_eq!(second.len(), 1, "one connection for every query of a thread: {second:?}");
    assert_ne!(first, second, "the next thread to query uses the other connection");
}

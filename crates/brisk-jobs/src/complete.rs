//! Successful attempts, written in batches: each finished job hands its (id, attempt) to one
//! writer task per runner and waits for the write; the writer puts everything that finished
//! while its previous statement ran into the next one. Under load one `UPDATE` records many
//! jobs; alone, a job waits for nothing but its own statement.

use brisk_orm::Database;
use tokio::sync::{mpsc, oneshot};

use crate::store;

/// At most this many jobs per statement.
const MAX_BATCH: usize = 256;

/// One successful attempt, and where to say whether it was written.
struct Done {
    id: i64,
    attempt: i64,
    written: oneshot::Sender<Result<(), String>>,
}

/// The runner's side of the writer: hands a finished attempt to it.
#[derive(Clone)]
pub(crate) struct Completions {
    sender: mpsc::UnboundedSender<Done>,
    keep: bool,
}

/// The writer's side, consumed by [`write`].
pub(crate) struct Writer {
    receiver: mpsc::UnboundedReceiver<Done>,
    keep: bool,
}

/// `keep`: whether successful jobs keep their rows ([`Settings::keeps_done`](crate::settings::Settings::keeps_done)).
pub(crate) fn channel(keep: bool) -> (Completions, Writer) {
    let (sender, receiver) = mpsc::unbounded_channel();
    (Completions { sender, keep }, Writer { receiver, keep })
}

impl Completions {
    /// Records attempt `attempt` of job `id` as done and waits until it is written (or the
    /// write failed: the error's text). When the writer has stopped, writes it alone.
    pub(crate) async fn complete(
        &self,
        db: &Database,
        worker: &str,
        id: i64,
        attempt: i64,
    ) -> Result<(), String> {
        let (written, answer) = oneshot::channel();
        if self.sender.send(Done { id, attempt, written }).is_ok() {
            if let Ok(result) = answer.await {
                return result;
            }
        }
        store::complete(db, &[(id, attempt)], worker, self.keep).await.map(|_| ()).map_err(|e| e.to_string())
    }
}

/// Writes the attempts handed to `writer`, in batches, until every [`Completions`] is gone.
pub(crate) async fn write(db: Database, worker: String, mut writer: Writer) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let mut pairs = Vec::with_capacity(MAX_BATCH);
    while writer.receiver.recv_many(&mut batch, MAX_BATCH).await > 0 {
        pairs.clear();
        pairs.extend(batch.iter().map(|d| (d.id, d.attempt)));
        let result =
            store::complete(&db, &pairs, &worker, writer.keep).await.map(|_| ()).map_err(|e| e.to_string());
        for done in batch.drain(..) {
            let _ = done.written.send(result.clone());
        }
    }
}

//! PostgreSQL's `LISTEN brisk_jobs` on a connection of its own: the `NOTIFY` that follows an
//! enqueue's commit (`crate::notify`, with the queue's name) wakes that queue's claim loop at
//! once. The
//! connection is made again after it breaks (with a wake-up of every queue, for what was
//! missed meanwhile); the claim loops also poll, so nothing waits forever on a lost message.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio_postgres::AsyncMessage;

use crate::wake::Wakers;

/// The channel enqueues notify.
pub(crate) const CHANNEL: &str = "brisk_jobs";

/// Listens until dropped.
pub(crate) async fn listen(url: String, wakers: Arc<Wakers>) {
    let mut pause = Duration::from_millis(250);
    loop {
        match listen_once(&url, &wakers).await {
            Ok(()) => pause = Duration::from_millis(250),
            Err(e) => {
                tracing::warn!(target: "brisk_jobs", error = %e, "LISTEN connection failed; polling meanwhile");
                pause = (pause * 2).min(Duration::from_secs(10));
            }
        }
        tokio::time::sleep(pause).await;
    }
}

/// One connection's life: `Ok` when the server closed it.
async fn listen_once(url: &str, wakers: &Wakers) -> Result<(), tokio_postgres::Error> {
    let (client, mut connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Result<String, tokio_postgres::Error>>();
    let driver = tokio::spawn(async move {
        let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(message) = messages.next().await {
            let sent = match message {
                Ok(AsyncMessage::Notification(n)) => tx.send(Ok(n.payload().to_owned())),
                Ok(_) => Ok(()),
                Err(e) => {
                    let _ = tx.send(Err(e));
                    break;
                }
            };
            if sent.is_err() {
                break;
            }
        }
    });
    let _stop_driver = AbortOnDrop(driver);
    client.batch_execute(&format!("LISTEN {CHANNEL}")).await?;
    // Whatever was enqueued while not listening.
    for queue in wakers.queues.keys() {
        wakers.wake(queue);
    }
    while let Some(message) = rx.recv().await {
        wakers.wake(&message?);
    }
    Ok(())
}

/// Aborts a task when dropped.
pub(crate) struct AbortOnDrop<T>(pub(crate) tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

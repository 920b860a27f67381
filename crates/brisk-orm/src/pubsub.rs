//! [`PgBroker`]: brisk's pub/sub [`Broker`] on PostgreSQL `LISTEN/NOTIFY`, for apps that run
//! many processes on PostgreSQL without Redis.
//!
//! ```no_run
//! use brisk::prelude::*;
//! use brisk_orm::pubsub::PgBroker;
//!
//! # fn main() -> Result<(), brisk_orm::Error> {
//! // DATABASE_URL=postgres://app@db/app
//! let app = App::new().broker(PgBroker::from_env()?);
//! # Ok(()) }
//! ```
//!
//! One dedicated connection per broker (per process) listens to the channels its subscribers
//! asked for and fans notifications out to them; publishing is `SELECT pg_notify($1, $2)` on
//! it. When the connection is lost (PostgreSQL restarted), the broker connects again with
//! backoff, listens again, and gives every subscriber a [`Delivery::Gap`]: what was published
//! meanwhile is lost, and a subscriber that must not miss anything re-reads the state it
//! shows. PostgreSQL delivers a notification only when the publishing transaction commits
//! (here it is its own).
//!
//! ## Limits
//!
//! - **Channels**: any name works, as with Redis and the local broker. A PostgreSQL channel is
//!   an identifier of at most 63 bytes, so a longer name (or an empty one, one with a NUL, or
//!   one starting with `brisk:h:`) is listened to and notified as `brisk:h:` and the hex of
//!   its SHA-256 (the first 48 digits): the same on every process, and no other name maps to
//!   it. [`pg_channel`] tells which identifier a name becomes.
//! - **Payloads**: PostgreSQL keeps a payload of text (UTF-8, no NUL) under 8000 bytes. A
//!   larger one is refused with `413 Payload Too Large` (Redis and the local broker take it):
//!   publish an id and let subscribers read the rest from the database. A payload that is
//!   not such text is refused with `422`.

use std::str::FromStr;
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use brisk::handler::BoxFuture;
use brisk::pubsub::{fanout_subscription, Broker, Delivery, Fanout, FanoutOwner, Subscription};
use bytes::Bytes;
use futures_util::StreamExt;
use tokio::sync::{mpsc, oneshot, watch};
use tokio_postgres::{AsyncMessage, Client, NoTls};

use crate::error::Error;

/// The largest payload PostgreSQL's `NOTIFY` takes, in bytes (it must be shorter than 8000);
/// a larger one is refused with `413 Payload Too Large`.
pub const MAX_PAYLOAD: usize = 7999;
/// The longest channel name PostgreSQL keeps (an identifier: 63 bytes); a longer name is
/// hashed into one (see [`pg_channel`]).
pub const MAX_CHANNEL: usize = 63;
/// The start of a hashed channel identifier (see [`pg_channel`]).
const HASHED: &str = "brisk:h:";

const MIN_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_secs(2);
/// How often an idle connection is checked with `SELECT 1`.
const KEEPALIVE: Duration = Duration::from_secs(5);

/// Publish/subscribe across processes on PostgreSQL `LISTEN/NOTIFY`; clones share the
/// connection. See [the module](self).
#[derive(Clone)]
pub struct PgBroker(Arc<Shared>);

impl std::fmt::Debug for PgBroker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgBroker").field("url", &self.0.url).finish_non_exhaustive()
    }
}

struct Shared {
    config: tokio_postgres::Config,
    url: String,
    connect_timeout: Duration,
    retry_after: Duration,
    /// The channels with local subscribers.
    fanout: Fanout,
    /// The connection while it is up.
    client: watch::Sender<Option<Arc<Client>>>,
    /// Orders for the connection's task, started on first use.
    commands: OnceLock<mpsc::UnboundedSender<Command>>,
}

enum Command {
    /// `LISTEN`; answers whether it did.
    Listen(String, oneshot::Sender<bool>),
    /// `UNLISTEN`, unless someone here listens again meanwhile.
    Unlisten(String),
}

impl PgBroker {
    /// The broker on the PostgreSQL at `url` (`postgres://user:pass@host:5432/name`). Only
    /// checks the URL; connects on first use.
    pub fn new(url: &str) -> Result<PgBroker, Error> {
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(Error::Config("PgBroker needs a postgres:// URL".into()));
        }
        let mut config = tokio_postgres::Config::from_str(url)
            .map_err(|e| Error::Config(format!("the PostgreSQL URL of the broker: {e}")))?;
        // Named, so it can be told apart in pg_stat_activity (unless the URL names it).
        if config.get_application_name().is_none() {
            config.application_name("brisk-pubsub");
        }
        let url = brisk::logging::redact_url(url);
        Ok(PgBroker(Arc::new(Shared {
            config,
            url,
            connect_timeout: Duration::from_secs(2),
            retry_after: Duration::from_secs(1),
            fanout: Fanout::default(),
            client: watch::Sender::new(None),
            commands: OnceLock::new(),
        })))
    }

    /// The broker on `DATABASE_URL`, which must be a PostgreSQL one.
    pub fn from_env() -> Result<PgBroker, Error> {
        let url = std::env::var("DATABASE_URL")
            .map_err(|_| Error::Config("DATABASE_URL is not set (PgBroker needs PostgreSQL)".into()))?;
        PgBroker::new(&url)
    }

    fn orders(&self) -> &mpsc::UnboundedSender<Command> {
        self.0.commands.get_or_init(|| {
            let (sender, receiver) = mpsc::unbounded_channel();
            tokio::spawn(drive(Arc::downgrade(&self.0), receiver));
            sender
        })
    }

    fn unavailable(&self) -> brisk::Error {
        brisk::Error::unavailable(self.0.retry_after)
    }

    /// The connection, waiting for it a little when it is being made.
    async fn client(&self) -> Option<Arc<Client>> {
        self.orders();
        let mut up = self.0.client.subscribe();
        let waited = tokio::time::timeout(self.0.connect_timeout, up.wait_for(Option::is_some)).await;
        let current = waited.ok()?.ok()?;
        current.clone()
    }
}

/// The PostgreSQL channel a broker channel is listened to and notified on: `channel` itself
/// when PostgreSQL can take it (1 to 63 bytes, no NUL), else `brisk:h:` and the first 48 hex
/// digits of its SHA-256 (56 bytes). A name that starts with `brisk:h:` is hashed too, so no
/// name can pass for another's hash.
///
/// ```
/// use brisk_orm::pubsub::pg_channel;
/// assert_eq!(pg_channel("orders"), "orders");
/// let long = "room:".repeat(20);
/// assert!(pg_channel(&long).starts_with("brisk:h:") && pg_channel(&long).len() <= 63);
/// ```
pub fn pg_channel(channel: &str) -> std::borrow::Cow<'_, str> {
    use sha2::{Digest, Sha256};
    use std::fmt::Write as _;
    let usable = !channel.is_empty()
        && channel.len() <= MAX_CHANNEL
        && !channel.contains('\0')
        && !channel.starts_with(HASHED);
    if usable {
        return std::borrow::Cow::Borrowed(channel);
    }
    let digest = Sha256::digest(channel.as_bytes());
    let mut name = String::with_capacity(HASHED.len() + 48);
    name.push_str(HASHED);
    for byte in &digest[..24] {
        let _ = write!(name, "{byte:02x}");
    }
    std::borrow::Cow::Owned(name)
}

/// `channel` as a quoted identifier (`LISTEN "a ""b"""`), so any name is taken literally.
fn quoted(channel: &str) -> String {
    format!("\"{}\"", channel.replace('"', "\"\""))
}

/// `payload` as the text `NOTIFY` takes.
fn payload_text(payload: &[u8]) -> Result<&str, brisk::Error> {
    if payload.len() > MAX_PAYLOAD {
        return Err(brisk::Error::http(
            brisk::http::StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "a PostgreSQL NOTIFY payload must be shorter than 8000 bytes, this one has {}: publish an \
                 id and let subscribers read the rest from the database",
                payload.len()
            ),
        ));
    }
    match std::str::from_utf8(payload) {
        Ok(text) if !text.contains('\0') => Ok(text),
        _ => Err(brisk::Error::http(
            brisk::http::StatusCode::UNPROCESSABLE_ENTITY,
            "a PostgreSQL NOTIFY payload is text: UTF-8 without NUL bytes",
        )),
    }
}

impl FanoutOwner for Shared {
    fn fanout(&self) -> &Fanout {
        &self.fanout
    }

    /// `UNLISTEN`, unless someone here listens again meanwhile.
    fn left(&self, channel: String) {
        if let Some(orders) = self.commands.get() {
            let _ = orders.send(Command::Unlisten(channel));
        }
    }
}

impl Broker for PgBroker {
    fn publish<'a>(&'a self, channel: &'a str, payload: Bytes) -> BoxFuture<'a, Result<(), brisk::Error>> {
        Box::pin(async move {
            let channel = pg_channel(channel);
            let channel: &str = &channel;
            let text = payload_text(&payload)?;
            let client = self.client().await.ok_or_else(|| self.unavailable())?;
            let params: [&(dyn tokio_postgres::types::ToSql + Sync); 2] = [&channel, &text];
            let sent = client.execute("SELECT pg_notify($1, $2)", &params);
            match tokio::time::timeout(self.0.connect_timeout, sent).await {
                Ok(Ok(_)) => Ok(()),
                Ok(Err(e)) if !e.is_closed() && e.as_db_error().is_some() => {
                    Err(brisk::Error::internal(format!("pg_notify on {}: {e}", self.0.url)))
                }
                _ => Err(self.unavailable()),
            }
        })
    }

    fn subscribe<'a>(&'a self, channel: &'a str) -> BoxFuture<'a, Result<Subscription, brisk::Error>> {
        Box::pin(async move {
            // Keyed, listened to and delivered under the PostgreSQL name throughout.
            let channel = pg_channel(channel);
            let channel: &str = &channel;
            let receiver = self.0.fanout.join(channel);
            // From here on the stream's drop takes care of leaving again, whatever happens.
            let stream = fanout_subscription(receiver, channel.to_owned(), Arc::downgrade(&self.0));
            let (done, listening) = oneshot::channel();
            if self.orders().send(Command::Listen(channel.to_owned(), done)).is_ok()
                && matches!(tokio::time::timeout(self.0.connect_timeout * 2, listening).await, Ok(Ok(true)))
            {
                return Ok(stream);
            }
            Err(self.unavailable())
        })
    }
}

/// The connection's task: connect, listen to every channel, fan notifications out, follow
/// orders; on loss, connect again with backoff and signal a gap. Ends with the broker.
async fn drive(shared: Weak<Shared>, mut orders: mpsc::UnboundedReceiver<Command>) {
    let mut connected_before = false;
    let mut backoff = MIN_BACKOFF;
    loop {
        let Some(config) = shared.upgrade().map(|s| (s.config.clone(), s.connect_timeout)) else { return };
        if let Some((client, mut notifications, polling)) = open(&shared, config.0, config.1).await {
            let Some(owner) = shared.upgrade() else { return };
            owner.client.send_replace(Some(client.clone()));
            if connected_before {
                tracing::info!(target: "brisk_orm", "LISTEN connection made again; subscribers get a gap");
                owner.fanout.gap_everywhere();
            }
            drop(owner);
            connected_before = true;
            backoff = MIN_BACKOFF;
            let lost = serve(&shared, &client, &mut notifications, &mut orders, config.1).await;
            polling.abort();
            if let Some(owner) = shared.upgrade() {
                owner.client.send_replace(None);
            }
            if !lost {
                return;
            }
            tracing::warn!(target: "brisk_orm", "LISTEN connection lost; connecting again");
        }
        let pause = tokio::time::sleep(backoff);
        tokio::pin!(pause);
        loop {
            tokio::select! {
                () = &mut pause => break,
                order = orders.recv() => match order {
                    None => return,
                    Some(Command::Listen(_, done)) => { let _ = done.send(false); }
                    Some(Command::Unlisten(_)) => {}
                },
            }
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

type Notifications = mpsc::UnboundedReceiver<(String, String)>;

/// A connection listening to every channel listened to here, the notifications it receives,
/// and the task that drives it.
async fn open(
    shared: &Weak<Shared>,
    config: tokio_postgres::Config,
    timeout: Duration,
) -> Option<(Arc<Client>, Notifications, tokio::task::JoinHandle<()>)> {
    let (client, mut connection) = match tokio::time::timeout(timeout, config.connect(NoTls)).await {
        Ok(Ok(made)) => made,
        Ok(Err(e)) => {
            tracing::debug!(target: "brisk_orm", error = %e, "LISTEN connection failed");
            return None;
        }
        Err(_) => return None,
    };
    let (sender, notifications) = mpsc::unbounded_channel();
    let polling = tokio::spawn(async move {
        let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(message) = messages.next().await {
            match message {
                Ok(AsyncMessage::Notification(n)) => {
                    if sender.send((n.channel().to_owned(), n.payload().to_owned())).is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::debug!(target: "brisk_orm", error = %e, "LISTEN connection closed");
                    return;
                }
            }
        }
    });
    let channels: Vec<String> = shared.upgrade()?.fanout.channels();
    if !channels.is_empty() {
        let listen: String = channels.iter().map(|c| format!("LISTEN {};", quoted(c))).collect();
        if !matches!(tokio::time::timeout(timeout, client.batch_execute(&listen)).await, Ok(Ok(()))) {
            polling.abort();
            return None;
        }
    }
    Some((Arc::new(client), notifications, polling))
}

/// Runs the connection until it is lost (`true`) or the broker is gone (`false`).
async fn serve(
    shared: &Weak<Shared>,
    client: &Client,
    notifications: &mut Notifications,
    orders: &mut mpsc::UnboundedReceiver<Command>,
    timeout: Duration,
) -> bool {
    let mut keepalive = tokio::time::interval(KEEPALIVE);
    keepalive.reset();
    loop {
        tokio::select! {
            note = notifications.recv() => {
                let Some((channel, payload)) = note else { return true };
                let Some(shared) = shared.upgrade() else { return false };
                shared.fanout.deliver(&channel, Delivery::Message(Bytes::from(payload)));
            }
            order = orders.recv() => match order {
                None => return false,
                Some(Command::Listen(channel, done)) => {
                    let listen = format!("LISTEN {}", quoted(&channel));
                    let ok = matches!(tokio::time::timeout(timeout, client.batch_execute(&listen)).await, Ok(Ok(())));
                    let _ = done.send(ok);
                    if !ok {
                        return true;
                    }
                }
                Some(Command::Unlisten(channel)) => {
                    let Some(shared) = shared.upgrade() else { return false };
                    let listened = shared.fanout.is_listened(&channel);
                    drop(shared);
                    let unlisten = format!("UNLISTEN {}", quoted(&channel));
                    if !listened
                        && !matches!(tokio::time::timeout(timeout, client.batch_execute(&unlisten)).await, Ok(Ok(())))
                    {
                        return true;
                    }
                }
            },
            _ = keepalive.tick() => {
                if !matches!(tokio::time::timeout(timeout, client.simple_query("SELECT 1")).await, Ok(Ok(_))) {
                    return true;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_postgresql_cannot_take_are_hashed_and_names_quoted() {
        assert_eq!(pg_channel("orders"), "orders");
        assert_eq!(pg_channel(&"x".repeat(63)), "x".repeat(63));
        let long = "x".repeat(64);
        let hashed = pg_channel(&long);
        assert!(hashed.starts_with(HASHED) && hashed.len() == 56, "{hashed}");
        assert_eq!(pg_channel(&long), hashed, "stable");
        assert_ne!(pg_channel(&"x".repeat(65)), hashed);
        for odd in ["", "a\0b"] {
            assert!(pg_channel(odd).starts_with(HASHED));
        }
        // A name cannot pass for another's hash.
        assert_ne!(pg_channel(&hashed), hashed);
        assert_eq!(quoted(r#"we"ird"#), r#""we""ird""#);
    }

    #[test]
    fn payloads_are_text_under_8000_bytes() {
        assert_eq!(payload_text(b"hello").ok(), Some("hello"));
        assert!(payload_text(&[b'a'; 7999]).is_ok());
        let big = payload_text(&[b'a'; 8000]).expect_err("too big");
        assert!(format!("{big:?}").contains("8000 bytes"));
        assert!(payload_text(&[0xff, 0xfe]).is_err());
        assert!(payload_text(b"a\0b").is_err());
    }

    fn url(application: &str) -> String {
        let admin = crate::testing::postgres_admin_url();
        let sep = if admin.contains('?') { '&' } else { '?' };
        format!("{admin}{sep}application_name={application}")
    }

    fn unique(name: &str) -> String {
        let nanos =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        format!("{name}_{}_{}", std::process::id(), nanos % 1_000_000_000_000)
    }

    async fn next(sub: &mut Subscription) -> Option<Delivery> {
        tokio::time::timeout(Duration::from_secs(10), sub.next()).await.expect("a delivery within 10 s")
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_subscriber_on_one_broker_receives_what_another_publishes() {
        let channel = unique("brisk test \"chan\"");
        let (a, b) = (PgBroker::new(&url("t1")).expect("URL"), PgBroker::new(&url("t1")).expect("URL"));
        let mut first = a.subscribe(&channel).await.expect("subscribe");
        let mut second = a.subscribe(&channel).await.expect("subscribe");
        let mut other = a.subscribe(&format!("{channel}x")).await.expect("subscribe");
        b.publish(&channel, Bytes::from_static(b"hello")).await.expect("publish");
        b.publish(&format!("{channel}x"), Bytes::from_static(b"elsewhere")).await.expect("publish");
        b.publish(&channel, Bytes::from_static(b"again")).await.expect("publish");
        for sub in [&mut first, &mut second] {
            assert_eq!(next(sub).await, Some(Delivery::Message(Bytes::from_static(b"hello"))));
            assert_eq!(next(sub).await, Some(Delivery::Message(Bytes::from_static(b"again"))));
        }
        assert_eq!(next(&mut other).await, Some(Delivery::Message(Bytes::from_static(b"elsewhere"))));

        let err = b.publish(&channel, Bytes::from(vec![b'a'; 8000])).await.expect_err("too big");
        assert_eq!(err.status(), 413);
        drop(a);
        assert_eq!(next(&mut first).await, None, "the subscription ends with the broker");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_lost_connection_comes_back_with_a_gap() {
        let application = unique("brisk_gap");
        let channel = unique("gap");
        let broker = PgBroker::new(&url(&application)).expect("URL");
        let publisher = PgBroker::new(&url("t2")).expect("URL");
        let mut sub = broker.subscribe(&channel).await.expect("subscribe");
        publisher.publish(&channel, Bytes::from_static(b"before")).await.expect("publish");
        assert_eq!(next(&mut sub).await, Some(Delivery::Message(Bytes::from_static(b"before"))));

        // The server ends the listening connection, as a restart would.
        let admin = crate::Database::open(&crate::testing::postgres_admin_url()).expect("admin URL");
        let killed: Vec<(bool,)> = crate::Raw::new(format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '{application}'"
        ))
        .fetch(&admin)
        .await
        .expect("pg_terminate_backend");
        assert_eq!(killed, vec![(true,)], "one listening connection");

        assert_eq!(next(&mut sub).await, Some(Delivery::Gap), "told it may have missed messages");
        publisher.publish(&channel, Bytes::from_static(b"after")).await.expect("publish");
        assert_eq!(next(&mut sub).await, Some(Delivery::Message(Bytes::from_static(b"after"))));
        // The broker publishes again too.
        broker.publish(&channel, Bytes::from_static(b"own")).await.expect("publish");
        assert_eq!(next(&mut sub).await, Some(Delivery::Message(Bytes::from_static(b"own"))));
    }

    #[test]
    fn only_postgres_urls() {
        assert!(PgBroker::new("sqlite://app.db").is_err());
        let broker = PgBroker::new("postgres://u:secret@127.0.0.1:5432/db").expect("a URL");
        assert!(!format!("{broker:?}").contains("secret"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn long_channels_work_and_a_big_payload_is_a_413() {
        let (a, b) = (PgBroker::new(&url("t3")).expect("URL"), PgBroker::new(&url("t3")).expect("URL"));
        // 64 bytes and more: hashed, on both sides, and kept apart.
        let long = format!("{}:{}", unique("room"), "y".repeat(80));
        let other = format!("{long}z");
        let mut sub = a.subscribe(&long).await.expect("subscribe to a long channel");
        let mut other_sub = a.subscribe(&other).await.expect("subscribe to another long channel");
        b.publish(&other, Bytes::from_static(b"elsewhere")).await.expect("publish on a long channel");
        b.publish(&long, Bytes::from_static(b"hello")).await.expect("publish on a long channel");
        assert_eq!(next(&mut sub).await, Some(Delivery::Message(Bytes::from_static(b"hello"))));
        assert_eq!(next(&mut other_sub).await, Some(Delivery::Message(Bytes::from_static(b"elsewhere"))));
        // Exactly 63 bytes: as it is.
        let edge = format!("{}{}", "q".repeat(63), unique("e"));
        let edge = edge[edge.len() - 63..].to_owned();
        assert_eq!(edge.len(), 63);
        let mut edge_sub = a.subscribe(&edge).await.expect("subscribe");
        b.publish(&edge, Bytes::from_static(b"edge")).await.expect("publish");
        assert_eq!(next(&mut edge_sub).await, Some(Delivery::Message(Bytes::from_static(b"edge"))));

        b.publish(&long, Bytes::from(vec![b'a'; 7999])).await.expect("7999 bytes fit");
        assert_eq!(next(&mut sub).await, Some(Delivery::Message(Bytes::from(vec![b'a'; 7999]))));
        let err = b.publish(&long, Bytes::from(vec![b'a'; 8000])).await.expect_err("too big");
        assert_eq!(err.status(), 413);
        assert!(format!("{err:?}").contains("8000 bytes"), "{err:?}");
    }
}

//! [`RedisBroker`]: brisk's [`Broker`] on Redis pub/sub. One subscriber connection per
//! broker (per process) fans out to every local subscriber; publishing goes through the shared
//! connection.

use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use brisk::handler::BoxFuture;
use brisk::pubsub::{Broker, Subscription};
use brisk::Error;
use bytes::Bytes;
use futures_util::StreamExt;
use redis::aio::{PubSubSink, PubSubStream};
use tokio::sync::{mpsc, oneshot};

use crate::connection::Redis;
use brisk::pubsub::{fanout_subscription, Fanout, FanoutOwner};

/// The first wait before connecting again after the subscriber connection was lost; it
/// doubles up to [`MAX_BACKOFF`].
const MIN_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_secs(2);
/// How often an idle subscriber connection is checked with `PING` (a Redis that vanished
/// without closing the connection is noticed this late at most, plus the response timeout).
const KEEPALIVE: Duration = Duration::from_secs(5);

/// Publish/subscribe across processes on Redis.
///
/// Each process keeps one subscriber connection, made on the first `subscribe`, listening to
/// the channels its subscribers asked for (`<redis prefix>ps:<channel>` on the server); a
/// channel's last subscriber leaving unsubscribes it. When that connection is lost (Redis
/// restarted), the broker connects again with backoff, subscribes to every channel again and
/// gives every subscriber a [`Delivery::Gap`](brisk::pubsub::Delivery::Gap): what was
/// published meanwhile is lost, and a subscriber that must not miss anything re-reads the
/// state it shows. `publish` while Redis is down, or `subscribe` before the connection is
/// back, answer 503 with `Retry-After`.
///
/// ```no_run
/// # async fn demo() -> brisk::Result<()> {
/// use brisk::pubsub::{Broker, Delivery};
/// use futures_util::StreamExt;
///
/// let redis = brisk_redis::Redis::new("redis://127.0.0.1:6379").expect("a Redis URL");
/// let broker = redis.broker();
/// let mut events = broker.subscribe("orders").await?;
/// broker.publish("orders", "order 42 shipped".into()).await?;
/// match events.next().await {
///     Some(Delivery::Message(payload)) => assert_eq!(&payload[..], b"order 42 shipped"),
///     Some(Delivery::Gap) => { /* re-read the orders from the database */ }
///     None => { /* the broker is gone */ }
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisBroker(Arc<Shared>);

impl std::fmt::Debug for RedisBroker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisBroker").field("redis", &self.0.redis).finish_non_exhaustive()
    }
}

struct Shared {
    redis: Redis,
    fanout: Fanout,
    /// Orders for the subscriber connection; made with it on the first subscribe.
    commands: OnceLock<mpsc::UnboundedSender<Command>>,
}

enum Command {
    /// Subscribe on the server; answers whether it did.
    Subscribe(String, oneshot::Sender<bool>),
    /// Unsubscribe on the server, unless someone here subscribed again meanwhile.
    Unsubscribe(String),
}

impl FanoutOwner for Shared {
    fn fanout(&self) -> &Fanout {
        &self.fanout
    }

    fn left(&self, channel: String) {
        if let Some(commands) = self.commands.get() {
            let _ = commands.send(Command::Unsubscribe(channel));
        }
    }
}

impl Redis {
    /// A [`Broker`] on this Redis. Install one per process and share it (every clone shares
    /// the subscriber connection).
    pub fn broker(&self) -> RedisBroker {
        RedisBroker::new(self.clone())
    }
}

impl RedisBroker {
    /// The broker on `redis`.
    pub fn new(redis: Redis) -> Self {
        RedisBroker(Arc::new(Shared { redis, fanout: Fanout::default(), commands: OnceLock::new() }))
    }

    fn channel(&self, channel: &str) -> String {
        self.0.redis.key(&format!("ps:{channel}"))
    }

    /// The orders queue of the subscriber connection, starting its task on first use.
    fn commands(&self) -> &mpsc::UnboundedSender<Command> {
        self.0.commands.get_or_init(|| {
            let (sender, receiver) = mpsc::unbounded_channel();
            tokio::spawn(drive(Arc::downgrade(&self.0), self.0.redis.clone(), receiver));
            sender
        })
    }
}

impl Broker for RedisBroker {
    fn publish<'a>(&'a self, channel: &'a str, payload: Bytes) -> BoxFuture<'a, Result<(), Error>> {
        let channel = self.channel(channel);
        Box::pin(self.0.redis.run(|mut conn| async move {
            redis::cmd("PUBLISH").arg(channel).arg(payload.as_ref()).exec_async(&mut conn).await
        }))
    }

    fn subscribe<'a>(&'a self, channel: &'a str) -> BoxFuture<'a, Result<Subscription, Error>> {
        let channel = self.channel(channel);
        Box::pin(async move {
            let receiver = self.0.fanout.join(&channel);
            // From here on the stream's drop takes care of leaving again, whatever happens.
            let stream = fanout_subscription(receiver, channel.clone(), Arc::downgrade(&self.0));
            let (done, confirmed) = oneshot::channel();
            let options = self.0.redis.options();
            let bound = options.connect_timeout * 2 + options.response_timeout + Duration::from_millis(250);
            if self.commands().send(Command::Subscribe(channel, done)).is_ok()
                && matches!(tokio::time::timeout(bound, confirmed).await, Ok(Ok(true)))
            {
                return Ok(stream);
            }
            Err(self.0.redis.went_down("the subscriber connection is not up"))
        })
    }
}

/// The subscriber connection's task: connect, subscribe to every channel listened to, fan
/// messages out, follow orders; on loss, connect again with backoff and signal a gap. Ends
/// when the broker is dropped.
async fn drive(shared: Weak<Shared>, redis: Redis, mut commands: mpsc::UnboundedReceiver<Command>) {
    let mut connected_before = false;
    let mut backoff = MIN_BACKOFF;
    loop {
        if let Some((sink, stream)) = open(&shared, &redis).await {
            if connected_before {
                tracing::info!(target: "brisk_redis", "pub/sub connection made again; subscribers get a gap");
                match shared.upgrade() {
                    Some(shared) => shared.fanout.gap_everywhere(),
                    None => return,
                }
            }
            connected_before = true;
            backoff = MIN_BACKOFF;
            if !serve(&shared, &redis, sink, stream, &mut commands).await {
                return;
            }
            tracing::warn!(target: "brisk_redis", "pub/sub connection lost; connecting again");
        }
        // Not connected: orders to subscribe fail until the connection is back.
        let pause = tokio::time::sleep(backoff);
        tokio::pin!(pause);
        loop {
            tokio::select! {
                () = &mut pause => break,
                command = commands.recv() => match command {
                    None => return,
                    Some(Command::Subscribe(_, done)) => { let _ = done.send(false); }
                    Some(Command::Unsubscribe(_)) => {}
                },
            }
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// A subscriber connection, subscribed to every channel listened to here.
async fn open(shared: &Weak<Shared>, redis: &Redis) -> Option<(PubSubSink, PubSubStream)> {
    let options = redis.options();
    let pubsub = match tokio::time::timeout(options.connect_timeout, redis.client().get_async_pubsub()).await
    {
        Ok(Ok(pubsub)) => pubsub,
        Ok(Err(e)) => {
            tracing::debug!(target: "brisk_redis", error = %e, "pub/sub connection failed");
            return None;
        }
        Err(_) => return None,
    };
    let (mut sink, stream) = pubsub.split();
    let channels = shared.upgrade()?.fanout.channels();
    if !channels.is_empty() {
        match tokio::time::timeout(options.response_timeout, sink.subscribe(&channels)).await {
            Ok(Ok(())) => {}
            _ => return None,
        }
    }
    Some((sink, stream))
}

/// Reads the connection until it is lost (`true`) or the broker is gone (`false`).
async fn serve(
    shared: &Weak<Shared>,
    redis: &Redis,
    mut sink: PubSubSink,
    mut stream: PubSubStream,
    commands: &mut mpsc::UnboundedReceiver<Command>,
) -> bool {
    let timeout = redis.options().response_timeout;
    let mut keepalive = tokio::time::interval(KEEPALIVE);
    keepalive.reset();
    loop {
        tokio::select! {
            message = stream.next() => {
                let Some(message) = message else { return true };
                let Some(shared) = shared.upgrade() else { return false };
                let payload = Bytes::copy_from_slice(message.get_payload_bytes());
                shared.fanout.deliver(message.get_channel_name(), brisk::pubsub::Delivery::Message(payload));
            }
            command = commands.recv() => match command {
                None => return false,
                Some(Command::Subscribe(channel, done)) => {
                    let ok = matches!(tokio::time::timeout(timeout, sink.subscribe(&channel)).await, Ok(Ok(())));
                    let _ = done.send(ok);
                    if !ok {
                        return true;
                    }
                }
                Some(Command::Unsubscribe(channel)) => {
                    let Some(shared) = shared.upgrade() else { return false };
                    if !shared.fanout.is_listened(&channel)
                        && !matches!(tokio::time::timeout(timeout, sink.unsubscribe(&channel)).await, Ok(Ok(())))
                    {
                        return true;
                    }
                }
            },
            _ = keepalive.tick() => {
                if !matches!(tokio::time::timeout(timeout, sink.ping::<redis::Value>()).await, Ok(Ok(_))) {
                    return true;
                }
            }
        }
    }
}

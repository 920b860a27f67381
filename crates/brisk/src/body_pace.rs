//! A minimum request-body data rate: a client that sends its body slower than the floor, after a
//! grace period, gets a 408 and the connection closed (Kestrel's defence against slow-body
//! attacks, with Kestrel's defaults).
//!
//! Only the time spent waiting on the client counts: while the handler is busy and not reading,
//! the clock stands still, so a handler that streams slowly on purpose is never blamed on its
//! client.

use std::fmt;
use std::future::Future as _;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body as _, Frame};
use hyper::body::Incoming;
use tokio::time::{Instant, Sleep};

use crate::error::{BoxError, Error};

/// The slowest a request body may arrive: `bytes_per_second` on average once `grace` of
/// waiting has passed (see [`App::min_body_rate`](crate::App::min_body_rate)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MinBodyRate {
    /// The floor, in bytes per second of waiting.
    pub bytes_per_second: u32,
    /// Waiting allowed before the floor applies.
    pub grace: Duration,
}

impl Default for MinBodyRate {
    /// 240 bytes per second after 5 s, as ASP.NET Core's Kestrel.
    fn default() -> Self {
        MinBodyRate { bytes_per_second: 240, grace: Duration::from_secs(5) }
    }
}

/// The error a body yields when its client fell below the rate.
#[derive(Debug)]
pub(crate) struct BodyTooSlow;

impl fmt::Display for BodyTooSlow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the request body arrived slower than the minimum data rate")
    }
}

impl std::error::Error for BodyTooSlow {}

/// 408 for a body that came too slowly, the connection closed; `None` for other errors.
pub(crate) fn too_slow(error: &BoxError) -> Option<Error> {
    error.is::<BodyTooSlow>().then(|| {
        Error::http(http::StatusCode::REQUEST_TIMEOUT, "Request body too slow")
            .with_header(http::header::CONNECTION, http::HeaderValue::from_static("close"))
    })
}

/// hyper's incoming body, held to a [`MinBodyRate`].
pub(crate) struct Paced {
    incoming: Incoming,
    rate: Option<MinBodyRate>,
    received: u64,
    /// Time spent waiting on the client before the current wait.
    waited: Duration,
    waiting_since: Option<Instant>,
    timer: Option<Pin<Box<Sleep>>>,
}

impl Paced {
    pub(crate) fn new(incoming: Incoming, rate: Option<MinBodyRate>) -> Self {
        Paced { incoming, rate, received: 0, waited: Duration::ZERO, waiting_since: None, timer: None }
    }

    pub(crate) fn incoming(&self) -> &Incoming {
        &self.incoming
    }

    pub(crate) fn poll_frame(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match Pin::new(&mut self.incoming).poll_frame(cx) {
            Poll::Ready(frame) => {
                if let Some(since) = self.waiting_since.take() {
                    self.waited += since.elapsed();
                }
                if let Some(Ok(data)) = frame.as_ref().map(|f| f.as_ref().map(Frame::data_ref)) {
                    self.received += data.map_or(0, |d| d.len() as u64);
                }
                Poll::Ready(frame.map(|f| f.map_err(Into::into)))
            }
            Poll::Pending => self.poll_deadline(cx),
        }
    }

    /// While waiting on the client: `Pending` until the wait breaks the floor.
    fn poll_deadline(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let Some(rate) = self.rate else { return Poll::Pending };
        let now = Instant::now();
        let since = *self.waiting_since.get_or_insert(now);
        let earned = Duration::from_secs_f64(self.received as f64 / f64::from(rate.bytes_per_second.max(1)));
        let allowed = rate.grace.saturating_add(earned);
        let waited = self.waited + (now - since);
        let Some(left) = allowed.checked_sub(waited).filter(|left| !left.is_zero()) else {
            return Poll::Ready(Some(Err(BodyTooSlow.into())));
        };
        let deadline = now + left;
        let timer = self.timer.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        if timer.deadline() != deadline {
            timer.as_mut().reset(deadline);
        }
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(BodyTooSlow.into()))),
            Poll::Pending => Poll::Pending,
        }
    }
}

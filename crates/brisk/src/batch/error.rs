//! What a call to a [`Batcher`](super::Batcher) can fail with.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::{header::RETRY_AFTER, HeaderValue, StatusCode};

use crate::Error;

/// Why [`Batcher::call`](super::Batcher::call) gave no output.
///
/// It converts into [`brisk::Error`](crate::Error), so `batcher.call(x).await?` works in a
/// handler: [`Overloaded`](Self::Overloaded) answers 503 with `Retry-After`; every other
/// variant answers a plain 500 whose cause goes to the log and never to the client.
///
/// It is `Clone` because one failed batch gives the same error to each of its callers. It is
/// not a `std::error::Error` (that would select brisk's blanket "any error is a 500"
/// conversion instead of the one above); its `Display` says what happened.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BatchError {
    /// The queue already holds [`with_queue_limit`](super::Batcher::with_queue_limit) items:
    /// the call was refused at once, without waiting. Answer 503 and let the client retry.
    Overloaded {
        /// What the `Retry-After` header will say (rounded up to whole seconds, at least 1).
        retry_after: Duration,
    },
    /// The batch function returned an error for the batch this call was in; its message.
    Failed(Arc<str>),
    /// The batch function returned `got` outputs for `expected` inputs, so no output could be
    /// matched to its caller; every caller of that batch gets this error.
    WrongOutputCount {
        /// The number of inputs in the batch.
        expected: usize,
        /// The number of outputs the batch function returned.
        got: usize,
    },
    /// The batch function panicked while handling the batch this call was in.
    Panicked,
    /// The batcher's worker is not running: the call was made outside a Tokio runtime, or the
    /// runtime the worker was started on has shut down.
    Closed,
}

impl fmt::Display for BatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BatchError::Overloaded { .. } => f.write_str("batcher overloaded: its queue is full"),
            BatchError::Failed(message) => write!(f, "batch function failed: {message}"),
            BatchError::WrongOutputCount { expected, got } => {
                write!(f, "batch function returned {got} outputs for {expected} inputs")
            }
            BatchError::Panicked => f.write_str("batch function panicked"),
            BatchError::Closed => f.write_str("batcher worker is not running"),
        }
    }
}

/// The `std::error::Error` that carries a [`BatchError`] into [`Error::internal`].
#[derive(Debug)]
struct BatchFailure(BatchError);

impl fmt::Display for BatchFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for BatchFailure {}

impl From<BatchError> for Error {
    fn from(error: BatchError) -> Self {
        match error {
            BatchError::Overloaded { retry_after } => {
                Error::http(StatusCode::SERVICE_UNAVAILABLE, "Server busy, retry later")
                    .with_header(RETRY_AFTER, HeaderValue::from(retry_after_seconds(retry_after)))
            }
            other => Error::internal(BatchFailure(other)),
        }
    }
}

/// Whole seconds, rounded up, at least 1: `Retry-After: 0` would invite an immediate retry.
fn retry_after_seconds(d: Duration) -> u64 {
    let secs = d.as_secs().saturating_add(u64::from(d.subsec_nanos() > 0));
    secs.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(retry_after_seconds(Duration::ZERO), 1);
        assert_eq!(retry_after_seconds(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_seconds(Duration::from_secs(2)), 2);
        assert_eq!(retry_after_seconds(Duration::from_millis(2001)), 3);
        assert_eq!(retry_after_seconds(Duration::MAX), u64::MAX);
    }

    #[test]
    fn only_overload_is_a_503() {
        let e = Error::from(BatchError::Overloaded { retry_after: Duration::from_secs(5) });
        assert_eq!(e.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(e.headers().and_then(|h| h.get(RETRY_AFTER)).map(|v| v.as_bytes()), Some(&b"5"[..]));
        for other in [
            BatchError::Failed("model crashed".into()),
            BatchError::WrongOutputCount { expected: 3, got: 2 },
            BatchError::Panicked,
            BatchError::Closed,
        ] {
            let e = Error::from(other.clone());
            assert_eq!(e.status(), StatusCode::INTERNAL_SERVER_ERROR);
            assert!(e.headers().is_none());
            assert_eq!(e.to_string(), format!("internal error: {other}"));
        }
    }
}

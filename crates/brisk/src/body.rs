//! The body type of brisk's requests and responses.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::Stream;
use http_body::{Frame, SizeHint};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::BodyExt;

pub use crate::body_pace::MinBodyRate;
use crate::body_pace::Paced;
use crate::depends::Scope;
use crate::error::BoxError;

/// A request or response body: empty, one buffer, hyper's incoming stream, or any boxed body.
///
/// The common cases are variants, not boxes, so a small JSON response costs no extra allocation.
///
/// ```
/// use brisk::body::Body;
/// let body = Body::from("hello");
/// ```
pub struct Body(Inner);

enum Inner {
    Empty,
    Full(Option<Bytes>),
    /// A whole body and the request's teardown scope, which runs when the body is done with: the
    /// common case of [`Body::keep_alive`] without a boxed wrapper.
    FullHeld {
        bytes: Option<Bytes>,
        _scope: Scope,
    },
    Incoming(Paced),
    Boxed(UnsyncBoxBody<Bytes, BoxError>),
}

impl Body {
    /// An empty body.
    pub const fn empty() -> Self {
        Body(Inner::Empty)
    }

    /// Wraps any `http_body::Body` whose chunks are `Bytes` (a `Body` is returned as it is).
    pub fn new<B>(body: B) -> Self
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        let mut slot = Some(body);
        if let Some(same) = (&mut slot as &mut dyn std::any::Any).downcast_mut::<Option<Body>>() {
            if let Some(body) = same.take() {
                return body;
            }
        }
        match slot {
            Some(body) => Body(Inner::Boxed(body.map_err(Into::into).boxed_unsync())),
            None => Body::empty(),
        }
    }

    /// A body that streams the items of `stream` as they come, without buffering.
    ///
    /// ```
    /// use brisk::body::Body;
    /// let chunks = futures_util::stream::iter(vec![Ok::<_, std::io::Error>("a"), Ok("b")]);
    /// let body = Body::from_stream(chunks);
    /// ```
    pub fn from_stream<S, T, E>(stream: S) -> Self
    where
        S: Stream<Item = Result<T, E>> + Send + 'static,
        T: Into<Bytes> + 'static,
        E: Into<BoxError> + 'static,
    {
        use futures_util::TryStreamExt;
        let frames = stream.map_ok(|chunk| Frame::data(chunk.into())).map_err(Into::into);
        Body::new(http_body_util::StreamBody::new(frames))
    }

    /// This body, holding `scope` (and so its teardowns) until it is finished or dropped.
    pub(crate) fn keep_alive(self, scope: Scope) -> Body {
        match self.0 {
            Inner::Empty => Body(Inner::FullHeld { bytes: None, _scope: scope }),
            Inner::Full(bytes) => Body(Inner::FullHeld { bytes, _scope: scope }),
            inner => Body::new(Guarded { body: Body(inner), _guard: scope }),
        }
    }

    /// Reads the whole body into one buffer, with no size limit (use the extractors for limits).
    pub async fn collect_bytes(self) -> Result<Bytes, BoxError> {
        Ok(self.collect().await?.to_bytes())
    }
}

impl Default for Body {
    fn default() -> Self {
        Body::empty()
    }
}

impl From<hyper::body::Incoming> for Body {
    fn from(incoming: hyper::body::Incoming) -> Self {
        Body(Inner::Incoming(Paced::new(incoming, None)))
    }
}

impl Body {
    /// hyper's body, held to a minimum data rate (the server's).
    pub(crate) fn incoming(incoming: hyper::body::Incoming, rate: Option<MinBodyRate>) -> Self {
        Body(Inner::Incoming(Paced::new(incoming, rate)))
    }
}

impl From<Bytes> for Body {
    fn from(bytes: Bytes) -> Self {
        if bytes.is_empty() {
            Body::empty()
        } else {
            Body(Inner::Full(Some(bytes)))
        }
    }
}

impl From<Vec<u8>> for Body {
    fn from(v: Vec<u8>) -> Self {
        Body::from(Bytes::from(v))
    }
}

impl From<String> for Body {
    fn from(s: String) -> Self {
        Body::from(Bytes::from(s))
    }
}

impl From<&'static str> for Body {
    fn from(s: &'static str) -> Self {
        Body::from(Bytes::from_static(s.as_bytes()))
    }
}

impl From<&'static [u8]> for Body {
    fn from(s: &'static [u8]) -> Self {
        Body::from(Bytes::from_static(s))
    }
}

impl From<()> for Body {
    fn from(_: ()) -> Self {
        Body::empty()
    }
}

impl http_body::Body for Body {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match &mut self.get_mut().0 {
            Inner::Empty => Poll::Ready(None),
            Inner::Full(bytes) | Inner::FullHeld { bytes, .. } => {
                Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b))))
            }
            Inner::Incoming(paced) => paced.poll_frame(cx),
            Inner::Boxed(boxed) => Pin::new(boxed).poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.0 {
            Inner::Empty => true,
            Inner::Full(bytes) | Inner::FullHeld { bytes, .. } => bytes.is_none(),
            Inner::Incoming(paced) => paced.incoming().is_end_stream(),
            Inner::Boxed(boxed) => boxed.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.0 {
            Inner::Empty => SizeHint::with_exact(0),
            Inner::Full(bytes) | Inner::FullHeld { bytes, .. } => {
                SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64))
            }
            Inner::Incoming(paced) => paced.incoming().size_hint(),
            Inner::Boxed(boxed) => boxed.size_hint(),
        }
    }
}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match &self.0 {
            Inner::Empty => "Empty",
            Inner::Full(_) | Inner::FullHeld { .. } => "Full",
            Inner::Incoming(_) => "Incoming",
            Inner::Boxed(_) => "Boxed",
        };
        f.debug_tuple("Body").field(&kind).finish()
    }
}

/// A body that keeps a value alive as long as itself (see [`Body::keep_alive`]).
struct Guarded<G> {
    body: Body,
    _guard: G,
}

impl<G: Send + Unpin + 'static> http_body::Body for Guarded<G> {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        // `Body` is Unpin, and the guard is never pinned.
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

//! [`Message`], [`CloseFrame`] and the [`close_code`]s.

use bytes::Bytes;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame as RawCloseFrame;
use tokio_tungstenite::tungstenite::Message as RawMessage;

/// One WebSocket message.
///
/// ```
/// use brisk::ws::{close_code, CloseFrame, Message};
///
/// let hello = Message::from("hello");
/// assert_eq!(hello.as_text(), Some("hello"));
/// let bye = Message::Close(Some(CloseFrame::new(close_code::NORMAL, "bye")));
/// assert!(bye.is_close());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A UTF-8 text message.
    Text(String),
    /// A binary message.
    Binary(Bytes),
    /// A ping (at most 125 bytes). brisk answers pings itself; you see them for information.
    Ping(Bytes),
    /// A pong (at most 125 bytes), the answer to a ping (or an unsolicited heartbeat).
    Pong(Bytes),
    /// A close frame, with a code and a reason when the peer sent them.
    Close(Option<CloseFrame>),
}

impl Message {
    /// The text, when this is a text message.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Message::Text(text) => Some(text),
            _ => None,
        }
    }

    /// The payload's bytes: text as UTF-8, the reason of a close frame, or the data.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Message::Text(text) => text.as_bytes(),
            Message::Binary(data) | Message::Ping(data) | Message::Pong(data) => data,
            Message::Close(Some(frame)) => frame.reason.as_bytes(),
            Message::Close(None) => &[],
        }
    }

    /// Whether this is a text or binary message (not a control frame).
    pub fn is_data(&self) -> bool {
        matches!(self, Message::Text(_) | Message::Binary(_))
    }

    /// Whether this is a close frame.
    pub fn is_close(&self) -> bool {
        matches!(self, Message::Close(_))
    }

    pub(crate) fn into_raw(self) -> RawMessage {
        match self {
            Message::Text(text) => RawMessage::Text(text.into()),
            Message::Binary(data) => RawMessage::Binary(data),
            Message::Ping(data) => RawMessage::Ping(data),
            Message::Pong(data) => RawMessage::Pong(data),
            Message::Close(frame) => RawMessage::Close(frame.map(CloseFrame::into_raw)),
        }
    }

    /// `None` for a raw frame, which reading never yields.
    pub(crate) fn from_raw(raw: RawMessage) -> Option<Message> {
        Some(match raw {
            RawMessage::Text(text) => Message::Text(text.as_str().to_owned()),
            RawMessage::Binary(data) => Message::Binary(data),
            RawMessage::Ping(data) => Message::Ping(data),
            RawMessage::Pong(data) => Message::Pong(data),
            RawMessage::Close(frame) => Message::Close(frame.map(CloseFrame::from_raw)),
            RawMessage::Frame(_) => return None,
        })
    }
}

impl From<String> for Message {
    fn from(text: String) -> Self {
        Message::Text(text)
    }
}

impl From<&str> for Message {
    fn from(text: &str) -> Self {
        Message::Text(text.to_owned())
    }
}

impl From<Bytes> for Message {
    fn from(data: Bytes) -> Self {
        Message::Binary(data)
    }
}

impl From<Vec<u8>> for Message {
    fn from(data: Vec<u8>) -> Self {
        Message::Binary(Bytes::from(data))
    }
}

/// The code and reason of a close frame.
///
/// ```
/// use brisk::ws::{close_code, CloseFrame};
/// let frame = CloseFrame::new(close_code::POLICY, "not allowed");
/// assert_eq!(frame.code, 1008);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseFrame {
    /// The status code (see [`close_code`]).
    pub code: u16,
    /// Why, for people (at most 123 bytes of UTF-8).
    pub reason: String,
}

impl CloseFrame {
    /// A close frame with `code` and `reason`.
    pub fn new(code: u16, reason: impl Into<String>) -> Self {
        CloseFrame { code, reason: reason.into() }
    }

    /// Whether an endpoint may send this code (RFC 6455 §7.4: not 1005, 1006, 1015, nor an
    /// unassigned or reserved code).
    pub fn is_sendable(&self) -> bool {
        CloseCode::from(self.code).is_allowed() && self.code >= 1000
    }

    pub(crate) fn into_raw(self) -> RawCloseFrame {
        RawCloseFrame { code: CloseCode::from(self.code), reason: self.reason.into() }
    }

    fn from_raw(raw: RawCloseFrame) -> Self {
        CloseFrame { code: raw.code.into(), reason: raw.reason.as_str().to_owned() }
    }
}

/// Close codes of RFC 6455 §7.4.1 (`3000`–`4999` are free for libraries and applications).
pub mod close_code {
    /// The purpose of the connection has been fulfilled.
    pub const NORMAL: u16 = 1000;
    /// The endpoint is going away: the server shuts down, the browser leaves the page.
    pub const AWAY: u16 = 1001;
    /// The peer broke the protocol.
    pub const PROTOCOL: u16 = 1002;
    /// A kind of data the endpoint cannot accept (binary to a text-only endpoint, say).
    pub const UNSUPPORTED: u16 = 1003;
    /// A message's data did not match its type (invalid UTF-8 in a text message).
    pub const INVALID: u16 = 1007;
    /// A message broke the endpoint's policy.
    pub const POLICY: u16 = 1008;
    /// A message was too big to process.
    pub const SIZE: u16 = 1009;
    /// The client expected an extension the server did not negotiate.
    pub const EXTENSION: u16 = 1010;
    /// The server hit an unexpected condition.
    pub const ERROR: u16 = 1011;
    /// The server is restarting.
    pub const RESTART: u16 = 1012;
    /// The server is overloaded: try again later.
    pub const AGAIN: u16 = 1013;
}

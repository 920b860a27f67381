use std::cell::RefCell;

use bytes::Bytes;
use serde::Serialize;

use super::{with_content_type, IntoResponse, Response};
use crate::error::Error;
use crate::extract::Json;

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        match to_json_bytes(&self.0) {
            Ok(bytes) => with_content_type(bytes, "application/json"),
            Err(e) => Error::internal(e).into_response(),
        }
    }
}

/// Outputs up to this size are copied out of the thread's buffer; larger ones take it.
const COPY_UP_TO: usize = 16 * 1024;

thread_local! {
    /// Where this thread serialises JSON bodies, kept between responses.
    static BUFFER: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// `value` as JSON, in a buffer of exactly its size.
///
/// Serialising into a fresh `Vec` and handing it to `Bytes` costs two allocations (the vector,
/// and the shared header `Bytes` adds when the length is not the capacity); serialising into a
/// buffer the thread keeps and copying the result out costs one, and a small body's copy is
/// cheaper than an allocation. A large body takes the buffer itself, without a copy.
pub(crate) fn to_json_bytes<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<Bytes> {
    BUFFER.with(|cell| {
        // A `Serialize` impl that itself renders a JSON response finds the buffer busy.
        let Ok(mut buf) = cell.try_borrow_mut() else {
            return serde_json::to_vec(value).map(Bytes::from);
        };
        buf.clear();
        let written = serde_json::to_writer(&mut *buf, value);
        if let Err(e) = written {
            buf.clear();
            if buf.capacity() > COPY_UP_TO {
                // A large body that failed half-way must not keep its size for the thread's life.
                *buf = Vec::new();
            }
            return Err(e);
        }
        if buf.len() <= COPY_UP_TO {
            Ok(Bytes::copy_from_slice(&buf))
        } else {
            Ok(Bytes::from(std::mem::take(&mut *buf)))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Nested;

    impl Serialize for Nested {
        fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            // Renders another body while the outer one is being written.
            let inner = to_json_bytes(&["inner"]).map_err(serde::ser::Error::custom)?;
            serializer.serialize_str(&String::from_utf8_lossy(&inner))
        }
    }

    #[test]
    fn bodies_small_large_and_nested_come_out_whole() {
        assert_eq!(to_json_bytes(&serde_json::json!({"a": 1})).ok(), Some(Bytes::from_static(b"{\"a\":1}")));
        let large = "x".repeat(COPY_UP_TO * 2);
        let bytes = to_json_bytes(&large).unwrap_or_default();
        assert_eq!(bytes.len(), large.len() + 2);
        // The buffer was taken by the large body; the next small one still comes out right.
        assert_eq!(to_json_bytes(&[1, 2]).ok(), Some(Bytes::from_static(b"[1,2]")));
        assert_eq!(to_json_bytes(&Nested).ok(), Some(Bytes::from_static(b"\"[\\\"inner\\\"]\"")));
    }

    #[test]
    fn a_failed_serialisation_is_an_error_and_leaves_the_buffer_clean() {
        let mut map = std::collections::BTreeMap::new();
        map.insert(vec![1u8], 1);
        assert!(to_json_bytes(&map).is_err());
        assert_eq!(to_json_bytes(&true).ok(), Some(Bytes::from_static(b"true")));
    }
}

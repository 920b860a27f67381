//! The matched path parameters of one request, kept without an allocation in the common case
//! (up to two parameters, each value up to 22 bytes: ids, slugs, short names).

use std::sync::Arc;

use smallvec::SmallVec;

/// Values up to this many bytes live inline.
const INLINE: usize = 22;

/// One percent-decoded value.
#[derive(Clone)]
enum Value {
    Inline { len: u8, bytes: [u8; INLINE] },
    Heap(Box<str>),
}

impl Value {
    fn new(value: &str) -> Value {
        match u8::try_from(value.len()) {
            Ok(len) if value.len() <= INLINE => {
                let mut bytes = [0; INLINE];
                bytes[..value.len()].copy_from_slice(value.as_bytes());
                Value::Inline { len, bytes }
            }
            _ => Value::Heap(value.into()),
        }
    }

    fn as_str(&self) -> &str {
        match self {
            // Whole `str`s are all that is ever stored, so this is always valid UTF-8.
            Value::Inline { len, bytes } => {
                std::str::from_utf8(&bytes[..usize::from(*len)]).unwrap_or_default()
            }
            Value::Heap(value) => value,
        }
    }
}

/// The matched path parameters, in the order of the route's pattern: names shared with the
/// route, values percent-decoded.
#[derive(Clone, Default)]
pub(crate) struct PathParams(SmallVec<[(Arc<str>, Value); 2]>);

impl PathParams {
    /// Room for `n` parameters.
    pub(crate) fn with_capacity(n: usize) -> Self {
        PathParams(SmallVec::with_capacity(n))
    }

    /// Adds the next parameter.
    pub(crate) fn push(&mut self, name: &Arc<str>, value: &str) {
        self.0.push((name.clone(), Value::new(value)));
    }

    /// The `(name, value)` pairs, in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(name, value)| (&**name, value.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_long_values_read_back_as_they_were_stored() {
        let long = "x".repeat(INLINE + 1);
        let values = ["", "42", "café", &"é".repeat(INLINE / 2), &long, "a/b c"];
        let name: Arc<str> = Arc::from("p");
        let mut params = PathParams::with_capacity(values.len());
        for value in values {
            params.push(&name, value);
        }
        let read: Vec<&str> = params.iter().map(|(_, v)| v).collect();
        assert_eq!(read, values);
        assert!(matches!(params.0[1].1, Value::Inline { .. }));
        assert!(matches!(params.0[4].1, Value::Heap(_)));
    }
}

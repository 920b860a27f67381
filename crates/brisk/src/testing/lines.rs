//! [`Lines`]: a body's bytes, as they come, cut into numbered lines.

use bytes::{Buf, Bytes, BytesMut};

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Lines ended by LF or CRLF, and also by a lone CR when `cr_ends_line` (Server-Sent Events).
/// A UTF-8 byte order mark at the very start is skipped.
#[derive(Debug)]
pub(super) struct Lines {
    buf: BytesMut,
    /// How far `buf` is known to hold no line ending.
    scanned: usize,
    /// The number of the last line taken (they start at 1).
    number: usize,
    cr_ends_line: bool,
    bom_checked: bool,
}

impl Lines {
    pub(super) fn new(cr_ends_line: bool) -> Self {
        Lines { buf: BytesMut::new(), scanned: 0, number: 0, cr_ends_line, bom_checked: false }
    }

    /// Adds bytes that came.
    pub(super) fn push(&mut self, chunk: &[u8]) {
        self.buf.extend_from_slice(chunk);
    }

    /// The number of the last line taken.
    pub(super) fn number(&self) -> usize {
        self.number
    }

    /// The next whole line with its number, without its ending. `ended`: nothing more will
    /// come (a CR at the end then ends its line instead of waiting for a possible LF).
    pub(super) fn next_line(&mut self, ended: bool) -> Option<(usize, Bytes)> {
        if !self.bom_checked {
            if self.buf.len() < BOM.len() && BOM.starts_with(&self.buf) && !ended {
                return None;
            }
            if self.buf.starts_with(BOM) {
                self.buf.advance(BOM.len());
            }
            self.bom_checked = true;
        }
        let cr = self.cr_ends_line;
        let Some(found) = self.buf[self.scanned..].iter().position(|b| *b == b'\n' || (cr && *b == b'\r'))
        else {
            self.scanned = self.buf.len();
            return None;
        };
        let at = self.scanned + found;
        let ending = match self.buf.get(at..at + 2) {
            Some(b"\r\n") => 2,
            // A CR at the end of what came: an LF may follow in the next chunk.
            None if self.buf[at] == b'\r' && !ended => {
                self.scanned = at;
                return None;
            }
            _ => 1,
        };
        let mut line = self.buf.split_to(at + ending);
        line.truncate(at);
        if !cr && line.last() == Some(&b'\r') {
            line.truncate(at - 1);
        }
        self.scanned = 0;
        self.number += 1;
        Some((self.number, line.freeze()))
    }

    /// What is left after the last whole line (once the body has ended), with the number it
    /// would have; `None` when nothing is.
    pub(super) fn take_rest(&mut self) -> Option<(usize, Bytes)> {
        if self.buf.is_empty() {
            return None;
        }
        self.scanned = 0;
        self.number += 1;
        Some((self.number, self.buf.split().freeze()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(cr: bool, chunks: &[&[u8]]) -> (Vec<String>, Option<String>) {
        let mut lines = Lines::new(cr);
        let mut seen = Vec::new();
        for chunk in chunks {
            lines.push(chunk);
            while let Some((_, line)) = lines.next_line(false) {
                seen.push(String::from_utf8_lossy(&line).into_owned());
            }
        }
        while let Some((_, line)) = lines.next_line(true) {
            seen.push(String::from_utf8_lossy(&line).into_owned());
        }
        let rest = lines.take_rest().map(|(_, r)| String::from_utf8_lossy(&r).into_owned());
        (seen, rest)
    }

    #[test]
    fn every_line_ending_across_chunks() {
        let (lines, rest) = all(true, &[b"\xEF\xBB", b"\xBFa\r", b"\nb\rc\n\r", b"\nd\r"]);
        assert_eq!(lines, ["a", "b", "c", "", "d"]);
        assert_eq!(rest, None);
        let (lines, rest) = all(false, &[b"{\"a\":1}\r\n{\"b\"", b":2}\n\r{}"]);
        assert_eq!(lines, ["{\"a\":1}", "{\"b\":2}"]);
        assert_eq!(rest.as_deref(), Some("\r{}"), "a lone CR is not a JSON Lines ending");
    }

    #[test]
    fn numbers_count_from_one() {
        let mut lines = Lines::new(false);
        lines.push(b"x\ny\nz");
        assert_eq!(lines.next_line(false).map(|(n, _)| n), Some(1));
        assert_eq!(lines.next_line(false).map(|(n, _)| n), Some(2));
        assert_eq!(lines.next_line(false), None);
        assert_eq!(lines.take_rest(), Some((3, Bytes::from_static(b"z"))));
        assert_eq!(lines.number(), 3);
    }
}

//! Transaction control written by hand inside a transaction (`COMMIT`, `ROLLBACK`, `BEGIN`
//! ...), found before it is sent so it can be refused: run inside [`Transaction`], it would end
//! the transaction under brisk-orm (committing half of the work, or rolling it back) while the
//! app goes on as if it were still open. Savepoints (`SAVEPOINT`, `RELEASE`, `ROLLBACK TO`)
//! are not transaction control here: they nest inside the transaction.
//!
//! The text is read as SQL is: quoted strings and identifiers, dollar-quoted bodies and
//! comments are skipped, and a `CREATE` statement's `BEGIN ... END` block (a SQLite trigger, a
//! PostgreSQL `BEGIN ATOMIC` function) is one statement, so the `END` closing it is not read as
//! one of its own.
//!
//! [`Transaction`]: crate::Transaction

use crate::error::Error;

/// The refusal of `keyword` inside a transaction.
pub(crate) fn refused(keyword: &str) -> Error {
    Error::Config(format!(
        "`{keyword}` inside a transaction: it would end the transaction under brisk-orm. End it with \
         commit() or rollback() (or let atomic() do it), and nest with Transaction::atomic (a savepoint)"
    ))
}

/// The transaction-control keyword one of the statements of `sql` starts with (`"COMMIT"`,
/// `"ROLLBACK"` ..., in capitals), if any.
pub(crate) fn control_in(sql: &str) -> Option<&'static str> {
    let mut tokens = Tokens { sql: sql.as_bytes(), at: 0 };
    loop {
        let first = loop {
            match tokens.next()? {
                Token::Semicolon => continue,
                token => break token,
            }
        };
        let Token::Word(word) = first else {
            tokens.skip_statement(false)?;
            continue;
        };
        const ENDING: [(&str, &str); 5] = [
            ("BEGIN", "BEGIN"),
            ("START", "START TRANSACTION"),
            ("COMMIT", "COMMIT"),
            ("END", "END"),
            ("ABORT", "ABORT"),
        ];
        if let Some((_, keyword)) = ENDING.iter().find(|(w, _)| is(word, w)) {
            return Some(keyword);
        }
        if is(word, "ROLLBACK") && !tokens.rolls_back_to_a_savepoint() {
            return Some("ROLLBACK");
        }
        if is(word, "PREPARE") && tokens.peek_word("TRANSACTION") {
            return Some("PREPARE TRANSACTION");
        }
        tokens.skip_statement(is(word, "CREATE"))?;
    }
}

fn is(word: &[u8], keyword: &str) -> bool {
    word.eq_ignore_ascii_case(keyword.as_bytes())
}

enum Token<'a> {
    Word(&'a [u8]),
    Semicolon,
    /// A string, a quoted identifier, a number, punctuation.
    Other,
}

struct Tokens<'a> {
    sql: &'a [u8],
    at: usize,
}

impl<'a> Tokens<'a> {
    fn byte(&self, i: usize) -> Option<u8> {
        self.sql.get(i).copied()
    }

    /// Moves past `close` (or to the end of the text when it never comes).
    fn skip_past(&mut self, close: &[u8]) {
        match self.sql[self.at..].windows(close.len()).position(|w| w == close) {
            Some(p) => self.at += p + close.len(),
            None => self.at = self.sql.len(),
        }
    }

    /// The next token; `None` at the end of the text.
    fn next(&mut self) -> Option<Token<'a>> {
        loop {
            let b = self.byte(self.at)?;
            match b {
                _ if b.is_ascii_whitespace() => self.at += 1,
                b'-' if self.byte(self.at + 1) == Some(b'-') => self.skip_past(b"\n"),
                b'/' if self.byte(self.at + 1) == Some(b'*') => {
                    self.at += 2;
                    self.skip_past(b"*/");
                }
                _ => break,
            }
        }
        let start = self.at;
        let b = self.sql[start];
        match b {
            b';' => {
                self.at += 1;
                Some(Token::Semicolon)
            }
            // E'..' (PostgreSQL): a backslash escapes the next character.
            b'e' | b'E' if self.byte(start + 1) == Some(b'\'') => {
                self.at += 2;
                while let Some(c) = self.byte(self.at) {
                    self.at += 1;
                    match c {
                        b'\\' => self.at += 1,
                        b'\'' if self.byte(self.at) == Some(b'\'') => self.at += 1,
                        b'\'' => break,
                        _ => {}
                    }
                }
                Some(Token::Other)
            }
            _ if b.is_ascii_alphabetic() || b == b'_' || b >= 0x80 => {
                while self
                    .byte(self.at)
                    .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80)
                {
                    self.at += 1;
                }
                Some(Token::Word(&self.sql[start..self.at]))
            }
            // '..', "..", `..`: a doubled quote inside reopens it, the same as skipping twice.
            b'\'' | b'"' | b'`' => {
                self.at += 1;
                self.skip_past(&[b]);
                Some(Token::Other)
            }
            b'[' => {
                self.at += 1;
                self.skip_past(b"]");
                Some(Token::Other)
            }
            // $tag$ ... $tag$ (PostgreSQL); `$1` is a parameter.
            b'$' => {
                let mut end = start + 1;
                while self.byte(end).is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80) {
                    end += 1;
                }
                let tag_starts_with_digit = self.byte(start + 1).is_some_and(|c| c.is_ascii_digit());
                if self.byte(end) == Some(b'$') && !tag_starts_with_digit {
                    let tag = self.sql[start..=end].to_vec();
                    self.at = end + 1;
                    self.skip_past(&tag);
                } else {
                    self.at = end.max(start + 1);
                }
                Some(Token::Other)
            }
            _ => {
                self.at += 1;
                Some(Token::Other)
            }
        }
    }

    /// Skips to the end of the statement (past its `;`); `None` when the text ends first. In
    /// a `CREATE` statement, `BEGIN` and `CASE` open a block that `END` closes, and a `;`
    /// inside a block does not end the statement.
    fn skip_statement(&mut self, create: bool) -> Option<()> {
        let mut depth = 0usize;
        loop {
            match self.next()? {
                Token::Semicolon if depth == 0 => return Some(()),
                Token::Word(word) if create && (is(word, "BEGIN") || is(word, "CASE")) => depth += 1,
                Token::Word(word) if create && is(word, "END") => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
    }

    /// Whether the next word is `word` (consumed if so).
    fn peek_word(&mut self, word: &str) -> bool {
        let at = self.at;
        match self.next() {
            Some(Token::Word(w)) if is(w, word) => true,
            _ => {
                self.at = at;
                false
            }
        }
    }

    /// After `ROLLBACK`: `[WORK | TRANSACTION] TO ...` (to a savepoint, which nests).
    fn rolls_back_to_a_savepoint(&mut self) -> bool {
        let _ = self.peek_word("WORK") || self.peek_word("TRANSACTION");
        self.peek_word("TO")
    }
}

#[cfg(test)]
mod tests {
    use super::control_in;

    #[test]
    fn transaction_control_is_found_in_any_statement() {
        for (sql, keyword) in [
            ("COMMIT", "COMMIT"),
            ("  commit;", "COMMIT"),
            ("END TRANSACTION", "END"),
            ("rollback", "ROLLBACK"),
            ("ROLLBACK WORK", "ROLLBACK"),
            ("ROLLBACK AND CHAIN", "ROLLBACK"),
            ("ABORT", "ABORT"),
            ("BEGIN", "BEGIN"),
            ("BEGIN IMMEDIATE", "BEGIN"),
            ("START TRANSACTION ISOLATION LEVEL SERIALIZABLE", "START TRANSACTION"),
            ("PREPARE TRANSACTION 'x'", "PREPARE TRANSACTION"),
            ("INSERT INTO t VALUES (1); COMMIT; INSERT INTO t VALUES (2)", "COMMIT"),
            ("-- a comment\n/* another */ COMMIT", "COMMIT"),
            ("UPDATE t SET a = 'x;y'; ROLLBACK", "ROLLBACK"),
            ("CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; END; COMMIT", "COMMIT"),
        ] {
            assert_eq!(control_in(sql), Some(keyword), "{sql}");
        }
    }

    #[test]
    fn savepoints_quotes_comments_and_bodies_are_not_transaction_control() {
        for sql in [
            "",
            ";;",
            "SELECT 1",
            "SAVEPOINT brisk_sp_1",
            "RELEASE SAVEPOINT brisk_sp_1",
            "ROLLBACK TO SAVEPOINT brisk_sp_1",
            "rollback to brisk_sp_1",
            "ROLLBACK TRANSACTION TO SAVEPOINT s",
            "ROLLBACK WORK TO s",
            "PREPARE plan AS SELECT 1",
            "SELECT 'COMMIT'; SELECT \"commit\" FROM t",
            "SELECT 1 -- ; COMMIT\n",
            "SELECT 1 /* ; COMMIT */",
            "SELECT E'it\\'s; COMMIT'",
            "SELECT 'it''s; COMMIT'",
            "DO $$ BEGIN PERFORM 1; COMMIT; END $$",
            "DO $body$ BEGIN PERFORM 1; END $body$; SELECT $1",
            "CREATE TRIGGER tr AFTER INSERT ON t BEGIN UPDATE t SET a = CASE WHEN 1 THEN 2 END; END",
            "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END; SELECT f()",
            "UPDATE t SET a = CASE WHEN b THEN 1 ELSE 2 END; SELECT 1",
            "SELECT [end] FROM t; SELECT `begin` FROM t",
            "'unclosed; COMMIT",
        ] {
            assert_eq!(control_in(sql), None, "{sql}");
        }
    }
}

//! Transaction control written by hand (`COMMIT`, `ROLLBACK`, `BEGIN` ...), found before it is
//! sent so it can be refused. brisk-orm begins and ends transactions itself: run inside a
//! [`Transaction`], a hand-written `COMMIT` would end it under brisk-orm (committing half of the
//! work while the app goes on as if it were open); run on the [`Database`], a `BEGIN` would
//! leave a connection that other requests share (PostgreSQL's pipelined connections, SQLite's
//! writer) inside a transaction, or, after an error in a `BEGIN; ...; COMMIT` script, inside a
//! failed one. Savepoints (`SAVEPOINT`, `RELEASE`, `ROLLBACK TO`) are not transaction control
//! here: they nest inside a transaction.
//!
//! The text is read as its database reads it: quoted strings and identifiers, comments (nested
//! on PostgreSQL), PostgreSQL's dollar-quoted bodies and SQLite's `[...]` identifiers are
//! skipped, and the `BEGIN ... END` body of a SQLite trigger or of a PostgreSQL `BEGIN ATOMIC`
//! function is part of its `CREATE` statement, so the `END` closing it is not read as one of
//! its own. It is a reading, not a parser: a statement it cannot follow (an unquoted column
//! named `begin` in a trigger's header, say) can hide what follows it, never refuse what is
//! not transaction control.
//!
//! [`Transaction`]: crate::Transaction
//! [`Database`]: crate::Database

use crate::backend::Dialect;
use crate::error::Error;

/// `Ok` unless a statement of `sql` is transaction control: then its refusal.
pub(crate) fn refuse(sql: &str, dialect: Dialect) -> Result<(), Error> {
    match control_in(sql, dialect) {
        Some(keyword) => Err(refused(keyword)),
        None => Ok(()),
    }
}

/// The refusal of `keyword`.
pub(crate) fn refused(keyword: &str) -> Error {
    Error::Config(format!(
        "`{keyword}` in SQL written by hand: brisk-orm begins and ends transactions itself (its \
         connections carry other requests' queries). Use db.atomic(..), or db.begin() then \
         commit() or rollback(); nest with Transaction::atomic (a savepoint)"
    ))
}

/// The transaction-control keyword one of the statements of `sql` starts with (`"COMMIT"`,
/// `"ROLLBACK"` ..., in capitals), if any, read as `dialect` reads it.
pub(crate) fn control_in(sql: &str, dialect: Dialect) -> Option<&'static str> {
    read(sql, dialect).control
}

/// What [`read`] finds in SQL written by hand.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct Reading {
    /// The transaction-control keyword a statement starts with (the text is refused).
    pub(crate) control: Option<&'static str>,
    /// Whether a statement rolls back to a savepoint (`ROLLBACK TO ...`): once it has run,
    /// a failure kept from inside that savepoint is gone (see `Transaction::execute_raw`).
    pub(crate) rolls_back_to_a_savepoint: bool,
}

/// Reads every statement of `sql` as `dialect` does, up to the first transaction control.
pub(crate) fn read(sql: &str, dialect: Dialect) -> Reading {
    let mut tokens = Tokens { sql: sql.as_bytes(), at: 0, postgres: dialect == Dialect::Postgres };
    let mut reading = Reading::default();
    loop {
        let first = loop {
            match tokens.next() {
                None => return reading,
                Some(Token::Semicolon) => continue,
                Some(token) => break token,
            }
        };
        let Token::Word(word) = first else {
            if tokens.skip_statement(false).is_none() {
                return reading;
            }
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
            reading.control = Some(keyword);
            return reading;
        }
        if is(word, "ROLLBACK") {
            if !tokens.rolls_back_to_a_savepoint() {
                reading.control = Some("ROLLBACK");
                return reading;
            }
            reading.rolls_back_to_a_savepoint = true;
        }
        // PREPARE TRANSACTION 'id' (a statement named `transaction` is a plain PREPARE).
        if is(word, "PREPARE") && tokens.peek_word("TRANSACTION") && tokens.text_follows() {
            reading.control = Some("PREPARE TRANSACTION");
            return reading;
        }
        if tokens.skip_statement(is(word, "CREATE") || is(word, "EXPLAIN")).is_none() {
            return reading;
        }
    }
}

fn is(word: &[u8], keyword: &str) -> bool {
    word.eq_ignore_ascii_case(keyword.as_bytes())
}

enum Token<'a> {
    Word(&'a [u8]),
    Semicolon,
    Dot,
    /// A quoted string (`'..'`, `E'..'`).
    Text,
    /// A quoted identifier, a number, punctuation.
    Other,
}

struct Tokens<'a> {
    sql: &'a [u8],
    at: usize,
    postgres: bool,
}

impl<'a> Tokens<'a> {
    fn byte(&self, i: usize) -> Option<u8> {
        self.sql.get(i).copied()
    }

    /// Moves past `close` (or to the end of the text when it never comes).
    fn skip_past(&mut self, close: &[u8]) {
        let from = self.at.min(self.sql.len());
        match self.sql[from..].windows(close.len()).position(|w| w == close) {
            Some(p) => self.at = from + p + close.len(),
            None => self.at = self.sql.len(),
        }
    }

    /// Past a `--` comment: to the end of its line (`\n`, and on PostgreSQL `\r` too).
    fn skip_line(&mut self) {
        while let Some(b) = self.byte(self.at) {
            self.at += 1;
            if b == b'\n' || (self.postgres && b == b'\r') {
                return;
            }
        }
    }

    /// Whether the next token is a quoted string (not consumed).
    fn text_follows(&mut self) -> bool {
        let at = self.at;
        let text = matches!(self.next(), Some(Token::Text));
        self.at = at;
        text
    }

    /// Past a `/* ... */` comment whose `/*` is at `self.at`: nested on PostgreSQL, where a
    /// comment holds comments; ended by the first `*/` on SQLite.
    fn skip_comment(&mut self) {
        self.at += 2;
        let mut depth = 1usize;
        while let Some(b) = self.byte(self.at) {
            if b == b'*' && self.byte(self.at + 1) == Some(b'/') {
                self.at += 2;
                depth -= 1;
                if depth == 0 {
                    return;
                }
            } else if self.postgres && b == b'/' && self.byte(self.at + 1) == Some(b'*') {
                self.at += 2;
                depth += 1;
            } else {
                self.at += 1;
            }
        }
    }

    /// The next token; `None` at the end of the text.
    fn next(&mut self) -> Option<Token<'a>> {
        loop {
            let b = self.byte(self.at)?;
            match b {
                _ if b.is_ascii_whitespace() || b == 0x0b => self.at += 1,
                b'-' if self.byte(self.at + 1) == Some(b'-') => self.skip_line(),
                b'/' if self.byte(self.at + 1) == Some(b'*') => self.skip_comment(),
                _ => break,
            }
        }
        let start = self.at;
        let b = self.byte(start)?;
        match b {
            b';' => {
                self.at += 1;
                Some(Token::Semicolon)
            }
            b'.' => {
                self.at += 1;
                Some(Token::Dot)
            }
            // E'..' (PostgreSQL): a backslash escapes the next character.
            b'e' | b'E' if self.postgres && self.byte(start + 1) == Some(b'\'') => {
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
                Some(Token::Text)
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
            // '..' and ".." (and SQLite's `..`): a doubled quote inside reopens it, the same
            // as skipping twice.
            b'\'' | b'"' => {
                self.at += 1;
                self.skip_past(&[b]);
                Some(if b == b'\'' { Token::Text } else { Token::Other })
            }
            b'`' | b'[' if !self.postgres => {
                self.at += 1;
                self.skip_past(if b == b'`' { b"`" } else { b"]" });
                Some(Token::Other)
            }
            // $tag$ ... $tag$ (PostgreSQL); `$1` is a parameter, and so is SQLite's `$name`.
            b'$' if self.postgres => {
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
                    self.at = end;
                }
                Some(Token::Other)
            }
            _ => {
                self.at += 1;
                Some(Token::Other)
            }
        }
    }

    /// Skips to the end of the statement (past its `;`); `None` when the text ends first. A
    /// `CREATE` (or `EXPLAIN`) statement may hold a body: a SQLite trigger's `BEGIN ... END`,
    /// a PostgreSQL function's `BEGIN ATOMIC ... END`, where `;` ends the body's statements,
    /// not this one. Every statement of a body ends with `;`, so the body's `END` is the one
    /// right after a `;` (or after `BEGIN ATOMIC`, empty): an `END` elsewhere closes a `CASE`
    /// or names a column.
    fn skip_statement(&mut self, create: bool) -> Option<()> {
        let (mut words, mut trigger, mut in_body, mut body_statement_ended) = (1usize, false, false, false);
        let mut after_dot = false;
        loop {
            let token = self.next()?;
            let qualified = std::mem::replace(&mut after_dot, matches!(token, Token::Dot));
            let ended = std::mem::replace(&mut body_statement_ended, matches!(token, Token::Semicolon));
            match token {
                Token::Semicolon if !in_body => return Some(()),
                Token::Word(word) if create && !qualified => {
                    words += 1;
                    trigger |= words <= 6 && is(word, "TRIGGER");
                    if !in_body && is(word, "BEGIN") {
                        if trigger && !self.postgres {
                            in_body = true;
                        } else if self.peek_word("ATOMIC") {
                            in_body = true;
                            body_statement_ended = true;
                        }
                    } else if in_body && ended && is(word, "END") {
                        in_body = false;
                    }
                }
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
    use crate::backend::Dialect;

    /// A `ROLLBACK TO` is told apart, in any statement of the text, and not inside quotes.
    #[test]
    fn a_rollback_to_a_savepoint_is_noticed() {
        for dialect in [Dialect::Sqlite, Dialect::Postgres] {
            let rolls_back = |sql: &str| super::read(sql, dialect).rolls_back_to_a_savepoint;
            assert!(rolls_back("SAVEPOINT s; INSERT INTO t VALUES (1); rollback work to savepoint s"));
            assert!(rolls_back("ROLLBACK TO s"));
            assert!(!rolls_back("SELECT 'ROLLBACK TO s'"));
            assert!(!rolls_back("RELEASE SAVEPOINT s"));
            assert_eq!(super::read("ROLLBACK TO s; COMMIT", dialect).control, Some("COMMIT"));
        }
    }

    fn both(sql: &str) -> [Option<&'static str>; 2] {
        [control_in(sql, Dialect::Sqlite), control_in(sql, Dialect::Postgres)]
    }

    #[test]
    fn transaction_control_is_found_in_any_statement() {
        for (sql, keyword) in [
            ("COMMIT", "COMMIT"),
            ("  commit;", "COMMIT"),
            ("\u{b}COMMIT", "COMMIT"),
            ("END TRANSACTION", "END"),
            ("rollback", "ROLLBACK"),
            ("ROLLBACK WORK", "ROLLBACK"),
            ("ROLLBACK AND CHAIN", "ROLLBACK"),
            ("ABORT", "ABORT"),
            ("BEGIN", "BEGIN"),
            ("BEGIN IMMEDIATE", "BEGIN"),
            ("START TRANSACTION ISOLATION LEVEL SERIALIZABLE", "START TRANSACTION"),
            ("PREPARE TRANSACTION 'x'", "PREPARE TRANSACTION"),
            ("PREPARE TRANSACTION /* its id */ 'x'", "PREPARE TRANSACTION"),
            ("INSERT INTO t VALUES (1); COMMIT; INSERT INTO t VALUES (2)", "COMMIT"),
            ("-- a comment\n/* another */ COMMIT", "COMMIT"),
            ("UPDATE t SET a = 'x;y'; ROLLBACK", "ROLLBACK"),
            // A column named begin is no block: the statement ends at its `;`.
            ("CREATE TABLE b (begin INTEGER); COMMIT", "COMMIT"),
            ("CREATE INDEX i ON t (begin); COMMIT", "COMMIT"),
        ] {
            assert_eq!(both(sql), [Some(keyword); 2], "{sql}");
        }
        // What each database reads as something else.
        assert_eq!(
            control_in("SELECT $x$; COMMIT; SELECT $x$", Dialect::Sqlite),
            Some("COMMIT"),
            "a parameter"
        );
        assert_eq!(
            control_in("/* a /* b */ COMMIT", Dialect::Sqlite),
            Some("COMMIT"),
            "comments do not nest"
        );
        assert_eq!(control_in("/* a /* b */ c */ COMMIT", Dialect::Postgres), Some("COMMIT"), "they nest");
        assert_eq!(
            control_in("SELECT 1; -- x\rCOMMIT", Dialect::Postgres),
            Some("COMMIT"),
            "a line ends at \\r too"
        );
        let after = "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END; COMMIT";
        assert_eq!(control_in(after, Dialect::Postgres), Some("COMMIT"), "after the function's body");
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
            "SELECT 'it''s; COMMIT'",
            "UPDATE t SET a = CASE WHEN b THEN 1 ELSE 2 END; SELECT 1",
            "'unclosed; COMMIT",
        ] {
            assert_eq!(both(sql), [None; 2], "{sql}");
        }
        for sql in [
            "CREATE TRIGGER tr AFTER INSERT ON t BEGIN UPDATE t SET a = CASE WHEN 1 THEN 2 END; END",
            "CREATE TRIGGER tr AFTER INSERT ON ev BEGIN INSERT INTO log VALUES (new.end); END",
            "CREATE TEMP TRIGGER tr AFTER UPDATE ON ev BEGIN UPDATE ev SET \"end\" = new.end; END; SELECT 1",
            "EXPLAIN CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; END",
            // Columns named end, unqualified, in a trigger's body.
            "CREATE TRIGGER tr AFTER INSERT ON ev BEGIN UPDATE ev SET end = new.start + 1 WHERE id = new.id; END",
            "CREATE TRIGGER tr AFTER INSERT ON ev BEGIN INSERT INTO log(start, end) VALUES (new.start, new.end); END",
            "CREATE TRIGGER tr AFTER DELETE ON ev BEGIN DELETE FROM u WHERE end < old.x; END",
            "CREATE TRIGGER tr AFTER INSERT ON ev BEGIN SELECT 1 AS end; SELECT 2; END; SELECT 3",
            "SELECT [end] FROM t; SELECT `begin` FROM t",
            "SELECT $x",
        ] {
            assert_eq!(control_in(sql, Dialect::Sqlite), None, "SQLite: {sql}");
        }
        for sql in [
            "SELECT E'it\\'s; COMMIT'",
            "DO $$ BEGIN PERFORM 1; COMMIT; END $$",
            "DO $body$ BEGIN PERFORM 1; END $body$; SELECT $1",
            "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END; SELECT f()",
            "CREATE TRIGGER tr AFTER UPDATE ON t FOR EACH ROW WHEN (old.begin IS DISTINCT FROM new.begin) EXECUTE FUNCTION f()",
            "/* a /* b */ ; COMMIT */ SELECT 1",
            "SELECT ARRAY['a]', 'b']; SELECT ';COMMIT'",
            "PREPARE transaction AS SELECT 1",
            "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC END; SELECT 1",
            "CREATE PROCEDURE p() LANGUAGE sql BEGIN ATOMIC SELECT CASE WHEN true THEN 1 END; END",
        ] {
            assert_eq!(control_in(sql, Dialect::Postgres), None, "PostgreSQL: {sql}");
        }
    }
}

//! [`Error`]: what a query can fail with, and the HTTP answer each failure becomes.

use std::fmt;

use brisk::http::{header::RETRY_AFTER, HeaderValue, StatusCode};
use serde_json::json;

/// The error type of brisk-orm.
///
/// With `?` in a handler it becomes the right HTTP answer: [`Error::DoesNotExist`] 404,
/// a unique violation 409 naming the field, a foreign-key violation 409, a pool timeout or a
/// lost connection 503 with `Retry-After`; anything else a 500 whose cause is logged, never
/// shown to the client.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Error {
    /// `get` found no row.
    DoesNotExist {
        /// The model's name.
        model: &'static str,
    },
    /// `get` found more than one row.
    MultipleObjectsReturned {
        /// The model's name.
        model: &'static str,
    },
    /// A unique constraint refused the row.
    UniqueViolation {
        /// The table.
        table: String,
        /// The columns of the constraint, when the database says them.
        columns: Vec<String>,
    },
    /// A foreign key refused the row (or refused a delete that would orphan rows).
    ForeignKeyViolation {
        /// The database's message.
        message: String,
    },
    /// A `NOT NULL` or `CHECK` constraint refused a value.
    ConstraintViolation {
        /// The database's message.
        message: String,
    },
    /// No connection became free within the pool's acquire timeout.
    PoolTimeout,
    /// The database could not be reached, or the connection broke during the query.
    Unavailable {
        /// What happened.
        message: String,
    },
    /// A column could not be read as the field's type.
    Decode {
        /// The column's position in the row.
        column: usize,
        /// Why.
        message: String,
    },
    /// A bad `DATABASE_URL` or setting.
    Config(String),
    /// Any other database error (syntax, permissions, division by zero ...).
    Database {
        /// The database's message.
        message: String,
        /// The SQLSTATE code, when known (SQLite errors are given PostgreSQL's codes where
        /// they mean the same).
        code: Option<String>,
    },
}

impl Error {
    pub(crate) fn decode(column: usize, message: impl Into<String>) -> Self {
        Error::Decode { column, message: message.into() }
    }

    /// True for a failure the next attempt may not have: a pool timeout or a lost connection.
    pub fn is_transient(&self) -> bool {
        matches!(self, Error::PoolTimeout | Error::Unavailable { .. })
    }

    /// The HTTP status this error answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            Error::DoesNotExist { .. } => StatusCode::NOT_FOUND,
            Error::UniqueViolation { .. } | Error::ForeignKeyViolation { .. } => StatusCode::CONFLICT,
            Error::ConstraintViolation { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Error::PoolTimeout | Error::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::DoesNotExist { model } => write!(f, "{model} matching query does not exist"),
            Error::MultipleObjectsReturned { model } => write!(f, "get() returned more than one {model}"),
            Error::UniqueViolation { table, columns } => {
                write!(f, "a row of {table} with the same {} already exists", columns.join(", "))
            }
            Error::ForeignKeyViolation { message } => write!(f, "foreign key violation: {message}"),
            Error::ConstraintViolation { message } => write!(f, "constraint violation: {message}"),
            Error::PoolTimeout => f.write_str("no database connection became free in time"),
            Error::Unavailable { message } => write!(f, "database unavailable: {message}"),
            Error::Decode { column, message } => write!(f, "column {column} could not be read: {message}"),
            Error::Config(message) => write!(f, "database configuration: {message}"),
            Error::Database { message, code: Some(code) } => write!(f, "{message} (SQLSTATE {code})"),
            Error::Database { message, code: None } => f.write_str(message),
        }
    }
}

impl std::error::Error for Error {}

/// Registers [`Error::answer`] with brisk, so `?` on a brisk-orm error in a handler gives the
/// right status (done when a [`Database`](crate::Database) is opened).
pub(crate) fn register_answers() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| brisk::error::answer_errors_with(Error::answer));
}

impl Error {
    /// The HTTP answer for a brisk-orm error (`None` for internal ones: brisk answers 500 and
    /// logs them).
    fn answer(e: &(dyn std::error::Error + 'static)) -> Option<brisk::Error> {
        let e = e.downcast_ref::<Error>()?;
        match e {
            Error::DoesNotExist { .. }
            | Error::UniqueViolation { .. }
            | Error::ForeignKeyViolation { .. }
            | Error::ConstraintViolation { .. }
            | Error::PoolTimeout
            | Error::Unavailable { .. } => Some(e.to_http()),
            _ => None,
        }
    }

    /// This error as brisk's: a 404, 409, 422 or 503 as the kind says, else an internal 500.
    pub fn into_http(self) -> brisk::Error {
        match self.status() {
            StatusCode::INTERNAL_SERVER_ERROR => brisk::Error::internal(self),
            _ => self.to_http(),
        }
    }

    fn to_http(&self) -> brisk::Error {
        let e = self;
        match e {
            Error::DoesNotExist { model } => {
                brisk::Error::http(StatusCode::NOT_FOUND, format!("{model} not found"))
            }
            Error::UniqueViolation { columns, .. } => {
                let detail: Vec<_> = columns
                    .iter()
                    .map(|c| {
                        json!({
                            "type": "unique",
                            "loc": ["body", c],
                            "msg": format!("A row with this {c} already exists"),
                        })
                    })
                    .collect();
                let detail = if detail.is_empty() {
                    json!("A row with these values already exists")
                } else {
                    json!(detail)
                };
                brisk::Error::http(StatusCode::CONFLICT, detail)
            }
            Error::ForeignKeyViolation { .. } => {
                tracing::info!(target: "brisk_orm", error = %e, "refused by a foreign key");
                brisk::Error::http(
                    StatusCode::CONFLICT,
                    "The row is referenced by, or refers to, a missing row",
                )
            }
            Error::ConstraintViolation { .. } => {
                tracing::info!(target: "brisk_orm", error = %e, "refused by a constraint");
                brisk::Error::http(StatusCode::UNPROCESSABLE_ENTITY, "A value breaks a rule of the table")
            }
            Error::PoolTimeout | Error::Unavailable { .. } => {
                tracing::warn!(target: "brisk_orm", error = %e, "database unavailable");
                brisk::Error::http(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable")
                    .with_header(RETRY_AFTER, HeaderValue::from_static("1"))
            }
            _ => brisk::Error::from_status(StatusCode::INTERNAL_SERVER_ERROR),
        }
    }
}

/// Maps a rusqlite error to [`Error`], naming the columns of a unique violation.
pub(crate) fn from_sqlite(e: rusqlite::Error) -> Error {
    use rusqlite::ffi::{
        SQLITE_BUSY, SQLITE_CONSTRAINT_FOREIGNKEY, SQLITE_CONSTRAINT_PRIMARYKEY, SQLITE_CONSTRAINT_UNIQUE,
        SQLITE_LOCKED,
    };
    if let rusqlite::Error::SqliteFailure(code, message) = &e {
        let message = message.clone().unwrap_or_else(|| code.to_string());
        match code.extended_code {
            SQLITE_CONSTRAINT_UNIQUE | SQLITE_CONSTRAINT_PRIMARYKEY => {
                // "UNIQUE constraint failed: app_post.slug, app_post.other"
                let list = message.rsplit(": ").next().unwrap_or_default();
                let mut table = String::new();
                let columns = list
                    .split(", ")
                    .filter_map(|tc| tc.split_once('.'))
                    .map(|(t, c)| {
                        table = t.to_owned();
                        c.to_owned()
                    })
                    .collect();
                return Error::UniqueViolation { table, columns };
            }
            SQLITE_CONSTRAINT_FOREIGNKEY => return Error::ForeignKeyViolation { message },
            _ if message.starts_with("FOREIGN KEY constraint failed") => {
                return Error::ForeignKeyViolation { message }
            }
            _ => {}
        }
        if message.contains(crate::backend::DIVISION_BY_ZERO) {
            // The same error as PostgreSQL's (SQLSTATE 22012).
            return Error::Database {
                message: crate::backend::DIVISION_BY_ZERO.into(),
                code: Some("22012".into()),
            };
        }
        if code.code == rusqlite::ErrorCode::ConstraintViolation {
            return Error::ConstraintViolation { message };
        }
        if code.extended_code & 0xff == SQLITE_BUSY || code.extended_code & 0xff == SQLITE_LOCKED {
            return Error::PoolTimeout;
        }
        return Error::Database { message, code: None };
    }
    Error::Database { message: e.to_string(), code: None }
}

/// Maps a tokio-postgres error to [`Error`]: SQLSTATE classes to kinds, a closed connection
/// to [`Error::Unavailable`].
pub(crate) fn from_pg(e: tokio_postgres::Error) -> Error {
    if let Some(db) = e.as_db_error() {
        let code = db.code().code();
        return match code {
            "23505" => Error::UniqueViolation {
                table: db.table().unwrap_or_default().to_owned(),
                columns: key_columns(db.detail()),
            },
            "23503" => Error::ForeignKeyViolation { message: db.message().to_owned() },
            "23502" | "23514" | "22001" => Error::ConstraintViolation { message: db.message().to_owned() },
            // admin_shutdown, crash_shutdown, cannot_connect_now
            "57P01" | "57P02" | "57P03" => Error::Unavailable { message: db.message().to_owned() },
            _ => Error::Database { message: db.message().to_owned(), code: Some(code.to_owned()) },
        };
    }
    let io = std::error::Error::source(&e).is_some_and(|s| s.is::<std::io::Error>());
    if e.is_closed() || io {
        return Error::Unavailable { message: e.to_string() };
    }
    let message = match std::error::Error::source(&e) {
        Some(cause) => format!("{e}: {cause}"),
        None => e.to_string(),
    };
    Error::Database { message, code: None }
}

/// The columns of PostgreSQL's "Key (a, b)=(1, 2) already exists."
fn key_columns(detail: Option<&str>) -> Vec<String> {
    detail
        .and_then(|d| d.strip_prefix("Key ("))
        .and_then(|d| d.split_once(")="))
        .map(|(cols, _)| cols.split(", ").map(|c| c.trim_matches('"').to_owned()).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_key_detail_names_the_columns() {
        assert_eq!(key_columns(Some("Key (slug)=(a) already exists.")), ["slug"]);
        assert_eq!(key_columns(Some("Key (a, \"B\")=(1, 2) already exists.")), ["a", "B"]);
        assert!(key_columns(None).is_empty());
    }

    #[test]
    fn transient_errors_answer_503_with_retry_after() {
        register_answers();
        let e: brisk::Error = Error::PoolTimeout.into();
        assert_eq!(e.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(e.headers().is_some_and(|h| h.contains_key(RETRY_AFTER)));
    }
}

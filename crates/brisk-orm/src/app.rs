//! The database in a brisk app: `App::install(Database)` and the [`Db`] extractor.

use brisk::extract::{FromRequestParts, Request, RequestContext};
use brisk::handler::BoxFuture;
use brisk::http::request::Parts;
use brisk::middleware::{from_fn, FromFnLayer, Next};
use brisk::openapi::{DescribeInput, DocContext, Operation};
use brisk::response::{IntoResponse, Response};
use brisk::{App, Install};

use crate::backend::{Executor, Target};
use crate::database::Database;
use crate::transaction::Transaction;

/// Installing a database shares it with every handler (as [`Db`]) and checks at start-up
/// that it answers, so a wrong `DATABASE_URL` stops the server at once with a sentence. With
/// feature `sessions` (on by default) it also becomes the app's default session store
/// ([`sessions::DatabaseStore`](crate::sessions::DatabaseStore)), used by
/// `App::sessions(config)` unless the config names another.
///
/// ```no_run
/// use brisk::prelude::*;
/// use brisk_orm::{Database, Db};
///
/// async fn ping(db: Db) -> Result<&'static str> {
///     db.ping().await?;
///     Ok("ok")
/// }
///
/// fn main() -> Result<(), Box<dyn std::error::Error>> {
///     let app = App::new().install(Database::from_env()?).route("/ping", get(ping));
///     brisk::run(app)?;
///     Ok(())
/// }
/// ```
impl Install for Database {
    fn install(self, app: App) -> App {
        // The app's sessions, if it turns them on without naming a store, live in this database
        // (unless another battery, brisk-redis, gives a store: this one is the fallback).
        #[cfg(feature = "sessions")]
        let app = app.fallback_session_store(crate::sessions::DatabaseStore::new(self.clone()));
        // `/readyz` (when the app turns the health routes on) asks the database too.
        let ready = self.clone();
        let app = app.readiness_check("database", move || {
            let db = ready.clone();
            Box::pin(async move { db.ping().await.map_err(|e| e.to_string()) })
        });
        let check = self.clone();
        app.with_state(self).on_startup(move || async move {
            check
                .ping()
                .await
                .map_err(|e| format!("the database at {} does not answer: {e}", check.url()))?;
            Ok(())
        })
    }
}

/// The app's [`Database`], as a handler argument: `async fn list(db: Db) -> ...`. Dereferences
/// to [`Database`] and runs queries (`Post::objects().all(&db)`); under [`atomic_requests`] its
/// queries run in the request's transaction.
#[derive(Clone)]
pub struct Db {
    db: Database,
    tx: Option<Transaction>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db").field("db", &self.db).field("in_transaction", &self.tx.is_some()).finish()
    }
}

impl Db {
    /// A handle on `db` outside any transaction.
    pub fn new(db: Database) -> Self {
        Db { db, tx: None }
    }

    /// The request's transaction, under [`atomic_requests`] (for `on_commit`, say).
    pub fn transaction(&self) -> Option<&Transaction> {
        self.tx.as_ref()
    }
}

impl std::ops::Deref for Db {
    type Target = Database;
    fn deref(&self) -> &Database {
        &self.db
    }
}

impl Executor for Db {
    fn target(&self) -> Target<'_> {
        match &self.tx {
            Some(tx) => Target::Tx(tx),
            None => Target::Db(&self.db),
        }
    }
}

/// The transaction [`atomic_requests`] opened for a request.
#[derive(Clone)]
struct RequestTransaction(Transaction);

impl FromRequestParts for Db {
    async fn from_request_parts(parts: &mut Parts, cx: &RequestContext) -> Result<Self, brisk::Error> {
        let tx = parts.extensions.get::<RequestTransaction>().map(|t| t.0.clone());
        match cx.state::<Database>() {
            Some(db) => Ok(Db { db: db.clone(), tx }),
            None => Err(brisk::Error::internal(
                "no database: install one with App::install(Database::from_env()?)",
            )),
        }
    }
}

/// Runs each request of the routes it wraps in one transaction (Django's `ATOMIC_REQUESTS`):
/// every query through [`Db`] runs in it; it commits when the handler answers 1xx-3xx and
/// rolls back on an error answer (unless the handler asked to keep its writes:
/// [`Transaction::keep_on_error`]), a panic, or a client that left. A failed commit answers
/// with the error (503 or 500), never with the handler's success.
///
/// Opt in per router or app-wide with `.layer(atomic_requests(db.clone()))`. On SQLite a
/// transaction holds the one writer for the whole request, so wrapped requests run one at a
/// time; wrap only the routes that need it.
///
/// ```no_run
/// use brisk::prelude::*;
/// use brisk_orm::{atomic_requests, Database, Db};
///
/// async fn transfer(db: Db) -> Result<&'static str> {
///     db.execute_raw("SELECT 1").await?;
///     Ok("done")
/// }
///
/// # fn main() -> Result<(), brisk_orm::Error> {
/// let db = Database::from_env()?;
/// let payments = Router::new().route("/transfer", post(transfer)).layer(atomic_requests(db.clone()));
/// let app = App::new().install(db).merge(payments);
/// # Ok(()) }
/// ```
pub fn atomic_requests(
    db: Database,
) -> FromFnLayer<impl Fn(Request, Next) -> BoxFuture<'static, Response> + Clone + Send + Sync + 'static> {
    from_fn(move |mut req: Request, next: Next| -> BoxFuture<'static, Response> {
        let db = db.clone();
        Box::pin(async move {
            let tx = match db.begin().await {
                Ok(tx) => tx,
                Err(e) => return e.into_http().into_response(),
            };
            req.extensions_mut().insert(RequestTransaction(tx.clone()));
            let res = next.run(req).await;
            let status = res.status();
            let answered = status.is_success() || status.is_redirection() || status.is_informational();
            if answered {
                if let Err(e) = tx.commit().await {
                    return e.into_http().into_response();
                }
            } else if tx.keeps_on_error() {
                // The client is told the handler's refusal either way.
                if let Err(e) = tx.commit().await {
                    tracing::warn!(target: "brisk_orm", error = %e, "the commit asked for by keep_on_error failed");
                }
            } else if let Err(e) = tx.rollback().await {
                tracing::warn!(target: "brisk_orm", error = %e, "rollback failed");
            }
            res
        })
    })
}

/// The database is the server's own: documents nothing.
impl DescribeInput for Db {
    fn describe_input(_cx: &mut DocContext, _op: &mut Operation) {}
}

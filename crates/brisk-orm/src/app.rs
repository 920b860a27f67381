//! The database in a brisk app: `App::install(Database)` and the [`Db`] extractor.

use brisk::extract::{FromRequestParts, RequestContext};
use brisk::http::request::Parts;
use brisk::openapi::{DescribeInput, DocContext, Operation};
use brisk::{App, Install};

use crate::backend::{Executor, Target};
use crate::database::Database;

/// Installing a database shares it with every handler (as [`Db`]) and checks at start-up
/// that it answers, so a wrong `DATABASE_URL` stops the server at once with a sentence.
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
/// to [`Database`] and runs queries (`Post::objects().all(&db)`).
#[derive(Clone, Debug)]
pub struct Db(pub Database);

impl std::ops::Deref for Db {
    type Target = Database;
    fn deref(&self) -> &Database {
        &self.0
    }
}

impl Executor for Db {
    fn target(&self) -> Target<'_> {
        Target::Db(&self.0)
    }
}

impl FromRequestParts for Db {
    async fn from_request_parts(_parts: &mut Parts, cx: &RequestContext) -> Result<Self, brisk::Error> {
        match cx.state::<Database>() {
            Some(db) => Ok(Db(db.clone())),
            None => Err(brisk::Error::internal(
                "no database: install one with App::install(Database::from_env()?)",
            )),
        }
    }
}

/// The database is the server's own: documents nothing.
impl DescribeInput for Db {
    fn describe_input(_cx: &mut DocContext, _op: &mut Operation) {}
}

//! Sessions (feature `sessions`): data kept between requests of one browser, behind a cookie.
//!
//! Needs feature `sessions`.
//!
//! ```
//! use brisk::prelude::*;
//! use brisk::sessions::{Session, SessionConfig};
//!
//! async fn add_to_cart(session: Session, Path(item): Path<u64>) -> Result<Redirect> {
//!     let mut cart: Vec<u64> = session.get("cart")?.unwrap_or_default();
//!     cart.push(item);
//!     session.insert("cart", cart)?;
//!     session.flash("success", "Added to your cart.");
//!     Ok(Redirect::to("/cart"))
//! }
//!
//! async fn cart(session: Session) -> Result<String> {
//!     let flashes = session.take_flashes(); // shown once
//!     let cart: Vec<u64> = session.get("cart")?.unwrap_or_default();
//!     Ok(format!("{} message(s), {} item(s)", flashes.len(), cart.len()))
//! }
//!
//! let app = App::new()
//!     .sessions(SessionConfig::from_env())
//!     .route("/cart", get(cart))
//!     .route("/cart/{item}", post(add_to_cart));
//! ```
//!
//! - [`Session`]: the extractor; typed `get` / `insert` / `remove`, `flush` (logout),
//!   `cycle_id` (login), [flash messages](Session::flash).
//! - [`SessionStore`]: where sessions live. [`CookieStore`] (signed with the app's
//!   [secret key](crate::secret_key), the default without a database), [`MemoryStore`]
//!   (tests), and brisk-orm's `DatabaseStore` (the default once a `Database` is installed).
//! - [`SessionConfig`]: idle timeout (two weeks by default) and absolute lifetime, the cookie's
//!   name and `Secure` flag, the clock.
//!
//! Ids are 128 bits from the operating system's generator. The cookie is `HttpOnly`,
//! `SameSite=Lax`, `Path=/`; over HTTPS (or when configured) `Secure` and named
//! `__Host-session`. Only a request that changed its session writes it and sends `Set-Cookie`.

mod config;
mod cookie_store;
mod flash;
#[cfg(feature = "templates")]
mod in_templates;
mod layer;
mod memory_store;
mod record;
mod session;
mod setup;
mod store;

pub use config::{Clock, ManualClock, SecureCookies, SessionConfig, SystemClock, DEFAULT_IDLE_TIMEOUT};
pub use cookie_store::{CookieStore, DEFAULT_MAX_COOKIE_BYTES};
pub use flash::{Flash, Level};
pub use memory_store::MemoryStore;
pub use record::{Record, SessionId};
pub use session::Session;
pub use store::SessionStore;

pub(crate) use setup::{apply, AppSessions};

/// Where the CSRF secret is kept in the session.
pub(crate) const CSRF_KEY: &str = "_csrf";

//! Login throttling, on by default: failed logins are counted per username and per client
//! address, in the database (so the count holds across processes and restarts) or, when the
//! app's rate-limit store is shared by every process (brisk-redis's) or the throttle is given a
//! store with [`Throttle::in_store`], in that store (GCRA, the same algorithm as
//! `Router::rate_limit`, no table); past a limit, logins for that name or from that address
//! answer 429 with `Retry-After`. Each attempt is counted before its password is checked; a
//! successful login clears its username's count and gives its address this attempt back (not
//! the address's earlier failures: one account an attacker owns must not reset the count of
//! the address it guesses others' passwords from).

mod in_store;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use brisk::http::HeaderMap;
use brisk::rate_limit::{client_key, RateLimitStore};
use brisk_orm::{DateTime, Dialect, Executor, Raw};

/// The limits. `Throttle::default()`: 10 failures per username and 100 per address in 15
/// minutes; the 11th attempt for a username is refused.
///
/// Counted in the database (the default), a window starts at the first failure and the
/// limit's next attempt waits for its end. Counted in a rate-limit store (an app with Redis),
/// the limit is GCRA's: `per_username` failures at once, then one more every
/// `window / per_username` (90 s by default): the limit per window on average, at most twice
/// the limit less one within any one window (a full burst, then what the window lets back in).
///
/// Either way an attempt is counted before its password is checked, atomically, so attempts
/// made at once cannot all pass a check made before any was counted ([`Throttle::attempt`]);
/// a refused attempt costs nothing, and a successful one is given back
/// ([`Throttle::succeeded`]).
#[derive(Clone)]
pub struct Throttle {
    /// Failures allowed per username in a window (0: no limit).
    pub per_username: u32,
    /// Failures allowed per client address in a window (0: no limit).
    pub per_address: u32,
    /// The window: counting starts at the first failure and ends this long after.
    pub window: Duration,
    /// A header naming the client (`x-forwarded-for`) to read its address from, when the app
    /// runs behind a proxy that sets it (its last entry is used: the one the proxy added).
    /// `None`: the TCP peer.
    pub client_header: Option<String>,
    /// Where failures are counted: `None` (the default) in the database's
    /// `auth_loginfailure` table, or in the app's rate-limit store when every process shares
    /// it (Redis); a store of its own when set, see [`Throttle::in_store`].
    pub store: Option<Arc<dyn RateLimitStore>>,
}

impl std::fmt::Debug for Throttle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Throttle")
            .field("per_username", &self.per_username)
            .field("per_address", &self.per_address)
            .field("window", &self.window)
            .field("client_header", &self.client_header)
            .field("store", &self.store.as_ref().map(|s| if s.is_shared() { "shared" } else { "in-process" }))
            .finish()
    }
}

impl Default for Throttle {
    fn default() -> Self {
        Throttle {
            per_username: 10,
            per_address: 100,
            window: Duration::from_secs(15 * 60),
            client_header: None,
            store: None,
        }
    }
}

impl Throttle {
    /// No limits: every attempt checks the password (for tests of other things).
    pub fn off() -> Self {
        Throttle { per_username: 0, per_address: 0, ..Throttle::default() }
    }

    /// Counts failures in `store` instead of the database, with GCRA (as
    /// `Router::rate_limit`): an app with Redis installed does this by itself with its own
    /// store (brisk-redis's, shared by every process); name one here to choose it. Give it a
    /// store every process shares — the in-process store would let each process allow the
    /// limit on its own.
    ///
    /// ```
    /// use brisk::rate_limit::MemoryRateLimits;
    /// use brisk_auth::{Auth, Throttle};
    ///
    /// // With brisk-redis: `Throttle::default().in_store(Redis::from_env()?.rate_limits())`.
    /// let auth: Auth = Auth::default().throttle(Throttle::default().in_store(MemoryRateLimits::new()));
    /// ```
    pub fn in_store(mut self, store: impl RateLimitStore) -> Self {
        self.store = Some(Arc::new(store));
        self
    }

    /// The client's address: from [`Throttle::client_header`] when set and present, else `peer`.
    pub fn client(&self, headers: &HeaderMap, peer: Option<IpAddr>) -> Option<IpAddr> {
        if let Some(name) = &self.client_header {
            let last = headers
                .get_all(name.as_str())
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .next_back()
                .and_then(|a| a.trim().parse().ok());
            if last.is_some() {
                return last;
            }
        }
        peer
    }

    fn keys(&self, username: &str, client: Option<IpAddr>) -> Vec<(String, u32)> {
        let mut keys = Vec::with_capacity(2);
        if self.per_username > 0 {
            keys.push((username_key(username), self.per_username));
        }
        if let (Some(addr), true) = (client, self.per_address > 0) {
            // An IPv6 client by its /64 network, as `Router::rate_limit` counts it.
            keys.push((format!("addr:{}", client_key(addr)), self.per_address));
        }
        keys
    }

    /// How long until `username` from `client` may try again: `None` when it may now.
    pub async fn blocked(
        &self,
        db: &impl Executor,
        username: &str,
        client: Option<IpAddr>,
    ) -> Result<Option<Duration>, brisk_orm::Error> {
        if let Some(store) = &self.store {
            return in_store::blocked(store.as_ref(), self.window, &self.keys(username, client)).await;
        }
        let now = DateTime::now();
        let mut wait: Option<Duration> = None;
        for (key, limit) in self.keys(username, client) {
            let rows: Vec<(i64, DateTime)> =
                Raw::new("SELECT failures, window_start FROM auth_loginfailure WHERE key = ?")
                    .bind(key)
                    .fetch(db)
                    .await?;
            for (failures, start) in rows {
                let ends = micros(&start).saturating_add(self.window_micros());
                let left = ends - micros(&now);
                if left > 0 && failures >= i64::from(limit) {
                    let left = Duration::from_micros(left as u64);
                    wait = Some(wait.map_or(left, |w| w.max(left)));
                }
            }
        }
        Ok(wait)
    }

    /// Counts a login attempt of `username` from `client` before its password is checked:
    /// [`Attempt::Counted`] when it may go on, [`Attempt::Refused`] with the wait when it is
    /// refused (then nothing is counted). Counted first and atomically, so attempts made at
    /// once cannot all pass a check made before any of them was counted; an attempt counts as
    /// a failure until [`Throttle::succeeded`] is given it back.
    ///
    /// In the database, a client already past a limit is refused by reads alone, and inside
    /// a transaction (`db` a `Db` under `atomic_requests`) the count is written outside it on
    /// PostgreSQL (committed at once: no row stays locked through the password check, and
    /// the request's rollback cannot undo it); on SQLite the transaction holds the one writer,
    /// so the count is its write, which [`Throttle::failed`] keeps when the login fails (as
    /// [`Accounts::authenticate`](crate::Accounts::authenticate) does).
    ///
    /// ```
    /// # async fn demo(db: brisk_orm::Db) -> Result<(), brisk_orm::Error> {
    /// use brisk_auth::{Attempt, Throttle};
    ///
    /// let throttle = Throttle::default(); // in an app with brisk-auth: `accounts.throttle()`
    /// match throttle.attempt(&db, "alice", None).await? {
    ///     Attempt::Refused(wait) => println!("429, Retry-After: {}", wait.as_secs()),
    ///     Attempt::Counted(counted) => {
    ///         let password_was_right = true; // check it here
    ///         if password_was_right {
    ///             throttle.succeeded(&db, counted).await?;
    ///         } else {
    ///             throttle.failed(&db, counted); // then answer the failure
    ///         }
    ///     }
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub async fn attempt(
        &self,
        db: &impl Executor,
        username: &str,
        client: Option<IpAddr>,
    ) -> Result<Attempt, brisk_orm::Error> {
        let keys = self.keys(username, client);
        if keys.is_empty() {
            return Ok(Attempt::Counted(Counted { place: Place::Table(Vec::new()) }));
        }
        if let Some(store) = &self.store {
            let refused = in_store::attempt(store.as_ref(), self.window, &keys).await?;
            return Ok(match refused {
                // The longest wait of the keys, not only the one that refused.
                Some(wait) => {
                    Attempt::Refused(self.blocked(db, username, client).await?.unwrap_or(wait).max(wait))
                }
                None => Attempt::Counted(Counted { place: Place::Store { store: store.clone(), keys } }),
            });
        }
        match outside_the_request(db) {
            Some(database) => self.count_in_table(database, keys, username, client).await,
            None => self.count_in_table(db, keys, username, client).await,
        }
    }

    async fn count_in_table(
        &self,
        db: &impl Executor,
        keys: Vec<(String, u32)>,
        username: &str,
        client: Option<IpAddr>,
    ) -> Result<Attempt, brisk_orm::Error> {
        if let Some(wait) = self.blocked(db, username, client).await? {
            return Ok(Attempt::Refused(wait));
        }
        let now = DateTime::now();
        let cutoff = self.window_cutoff(&now);
        let mut counted: Vec<(String, DateTime)> = Vec::with_capacity(keys.len());
        for (key, limit) in keys {
            // Counted unless the key is at its limit within its window (a window that has
            // ended starts again at 1); a refusal writes nothing and returns no row.
            let rows: Vec<(DateTime,)> = Raw::new(
                "INSERT INTO auth_loginfailure (key, failures, window_start) VALUES (?, 1, ?) \
                 ON CONFLICT (key) DO UPDATE SET \
                 failures = CASE WHEN auth_loginfailure.window_start <= ? THEN 1 ELSE auth_loginfailure.failures + 1 END, \
                 window_start = CASE WHEN auth_loginfailure.window_start <= ? THEN excluded.window_start ELSE auth_loginfailure.window_start END \
                 WHERE auth_loginfailure.window_start <= ? OR auth_loginfailure.failures < ? \
                 RETURNING window_start",
            )
            .bind(key.clone())
            .bind(now)
            .bind(cutoff)
            .bind(cutoff)
            .bind(cutoff)
            .bind(i64::from(limit))
            .fetch(db)
            .await?;
            match rows.into_iter().next() {
                Some((start,)) => counted.push((key, start)),
                None => {
                    // Refused: the keys counted before this one get the attempt back (in the
                    // window they counted it in).
                    for (key, start) in &counted {
                        give_back(db, key, start).await?;
                    }
                    let wait = self.blocked(db, username, client).await?;
                    return Ok(Attempt::Refused(wait.unwrap_or_default().max(Duration::from_secs(1))));
                }
            }
        }
        Ok(Attempt::Counted(Counted { place: Place::Table(counted) }))
    }

    /// The attempt [`Throttle::attempt`] counted logged in: its username's failures are
    /// forgotten, and its address gets this attempt back, not its earlier failures (one
    /// account an attacker owns must not clear the count of the address it guesses others'
    /// passwords from). Given back where it was counted: in the database, in the window it
    /// was counted in (one that has ended since takes nothing from the next); in a store, as
    /// one GCRA interval.
    pub async fn succeeded(&self, db: &impl Executor, counted: Counted) -> Result<(), brisk_orm::Error> {
        match counted.place {
            Place::Store { store, keys } => in_store::succeeded(store.as_ref(), self.window, &keys).await,
            Place::Table(keys) => match outside_the_request(db) {
                Some(database) => forget_in_table(database, &keys).await,
                None => forget_in_table(db, &keys).await,
            },
        }
    }

    /// The attempt [`Throttle::attempt`] counted did not log in: it stays counted. Call it
    /// before answering the failure: under `atomic_requests` on SQLite the count is the
    /// request's own write (the transaction holds the one writer), and the error answer would
    /// roll it back — letting every guess through uncounted — so the transaction is marked to
    /// be kept ([`Transaction::keep_on_error`](brisk_orm::Transaction::keep_on_error)). Elsewhere
    /// there is nothing to do: on PostgreSQL the count was written outside the request's
    /// transaction, and a store's is not in one.
    pub fn failed(&self, db: &impl Executor, counted: Counted) {
        if let Place::Table(keys) = &counted.place {
            if keys.is_empty() {
                return;
            }
            if let (Some(tx), None) = (db.transaction(), outside_the_request(db)) {
                tx.keep_on_error();
            }
        }
    }

    /// A window that started at or before this time has ended at `now`.
    fn window_cutoff(&self, now: &DateTime) -> DateTime {
        DateTime::from_micros(micros(now).saturating_sub(self.window_micros()))
    }

    /// The window in microseconds (a window too long to count in them is as good as forever).
    fn window_micros(&self) -> i64 {
        i64::try_from(self.window.as_micros()).unwrap_or(i64::MAX)
    }

    /// Removes the counts whose window ended (they no longer count); returns how many. (Counts
    /// in a rate-limit store expire by themselves.)
    pub async fn prune(&self, db: &impl Executor) -> Result<u64, brisk_orm::Error> {
        let cutoff = self.window_cutoff(&DateTime::now());
        Raw::new("DELETE FROM auth_loginfailure WHERE window_start <= ?").bind(cutoff).execute(db).await
    }
}

/// What [`Throttle::attempt`] decided.
#[derive(Debug)]
#[must_use = "a refused attempt must not check the password"]
pub enum Attempt {
    /// Counted as a failure: the password may be checked now. Then hand this to
    /// [`Throttle::succeeded`] when it was right, to [`Throttle::failed`] when it was not.
    Counted(Counted),
    /// Refused: this long until the name or the address may try again (nothing was counted).
    Refused(Duration),
}

impl Attempt {
    /// The wait when refused, `None` when counted.
    pub fn refused(&self) -> Option<Duration> {
        match self {
            Attempt::Refused(wait) => Some(*wait),
            Attempt::Counted(_) => None,
        }
    }
}

/// An attempt [`Throttle::attempt`] counted: where, which counts it went into and, in the
/// database, the window each one was in — what [`Throttle::succeeded`] gives back (or
/// [`Throttle::failed`] keeps).
#[must_use = "give it to `Throttle::succeeded` or `Throttle::failed`"]
pub struct Counted {
    place: Place,
}

enum Place {
    /// `auth_loginfailure`: each key and the window it was counted in (`window_start`).
    Table(Vec<(String, DateTime)>),
    /// A rate-limit store: each key and its limit.
    Store { store: Arc<dyn RateLimitStore>, keys: Vec<(String, u32)> },
}

impl std::fmt::Debug for Counted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.place {
            Place::Table(keys) => f.debug_struct("Counted").field("in_table", keys).finish(),
            Place::Store { keys, .. } => f.debug_struct("Counted").field("in_store", keys).finish(),
        }
    }
}

/// The attempt counted for `key` in the window that started at `start` is taken back.
async fn give_back(db: &impl Executor, key: &str, start: &DateTime) -> Result<(), brisk_orm::Error> {
    Raw::new("UPDATE auth_loginfailure SET failures = failures - 1 WHERE key = ? AND window_start = ? AND failures > 0")
        .bind(key)
        .bind(*start)
        .execute(db)
        .await?;
    Ok(())
}

/// A login succeeded: its username's count is dropped, its address's attempt given back.
async fn forget_in_table(db: &impl Executor, keys: &[(String, DateTime)]) -> Result<(), brisk_orm::Error> {
    for (key, start) in keys {
        if key.starts_with(USER) {
            Raw::new("DELETE FROM auth_loginfailure WHERE key = ?").bind(key).execute(db).await?;
        } else {
            give_back(db, key, start).await?;
        }
    }
    Ok(())
}

/// Where a transaction's counts are written instead of in it: on PostgreSQL, the database
/// outside it (each statement committed at once). `None` outside a transaction, and on SQLite,
/// whose one writer the transaction holds.
fn outside_the_request(db: &impl Executor) -> Option<&brisk_orm::Database> {
    let tx = db.transaction()?;
    (tx.database().dialect() == Dialect::Postgres).then(|| tx.database())
}

/// The start of every username's key.
const USER: &str = "user:";

/// Usernames are counted case-folded, so `Alice` and `alice` share a count.
fn username_key(username: &str) -> String {
    let mut key = String::from(USER);
    key.extend(username.trim().chars().flat_map(char::to_lowercase).take(190));
    key
}

fn micros(t: &DateTime) -> i64 {
    t.timestamp_micros()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_comes_from_the_header_only_when_told() {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", "203.0.113.9, 198.51.100.7".parse().unwrap());
        let peer: IpAddr = "10.0.0.1".parse().unwrap();
        assert_eq!(Throttle::default().client(&headers, Some(peer)), Some(peer));
        let behind_proxy = Throttle { client_header: Some("x-forwarded-for".into()), ..Throttle::default() };
        assert_eq!(behind_proxy.client(&headers, Some(peer)), "198.51.100.7".parse().ok());
        assert_eq!(behind_proxy.client(&HeaderMap::new(), Some(peer)), Some(peer));
    }

    #[test]
    fn usernames_share_a_count_whatever_their_case() {
        assert_eq!(username_key(" Alice "), username_key("alice"));
        assert_eq!(Throttle::off().keys("alice", "10.0.0.1".parse().ok()), vec![]);
    }
}

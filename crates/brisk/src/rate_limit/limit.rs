//! [`RateLimit`]: what a limit is (its quota, its name, how a request's key is found).

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use http::request::Parts;
use http::{HeaderName, HeaderValue};

use super::store::Quota;
use crate::extract::ClientAddr;

type KeyFn = Arc<dyn Fn(&Parts) -> Option<String> + Send + Sync>;

#[derive(Clone)]
enum Key {
    /// The client's address: a trusted proxy header's last entry when set and present, else
    /// the TCP peer.
    Client {
        header: Option<HeaderName>,
    },
    Function(KeyFn),
}

/// A rate limit: `limit` requests per period per key, applied with
/// [`Router::rate_limit`](crate::Router::rate_limit) (every route of a router) or
/// [`MethodRouter::rate_limit`](crate::routing::MethodRouter::rate_limit) (one route).
///
/// ```
/// use brisk::prelude::*;
/// use brisk::rate_limit::RateLimit;
///
/// async fn login() -> &'static str { "welcome" }
/// async fn search() -> &'static str { "results" }
///
/// let app = App::new()
///     // 5 attempts a minute per client address, on this route only.
///     .route("/login", post(login).rate_limit(RateLimit::per_minute(5).name("login")))
///     // 100 a minute per API key (the header), for every route of the router.
///     .merge(
///         Router::new()
///             .route("/search", get(search))
///             .rate_limit(RateLimit::per_minute(100).name("api").key_by(|parts| {
///                 parts.headers.get("x-api-key")?.to_str().ok().map(str::to_owned)
///             })),
///     );
/// ```
///
/// One limit applied to several routes is one budget: a client's requests to any of them
/// count together. Keys are namespaced by the limit's [name](RateLimit::name) (default: its
/// quota, `"10/60s"`), so name limits that share a quota but must count apart.
#[derive(Clone)]
pub struct RateLimit {
    pub(crate) quota: Quota,
    pub(crate) name: Arc<str>,
    /// `RateLimit-Policy` (`10;w=60`): fixed by the quota, so made once.
    pub(crate) policy: HeaderValue,
    key: Key,
}

impl std::fmt::Debug for RateLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimit")
            .field("quota", &self.quota)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl RateLimit {
    /// A limit of `quota`, keyed by client address.
    pub fn new(quota: Quota) -> Self {
        let name = format!("{}/{}", quota.limit(), period_text(quota.period()));
        let window = quota.period().as_secs().max(1);
        let policy = HeaderValue::from_str(&format!("{};w={window}", quota.limit()))
            .unwrap_or_else(|_| HeaderValue::from_static("0"));
        RateLimit { quota, name: Arc::from(name), policy, key: Key::Client { header: None } }
    }

    /// `limit` requests per second.
    pub fn per_second(limit: u32) -> Self {
        RateLimit::new(Quota::new(limit, Duration::from_secs(1)))
    }

    /// `limit` requests per minute.
    pub fn per_minute(limit: u32) -> Self {
        RateLimit::new(Quota::new(limit, Duration::from_secs(60)))
    }

    /// `limit` requests per hour.
    pub fn per_hour(limit: u32) -> Self {
        RateLimit::new(Quota::new(limit, Duration::from_secs(3600)))
    }

    /// The limit's name, which namespaces its keys in the store (`"login"`).
    pub fn name(mut self, name: &str) -> Self {
        self.name = Arc::from(name);
        self
    }

    /// Keys requests by the client's address (the default): the TCP peer's IP address, or
    /// the [trusted header](RateLimit::client_header)'s when set. An IPv6 client counts by
    /// its /64 network (one subscriber's block).
    pub fn key_by_client(mut self) -> Self {
        self.key = Key::Client { header: None };
        self
    }

    /// Keys requests by the client address a proxy in front of the app names in `header`
    /// (`x-forwarded-for`; its last entry, the one the proxy added), falling back to the TCP
    /// peer when it is absent or not an address. Only for apps behind such a proxy: anyone
    /// else can send the header and pick their own key.
    ///
    /// An invalid header name (not a token) keeps the TCP peer.
    pub fn client_header(mut self, header: &str) -> Self {
        self.key = Key::Client { header: HeaderName::from_bytes(header.as_bytes()).ok() };
        self
    }

    /// Keys requests by `key(parts)`: a user id, an API key, a tenant. `None` leaves the
    /// request unlimited (e.g. an anonymous request that another limit covers).
    pub fn key_by(mut self, key: impl Fn(&Parts) -> Option<String> + Send + Sync + 'static) -> Self {
        self.key = Key::Function(Arc::new(key));
        self
    }

    /// The quota.
    pub fn quota(&self) -> Quota {
        self.quota
    }

    /// The store key of a request, `None` when the request is not limited.
    pub(crate) fn key_of(&self, parts: &Parts) -> Option<String> {
        let key = match &self.key {
            Key::Client { header } => {
                let named = header.as_ref().and_then(|name| last_address(parts, name));
                match named.or_else(|| ClientAddr::current().map(|peer| peer.ip())) {
                    Some(ip) => client_key(ip),
                    // An in-process request (a test client): one shared key.
                    None => "unknown".to_owned(),
                }
            }
            Key::Function(key) => key(parts)?,
        };
        Some(format!("rl:{}:{key}", self.name))
    }
}

/// The key a client's address is limited by: an IPv4 address as it is; an IPv6 address by
/// its /64 network, the block one subscriber usually gets (counting each address apart would
/// let a client switch addresses at will).
///
/// ```
/// use brisk::rate_limit::client_key;
/// assert_eq!(client_key("203.0.113.9".parse().unwrap()), "203.0.113.9");
/// assert_eq!(client_key("2001:db8:1:2::7".parse().unwrap()), "2001:db8:1:2::/64");
/// assert_eq!(client_key("::ffff:203.0.113.9".parse().unwrap()), "203.0.113.9");
/// ```
pub fn client_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

/// The last address of a comma-separated header (every line of it).
fn last_address(parts: &Parts, name: &HeaderName) -> Option<IpAddr> {
    parts
        .headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .next_back()
        .and_then(|last| last.trim().parse().ok())
}

fn period_text(period: Duration) -> String {
    if period.subsec_nanos() == 0 {
        format!("{}s", period.as_secs())
    } else {
        format!("{}ms", period.as_millis())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(headers: &[(&str, &str)]) -> Parts {
        let mut req = http::Request::builder();
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        req.body(()).map(|r| r.into_parts().0).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn keys_are_namespaced_by_the_name() {
        let limit = RateLimit::per_minute(10);
        assert_eq!(limit.key_of(&parts(&[])).as_deref(), Some("rl:10/60s:unknown"));
        let named = limit.name("login");
        assert_eq!(named.key_of(&parts(&[])).as_deref(), Some("rl:login:unknown"));
    }

    #[test]
    fn a_trusted_header_names_the_client_by_its_last_entry() {
        let limit = RateLimit::per_minute(10).name("l").client_header("x-forwarded-for");
        let req = parts(&[("x-forwarded-for", "10.0.0.1, 192.0.2.7"), ("x-forwarded-for", "198.51.100.2")]);
        assert_eq!(limit.key_of(&req).as_deref(), Some("rl:l:198.51.100.2"));
        let garbage = parts(&[("x-forwarded-for", "not an address")]);
        assert_eq!(limit.key_of(&garbage).as_deref(), Some("rl:l:unknown"), "falls back to the peer");
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_64_block() {
        let limit = RateLimit::per_minute(10).name("l").client_header("x-real-ip");
        let one = parts(&[("x-real-ip", "2001:db8:1:2::1")]);
        let two = parts(&[("x-real-ip", "2001:db8:1:2:ffff::9")]);
        assert_eq!(limit.key_of(&one).as_deref(), Some("rl:l:2001:db8:1:2::/64"));
        assert_eq!(limit.key_of(&one), limit.key_of(&two));
        let mapped = parts(&[("x-real-ip", "::ffff:192.0.2.1")]);
        assert_eq!(limit.key_of(&mapped).as_deref(), Some("rl:l:192.0.2.1"));
    }

    #[test]
    fn a_key_function_may_leave_a_request_unlimited() {
        let limit = RateLimit::per_second(1)
            .name("api")
            .key_by(|p| p.headers.get("x-api-key").and_then(|v| v.to_str().ok()).map(str::to_owned));
        assert_eq!(limit.key_of(&parts(&[])), None);
        assert_eq!(limit.key_of(&parts(&[("x-api-key", "k1")])).as_deref(), Some("rl:api:k1"));
    }
}

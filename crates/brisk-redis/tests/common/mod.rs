//! What the tests share: the Redis at 127.0.0.1:6379 under a prefix of the test's own (its
//! keys are deleted at the end), and a private `redis-server` a test may kill and restart.
#![allow(dead_code)]

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use brisk_redis::Redis;

/// The shared Redis the tests use.
pub const URL: &str = "redis://127.0.0.1:6379";

/// A prefix no other test (or run) uses.
pub fn unique_prefix(test: &str) -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    format!("brisk-test:{test}:{}:{nanos}:", std::process::id())
}

/// A [`Redis`] on the shared server, under `prefix`.
pub fn redis(prefix: &str) -> Redis {
    Redis::new(URL).expect("the test URL parses").with_prefix(prefix)
}

/// A plain connection, to look at what the backends wrote.
pub async fn raw(url: &str) -> redis::aio::MultiplexedConnection {
    redis::Client::open(url)
        .expect("the test URL parses")
        .get_multiplexed_async_connection()
        .await
        .expect("Redis runs at 127.0.0.1:6379 (start it with scripts/services)")
}

/// The keys under `prefix`.
pub async fn keys(url: &str, prefix: &str) -> Vec<String> {
    let mut conn = raw(url).await;
    let mut found: Vec<String> =
        redis::cmd("KEYS").arg(format!("{prefix}*")).query_async(&mut conn).await.expect("KEYS");
    found.sort();
    found
}

/// Deletes every key under `prefix`.
pub async fn cleanup(url: &str, prefix: &str) {
    let found = keys(url, prefix).await;
    if !found.is_empty() {
        let mut conn = raw(url).await;
        let _: u64 = redis::cmd("DEL").arg(found).query_async(&mut conn).await.expect("DEL");
    }
}

/// The time to live of `key` in milliseconds (-2: no key, -1: no expiry).
pub async fn pttl(url: &str, key: &str) -> i64 {
    let mut conn = raw(url).await;
    redis::cmd("PTTL").arg(key).query_async(&mut conn).await.expect("PTTL")
}

/// A `redis-server` of the test's own on a free port, without persistence; killed on drop.
pub struct PrivateRedis {
    pub port: u16,
    child: Option<Child>,
}

impl PrivateRedis {
    /// Starts one on a free port.
    pub async fn start() -> PrivateRedis {
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
        let mut server = PrivateRedis { port, child: None };
        server.restart().await;
        server
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts it (again) on its port and waits until it answers.
    pub async fn restart(&mut self) {
        let child = Command::new("/usr/bin/redis-server")
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("/usr/bin/redis-server starts");
        self.child = Some(child);
        for _ in 0..200 {
            if let Ok(client) = redis::Client::open(self.url()) {
                if let Ok(mut conn) = client.get_multiplexed_async_connection().await {
                    if redis::cmd("PING").query_async::<String>(&mut conn).await.is_ok() {
                        return;
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("redis-server on port {} did not answer", self.port);
    }

    /// Sends it `signal` (`STOP` freezes it: it keeps its connections but answers nothing;
    /// `CONT` wakes it).
    pub fn signal(&self, signal: &str) {
        if let Some(child) = &self.child {
            let sent = Command::new("kill").arg(format!("-{signal}")).arg(child.id().to_string()).status();
            assert!(sent.is_ok_and(|s| s.success()), "kill -{signal}");
        }
    }

    /// Kills it (SIGKILL, as a crash) and waits until it is gone.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        // A frozen server does not die of SIGKILL until it is woken on some systems.
        self.signal("CONT");
        self.kill();
    }
}

//! `App::install(redis)`: two app instances (two processes) sharing one Redis share their
//! rate limits, cache and pub/sub; `/readyz` checks Redis.

mod common;

use std::time::Duration;

use brisk::cache::Cache;
use brisk::http::StatusCode;
use brisk::prelude::*;
use brisk::pubsub::{Delivery, PubSub};
use brisk::rate_limit::RateLimit;
use brisk::testing::TestClient;
use brisk_redis::Redis;
use common::{cleanup, redis, unique_prefix, PrivateRedis, URL};
use futures_util::StreamExt;

async fn limited() -> &'static str {
    "ok"
}

async fn hit(cache: Cache) -> Result<String> {
    Ok(cache.incr("hits", 1).await?.to_string())
}

async fn announce(pubsub: PubSub, Path(text): Path<String>) -> Result<&'static str> {
    pubsub.publish("announcements", text).await?;
    Ok("sent")
}

fn instance(redis: Redis) -> TestClient {
    TestClient::new(
        App::new()
            .install(redis)
            .health_routes()
            .route(
                "/limited",
                get(limited)
                    .rate_limit(RateLimit::per_minute(10).name("shared").key_by(|_| Some("everyone".into()))),
            )
            .route("/hit", post(hit))
            .route("/announce/{text}", post(announce)),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_limits_cache_and_events() {
    let prefix = unique_prefix("install");
    let instances = [instance(redis(&prefix)), instance(redis(&prefix))];

    // 10 a minute, 40 requests spread over both instances: exactly 10 pass.
    let mut statuses = Vec::new();
    for n in 0..40 {
        let res = instances[n % 2].get("/limited").send().await;
        if res.status() == StatusCode::TOO_MANY_REQUESTS {
            let wait: u64 = res.header("retry-after").and_then(|v| v.parse().ok()).expect("Retry-After");
            assert!((1..=6).contains(&wait), "Retry-After {wait}");
        }
        statuses.push(res.status().as_u16());
    }
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 10, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 30);

    // One counter.
    for client in &instances {
        client.post("/hit").send().await;
    }
    assert_eq!(instances[0].post("/hit").send().await.text(), "3");

    // An event published through one instance reaches a subscriber of the other's broker.
    let events = redis(&prefix).broker();
    let mut sub = brisk::pubsub::Broker::subscribe(&events, "announcements").await.expect("subscribe");
    assert_eq!(instances[1].post("/announce/hello").send().await.status(), 200);
    let got = tokio::time::timeout(Duration::from_secs(10), sub.next()).await.expect("delivered");
    assert_eq!(got, Some(Delivery::Message("hello".into())));

    let ready = instances[0].get("/readyz").send().await;
    assert_eq!(ready.status(), 200);
    assert_eq!(ready.json::<serde_json::Value>()["checks"]["redis"], "ok");
    cleanup(URL, &prefix).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_fails_while_redis_is_down() {
    let mut server = PrivateRedis::start().await;
    let client = instance(Redis::new(&server.url()).expect("URL"));
    assert_eq!(client.get("/readyz").send().await.status(), 200);
    server.kill();
    let res = client.get("/readyz").send().await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(res.json::<serde_json::Value>()["checks"]["redis"], "Redis does not answer");
    assert_eq!(client.get("/healthz").send().await.status(), 200, "alive all the same");
    // A limited route cannot count: 503, not a free pass.
    assert_eq!(client.get("/limited").send().await.status(), StatusCode::SERVICE_UNAVAILABLE);
}

//! Rate limits: the limiter suite on Redis and in process, instances sharing one limit, a burst
//! of parallel requests, Redis going away and coming back, and the 429 contract over HTTP. Redis
//! tests run on a single node (`node::…`) and on a Redis Cluster (`cluster::…`).
mod common;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use app::backend::Viewer;
use app::types::Owner;
use app::types::Tier;
use common::*;
use fpl_chat::config::{DailyTokens, RateLimit, RateLimits};
use fpl_chat::metrics::Metrics;
use fpl_chat::rate_limit::RateLimiter;
use fpl_chat::testkit::redis::client;
use serde_json::{json, Value};
use uuid::Uuid;

fn limit(requests: u32, secs: u64) -> RateLimit {
    RateLimit {
        requests,
        window: Duration::from_secs(secs),
    }
}

fn limits() -> RateLimits {
    RateLimits {
        anonymous: limit(3, 60),
        default: limit(4, 60),
        premium: limit(6, 60),
        ip: limit(5, 60),
        mcp: limit(5, 60),
        daily_tokens: DailyTokens {
            anonymous: 1_000,
            default: 5_000,
            premium: 10_000,
            ip: 1_000_000,
            global: None,
        },
    }
}

fn unique_prefix() -> String {
    format!("test:{}:", Uuid::new_v4().simple())
}

fn limiter(redis: Option<&str>, prefix: &str, metrics: &Arc<Metrics>) -> RateLimiter {
    RateLimiter::new(limits(), prefix, redis.map(client), metrics.clone())
}

fn anonymous(ip: &str) -> Viewer {
    Viewer {
        owner: Owner::Anonymous(Uuid::new_v4()),
        tier: Tier::Anonymous,
        ip: Some(ip.parse::<IpAddr>().unwrap()),
        session: None,
        https: false,
    }
}

fn user(tier: Tier) -> Viewer {
    Viewer {
        owner: Owner::User(Uuid::new_v4()),
        tier,
        ip: Some("198.51.100.1".parse().unwrap()),
        session: None,
        https: false,
    }
}

/// How many of `n` requests in a row get through.
async fn allowed(limiter: &RateLimiter, viewer: &Viewer, n: usize) -> usize {
    let mut count = 0;
    for _ in 0..n {
        count += limiter.check(viewer).await.allowed as usize;
    }
    count
}

/// The suite both the Redis and the in-process limiter must pass.
async fn suite(redis: Option<&str>) {
    let metrics = Arc::new(Metrics::new());
    let limiter = limiter(redis, &unique_prefix(), &metrics);

    let a = anonymous("203.0.113.9");
    let mut seen = Vec::new();
    for _ in 0..4 {
        seen.push(limiter.check(&a).await);
    }
    let remaining: Vec<u32> = seen[..3].iter().map(|d| d.remaining).collect();
    assert_eq!(remaining, [2, 1, 0]);
    assert!(seen[..3].iter().all(|d| d.allowed && d.limit == 3));
    let refused = seen[3];
    assert!(!refused.allowed);
    assert_eq!(refused.limit, 3);
    // One request every 20 s: the next one in 20 s, the whole quota in 60 s.
    assert!(
        (19_000..=20_000).contains(&refused.retry_after_ms),
        "{refused:?}"
    );
    assert!((59_000..=60_000).contains(&refused.reset_ms), "{refused:?}");
    let message = limiter.message(Tier::Anonymous, &refused);
    assert!(
        message.contains("Sign in") && message.contains("20 s"),
        "{message}"
    );

    // New cookies on the same IP: the looser IP limit (5) still counts what `a` used.
    let b = anonymous("203.0.113.9");
    assert_eq!(allowed(&limiter, &b, 5).await, 2);
    let c = anonymous("203.0.113.9");
    let d = limiter.check(&c).await;
    assert!(!d.allowed && d.limit == 5, "{d:?}");
    // Another address is not affected; an IPv6 /64 counts as one address.
    assert_eq!(allowed(&limiter, &anonymous("203.0.113.10"), 4).await, 3);
    assert_eq!(allowed(&limiter, &anonymous("2001:db8:1:2::1"), 3).await, 3);
    assert_eq!(
        allowed(&limiter, &anonymous("2001:db8:1:2::ffff"), 3).await,
        2
    );

    // Accounts: their tier's limit, on their own key.
    assert_eq!(allowed(&limiter, &user(Tier::Default), 10).await, 4);
    assert_eq!(allowed(&limiter, &user(Tier::Premium), 10).await, 6);

    let text = metrics.encode_prometheus();
    assert!(
        text.contains(r#"rate_limit_decisions_total{tier="premium",result="allowed"} 6"#),
        "{text}"
    );
    assert!(text.contains(r#"rate_limit_decisions_total{tier="premium",result="refused"} 4"#));
}

async fn the_redis_limiter_keeps_the_promises(url: String) {
    suite(Some(&url)).await;
}

fpl_chat::redis_tests!(
    the_redis_limiter_keeps_the_promises,
    instances_on_one_redis_hold_one_limit,
    a_hundred_parallel_requests_never_pass_more_than_the_limit,
    a_used_up_daily_token_budget_in_redis_refuses_the_next_turn,
    two_app_instances_on_one_redis_share_a_visitors_limit,
);

#[tokio::test]
async fn the_in_process_limiter_keeps_the_promises() {
    suite(None).await;
}

async fn instances_on_one_redis_hold_one_limit(url: String) {
    let prefix = unique_prefix();
    let metrics = Arc::new(Metrics::new());
    let (one, two) = (
        limiter(Some(&url), &prefix, &metrics),
        limiter(Some(&url), &prefix, &metrics),
    );
    let viewer = user(Tier::Default);
    let mut through = 0;
    for i in 0..10 {
        let limiter = if i % 2 == 0 { &one } else { &two };
        through += limiter.check(&viewer).await.allowed as usize;
    }
    assert_eq!(through, 4);
}

async fn a_hundred_parallel_requests_never_pass_more_than_the_limit(url: String) {
    let metrics = Arc::new(Metrics::new());
    let limiter = Arc::new(limiter(Some(&url), &unique_prefix(), &metrics));
    let viewer = user(Tier::Premium);
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let limiter = limiter.clone();
            tokio::spawn(async move { limiter.check(&viewer).await.allowed })
        })
        .collect();
    let mut through = 0;
    for task in tasks {
        through += task.await.unwrap() as usize;
    }
    assert_eq!(through, 6);
}

/// A Redis server of this test's own, so that stopping it disturbs no other test.
struct PrivateRedis {
    child: std::process::Child,
    port: u16,
}

impl PrivateRedis {
    fn start(port: u16) -> Self {
        let mut child = std::process::Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-server is installed (scripts/test installs it)");
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Self { child, port };
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("redis-server did not start on {port}");
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn without_redis_the_limit_still_holds_and_redis_takes_over_again() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let redis = PrivateRedis::start(port);
    let url = format!("redis://127.0.0.1:{}", redis.port);
    let metrics = Arc::new(Metrics::new());
    let limiter = limiter(Some(&url), &unique_prefix(), &metrics);
    let viewer = user(Tier::Default);
    assert_eq!(allowed(&limiter, &viewer, 2).await, 2);

    drop(redis);
    // Never unlimited: the in-process limiter holds the same limit.
    assert_eq!(allowed(&limiter, &viewer, 10).await, 4);
    let text = metrics.encode_prometheus();
    assert!(
        text.contains("rate_limit_fallback_activations_total 1"),
        "{text}"
    );

    // Redis is back: after the fallback period, decisions are Redis's again (a fresh Redis:
    // a fresh quota), and the fallback is not activated again.
    let _redis = PrivateRedis::start(port);
    tokio::time::sleep(Duration::from_millis(5_200)).await;
    let other = user(Tier::Default);
    assert_eq!(allowed(&limiter, &other, 10).await, 4);
    let text = metrics.encode_prometheus();
    assert!(
        text.contains("rate_limit_fallback_activations_total 1"),
        "{text}"
    );
    // Redis answered 2 + 5 decisions: the refusals after the first came from memory (a caller
    // already refused costs no round trip).
    assert!(
        text.contains("rate_limit_redis_duration_seconds_count 7"),
        "{text}"
    );
}

#[tokio::test]
async fn over_the_limit_a_chat_is_a_429_with_the_headers_and_the_tiers_message() {
    let db = TestDb::sqlite();
    let mut vars = base_vars(&db);
    vars.insert("RATE_LIMIT_ANONYMOUS".into(), "2/60s".into());
    let app = spawn_with(vars).await;
    for remaining in ["1", "0"] {
        let response = app
            .client
            .post(app.url("/api/chat"))
            .json(&json!({"message": "hi"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["ratelimit-limit"], "2");
        assert_eq!(response.headers()["ratelimit-remaining"], remaining);
        assert!(response.headers().contains_key("ratelimit-reset"));
        read_events(response).await;
    }
    let refused = app
        .client
        .post(app.url("/api/chat"))
        .json(&json!({"message": "hi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 429);
    let retry: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((29..=30).contains(&retry), "{retry}");
    assert_eq!(refused.headers()["ratelimit-remaining"], "0");
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Sign in"),
        "{body}"
    );
}

#[tokio::test]
async fn a_used_up_daily_token_budget_refuses_the_next_turn() {
    budget_refuses_the_next_turn(None).await;
}

async fn a_used_up_daily_token_budget_in_redis_refuses_the_next_turn(url: String) {
    budget_refuses_the_next_turn(Some(url)).await;
}

/// Budgets counted in Redis at `redis` when given, else in process.
async fn budget_refuses_the_next_turn(redis: Option<String>) {
    let db = TestDb::sqlite();
    let prefix = unique_prefix();
    let mut extra = vec![("TOKEN_BUDGET_ANONYMOUS", "2000")];
    if let Some(url) = &redis {
        extra.extend([
            ("REDIS_URL", url.as_str()),
            ("REDIS_PREFIX", prefix.as_str()),
        ]);
    }
    let claude = fpl_chat::testkit::claude::ClaudeStandIn::start().await;
    claude.set_fallback(fpl_chat::testkit::claude::Fallback::Always(
        fpl_chat::testkit::claude::Sse::new()
            .usage(1_200, 0, 0)
            .text(&["Hello!"])
            .end("end_turn"),
    ));
    let app = spawn_with_claude(&db, &claude.base_url, &extra).await;
    let mut remaining = Vec::new();
    for _ in 0..2 {
        let response = app
            .client
            .post(app.url("/api/chat"))
            .json(&json!({"message": "hi"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["token-budget-limit"], "2000");
        remaining.push(
            response.headers()["token-budget-remaining"]
                .to_str()
                .unwrap()
                .to_string(),
        );
        read_events(response).await;
    }
    // Each turn cost 1,200 input tokens and a few output tokens.
    assert_eq!(remaining[0], "2000");
    let second: u64 = remaining[1].parse().unwrap();
    assert!((700..800).contains(&second), "{second}");
    let refused = app
        .client
        .post(app.url("/api/chat"))
        .json(&json!({"message": "hi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 429);
    let wait: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(wait <= 86_400);
    assert_eq!(refused.headers()["token-budget-remaining"], "0");
    let body: Value = refused.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("today's 2000 tokens"),
        "{body}"
    );
    assert_eq!(
        claude.requests().len(),
        2,
        "the refused turn never reached Claude"
    );
}

async fn two_app_instances_on_one_redis_share_a_visitors_limit(url: String) {
    let prefix = unique_prefix();
    let instance = |db: &TestDb| {
        let mut vars = base_vars(db);
        vars.insert("RATE_LIMIT_ANONYMOUS".into(), "3/60s".into());
        vars.insert("REDIS_URL".into(), url.clone());
        vars.insert("REDIS_PREFIX".into(), prefix.clone());
        vars
    };
    let db = TestDb::sqlite();
    let (a, b) = (
        spawn_with(instance(&db)).await,
        spawn_with(instance(&db)).await,
    );
    // One browser: the same signed identity cookie at both instances (same SESSION_SECRET).
    let browser = a.client.clone();
    let mut statuses = Vec::new();
    for app in [&a, &b, &a, &b] {
        let response = browser
            .post(app.url("/api/chat"))
            .json(&json!({"message": "hi"}))
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
        let _ = response.bytes().await;
    }
    assert_eq!(statuses, [200, 200, 200, 429]);
}

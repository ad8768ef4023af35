//! Load harness: rate-limit decisions per second, against the local Redis (`BENCH_REDIS_URL`, a
//! cluster's nodes separated by commas;
//! default redis://127.0.0.1:6379) and in process.
//!
//! `cargo bench -p fpl-chat --bench rate_limit`: 10,000 signed-in callers with a limit they
//! never reach (every decision runs the whole script), 1, 16 and 64 decisions in flight, 3 s
//! each, on tokio's multi-thread runtime as the server runs. Prints decisions per second and
//! the latency percentiles. Not a test: it asserts nothing.
use std::sync::Arc;
use std::time::{Duration, Instant};

use app::backend::Viewer;
use app::types::Owner;
use app::types::Tier;
use fpl_chat::config::{DailyTokens, RateLimit, RateLimits};
use fpl_chat::metrics::Metrics;
use fpl_chat::rate_limit::RateLimiter;
use futures::StreamExt;
use uuid::Uuid;

fn main() {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(run());
}

async fn run() {
    let url = std::env::var("BENCH_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let huge = RateLimit {
        requests: 1_000_000_000,
        window: Duration::from_secs(60),
    };
    let limits = RateLimits {
        anonymous: huge,
        default: huge,
        premium: huge,
        ip: huge,
        mcp: huge,
        daily_tokens: DailyTokens {
            anonymous: u64::MAX,
            default: u64::MAX,
            premium: u64::MAX,
            ip: u64::MAX,
            global: None,
        },
    };
    let callers: Arc<Vec<Viewer>> = Arc::new(
        (0..10_000)
            .map(|_| Viewer {
                owner: Owner::User(Uuid::new_v4()),
                tier: Tier::Default,
                ip: None,
                session: None,
                https: false,
            })
            .collect(),
    );
    let prefix = format!("bench:{}:", Uuid::new_v4().simple());
    for (name, client) in [
        ("redis", Some(fpl_chat::testkit::redis::client(&url))),
        ("in-process", None),
    ] {
        let limiter = Arc::new(RateLimiter::new(
            limits,
            &prefix,
            client,
            Arc::new(Metrics::new()),
        ));
        for in_flight in [1usize, 16, 64] {
            measure(name, &limiter, &callers, in_flight).await;
        }
    }
}

async fn measure(
    name: &str,
    limiter: &Arc<RateLimiter>,
    callers: &Arc<Vec<Viewer>>,
    in_flight: usize,
) {
    let deadline = Instant::now() + Duration::from_secs(3);
    let started = Instant::now();
    let mut latencies: Vec<Duration> = futures::stream::iter(0..)
        .take_while(|_| std::future::ready(Instant::now() < deadline))
        .map(|i: usize| {
            let limiter = limiter.clone();
            let caller = callers[i % callers.len()];
            async move {
                let t = Instant::now();
                let decision = limiter.check(&caller).await;
                assert!(decision.allowed);
                t.elapsed()
            }
        })
        .buffer_unordered(in_flight)
        .collect()
        .await;
    let elapsed = started.elapsed();
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() - 1) as f64 * p) as usize].as_secs_f64() * 1e6;
    println!(
        "{name:>10}, {in_flight:>2} in flight: {:>8.0} decisions/s, p50 {:>6.0} µs, p99 {:>6.0} µs",
        latencies.len() as f64 / elapsed.as_secs_f64(),
        pct(0.5),
        pct(0.99),
    );
}

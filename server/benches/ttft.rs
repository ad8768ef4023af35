//! Load harness: the time the app adds to Claude's time to first token.
//!
//! `cargo bench -p fpl-chat --bench ttft` starts the Messages API stand-in (answering at once)
//! and the real app on it (SQLite in a temp dir, or PostgreSQL when `BENCH_DATABASE_URL` is
//! set), then measures, over loopback and a warm connection pool:
//! - upstream: `POST /v1/messages` straight to the stand-in → first `content_block_delta`;
//! - app: `POST /api/chat` → first `text` event (identity, validation, the user's message
//!   stored, history, the tool list, the upstream request, streaming);
//!
//! sequentially (1 user) and with `BENCH_CONCURRENCY` users at once (default 50), and prints
//! p50 / p99 of both and of their difference. Not a test: it asserts nothing.
use std::collections::HashMap;
use std::time::{Duration, Instant};

use fpl_chat::config::Config;
use fpl_chat::startup::Application;
use fpl_chat::testkit::claude::{ClaudeStandIn, Fallback, Sse};
use futures::StreamExt;
use serde_json::json;

const TURNS: usize = 300;

fn main() {
    // As `fpl-chat serve` runs: tokio's multi-thread runtime, one worker per core.
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(run());
}

async fn run() {
    let stand_in = ClaudeStandIn::start().await;
    stand_in.set_fallback(Fallback::Always(
        Sse::new().text(&["Hello", " there."]).end("end_turn"),
    ));
    let data = tempfile::tempdir().expect("temp dir");
    let database_url = std::env::var("BENCH_DATABASE_URL")
        .unwrap_or_else(|_| format!("sqlite://{}/bench.db", data.path().display()));
    let mut vars: HashMap<&str, String> = HashMap::new();
    vars.insert("LEPTOS_SITE_ADDR", "127.0.0.1:0".into());
    vars.insert("DATABASE_URL", database_url.clone());
    vars.insert("FPL_SNAPSHOT_DIR", snapshot_dir());
    vars.insert("CLAUDE_API_KEY", "bench".into());
    vars.insert("CLAUDE_API_BASE_URL", stand_in.base_url.clone());
    vars.insert(
        "SESSION_SECRET",
        "bench-session-secret-bench-session-secret".into(),
    );
    let config = Config::from_lookup(|k| vars.get(k).cloned()).expect("config");
    let app = Application::build(config).await.expect("app");
    let base = format!("http://{}", app.addr());
    tokio::spawn(async move {
        let _ = app.run_until_stopped().await;
    });
    let upstream = format!("{}/v1/messages", stand_in.base_url);
    let client = reqwest::Client::new();
    // Keeps the identity cookie and warm connections, as a browser does.
    let app_client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .expect("client");
    let concurrency: usize = std::env::var("BENCH_CONCURRENCY")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    let backend = if database_url.starts_with("postgres") {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    println!("time to first token, {TURNS} turns, {backend}, release build, loopback");

    // Warm-up: connection pools, the tokenizer, the database.
    for _ in 0..20 {
        upstream_ttft(&client, &upstream).await;
        app_ttft(&app_client, &base).await;
    }
    for users in [1, concurrency] {
        let direct = measure(users, || upstream_ttft(&client, &upstream)).await;
        let through_app = measure(users, || app_ttft(&app_client, &base)).await;
        report(users, &direct, &through_app);
    }
}

async fn measure<F, Fut>(users: usize, one: F) -> Vec<Duration>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Duration>,
{
    futures::stream::iter(0..TURNS)
        .map(|_| one())
        .buffer_unordered(users)
        .collect()
        .await
}

/// Straight to the stand-in: until the first text delta.
async fn upstream_ttft(client: &reqwest::Client, url: &str) -> Duration {
    let started = Instant::now();
    let body = json!({"model": "m", "max_tokens": 10, "stream": true,
        "messages": [{"role": "user", "content": "hi"}]});
    let response = client.post(url).json(&body).send().await.expect("stand-in");
    first_chunk_with(response, b"content_block_delta", started).await
}

/// Through the app, a new conversation each time: until the first `text` event.
async fn app_ttft(client: &reqwest::Client, base: &str) -> Duration {
    let started = Instant::now();
    let response = client
        .post(format!("{base}/api/chat"))
        .json(&json!({"message": "How is Haaland doing?"}))
        .send()
        .await
        .expect("app");
    assert_eq!(response.status(), 200);
    first_chunk_with(response, b"event: text", started).await
}

/// Reads the body until `marker` appears (then drains it) and returns when it appeared.
async fn first_chunk_with(
    response: reqwest::Response,
    marker: &[u8],
    started: Instant,
) -> Duration {
    let mut seen = Vec::new();
    let mut at = None;
    let mut body = response.bytes_stream();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.expect("body");
        if at.is_none() {
            seen.extend_from_slice(&chunk);
            if seen.windows(marker.len()).any(|w| w == marker) {
                at = Some(started.elapsed());
            }
        }
    }
    at.expect("the marker arrived")
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn report(users: usize, direct: &[Duration], through_app: &[Duration]) {
    let mut d = direct.to_vec();
    let mut a = through_app.to_vec();
    d.sort();
    a.sort();
    let ms = |x: Duration| x.as_secs_f64() * 1000.0;
    let (d50, d99, a50, a99) = (
        percentile(&d, 0.5),
        percentile(&d, 0.99),
        percentile(&a, 0.5),
        percentile(&a, 0.99),
    );
    println!(
        "{users:>3} user(s): upstream p50 {:.2} ms p99 {:.2} ms | app p50 {:.2} ms p99 {:.2} ms | added p50 {:.2} ms p99 {:.2} ms",
        ms(d50),
        ms(d99),
        ms(a50),
        ms(a99),
        ms(a50) - ms(d50),
        ms(a99) - ms(d99),
    );
}

fn snapshot_dir() -> String {
    if let Ok(dir) = std::env::var("FPL_SNAPSHOT_DIR") {
        return dir;
    }
    let mut dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    loop {
        let candidate = dir.join("shared/fpl-data/2025-26_gw7");
        if candidate.is_dir() {
            return candidate.display().to_string();
        }
        assert!(dir.pop(), "shared/fpl-data not found; set FPL_SNAPSHOT_DIR");
    }
}

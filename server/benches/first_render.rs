//! Server time of a conversation's first render: `GET /c/{id}` of a 200-message conversation
//! (budget ≤ 10 ms at the median: docs/testing.md, "Performance budgets"), against direct
//! baselines measured in the same run: `GET /healthz` (the HTTP path alone) and `GET /` (an
//! empty chat page: the shell, the list, the account).
//!
//! `cargo bench -p fpl-chat --bench first_render` starts the server in this process (SQLite in
//! a temporary directory, the offline analyst, `FPL_SNAPSHOT_DIR` or `../shared/fpl-data`),
//! asks 100 questions through `POST /api/chat` (200 stored messages with their tool cards and
//! pictures), then requests each page 200 times, one after another, over loopback. Prints the
//! median and p99 of each and the page's difference from the baselines. Not a test: it asserts
//! nothing. `FIRST_RENDER_PAGE=file` writes the page there.
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use fpl_chat::config::Config;
use fpl_chat::startup::Application;

const QUESTIONS: [&str; 5] = [
    "How is Haaland doing?",
    "Who has the easiest fixtures for the next five gameweeks?",
    "Show the league table",
    "Compare Salah and Palmer",
    "When is the next deadline?",
];

fn snapshot() -> PathBuf {
    if let Ok(dir) = std::env::var("FPL_SNAPSHOT_DIR") {
        return PathBuf::from(dir);
    }
    let mut dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    loop {
        let candidate = dir.join("shared/fpl-data/2025-26_gw7");
        if candidate.is_dir() {
            return candidate;
        }
        assert!(dir.pop(), "set FPL_SNAPSHOT_DIR");
    }
}

async fn time(client: &reqwest::Client, url: &str, n: usize) -> Vec<Duration> {
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let start = Instant::now();
        let response = client.get(url).send().await.unwrap();
        assert!(
            response.status().is_success(),
            "{url}: {}",
            response.status()
        );
        let _ = response.bytes().await.unwrap();
        times.push(start.elapsed());
    }
    times.sort();
    times
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1_000.0
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let vars: HashMap<&str, String> = HashMap::from([
        ("LEPTOS_SITE_ADDR", "127.0.0.1:0".into()),
        (
            "DATABASE_URL",
            format!("sqlite://{}", dir.path().join("bench.db").display()),
        ),
        ("FPL_SNAPSHOT_DIR", snapshot().display().to_string()),
        ("OFFLINE_ANALYST_PACE_MS", "0".into()),
        ("RATE_LIMIT_ANONYMOUS", "100000/60s".into()),
        ("RATE_LIMIT_IP", "100000/60s".into()),
        ("TOKEN_BUDGET_ANONYMOUS", "4000000000".into()),
        ("TOKEN_BUDGET_IP", "4000000000".into()),
        ("RUST_LOG", "warn".into()),
    ]);
    let config = Config::from_lookup(|k| vars.get(k).cloned()).expect("config");
    let app = Application::build(config).await.expect("app");
    let base = format!("http://{}", app.addr());
    tokio::spawn(app.run_until(std::future::pending::<()>()));
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();

    let mut id = None::<String>;
    for i in 0..100 {
        let mut body = serde_json::json!({ "message": QUESTIONS[i % QUESTIONS.len()] });
        if let Some(id) = &id {
            body["conversation_id"] = id.clone().into();
        }
        let text = client
            .post(format!("{base}/api/chat"))
            .json(&body)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if id.is_none() {
            let at = text.find("\"conversation_id\":\"").expect("a meta event") + 19;
            id = Some(text[at..at + 36].to_string());
        }
    }
    let page = format!("{base}/c/{}", id.unwrap());
    // Warm-up: connections, caches, the allocator.
    time(&client, &page, 20).await;
    time(&client, &format!("{base}/"), 20).await;

    let runs = 200;
    let health = time(&client, &format!("{base}/healthz"), runs).await;
    let empty = time(&client, &format!("{base}/"), runs).await;
    let full = time(&client, &page, runs).await;
    let body = client
        .get(&page)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let bytes = body.len();
    // `FIRST_RENDER_PAGE=file` keeps the page, to see what it is made of.
    if let Ok(path) = std::env::var("FIRST_RENDER_PAGE") {
        std::fs::write(path, &body).unwrap();
    }
    let line = |name: &str, t: &[Duration]| {
        println!(
            "{name:<34} median {:>7.3} ms   p99 {:>7.3} ms",
            ms(t[t.len() / 2]),
            ms(t[t.len() * 99 / 100])
        );
    };
    println!("first render, {runs} requests each, one at a time:");
    line("GET /healthz (baseline)", &health);
    line("GET / (empty chat)", &empty);
    line("GET /c/{id} (200 messages)", &full);
    println!(
        "page of 200 messages: {} KB; its median is {:.3} ms over /healthz, {:.3} ms over the empty chat",
        bytes / 1024,
        ms(full[runs / 2]) - ms(health[runs / 2]),
        ms(full[runs / 2]) - ms(empty[runs / 2]),
    );
}

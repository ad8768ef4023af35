//! See security.rs. Inputs that could starve the server: huge or adversarial tool inputs over
//! `/mcp`, adversarial chat messages, and a client that sends its request head slowly. Each
//! attack runs on a two-worker runtime (the size of a small instance) while `/healthz` is
//! probed: it must keep answering within a second.
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use fpl_chat::http::serve::HEADER_READ_TIMEOUT;

use crate::common::{spawn_app, TestApp, TestDb};

/// What `/healthz` must answer within while an attack runs.
const HEALTHY: Duration = Duration::from_secs(1);

/// A 200 KB name, none of it a name: each character is costly to compare.
fn huge_query() -> String {
    "abcdefghij".repeat(20_000)
}

/// 100 characters (the limit) that fold to 28 each ("ﷺ" is "salla llahu alayhi wasallam"): a
/// matcher that compares the folded text unbounded does 28 times the work.
fn adversarial_query() -> String {
    "ﷺ".repeat(100)
}

/// Probes `/healthz` every 50 ms until stopped; returns the slowest answer (a failed or
/// timed-out probe counts as `Duration::MAX`).
struct Probe {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<Duration>,
}

impl Probe {
    fn start(app: &TestApp) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let url = app.url("/healthz");
        let flag = stop.clone();
        let task = tokio::spawn(async move {
            let client = reqwest::Client::new();
            let mut worst = Duration::ZERO;
            while !flag.load(Ordering::Relaxed) {
                let started = Instant::now();
                let answered = client
                    .get(&url)
                    .timeout(Duration::from_secs(5))
                    .send()
                    .await
                    .is_ok_and(|r| r.status() == 200);
                let took = if answered {
                    started.elapsed()
                } else {
                    Duration::MAX
                };
                worst = worst.max(took);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            worst
        });
        Self { stop, task }
    }

    async fn worst(self) -> Duration {
        self.stop.store(true, Ordering::Relaxed);
        self.task.await.unwrap()
    }
}

/// A raw JSON-RPC client of `/mcp` with its own session.
struct Mcp {
    url: String,
    client: reqwest::Client,
    session: String,
}

impl Mcp {
    async fn open(app: &TestApp) -> Self {
        let url = app.url("/mcp");
        let client = reqwest::Client::new();
        let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "attacker", "version": "0"}}});
        let response = client
            .post(&url)
            .header("accept", "application/json, text/event-stream")
            .json(&init)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let session = response.headers()["mcp-session-id"]
            .to_str()
            .unwrap()
            .to_string();
        let _ = response.bytes().await;
        let mcp = Self {
            url,
            client,
            session,
        };
        let ack = mcp
            .post(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .await;
        assert_eq!(ack.status(), 202);
        mcp
    }

    async fn post(&self, body: &Value) -> reqwest::Response {
        self.client
            .post(&self.url)
            .header("accept", "application/json, text/event-stream")
            .header("mcp-session-id", &self.session)
            .header("mcp-protocol-version", "2025-06-18")
            .json(body)
            .timeout(Duration::from_secs(60))
            .send()
            .await
            .unwrap()
    }

    /// Calls a tool; the JSON-RPC result and how long the call took.
    async fn call(&self, tool: &str, arguments: Value) -> (Value, Duration) {
        let started = Instant::now();
        let request = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
            "params": {"name": tool, "arguments": arguments}});
        let text = self.post(&request).await.text().await.unwrap();
        let took = started.elapsed();
        // An SSE stream ("data: {...}" lines) or a plain JSON body.
        let reply = text
            .lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .chain(std::iter::once(text.as_str()))
            .filter_map(|d| serde_json::from_str::<Value>(d.trim()).ok())
            .find(|v| v["id"] == 2)
            .unwrap_or_else(|| panic!("no reply to the call in {text}"));
        (reply["result"].clone(), took)
    }
}

fn text_of(result: &Value) -> String {
    result["content"][0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Four concurrent calls of `tool` with `arguments`, each on its own session, while `/healthz`
/// is probed: the results with their times, and the slowest `/healthz` answer.
async fn attack(app: &TestApp, tool: &str, arguments: Value) -> (Vec<(Value, Duration)>, Duration) {
    let mut sessions = Vec::new();
    for _ in 0..4 {
        sessions.push(Mcp::open(app).await);
    }
    let probe = Probe::start(app);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let calls = sessions.iter().map(|mcp| mcp.call(tool, arguments.clone()));
    let results = futures::future::join_all(calls).await;
    let worst = probe.worst().await;
    let times: Vec<Duration> = results.iter().map(|(_, took)| *took).collect();
    eprintln!("{tool}: calls took {times:?}; slowest /healthz {worst:?}");
    (results, worst)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_tool_inputs_are_refused_at_once_naming_the_field_and_limit() {
    let db = TestDb::sqlite();
    let app = spawn_app(&db).await;
    let (results, worst) = attack(
        &app,
        "fpl_player_data",
        json!({"playerQuery": huge_query()}),
    )
    .await;
    for (result, took) in &results {
        let text = text_of(result);
        assert_eq!(result["isError"], true, "{text}");
        assert!(
            text.contains("playerQuery") && text.contains("100 characters"),
            "the error names the field and the limit: {text}"
        );
        assert!(*took < Duration::from_secs(2), "a refusal took {took:?}");
    }
    assert!(worst < HEALTHY, "/healthz took {worst:?} during the attack");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adversarial_names_within_the_limit_are_answered_while_healthz_answers() {
    let db = TestDb::sqlite();
    let app = spawn_app(&db).await;
    let (results, worst) = attack(
        &app,
        "fpl_player_comparison",
        json!({"playerQueries": vec![adversarial_query(); 5], "includeFixtures": true}),
    )
    .await;
    for (result, took) in &results {
        let text = text_of(result);
        assert!(
            text.contains("No player matches"),
            "answered as an unknown name, not refused: {text}"
        );
        assert!(*took < Duration::from_secs(2), "a call took {took:?}");
    }
    assert!(worst < HEALTHY, "/healthz took {worst:?} during the attack");
    let mcp = Mcp::open(&app).await;
    let (result, _) = mcp
        .call("fpl_player_data", json!({"playerQuery": "Haalnd"}))
        .await;
    assert!(
        text_of(&result).contains("Did you mean: Haaland"),
        "{result}"
    );
}

/// An 8,000-character question (the limit) made of one capitalised "word" of letters that
/// fold to 28 each: the analyst's name matching and the token counter get their worst input.
fn adversarial_question() -> String {
    format!("A{}", "ﷺ".repeat(7_999))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_adversarial_chat_question_is_answered_while_healthz_answers() {
    let db = TestDb::sqlite();
    let app = spawn_app(&db).await;
    let probe = Probe::start(&app);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    let question = adversarial_question();
    let asks = (0..2).map(|_| app.chat(&question, None));
    let answers = futures::future::join_all(asks).await;
    let took = started.elapsed();
    let worst = probe.worst().await;
    eprintln!("two adversarial questions took {took:?}; slowest /healthz {worst:?}");
    for events in &answers {
        assert!(
            matches!(events.last(), Some(app::types::ChatEvent::Done { .. })),
            "{events:?}"
        );
    }
    assert!(took < Duration::from_secs(5), "two questions took {took:?}");
    assert!(worst < HEALTHY, "/healthz took {worst:?} during the attack");

    let huge = "a".repeat(200 * 1024);
    let response = app
        .client
        .post(app.url("/api/chat"))
        .json(&json!({"message": huge, "conversation_id": null}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "payload_too_large", "{body}");
}

#[tokio::test]
async fn a_slow_request_head_is_cut_off() {
    let db = TestDb::sqlite();
    let app = spawn_app(&db).await;
    let addr = app.base.trim_start_matches("http://").to_string();
    let mut socket = tokio::net::TcpStream::connect(&addr).await.unwrap();
    socket.write_all(b"GET /healthz HT").await.unwrap();
    let started = Instant::now();
    let mut buf = Vec::new();
    // The server closes the connection (perhaps after a 408); a server without a head timeout
    // keeps it open for good, and the read times out instead.
    let limit = HEADER_READ_TIMEOUT + Duration::from_secs(5);
    let read = tokio::time::timeout(limit, socket.read_to_end(&mut buf)).await;
    assert!(
        read.is_ok(),
        "the connection was still open after {:?}",
        started.elapsed()
    );
    assert!(
        started.elapsed() >= HEADER_READ_TIMEOUT - Duration::from_secs(1),
        "cut off after {:?}, before the timeout",
        started.elapsed()
    );
}

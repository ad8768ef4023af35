//! `spawn_app`: the real server on a random port, with a fresh database (a new SQLite file, or
//! a new PostgreSQL database), the offline analyst without pacing, and the gw7 FPL snapshot.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::PathBuf;

use app::types::{ChatEvent, SseParser};
use fpl_chat::config::Config;
use fpl_chat::startup::Application;
use uuid::Uuid;

pub const METRICS_TOKEN: &str = "test-metrics-token";
pub const SESSION_SECRET: &str = "test-session-secret-test-session-secret";

/// The `shared/fpl-data/<name>` folder: `FPL_SNAPSHOT_DIR`'s parent, or found above the crate.
pub fn snapshot(name: &str) -> PathBuf {
    if let Ok(dir) = std::env::var("FPL_DATA_DIR") {
        return PathBuf::from(dir).join(name);
    }
    let mut dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    loop {
        let candidate = dir.join("shared/fpl-data").join(name);
        if candidate.is_dir() {
            return candidate;
        }
        if !dir.pop() {
            panic!("shared/fpl-data/{name} not found above the crate; set FPL_DATA_DIR");
        }
    }
}

/// Where a test's data lives; dropped with the test.
pub enum TestDb {
    Sqlite(tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

impl TestDb {
    pub fn sqlite() -> Self {
        TestDb::Sqlite(tempfile::tempdir().expect("temp dir"))
    }

    /// A new, empty PostgreSQL database.
    pub async fn postgres() -> Self {
        use sqlx::Connection;
        let admin_url = std::env::var("TEST_DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let name = format!("fplchat_app_{}", Uuid::new_v4().simple());
        let mut conn = sqlx::PgConnection::connect(&admin_url)
            .await
            .expect("PostgreSQL at TEST_DATABASE_URL");
        sqlx::query(&format!("CREATE DATABASE \"{name}\""))
            .execute(&mut conn)
            .await
            .expect("create database");
        TestDb::Postgres { admin_url, name }
    }

    pub fn url(&self) -> String {
        match self {
            TestDb::Sqlite(dir) => format!("sqlite://{}/chat.db", dir.path().display()),
            TestDb::Postgres { admin_url, name } => {
                let base = admin_url
                    .rsplit_once('/')
                    .map(|(b, _)| b)
                    .unwrap_or(admin_url);
                format!("{base}/{name}")
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let TestDb::Postgres { admin_url, name } = self {
            let (admin_url, name) = (admin_url.clone(), name.clone());
            // Best effort, on its own thread: Drop cannot await.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build();
                if let Ok(rt) = rt {
                    rt.block_on(async {
                        use sqlx::Connection;
                        if let Ok(mut c) = sqlx::PgConnection::connect(&admin_url).await {
                            let _ = sqlx::query(&format!(
                                "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                            ))
                            .execute(&mut c)
                            .await;
                        }
                    });
                }
            })
            .join();
        }
    }
}

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub server: tokio::task::JoinHandle<()>,
    /// Stops the server as SIGTERM does (see [`TestApp::stop`]).
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

pub fn base_vars(db: &TestDb) -> HashMap<String, String> {
    let mut vars = HashMap::new();
    vars.insert("LEPTOS_SITE_ADDR".into(), "127.0.0.1:0".into());
    vars.insert("DATABASE_URL".into(), db.url());
    vars.insert(
        "FPL_SNAPSHOT_DIR".into(),
        snapshot("2025-26_gw7").display().to_string(),
    );
    vars.insert("METRICS_AUTH_TOKEN".into(), METRICS_TOKEN.into());
    vars.insert("SESSION_SECRET".into(), SESSION_SECRET.into());
    vars.insert("OFFLINE_ANALYST_PACE_MS".into(), "0".into());
    // Tests send many turns from one identity; the rate-limit tests set their own limits.
    vars.insert("RATE_LIMIT_ANONYMOUS".into(), "1000/60s".into());
    vars.insert("RATE_LIMIT_IP".into(), "1000/60s".into());
    vars.insert("TOKEN_BUDGET_ANONYMOUS".into(), "4000000000".into());
    vars
}

/// The app with Claude's Messages API at `claude_base_url` (a stand-in), quick timeouts, and
/// `extra` variables on top.
pub async fn spawn_with_claude(
    db: &TestDb,
    claude_base_url: &str,
    extra: &[(&str, &str)],
) -> TestApp {
    let mut vars = base_vars(db);
    vars.insert("CLAUDE_API_KEY".into(), CLAUDE_KEY.into());
    vars.insert("CLAUDE_API_BASE_URL".into(), claude_base_url.into());
    vars.insert("CLAUDE_MODEL_VERSION".into(), "claude-test-model".into());
    for (k, v) in extra {
        vars.insert(k.to_string(), v.to_string());
    }
    spawn_with(vars).await
}

pub const CLAUDE_KEY: &str = "sk-ant-test-key-never-shown";

/// `promtool check metrics` (Debian package `prometheus`) accepts `text`.
pub fn assert_promtool_accepts(text: &str) {
    use std::io::Write;
    let mut child = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("promtool is installed (scripts/test installs it)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

pub async fn spawn_app(db: &TestDb) -> TestApp {
    spawn_with(base_vars(db)).await
}

pub async fn spawn_with(vars: HashMap<String, String>) -> TestApp {
    let config = Config::from_lookup(|k| vars.get(k).cloned()).expect("test config");
    let app = Application::build(config).await.expect("app builds");
    let base = format!("http://{}", app.addr());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        let _ = app
            .run_until(async move {
                let _ = stopped.await;
            })
            .await;
    });
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    TestApp {
        base,
        client,
        server,
        stop: Some(stop),
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The Prometheus text of `/api/metrics`.
    /// Stops the server as SIGTERM does: no new connections, the drain, then exit.
    pub fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    pub async fn metrics(&self) -> String {
        self.client
            .get(self.url("/api/metrics"))
            .bearer_auth(METRICS_TOKEN)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// The conversation as `/api/conversations/get` returns it to this client (`null` when it
    /// is not theirs).
    pub async fn conversation(&self, id: Uuid) -> serde_json::Value {
        self.client
            .post(self.url("/api/conversations/get"))
            .form(&[("id", id.to_string())])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Posts one chat turn and collects all its events.
    pub async fn chat(&self, message: &str, conversation_id: Option<Uuid>) -> Vec<ChatEvent> {
        let response = self
            .client
            .post(self.url("/api/chat"))
            .json(&serde_json::json!({ "message": message, "conversation_id": conversation_id }))
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            200,
            "chat answered {}",
            response.status()
        );
        read_events(response).await
    }
}

pub async fn read_events(response: reqwest::Response) -> Vec<ChatEvent> {
    let bytes = response.bytes().await.unwrap();
    let mut parser = SseParser::default();
    parser
        .push(&bytes)
        .into_iter()
        .map(|(name, data)| ChatEvent::from_sse(&name, &data).expect("a known event"))
        .collect()
}

/// Reads `response`'s events until one for which `enough` holds (it included); the stream
/// stays open, with `parser` holding what was read past it.
pub async fn read_until(
    response: &mut reqwest::Response,
    parser: &mut SseParser,
    enough: impl Fn(&ChatEvent) -> bool,
) -> Vec<ChatEvent> {
    let mut events = Vec::new();
    loop {
        let chunk = response.chunk().await.unwrap().expect("the awaited event");
        for (name, data) in parser.push(&chunk) {
            events.push(ChatEvent::from_sse(&name, &data).expect("a known event"));
        }
        if events.iter().any(&enough) {
            return events;
        }
    }
}

pub fn conversation_of(events: &[ChatEvent]) -> Uuid {
    match events.first() {
        Some(ChatEvent::Meta {
            conversation_id, ..
        }) => *conversation_id,
        other => panic!("first event is not meta: {other:?}"),
    }
}

pub fn answer_text(events: &[ChatEvent]) -> String {
    events
        .iter()
        .filter_map(|e| match e {
            ChatEvent::Text { delta } => Some(delta.as_str()),
            _ => None,
        })
        .collect()
}

/// The JSON-RPC `initialize` request of a raw MCP client.
pub const MCP_INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"0"}}}"#;

/// A POST of `body` to the app's `/mcp` with the Streamable HTTP headers, inside `session`
/// when one is given; callers add what their test is about (a `Host`, a bearer token).
pub fn mcp_post(app: &TestApp, body: &str, session: Option<&str>) -> reqwest::RequestBuilder {
    let mut request = reqwest::Client::new()
        .post(app.url("/mcp"))
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(id) = session {
        request = request
            .header("mcp-session-id", id)
            .header("mcp-protocol-version", "2025-06-18");
    }
    request
}

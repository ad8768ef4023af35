//! MCP both ways, against real peers from npm: the official TypeScript SDK client on our
//! `/mcp` (and its guards: allowed hosts, session expiry); our client and session manager on
//! `@modelcontextprotocol/server-everything` (records in Redis and in process, a restart that
//! forgets sessions, heartbeats); one instance using another's `/mcp` for a chat and the
//! `mcp` commands.
mod common;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use fpl_chat::mcp::client::{SessionManager, SessionPolicy};
use fpl_chat::mcp::remote::RemoteTools;
use fpl_chat::mcp::sessions::{MemorySessions, RedisSessions, SessionStore};
use fpl_chat::metrics::Metrics;
use fpl_chat::tools::builtin::tool_specs;
use fpl_chat::tools::ToolBackend;
use serde_json::{json, Value};

fn end2end_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../end2end")
}

/// Runs a Node script of `end2end/mcp` (npm packages from `end2end/node_modules`).
async fn node(script: &str, args: &[&str]) -> Value {
    let out = tokio::time::timeout(
        Duration::from_secs(60),
        tokio::process::Command::new("node")
            .arg(end2end_dir().join("mcp").join(script))
            .args(args)
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("the Node client finished within a minute")
    .expect("node runs (scripts/test installs end2end's npm packages)");
    assert!(
        out.status.success(),
        "{script} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON report")
}

async fn post(
    app: &TestApp,
    body: &str,
    session: Option<&str>,
    host: Option<&str>,
) -> reqwest::Response {
    let mut request = mcp_post(app, body, session);
    if let Some(host) = host {
        request = request.header("host", host);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn the_official_typescript_client_lists_and_calls_our_tools() {
    let db = TestDb::sqlite();
    let app = spawn_app(&db).await;
    let report = node("sdk-client.mjs", &[&app.url("/mcp")]).await;

    assert_eq!(report["server"]["name"], "fpl-chat");
    assert!(report["sessionId"].is_string(), "{report}");
    let tools = report["tools"].as_array().unwrap();
    let specs = tool_specs();
    assert_eq!(tools.len(), specs.len());
    for (tool, spec) in tools.iter().zip(&specs) {
        assert_eq!(tool["name"], spec.name.as_str());
        assert_eq!(tool["inputSchema"], spec.input_schema, "{}", spec.name);
        assert_eq!(tool["hasDescription"], true);
        match &spec.output_schema {
            Some(schema) => assert_eq!(&tool["outputSchema"], schema, "{}", spec.name),
            None => assert!(tool["outputSchema"].is_null(), "{}", spec.name),
        }
    }
    // Every typed tool answered, and the SDK validated its structured content against the
    // declared schema (it throws otherwise).
    let typed = report["typed"].as_array().unwrap();
    assert_eq!(typed.len(), specs.len(), "every tool is typed: {report}");
    for t in typed {
        assert_eq!(t["validated"], true, "{t}");
        assert_eq!(t["isError"], false, "{t}");
        assert!(t["structured"].is_object(), "{t}");
    }
    let team = typed
        .iter()
        .find(|t| t["name"] == "fpl_manager_team")
        .unwrap();
    assert_eq!(team["structured"]["chip"], "Triple Captain", "{team}");
    let error = &report["typedError"];
    assert_eq!(error["isError"], true, "{error}");
    assert!(
        error["text"].as_str().unwrap().contains("1000005"),
        "{error}"
    );
    assert!(error["structured"].is_null(), "{error}");
    let good = &report["good"];
    assert_eq!(good["isError"], false);
    assert!(good["text"].as_str().unwrap().contains("Haaland"), "{good}");
    assert!(good["structured"].is_object(), "{good}");
    let bad = &report["bad"];
    assert_eq!(bad["isError"], true);
    assert!(
        bad["text"].as_str().unwrap().contains("teamId"),
        "the error names the field: {bad}"
    );
    assert_eq!(report["unknown"]["isError"], true, "{report}");
    assert!(report["unknown"]["text"]
        .as_str()
        .unwrap()
        .contains("Unknown tool"));

    let metrics = app.metrics().await;
    assert!(
        metrics.contains(r#"tool_calls_total{tool="fpl_player_data",outcome="ok"} 2"#),
        "{metrics}"
    );
}

#[tokio::test]
async fn only_allowed_hosts_are_served() {
    let db = TestDb::sqlite();
    let app = spawn_app(&db).await;
    assert_eq!(post(&app, MCP_INITIALIZE, None, None).await.status(), 200);
    let evil = post(&app, MCP_INITIALIZE, None, Some("evil.example.com")).await;
    assert_eq!(
        evil.status(),
        403,
        "a foreign Host header (DNS rebinding) is refused"
    );

    let mut vars = base_vars(&db);
    vars.insert(
        "MCP_ALLOWED_HOSTS".into(),
        "fpl.example.com, 127.0.0.1".into(),
    );
    let public = spawn_with(vars).await;
    assert_eq!(
        post(&public, MCP_INITIALIZE, None, Some("fpl.example.com"))
            .await
            .status(),
        200
    );
    assert_eq!(
        post(&public, MCP_INITIALIZE, None, Some("evil.example.com"))
            .await
            .status(),
        403
    );
}

#[tokio::test]
async fn idle_sessions_expire_and_then_answer_404() {
    let db = TestDb::sqlite();
    let mut vars = base_vars(&db);
    vars.insert("MCP_SESSION_IDLE_SECS".into(), "1".into());
    let app = spawn_with(vars).await;
    let init = post(&app, MCP_INITIALIZE, None, None).await;
    let session = init.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_string();
    let _ = init.bytes().await;
    let initialized = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;
    assert_eq!(
        post(&app, initialized, Some(&session), None).await.status(),
        202
    );
    let list = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}).to_string();
    assert_eq!(post(&app, &list, Some(&session), None).await.status(), 200);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(post(&app, &list, Some(&session), None).await.status(), 404);
}

/// `@modelcontextprotocol/server-everything` in Streamable HTTP mode on `port`, from npm.
struct Everything {
    child: tokio::process::Child,
    url: String,
}

impl Everything {
    async fn start(port: u16) -> Self {
        let child = tokio::process::Command::new("node")
            .arg(
                end2end_dir()
                    .join("node_modules/@modelcontextprotocol/server-everything/dist/index.js"),
            )
            .arg("streamableHttp")
            .env("PORT", port.to_string())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("node and end2end's npm packages (scripts/test installs them)");
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return Self {
                    child,
                    url: format!("http://127.0.0.1:{port}/mcp"),
                };
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("server-everything did not start on port {port}");
    }

    async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn manager(url: &str, store: Arc<dyn SessionStore>, metrics: &Arc<Metrics>) -> Arc<SessionManager> {
    let policy = SessionPolicy {
        heartbeat: Duration::from_secs(30),
        request_timeout: Duration::from_secs(3),
    };
    Arc::new(SessionManager::new(url, store, policy, metrics.clone()).unwrap())
}

fn redis_store(url: &str) -> Arc<dyn SessionStore> {
    let prefix = format!("test:{}:", uuid::Uuid::new_v4().simple());
    Arc::new(RedisSessions::new(
        fpl_chat::testkit::redis::client(url),
        &prefix,
    ))
}

/// Our client against server-everything: tools, a call, and a restart that forgot the session.
async fn client_suite(store: Arc<dyn SessionStore>) {
    let port = free_port();
    let server = Everything::start(port).await;
    let metrics = Arc::new(Metrics::new());
    let sessions = manager(&server.url, store, &metrics);
    let tools = RemoteTools::new(sessions.clone());

    let specs = tools.list_tools().await.unwrap();
    assert!(specs.iter().any(|t| t.name == "echo"), "{specs:?}");
    let echo = specs.iter().find(|t| t.name == "echo").unwrap();
    assert_eq!(echo.input_schema["type"], "object");
    let answer = tools
        .call("echo", json!({"message": "hello MCP"}))
        .await
        .unwrap();
    assert!(
        !answer.is_error && answer.text.contains("hello MCP"),
        "{answer:?}"
    );
    let unknown = tools.call("no_such_tool", json!({})).await.unwrap();
    assert!(unknown.is_error, "{unknown:?}");

    let records = sessions.records().await.unwrap();
    assert_eq!(records.len(), 1);
    assert!(records[0].valid && records[0].server == server.url);

    // The server restarts and has forgotten every session: one new initialize, then the call.
    server.stop().await;
    let server = Everything::start(port).await;
    let answer = tools
        .call("echo", json!({"message": "after restart"}))
        .await
        .unwrap();
    assert!(answer.text.contains("after restart"), "{answer:?}");
    let text = metrics.encode_prometheus();
    assert!(
        text.contains("mcp_client_sessions_created_total 2"),
        "{text}"
    );
    assert!(text.contains(r#"mcp_client_operations_total{mcp_method_name="tools/call",gen_ai_tool_name="echo",outcome="ok"} 2"#), "{text}");
    let records = sessions.records().await.unwrap();
    assert_eq!(records.iter().filter(|r| r.valid).count(), 1, "{records:?}");
    assert_eq!(
        records.iter().filter(|r| !r.valid).count(),
        1,
        "the dead session is marked invalid"
    );

    // Heartbeats keep the live session; a dead server ends it.
    sessions.heartbeat().await;
    assert!(text_of(&metrics).contains(r#"mcp_client_heartbeats_total{result="ok"} 1"#));
    server.stop().await;
    sessions.heartbeat().await;
    assert!(text_of(&metrics).contains(r#"mcp_client_heartbeats_total{result="failed"} 1"#));
    assert!(sessions.records().await.unwrap().iter().all(|r| !r.valid));
    let down = tools.call("echo", json!({"message": "x"})).await;
    assert!(
        down.is_err(),
        "no server: a backend failure for the breaker"
    );
}

fn text_of(metrics: &Metrics) -> String {
    metrics.encode_prometheus()
}

/// On a single node (`node::…`) and on a Redis Cluster (`cluster::…`).
async fn our_client_uses_server_everything_with_records_in_redis(url: String) {
    client_suite(redis_store(&url)).await;
}

fpl_chat::redis_tests!(our_client_uses_server_everything_with_records_in_redis);

#[tokio::test]
async fn our_client_uses_server_everything_with_records_in_process() {
    client_suite(Arc::new(MemorySessions::default())).await;
}

#[tokio::test]
async fn one_instance_chats_with_the_tools_of_another_instances_mcp() {
    let db_a = TestDb::sqlite();
    let a = spawn_app(&db_a).await;
    let db_b = TestDb::sqlite();
    let mut vars = base_vars(&db_b);
    vars.insert("EXPRESS_MCP_SERVER_PRIVATE".into(), a.base.clone());
    let b = spawn_with(vars).await;

    let events = b.chat("How is Haaland doing?", None).await;
    let text = answer_text(&events);
    assert!(text.contains("Haaland"), "{text}");
    assert!(events.iter().any(|e| matches!(e, app::types::ChatEvent::ToolResult { name, ok: true, .. } if name == "fpl_player_data")), "{events:?}");
    // The call went through A's /mcp.
    let a_metrics = a.metrics().await;
    assert!(
        a_metrics.contains(r#"tool_calls_total{tool="fpl_player_data",outcome="ok"} 1"#),
        "{a_metrics}"
    );
    let b_metrics = b.metrics().await;
    assert!(b_metrics.contains(r#"mcp_client_operations_total{mcp_method_name="tools/call",gen_ai_tool_name="fpl_player_data",outcome="ok"} 1"#), "{b_metrics}");
    let ready: Value = reqwest::get(b.url("/readyz"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["mcp"], "ok");

    // The commands go through the same manager.
    let cli = |args: &[&str]| {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_fpl-chat"))
            .args(args)
            .env_clear()
            .envs(base_vars(&db_b))
            .env("EXPRESS_MCP_SERVER_PRIVATE", &a.base)
            .output()
    };
    let tools = cli(&["mcp", "tools"]).await.unwrap();
    let listing = String::from_utf8_lossy(&tools.stdout);
    assert!(tools.status.success());
    assert_eq!(
        listing.lines().filter(|l| l.starts_with("fpl_")).count(),
        16,
        "{listing}"
    );
    let call = cli(&[
        "mcp",
        "call",
        "fpl_player_data",
        r#"{"playerQuery":"Salah"}"#,
    ])
    .await
    .unwrap();
    assert!(call.status.success());
    assert!(String::from_utf8_lossy(&call.stdout).contains("Salah"));
    let doctor = cli(&["doctor"]).await.unwrap();
    let table = String::from_utf8_lossy(&doctor.stdout);
    assert!(table.contains("16 tools"), "{table}");
}

#[tokio::test]
async fn an_idle_session_is_validated_before_reuse_and_replaced_when_invalid() {
    let db = TestDb::sqlite();
    let a = spawn_app(&db).await;
    let metrics = Arc::new(Metrics::new());
    let store: Arc<dyn SessionStore> = Arc::new(MemorySessions::default());
    let policy = SessionPolicy {
        heartbeat: Duration::from_millis(300),
        request_timeout: Duration::from_secs(3),
    };
    let sessions = Arc::new(
        SessionManager::new(&a.url("/mcp"), store.clone(), policy, metrics.clone()).unwrap(),
    );
    sessions.list_tools().await.unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    sessions.list_tools().await.unwrap();
    let text = metrics.encode_prometheus();
    assert!(
        text.contains(r#"mcp_client_session_validations_total{result="ok"} 1"#),
        "{text}"
    );
    assert!(
        text.contains("mcp_client_sessions_created_total 1"),
        "the validated session was reused"
    );

    // Another instance (or an operator) marked the record invalid: the session is replaced.
    let record = store.list().await.unwrap()[0].id.clone();
    store.invalidate(&record).await.unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    sessions.list_tools().await.unwrap();
    let text = metrics.encode_prometheus();
    assert!(
        text.contains(r#"mcp_client_session_validations_total{result="invalid"} 1"#),
        "{text}"
    );
    assert!(
        text.contains("mcp_client_sessions_created_total 2"),
        "{text}"
    );
}

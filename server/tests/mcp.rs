//! MCP: the FPL tools at `/mcp` against the official TypeScript SDK client from npm, and the
//! transport's guards (allowed hosts, session expiry).
mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::*;
use fpl_chat::tools::builtin::tool_specs;
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

const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"0"}}}"#;

async fn post(
    app: &TestApp,
    body: &str,
    session: Option<&str>,
    host: Option<&str>,
) -> reqwest::Response {
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
    }
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
        metrics.contains(r#"tool_calls_total{tool="fpl_player_data",outcome="ok"} 1"#),
        "{metrics}"
    );
}

#[tokio::test]
async fn only_allowed_hosts_are_served() {
    let db = TestDb::sqlite();
    let app = spawn_app(&db).await;
    assert_eq!(post(&app, INITIALIZE, None, None).await.status(), 200);
    let evil = post(&app, INITIALIZE, None, Some("evil.example.com")).await;
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
        post(&public, INITIALIZE, None, Some("fpl.example.com"))
            .await
            .status(),
        200
    );
    assert_eq!(
        post(&public, INITIALIZE, None, Some("evil.example.com"))
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
    let init = post(&app, INITIALIZE, None, None).await;
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

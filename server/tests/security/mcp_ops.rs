//! See security.rs: `/mcp` is rate-limited per client address, its sessions are capped and it
//! may require a bearer token; URLs with credentials never appear in logs or `doctor`;
//! `/readyz` asks its dependencies at most every 2 s; the Claude client never follows a
//! redirect with the API key; JSON logs carry each request's id and its turn's conversation,
//! and no secret.
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use app::types::{ChatEvent, ErrorCode};
use fpl_chat::testkit::claude::{ClaudeStandIn, Sse};
use reqwest::header::{RETRY_AFTER, WWW_AUTHENTICATE};
use reqwest::{StatusCode, Url};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::common::{
    base_vars, conversation_of, mcp_post, read_events, spawn_app, spawn_with, spawn_with_claude,
    TestApp, TestDb, MCP_INITIALIZE,
};

const INITIALIZED: &str = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;
const TOKEN: &str = "mcp-token-0123456789abcdef";
const PASSWORD: &str = "hunter2";

/// A POST to `/mcp`, in a session when `session` is given, with a bearer `token` if given.
async fn post(
    app: &TestApp,
    body: &str,
    session: Option<&str>,
    token: Option<&str>,
) -> reqwest::Response {
    let mut request = mcp_post(app, body, session);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

/// A new, initialized session's id.
async fn open_session(app: &TestApp) -> String {
    let init = post(app, MCP_INITIALIZE, None, None).await;
    assert_eq!(init.status(), 200, "initialize");
    let id = init.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_string();
    let _ = init.bytes().await;
    let initialized = post(app, INITIALIZED, Some(&id), None).await;
    assert_eq!(initialized.status(), 202);
    id
}

/// `tools/list` in `session`: the status.
async fn list_tools(app: &TestApp, session: &str) -> StatusCode {
    let list = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}).to_string();
    let response = post(app, &list, Some(session), None).await;
    let status = response.status();
    let _ = response.bytes().await;
    status
}

/// Four requests from one address under `RATE_LIMIT_MCP=3/60s`: the fourth is refused.
async fn fourth_request_is_refused(extra: &[(&str, String)]) {
    let db = TestDb::sqlite();
    let mut vars = base_vars(&db);
    vars.insert("RATE_LIMIT_MCP".into(), "3/60s".into());
    for (k, v) in extra {
        vars.insert(k.to_string(), v.clone());
    }
    let app = spawn_with(vars).await;
    for n in 1..=3 {
        let response = post(&app, MCP_INITIALIZE, None, None).await;
        assert_eq!(response.status(), 200, "request {n} is within the limit");
        assert_eq!(response.headers()["ratelimit-limit"], "3");
    }
    let refused = post(&app, MCP_INITIALIZE, None, None).await;
    assert_eq!(refused.status(), 429);
    let wait: u64 = refused.headers()[RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "Retry-After {wait}");
    assert_eq!(refused.headers()["ratelimit-remaining"], "0");
    let body: Value = refused.json().await.unwrap();
    assert!(body["error"]["message"].is_string(), "{body}");
    // Other routes keep their own limits.
    let health = reqwest::get(app.url("/healthz")).await.unwrap();
    assert_eq!(health.status(), 200);
}

#[tokio::test]
async fn mcp_requests_over_the_rate_limit_are_refused_in_process() {
    fourth_request_is_refused(&[]).await;
}

fpl_chat::redis_tests!(
    mcp_requests_over_the_rate_limit_are_refused_through_redis,
    readyz_asks_its_dependencies_at_most_every_two_seconds,
    urls_with_credentials_are_redacted_in_logs_and_doctor,
);

/// On a single Redis node (`node::…`) and on a Redis Cluster (`cluster::…`).
async fn mcp_requests_over_the_rate_limit_are_refused_through_redis(url: String) {
    let prefix = format!("test:{}:", uuid::Uuid::new_v4().simple());
    fourth_request_is_refused(&[("REDIS_URL", url), ("REDIS_PREFIX", prefix)]).await;
}

#[tokio::test]
async fn mcp_sessions_are_capped_and_a_closed_session_frees_its_slot() {
    let db = TestDb::sqlite();
    let mut vars = base_vars(&db);
    vars.insert("MCP_MAX_SESSIONS".into(), "2".into());
    let app = spawn_with(vars).await;
    let first = open_session(&app).await;
    let second = open_session(&app).await;

    let third = post(&app, MCP_INITIALIZE, None, None).await;
    assert_eq!(third.status(), 503, "a third session is refused");
    assert!(third.headers().get("mcp-session-id").is_none());
    let body: Value = third.json().await.unwrap();
    assert_eq!(body["jsonrpc"], "2.0", "{body}");
    assert!(body["error"]["message"].is_string(), "{body}");
    assert_eq!(list_tools(&app, &first).await, 200, "the first still works");
    assert_eq!(
        list_tools(&app, &second).await,
        200,
        "the second still works"
    );

    let closed = reqwest::Client::new()
        .delete(app.url("/mcp"))
        .header("mcp-session-id", &first)
        .header("mcp-protocol-version", "2025-06-18")
        .send()
        .await
        .unwrap();
    assert!(closed.status().is_success(), "DELETE: {}", closed.status());
    assert_eq!(
        list_tools(&app, &first).await,
        404,
        "the closed session is gone"
    );
    let again = open_session(&app).await;
    assert_eq!(list_tools(&app, &again).await, 200);
    assert_eq!(list_tools(&app, &second).await, 200);
}

#[tokio::test]
async fn an_expired_mcp_session_frees_its_slot() {
    let db = TestDb::sqlite();
    let mut vars = base_vars(&db);
    vars.insert("MCP_MAX_SESSIONS".into(), "1".into());
    vars.insert("MCP_SESSION_IDLE_SECS".into(), "1".into());
    let app = spawn_with(vars).await;
    let idle = open_session(&app).await;
    let refused = post(&app, MCP_INITIALIZE, None, None).await;
    assert_eq!(refused.status(), 503, "the only slot is taken");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(
        list_tools(&app, &idle).await,
        404,
        "the idle session expired"
    );
    let fresh = open_session(&app).await;
    assert_eq!(list_tools(&app, &fresh).await, 200);
}

#[tokio::test]
async fn mcp_requires_the_bearer_token_when_one_is_configured() {
    let db = TestDb::sqlite();
    let mut vars = base_vars(&db);
    vars.insert("MCP_AUTH_TOKEN".into(), TOKEN.into());
    let app = spawn_with(vars).await;
    for (token, what) in [
        (None, "no token"),
        (Some("mcp-token-0123456789abcdeX"), "a wrong token"),
    ] {
        let refused = post(&app, MCP_INITIALIZE, None, token).await;
        assert_eq!(refused.status(), 401, "{what}");
        let challenge = refused.headers()[WWW_AUTHENTICATE].to_str().unwrap();
        assert!(challenge.starts_with("Bearer"), "{challenge}");
        assert!(refused.headers().get("mcp-session-id").is_none());
    }
    let admitted = post(&app, MCP_INITIALIZE, None, Some(TOKEN)).await;
    assert_eq!(admitted.status(), 200);
    assert!(admitted.headers().get("mcp-session-id").is_some());
}

/// `url` with `user` (if it has none) and the test password.
fn with_password(url: &str, user: &str) -> String {
    let mut url = Url::parse(url).unwrap();
    if url.username().is_empty() {
        url.set_username(user).unwrap();
    }
    url.set_password(Some(PASSWORD)).unwrap();
    url.to_string()
}

/// The app's variables with a password in `DATABASE_URL`, `REDIS_URL` (each node of `redis`)
/// and `EXPRESS_MCP_SERVER_PRIVATE` (the MCP server `mcp_base`).
fn vars_with_credentials(db: &TestDb, mcp_base: &str, redis: &str) -> Vec<(String, String)> {
    let redis: Vec<String> = redis
        .split(',')
        .map(|node| with_password(node, "default"))
        .collect();
    let mut vars: Vec<(String, String)> = base_vars(db).into_iter().collect();
    let prefix = format!("test:{}:", uuid::Uuid::new_v4().simple());
    vars.extend([
        ("DATABASE_URL".into(), with_password(&db.url(), "postgres")),
        ("REDIS_URL".into(), redis.join(",")),
        ("REDIS_PREFIX".into(), prefix),
        (
            "EXPRESS_MCP_SERVER_PRIVATE".into(),
            with_password(&format!("{mcp_base}/mcp"), "user"),
        ),
    ]);
    vars
}

fn fpl_chat(vars: &[(String, String)], args: &[&str]) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_fpl-chat"));
    command
        .args(args)
        .env_clear()
        .envs(vars.iter().map(|(k, v)| (k, v)))
        .kill_on_drop(true);
    command
}

/// Every line the child writes on stdout and stderr, as it writes them.
fn collect_output(child: &mut tokio::process::Child) -> Arc<Mutex<Vec<String>>> {
    let lines = Arc::new(Mutex::new(Vec::new()));
    tokio::spawn(pump(child.stdout.take().unwrap(), lines.clone()));
    tokio::spawn(pump(child.stderr.take().unwrap(), lines.clone()));
    lines
}

async fn pump(from: impl tokio::io::AsyncRead + Unpin, into: Arc<Mutex<Vec<String>>>) {
    let mut lines = BufReader::new(from).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        into.lock().unwrap().push(line);
    }
}

/// The address the server logged it listens on, within 60 s.
async fn listening_address(lines: &Mutex<Vec<String>>) -> String {
    for _ in 0..600 {
        // A text line ends with the address; a JSON line's message ends at the quote.
        let found = lines.lock().unwrap().iter().find_map(|l| {
            l.split("listening on ").nth(1).and_then(|rest| {
                rest.split(|c: char| c == '"' || c.is_whitespace())
                    .next()
                    .map(str::to_string)
            })
        });
        if let Some(address) = found {
            return address;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "the server did not start: {:?}",
        lines.lock().unwrap().join("\n")
    );
}

/// With a single Redis node (`node::…`) and with a Redis Cluster's seeds (`cluster::…`).
async fn urls_with_credentials_are_redacted_in_logs_and_doctor(redis: String) {
    let mcp_db = TestDb::sqlite();
    let remote = spawn_app(&mcp_db).await;
    let db = TestDb::postgres().await;
    let vars = vars_with_credentials(&db, &remote.base, &redis);

    // A start that uses every URL: the database, Redis and a session with the MCP server.
    let mut server = fpl_chat(&vars, &["serve"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = collect_output(&mut server);
    let base = listening_address(&lines).await;
    let ready: Value = reqwest::get(format!("{base}/readyz"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        ready,
        json!({"database": "ok", "redis": "ok", "mcp": "ok", "llm": "offline"})
    );
    server.kill().await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let logs = lines.lock().unwrap().join("\n");
    assert!(
        logs.contains("tools from a remote MCP server") && logs.contains("MCP session created"),
        "{logs}"
    );
    assert!(!logs.contains(PASSWORD), "a password in the logs:\n{logs}");
    assert!(logs.contains(&format!("{}/mcp", remote.base)), "{logs}");

    let doctor = fpl_chat(&vars, &["doctor"]).output().await.unwrap();
    let table = format!(
        "{}{}",
        String::from_utf8_lossy(&doctor.stdout),
        String::from_utf8_lossy(&doctor.stderr)
    );
    assert!(doctor.status.success(), "{table}");
    assert!(table.contains("16 tools"), "{table}");
    assert!(!table.contains(PASSWORD), "a password in doctor:\n{table}");
    assert!(table.contains("127.0.0.1:5432"), "{table}");
    let topology = if redis.contains(',') {
        "(cluster,"
    } else {
        "(single node,"
    };
    assert!(table.contains(topology), "{table}");
    // Capacity: Redis's memory and eviction policy (the default keeps every key), and each
    // table's rows and size.
    assert!(
        table.contains("used of no limit, policy noeviction") && !table.contains("WARNING"),
        "{table}"
    );
    let tables = table.lines().find(|l| l.starts_with("tables")).unwrap();
    assert!(tables.contains(" ok "), "{tables}");
    for name in ["conversations 0 rows", "messages 0 rows", "users 0 rows"] {
        assert!(tables.contains(name), "{name} in {tables}");
    }
    assert!(tables.contains("KiB"), "sizes: {tables}");

    // An MCP server that cannot be reached: its error does not show the password either.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let mut unreachable = vars.clone();
    unreachable.push((
        "EXPRESS_MCP_SERVER_PRIVATE".into(),
        format!("http://user:{PASSWORD}@127.0.0.1:{port}/mcp"),
    ));
    for args in [&["mcp", "tools"][..], &["doctor"]] {
        let out = fpl_chat(&unreachable, args).output().await.unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!out.status.success(), "{args:?}: {text}");
        assert!(!text.contains(PASSWORD), "{args:?}: a password:\n{text}");
    }
}

/// Requests that reached `/mcp` of `app`, from its metrics.
async fn mcp_requests(app: &TestApp) -> u64 {
    app.metrics()
        .await
        .lines()
        .filter(|l| l.starts_with("http_requests_total{") && l.contains(r#"route="/mcp""#))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

async fn readyz(app: &TestApp) -> Value {
    let response = reqwest::get(app.url("/readyz")).await.unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

async fn readyz_asks_its_dependencies_at_most_every_two_seconds(redis: String) {
    let remote_db = TestDb::sqlite();
    let remote = spawn_app(&remote_db).await;
    let db = TestDb::sqlite();
    let mut vars = base_vars(&db);
    vars.insert("EXPRESS_MCP_SERVER_PRIVATE".into(), remote.base.clone());
    vars.insert("REDIS_URL".into(), redis);
    vars.insert(
        "REDIS_PREFIX".into(),
        format!("test:{}:", uuid::Uuid::new_v4().simple()),
    );
    let app = spawn_with(vars).await;
    let expected = json!({"database": "ok", "redis": "ok", "mcp": "ok", "llm": "offline"});
    assert_eq!(readyz(&app).await, expected);

    // Ten calls, five of them at once: one check at most (two if they span a report's age).
    let before = mcp_requests(&remote).await;
    let together = futures::future::join_all((0..5).map(|_| readyz(&app))).await;
    assert!(together.iter().all(|r| *r == expected), "{together:?}");
    for _ in 0..5 {
        assert_eq!(readyz(&app).await, expected);
    }
    let asked = mcp_requests(&remote).await - before;
    assert!(
        asked <= 2,
        "the MCP server was asked {asked} times for 10 /readyz"
    );

    // A report older than 2 s is not served: the next call checks again.
    tokio::time::sleep(Duration::from_millis(2200)).await;
    let before = mcp_requests(&remote).await;
    assert_eq!(readyz(&app).await, expected);
    assert!(mcp_requests(&remote).await > before, "a fresh check");
}

#[tokio::test]
async fn the_claude_client_does_not_follow_a_redirect_with_the_api_key() {
    // The redirect points at another host, which records what it receives.
    let elsewhere = ClaudeStandIn::start_on(([127, 0, 0, 2], 0).into())
        .await
        .expect("bind 127.0.0.2");
    let target = elsewhere.base_url.clone();
    let redirector = axum::Router::new().fallback(move |uri: axum::http::Uri| {
        let location = format!("{target}{}", uri.path());
        async move {
            (
                axum::http::StatusCode::TEMPORARY_REDIRECT,
                [("location", location)],
            )
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let redirector_url = format!("http://{}", listener.local_addr().unwrap());
    let redirecting = tokio::spawn(async move {
        let _ = axum::serve(listener, redirector).await;
    });

    let db = TestDb::sqlite();
    let app = spawn_with_claude(&db, &redirector_url, &[]).await;
    let events = app.chat("How is Haaland doing?", None).await;
    let error = events.iter().find_map(|e| match e {
        ChatEvent::Error { code, .. } => Some(*code),
        _ => None,
    });
    assert_eq!(error, Some(ErrorCode::UpstreamError), "{events:?}");
    let seen: Vec<_> = elsewhere
        .requests()
        .into_iter()
        .map(|r| r.headers)
        .collect();
    assert!(
        seen.iter().all(|h| !h.contains_key("x-api-key")),
        "the API key reached another host"
    );
    assert!(seen.is_empty(), "the redirect was followed");
    redirecting.abort();
}

/// `LOG_FORMAT=json`, the release way of running: every line is one JSON object; the lines of a
/// chat request, the turn's own (written in its own task) among them, carry the client's
/// request id and the conversation's; an id that is not plain is replaced by a new one; and no
/// secret of the configuration is written.
#[tokio::test]
async fn json_logs_carry_the_request_and_conversation_ids_and_no_secret() {
    let db = TestDb::sqlite();
    let claude = ClaudeStandIn::start().await;
    claude.push([Sse::new().text(&["Haaland: 9 goals."]).end("end_turn")]);
    let secrets = [
        "sk-ant-api03-log-test-0123456789abcdef",
        "session-secret-for-the-log-test-0123456789",
        "metrics-token-for-the-log-test-01234",
    ];
    let mut vars: Vec<(String, String)> = base_vars(&db).into_iter().collect();
    vars.extend(
        [
            ("LOG_FORMAT", "json"),
            ("CLAUDE_API_BASE_URL", claude.base_url.as_str()),
            ("CLAUDE_API_KEY", secrets[0]),
            ("SESSION_SECRET", secrets[1]),
            ("METRICS_AUTH_TOKEN", secrets[2]),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    let mut server = fpl_chat(&vars, &["serve"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The log is stdout; stderr is for what is not a log line (a dependency's warning, a panic).
    let (lines, other) = (
        Arc::new(Mutex::new(Vec::new())),
        Arc::new(Mutex::new(Vec::new())),
    );
    tokio::spawn(pump(server.stdout.take().unwrap(), lines.clone()));
    tokio::spawn(pump(server.stderr.take().unwrap(), other.clone()));
    let base = listening_address(&lines).await;
    let client = reqwest::Client::new();
    let response = client
        .post(format!("{base}/api/chat"))
        .header("x-request-id", "client-req-42")
        .json(&json!({"message": "How is Haaland doing?"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "client-req-42");
    let conversation = conversation_of(&read_events(response).await).to_string();
    let replaced = client
        .get(format!("{base}/healthz"))
        .header("x-request-id", "<script>")
        .send()
        .await
        .unwrap();
    let new_id = replaced.headers()["x-request-id"].to_str().unwrap();
    assert!(uuid::Uuid::parse_str(new_id).is_ok(), "{new_id}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.kill().await.unwrap();

    let lines = lines.lock().unwrap().clone();
    let parsed: Vec<Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("not a JSON line: {l}")))
        .collect();
    // A line's field `name` of its enclosing span `span`.
    let in_span = |line: &Value, span: &str, name: &str| -> Value {
        let spans = line["spans"].as_array().cloned().unwrap_or_default();
        let found = spans.into_iter().find(|s| s["name"] == span);
        found.map_or(Value::Null, |s| s[name].clone())
    };
    let of_request: Vec<&Value> = parsed
        .iter()
        .filter(|line| in_span(line, "request", "request_id") == "client-req-42")
        .collect();
    assert!(
        of_request
            .iter()
            .any(|l| l["message"] == "request" && l["path"] == "/api/chat" && l["status"] == 200),
        "the request's own line: {lines:#?}"
    );
    let turn = of_request
        .iter()
        .find(|l| l["message"] == "turn")
        .unwrap_or_else(|| panic!("the turn's line, with the request's id: {lines:#?}"));
    assert_eq!(
        in_span(turn, "request", "conversation"),
        conversation.as_str()
    );
    let spans: Vec<&str> = turn["spans"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert_eq!(
        spans.last(),
        Some(&"turn"),
        "written in the turn's own task: {turn}"
    );
    assert_eq!(turn["outcome"], "complete", "{turn}");
    let all = format!("{}\n{}", lines.join("\n"), other.lock().unwrap().join("\n"));
    for secret in secrets {
        assert!(!all.contains(secret), "a secret in the logs:\n{all}");
    }
}

/// `doctor` with Redis configured but down: the Redis line fails (and so does the exit code),
/// the others still report, SQLite's tables among them.
#[tokio::test]
async fn doctor_reports_a_dead_redis_and_still_the_tables() {
    let db = TestDb::sqlite();
    let mut vars: Vec<(String, String)> = base_vars(&db).into_iter().collect();
    vars.push(("REDIS_URL".into(), "redis://127.0.0.1:1".into()));
    let out = fpl_chat(&vars, &["doctor"]).output().await.unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{table}");
    let line = |name: &str| {
        table
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap()
            .to_string()
    };
    assert!(
        line("redis").contains("FAIL") && line("redis").contains("unreachable"),
        "{table}"
    );
    assert!(line("database").contains(" ok "), "{table}");
    assert!(line("tables").contains("conversations 0 rows"), "{table}");
}

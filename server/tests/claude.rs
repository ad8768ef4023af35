//! Claude through the Messages API, against the project's stand-in (`testkit::claude`), which
//! speaks the API's SSE byte for byte and records what it receives: the request, streaming,
//! the tool loop, retries, errors, timeouts, cancellation and metrics, end to end over HTTP.
mod common;

use std::time::{Duration, Instant};

use app::types::{ChatEvent, ErrorCode};
use common::*;
use fpl_chat::store::{MessageStatus, Store};
use fpl_chat::testkit::claude::{ClaudeStandIn, Fallback, Recorded, Reply, Sse};
use fpl_chat::tools::{BuiltinTools, ToolBackend};
use serde_json::{json, Value};
use uuid::Uuid;

fn error_of(events: &[ChatEvent]) -> Option<(ErrorCode, String)> {
    events.iter().find_map(|e| match e {
        ChatEvent::Error { code, message } => Some((*code, message.clone())),
        _ => None,
    })
}

fn stop_of(events: &[ChatEvent]) -> String {
    match events.last() {
        Some(ChatEvent::Done { stop_reason }) => stop_reason.clone(),
        other => panic!("the last event is not done: {other:?}"),
    }
}

/// The stored answer of a conversation (its last message).
async fn stored_answer(db: &TestDb, conversation: Uuid) -> fpl_chat::store::Message {
    let store = Store::connect(&db.url()).await.unwrap();
    let mut messages = store.list_messages(conversation).await.unwrap();
    store.close().await;
    messages.pop().expect("an answer")
}

/// A 200-word answer, one word every 50 ms (10 s in all), for the next request.
fn queue_long_answer(claude: &ClaudeStandIn) {
    let pieces: Vec<String> = (0..200).map(|i| format!("word{i} ")).collect();
    let pieces: Vec<&str> = pieces.iter().map(String::as_str).collect();
    claude.push([Sse::new()
        .pace(Duration::from_millis(50))
        .text(&pieces)
        .end("end_turn")]);
}

/// Starts a turn and reads it until three pieces of text arrived: the open stream and the
/// conversation.
async fn start_long_turn(app: &TestApp) -> (reqwest::Response, Uuid) {
    let mut response = app
        .client
        .post(app.url("/api/chat"))
        .json(&json!({"message": "Tell me everything about Haaland"}))
        .send()
        .await
        .unwrap();
    let mut parser = app::types::SseParser::default();
    let (mut conversation, mut texts) = (None, 0);
    while texts < 3 {
        let chunk = response.chunk().await.unwrap().expect("more events");
        for (name, data) in parser.push(&chunk) {
            match ChatEvent::from_sse(&name, &data).unwrap() {
                ChatEvent::Meta {
                    conversation_id, ..
                } => conversation = Some(conversation_id),
                ChatEvent::Text { .. } => texts += 1,
                _ => {}
            }
        }
    }
    (response, conversation.expect("a meta event"))
}

fn gaps(requests: &[Recorded]) -> Vec<Duration> {
    requests.windows(2).map(|w| w[1].at - w[0].at).collect()
}

fn last_message(request: &Recorded) -> &Value {
    request.body["messages"].as_array().unwrap().last().unwrap()
}

#[tokio::test]
async fn claude_streams_text_and_tool_calls_through_the_tool_loop() {
    let db = TestDb::sqlite();
    let claude = ClaudeStandIn::start().await;
    claude.push([
        Sse::new()
            .usage(40, 1000, 200)
            .text(&["Let me ", "check Haaland."])
            .ping()
            .thinking("the user wants numbers")
            .event("a_future_event", json!({"type": "a_future_event"}))
            // The input JSON split in the middle of a key, and the whole stream re-cut into
            // 7-byte writes, so that lines and JSON keys straddle network reads.
            .tool_use(
                "toolu_01",
                "fpl_player_data",
                &[r#"{"pla"#, r#"yerQuery": "Haa"#, r#"land"}"#],
            )
            .end("tool_use")
            .rechunked(7),
        Sse::new()
            .text(&["Haaland has ", "the numbers — £14.5m."])
            .end("end_turn"),
    ]);
    let app = spawn_with_claude(&db, &claude.base_url, &[]).await;
    let events = app.chat("How is Haaland doing?", None).await;
    let conversation = conversation_of(&events);

    assert_eq!(
        answer_text(&events),
        "Let me check Haaland.Haaland has the numbers — £14.5m."
    );
    let names: Vec<&str> = events.iter().map(ChatEvent::name).collect();
    assert_eq!(
        names,
        [
            "meta",
            "context",
            "text",
            "text",
            "tool_call",
            "tool_result",
            "text",
            "text",
            "usage",
            "done"
        ]
    );
    assert!(events.contains(&ChatEvent::ToolCall {
        id: "toolu_01".into(),
        name: "fpl_player_data".into(),
        input: json!({"playerQuery": "Haaland"}),
    }));
    assert!(matches!(&events[5], ChatEvent::ToolResult { id, ok: true, .. } if id == "toolu_01"));
    assert!(matches!(
        events[8],
        ChatEvent::Usage { input_tokens, output_tokens } if input_tokens == 1240 + 1200 && output_tokens > 0
    ));
    assert_eq!(stop_of(&events), "end_turn");

    let requests = claude.requests();
    assert_eq!(requests.len(), 2);
    let first = &requests[0];
    assert_eq!(first.headers["x-api-key"], CLAUDE_KEY);
    assert_eq!(first.headers["anthropic-version"], "2023-06-01");
    assert!(first.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    assert_eq!(first.body["model"], "claude-test-model");
    assert_eq!(first.body["stream"], true);
    assert_eq!(first.body["messages"][0]["role"], "user");
    assert_eq!(
        first.body["messages"][0]["content"][0]["text"],
        "How is Haaland doing?"
    );
    assert_eq!(
        first.body["system"][0]["cache_control"]["type"],
        "ephemeral"
    );
    assert!(first.body["system"][0]["text"]
        .as_str()
        .unwrap()
        .contains("Fantasy Premier League"));

    // The tools Claude sees are the tools' own specs: one source of truth for the schemas.
    let source = fpl_chat::fpl::FplSource::snapshot_dir(snapshot("2025-26_gw7")).unwrap();
    let specs = BuiltinTools::new(source).list_tools().await.unwrap();
    let sent = first.body["tools"].as_array().unwrap();
    assert_eq!(sent.len(), specs.len());
    for (sent, spec) in sent.iter().zip(specs.iter()) {
        assert_eq!(sent["name"], spec.name.as_str());
        assert_eq!(sent["input_schema"], spec.input_schema);
    }
    assert_eq!(sent.last().unwrap()["cache_control"]["type"], "ephemeral");

    // Round two: the assistant's text and tool_use, then the result first in a user message.
    let second = &requests[1].body["messages"];
    let assistant = &second[1];
    assert_eq!(assistant["role"], "assistant");
    assert_eq!(
        assistant["content"][0],
        json!({"type": "text", "text": "Let me check Haaland."})
    );
    assert_eq!(assistant["content"][1]["type"], "tool_use");
    assert_eq!(assistant["content"][1]["id"], "toolu_01");
    assert_eq!(
        assistant["content"][1]["input"],
        json!({"playerQuery": "Haaland"})
    );
    let results = &second[2];
    assert_eq!(results["role"], "user");
    assert_eq!(results["content"][0]["type"], "tool_result");
    assert_eq!(results["content"][0]["tool_use_id"], "toolu_01");
    assert!(results["content"][0]["content"]
        .as_str()
        .unwrap()
        .contains("Haaland"));
    assert!(results["content"][0].get("is_error").is_none());

    // Stored: the text before and after the tool call, and the call with its result.
    let answer = stored_answer(&db, conversation).await;
    assert_eq!(answer.status, MessageStatus::Complete);
    assert!(answer.content.contains("Let me check Haaland.") && answer.content.contains("£14.5m"));
    assert_eq!(answer.tool_calls[0]["id"], "toolu_01");
    assert_eq!(
        answer.tool_calls[0]["input"],
        json!({"playerQuery": "Haaland"})
    );
    assert_eq!(answer.tool_results[0]["tool_use_id"], "toolu_01");
    assert_eq!(answer.tool_results[0]["ok"], true);
    assert!(answer.tool_results[0]["duration_ms"].is_u64());
    assert_eq!(answer.model.as_deref(), Some("claude-test-model"));
}

#[tokio::test]
async fn tool_calls_of_one_round_go_back_together_in_call_order() {
    let db = TestDb::sqlite();
    let claude = ClaudeStandIn::start().await;
    claude.push([
        Sse::new()
            .tool_use("toolu_a", "fpl_team_data", &[r#"{"teamQuery": "Arsenal"}"#])
            .tool_use("toolu_b", "fpl_no_such_tool", &["{}"])
            .tool_use("toolu_c", "fpl_player_data", &[r#"{"playerQuery": 42.5}"#])
            .end("tool_use"),
        Sse::new().text(&["Done."]).end("end_turn"),
    ]);
    let app = spawn_with_claude(&db, &claude.base_url, &[]).await;
    let events = app.chat("Compare Arsenal", None).await;
    assert_eq!(stop_of(&events), "end_turn");
    let requests = claude.requests();
    let results = last_message(&requests[1])["content"]
        .as_array()
        .unwrap()
        .clone();
    let ids: Vec<&str> = results
        .iter()
        .map(|r| r["tool_use_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["toolu_a", "toolu_b", "toolu_c"]);
    assert!(results[0].get("is_error").is_none());
    // Unknown tools and invalid input come back as errors Claude can recover from.
    assert_eq!(results[1]["is_error"], true);
    assert!(results[1]["content"]
        .as_str()
        .unwrap()
        .contains("fpl_no_such_tool"));
    assert_eq!(results[2]["is_error"], true);
    assert!(results[2]["content"]
        .as_str()
        .unwrap()
        .contains("playerQuery"));
}

#[tokio::test]
async fn refused_requests_are_retried_after_the_servers_delay() {
    let db = TestDb::sqlite();
    let claude = ClaudeStandIn::start().await;
    claude.push([
        Reply::error(529, "overloaded_error").header("retry-after-ms", "150"),
        Reply::error(429, "rate_limit_error").header("retry-after", "0.3"),
        Sse::new().text(&["Fine."]).end("end_turn"),
    ]);
    let app = spawn_with_claude(&db, &claude.base_url, &[]).await;
    let events = app.chat("How is Haaland doing?", None).await;
    assert_eq!(answer_text(&events), "Fine.");
    assert!(error_of(&events).is_none());
    let requests = claude.requests();
    assert_eq!(requests.len(), 3);
    let gaps = gaps(&requests);
    assert!(
        gaps[0] >= Duration::from_millis(150) && gaps[0] < Duration::from_millis(450),
        "{gaps:?}"
    );
    assert!(
        gaps[1] >= Duration::from_millis(300) && gaps[1] < Duration::from_millis(600),
        "{gaps:?}"
    );
    let metrics = app.metrics().await;
    assert!(
        metrics.contains(r#"llm_retries_total{model="claude-test-model",reason="529"} 1"#),
        "{metrics}"
    );
    assert!(metrics.contains(r#"llm_retries_total{model="claude-test-model",reason="429"} 1"#));
}

#[tokio::test]
async fn without_retry_after_the_backoff_doubles_from_half_a_second() {
    let db = TestDb::sqlite();
    let claude = ClaudeStandIn::start().await;
    claude.push([
        Reply::error(500, "api_error"),
        Reply::error(503, "api_error"),
        Sse::new().text(&["Back."]).end("end_turn"),
    ]);
    let app = spawn_with_claude(&db, &claude.base_url, &[]).await;
    let events = app.chat("hello there", None).await;
    assert_eq!(answer_text(&events), "Back.");
    let gaps = gaps(&claude.requests());
    // 0.5 s and 1 s, each shortened by up to 25 % of jitter.
    assert!(
        gaps[0] >= Duration::from_millis(375) && gaps[0] < Duration::from_millis(700),
        "{gaps:?}"
    );
    assert!(
        gaps[1] >= Duration::from_millis(750) && gaps[1] < Duration::from_millis(1200),
        "{gaps:?}"
    );
}

#[tokio::test]
async fn retries_stop_at_the_limit_and_the_user_is_told_plainly() {
    let db = TestDb::sqlite();
    let claude = ClaudeStandIn::start().await;
    let overloaded = || Reply::error(529, "overloaded_error").header("retry-after-ms", "10");
    claude.push([overloaded(), overloaded(), overloaded()]);
    let app = spawn_with_claude(&db, &claude.base_url, &[("CLAUDE_MAX_RETRIES", "1")]).await;
    let events = app.chat("How is Haaland doing?", None).await;
    assert_eq!(claude.requests().len(), 2, "one try and one retry");
    let (code, message) = error_of(&events).expect("an error event");
    assert_eq!(code, ErrorCode::UpstreamOverloaded);
    assert!(
        message.contains("overloaded") && message.contains("try again"),
        "{message}"
    );
    assert_eq!(stop_of(&events), "error");
    let all = format!("{events:?}");
    assert!(
        !all.contains("upstream detail") && !all.contains(CLAUDE_KEY),
        "{all}"
    );
    let answer = stored_answer(&db, conversation_of(&events)).await;
    assert_eq!(answer.status, MessageStatus::Error);
    assert_eq!(answer.error_code.as_deref(), Some("upstream_overloaded"));
    let metrics = app.metrics().await;
    assert!(
        metrics.contains(r#"chat_errors_total{code="upstream_overloaded"} 1"#),
        "{metrics}"
    );
}

#[tokio::test]
async fn what_waiting_cannot_fix_is_not_retried() {
    let db = TestDb::sqlite();
    let claude = ClaudeStandIn::start().await;
    let app = spawn_with_claude(&db, &claude.base_url, &[]).await;
    let cases = [
        // The server says no.
        (
            Reply::error(529, "overloaded_error").header("x-should-retry", "false"),
            ErrorCode::UpstreamOverloaded,
            "overloaded",
        ),
        // A 429 without retry-after: a spend cap.
        (
            Reply::error(429, "rate_limit_error"),
            ErrorCode::UpstreamError,
            "usage limit",
        ),
        (
            Reply::error(401, "authentication_error"),
            ErrorCode::UpstreamError,
            "API key",
        ),
        (
            Reply::error(400, "invalid_request_error"),
            ErrorCode::UpstreamError,
            "failed to answer",
        ),
    ];
    for (i, (reply, code, words)) in cases.into_iter().enumerate() {
        claude.push([reply]);
        let events = app.chat("How is Haaland doing?", None).await;
        assert_eq!(claude.requests().len(), i + 1, "case {i} was retried");
        let (got, message) = error_of(&events).expect("an error event");
        assert_eq!(got, code, "case {i}");
        assert!(message.contains(words), "case {i}: {message}");
        assert!(!message.contains("upstream detail"));
    }
}

#[tokio::test]
async fn an_error_event_mid_stream_keeps_the_partial_answer() {
    let db = TestDb::sqlite();
    let claude = ClaudeStandIn::start().await;
    claude.push([Sse::new()
        .text(&["Haaland has ", "scored "])
        .error("overloaded_error")]);
    let app = spawn_with_claude(&db, &claude.base_url, &[]).await;
    let events = app.chat("How is Haaland doing?", None).await;
    assert_eq!(answer_text(&events), "Haaland has scored ");
    assert_eq!(error_of(&events).unwrap().0, ErrorCode::UpstreamOverloaded);
    assert_eq!(
        claude.requests().len(),
        1,
        "a started stream is not retried"
    );
    let answer = stored_answer(&db, conversation_of(&events)).await;
    assert_eq!(answer.status, MessageStatus::Error);
    assert_eq!(answer.content, "Haaland has scored ");

    claude.push([Sse::new().text(&["Cut "]).cut()]);
    let events = app.chat("And Salah?", None).await;
    assert_eq!(answer_text(&events), "Cut ");
    assert_eq!(error_of(&events).unwrap().0, ErrorCode::UpstreamError);
}

#[tokio::test]
async fn tool_input_cut_off_at_max_tokens_never_runs_a_tool() {
    let db = TestDb::sqlite();
    let claude = ClaudeStandIn::start().await;
    claude.push([Sse::new()
        .text(&["Checking."])
        .tool_use("toolu_cut", "fpl_player_data", &[r#"{"playerQuery": "Haa"#])
        .end("max_tokens")]);
    let app = spawn_with_claude(&db, &claude.base_url, &[]).await;
    let events = app.chat("How is Haaland doing?", None).await;
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, ChatEvent::ToolCall { .. })),
        "{events:?}"
    );
    assert_eq!(claude.requests().len(), 1);
    assert_eq!(stop_of(&events), "max_tokens");
    assert_eq!(answer_text(&events), "Checking.");
}

#[tokio::test]
async fn the_depth_limit_ends_endless_tool_calls() {
    let db = TestDb::sqlite();
    let claude = ClaudeStandIn::start().await;
    claude.set_fallback(Fallback::Always(
        Sse::new()
            .text(&["Looking again."])
            .tool_use(
                "toolu_loop",
                "fpl_get_gameweek",
                &[r#"{"type": "current"}"#],
            )
            .end("tool_use"),
    ));
    let app = spawn_with_claude(&db, &claude.base_url, &[("TOOL_MAX_DEPTH", "2")]).await;
    let events = app.chat("When is the deadline?", None).await;
    assert_eq!(
        claude.requests().len(),
        3,
        "two rounds of tools, then the limit"
    );
    // The third round's call is shown, but not run: its card ends as failed.
    let calls = events
        .iter()
        .filter(|e| matches!(e, ChatEvent::ToolCall { .. }))
        .count();
    let results: Vec<bool> = events
        .iter()
        .filter_map(|e| match e {
            ChatEvent::ToolResult { ok, .. } => Some(*ok),
            _ => None,
        })
        .collect();
    assert_eq!((calls, results), (3, vec![true, true, false]));
    let (code, message) = error_of(&events).unwrap();
    assert_eq!(code, ErrorCode::ToolDepthExceeded);
    assert!(message.contains('2'), "{message}");
    assert_eq!(stop_of(&events), "tool_depth_exceeded");
    let answer = stored_answer(&db, conversation_of(&events)).await;
    assert_eq!(answer.error_code.as_deref(), Some("tool_depth_exceeded"));
    assert!(
        answer.content.contains("Looking again.")
            && answer.content.contains("stopped after 2 rounds")
    );
    assert_eq!(answer.tool_calls.as_array().unwrap().len(), 2);
    assert_eq!(answer.tool_results.as_array().unwrap().len(), 2);
    let metrics = app.metrics().await;
    assert!(
        metrics.contains(r#"chat_tool_rounds_bucket{le="2.0",provider="anthropic"} 1"#),
        "{metrics}"
    );
}

/// A page that goes away leaves the answer running (another page may follow it); Stop
/// cancels the upstream request at once and the partial answer is stored as interrupted.
#[tokio::test]
async fn leaving_keeps_the_upstream_request_and_stop_cancels_it_at_once() {
    let db = TestDb::sqlite();
    let claude = ClaudeStandIn::start().await;
    queue_long_answer(&claude);
    let app = spawn_with_claude(&db, &claude.base_url, &[]).await;
    let (response, conversation) = start_long_turn(&app).await;
    drop(response);
    assert!(
        !claude
            .wait_for(Duration::from_millis(500), |c| !c.cancelled().is_empty())
            .await,
        "the upstream stream was cancelled when the page left"
    );
    let stopped = Instant::now();
    let response = app
        .client
        .post(app.url(&format!("/api/chat/{conversation}/stop")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    assert!(
        claude
            .wait_for(Duration::from_secs(5), |c| !c.cancelled().is_empty())
            .await,
        "the upstream stream was not cancelled"
    );
    let noticed = claude.cancelled()[0] - stopped;
    assert!(
        noticed < Duration::from_secs(1),
        "cancelled after {noticed:?}"
    );

    let mut answer = None;
    for _ in 0..100 {
        let a = stored_answer(&db, conversation).await;
        if a.role == fpl_chat::store::Role::Assistant {
            answer = Some(a);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let answer = answer.expect("the partial answer is stored");
    assert_eq!(answer.status, MessageStatus::Interrupted);
    assert!(
        answer.content.starts_with("word0 word1 word2"),
        "{}",
        answer.content
    );
    assert!(!answer.content.contains("word199"));
    let metrics = app.metrics().await;
    assert!(
        metrics.contains(r#"llm_requests_total{model="claude-test-model",outcome="cancelled"} 1"#),
        "{metrics}"
    );
}

/// SIGTERM with a turn running longer than `SHUTDOWN_DRAIN_SECS`: no new connection is taken,
/// the turn's stream is cut when the drain time is up, its upstream request is cancelled, its
/// partial answer is stored as interrupted, and the server returns soon after.
#[tokio::test]
async fn a_stop_drains_then_stores_running_turns_as_interrupted() {
    let db = TestDb::sqlite();
    let claude = ClaudeStandIn::start().await;
    queue_long_answer(&claude);
    let mut app = spawn_with_claude(&db, &claude.base_url, &[("SHUTDOWN_DRAIN_SECS", "1")]).await;
    let (response, conversation) = start_long_turn(&app).await;
    let stopped = Instant::now();
    app.stop();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let fresh = reqwest::Client::new().get(app.url("/healthz")).send().await;
    assert!(fresh.is_err(), "a new connection was taken while stopping");
    // The stream goes on during the drain; then the turn is stopped and its client told.
    let events = read_events(response).await;
    let cut = stopped.elapsed();
    assert!(
        cut >= Duration::from_millis(900) && cut < Duration::from_secs(4),
        "cut after {cut:?}"
    );
    let names: Vec<&str> = events.iter().map(ChatEvent::name).collect();
    assert!(names.contains(&"text"), "{names:?}");
    assert!(
        events.iter().any(|e| matches!(e,
            ChatEvent::Error { code: ErrorCode::ShuttingDown, message } if message.contains("restarting"))),
        "{events:?}"
    );
    assert_eq!(
        names.last(),
        Some(&"done"),
        "the stream ends, it is not cut"
    );
    tokio::time::timeout(Duration::from_secs(10), &mut app.server)
        .await
        .expect("the server returns after the drain")
        .unwrap();
    assert!(
        !claude.cancelled().is_empty(),
        "the upstream request was cancelled"
    );
    let answer = stored_answer(&db, conversation).await;
    assert_eq!(answer.role, fpl_chat::store::Role::Assistant);
    assert_eq!(answer.status, MessageStatus::Interrupted);
    assert!(
        answer.content.starts_with("word0 word1 word2"),
        "{}",
        answer.content
    );
}

#[tokio::test]
async fn a_silent_upstream_times_out_before_and_during_the_stream() {
    let db = TestDb::sqlite();
    let claude = ClaudeStandIn::start().await;
    let slow = || {
        Reply::Delayed(
            Duration::from_secs(3),
            Box::new(Sse::new().text(&["late"]).end("end_turn")),
        )
    };
    claude.push([slow(), slow()]);
    let app = spawn_with_claude(
        &db,
        &claude.base_url,
        &[
            ("CLAUDE_MAX_RETRIES", "1"),
            ("CLAUDE_FIRST_BYTE_TIMEOUT_MS", "300"),
            ("CLAUDE_IDLE_TIMEOUT_MS", "300"),
        ],
    )
    .await;
    let started = Instant::now();
    let events = app.chat("How is Haaland doing?", None).await;
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(
        claude.requests().len(),
        2,
        "a timeout before the stream is retried"
    );
    let (code, message) = error_of(&events).unwrap();
    assert_eq!(code, ErrorCode::UpstreamError);
    assert!(message.contains("too long"), "{message}");

    claude.push([Sse::new()
        .text(&["Half an "])
        .stall(Duration::from_secs(3))
        .text(&["answer"])
        .end("end_turn")]);
    let events = app.chat("And Salah?", None).await;
    assert_eq!(answer_text(&events), "Half an ");
    assert!(error_of(&events).unwrap().1.contains("too long"));
}

#[tokio::test]
async fn claude_requests_are_measured_with_genai_metrics() {
    let db = TestDb::sqlite();
    let claude = ClaudeStandIn::start().await;
    claude.push([
        Reply::error(529, "overloaded_error").header("retry-after-ms", "10"),
        Sse::new()
            .usage(30, 2000, 0)
            .text(&["Hello!"])
            .end("end_turn"),
    ]);
    let app = spawn_with_claude(&db, &claude.base_url, &[]).await;
    app.chat("hi", None).await;
    let text = app.metrics().await;
    let genai = r#"gen_ai_operation_name="chat",gen_ai_provider_name="anthropic",gen_ai_request_model="claude-test-model""#;
    for expected in [
        r#"llm_requests_total{model="claude-test-model",outcome="ok"} 1"#.to_string(),
        format!("gen_ai_client_operation_duration_seconds_count{{{genai}}} 1"),
        format!("gen_ai_client_operation_time_to_first_chunk_seconds_count{{{genai}}} 1"),
        format!(r#"gen_ai_client_token_usage_sum{{{genai},gen_ai_token_type="input"}} 2030"#),
        r#"llm_prompt_cache_tokens_total{model="claude-test-model",kind="read"} 2000"#.to_string(),
        r#"llm_retries_total{model="claude-test-model",reason="529"} 1"#.to_string(),
        r#"chat_turns_total{provider="anthropic",outcome="complete"} 1"#.to_string(),
        r#"tool_breaker_state{backend="builtin"} 0"#.to_string(),
    ] {
        assert!(text.contains(&expected), "missing {expected}\n{text}");
    }
    assert_promtool_accepts(&text);
}

#[tokio::test]
async fn doctor_checks_the_key_and_the_model() {
    let db = TestDb::sqlite();
    let claude = ClaudeStandIn::start().await;
    let doctor = |model: &'static str| {
        let mut vars = base_vars(&db);
        vars.insert("CLAUDE_API_KEY".into(), CLAUDE_KEY.into());
        vars.insert("CLAUDE_API_BASE_URL".into(), claude.base_url.clone());
        vars.insert("CLAUDE_MODEL_VERSION".into(), model.into());
        tokio::process::Command::new(env!("CARGO_BIN_EXE_fpl-chat"))
            .arg("doctor")
            .env_clear()
            .envs(vars)
            .output()
    };
    let ok = doctor("claude-test-model").await.unwrap();
    let text = String::from_utf8_lossy(&ok.stdout);
    assert!(ok.status.success(), "{text}");
    assert!(
        text.contains("key accepted, model claude-test-model available"),
        "{text}"
    );
    assert!(!text.contains(CLAUDE_KEY));

    let unknown = doctor("claude-unknown").await.unwrap();
    let text = String::from_utf8_lossy(&unknown.stdout);
    assert!(!unknown.status.success());
    assert!(text.contains("model claude-unknown not found"), "{text}");
}

#[tokio::test]
async fn a_long_conversation_is_compressed_and_never_hits_a_wall() {
    let db = TestDb::sqlite();
    let claude = ClaudeStandIn::start().await;
    let long_answer = "Haaland has 9 goals in 7 gameweeks and costs £14.5m. ".repeat(40);
    claude.set_fallback(Fallback::Always(
        Sse::new().text(&[long_answer.as_str()]).end("end_turn"),
    ));
    let app = spawn_with_claude(&db, &claude.base_url, &[("CONTEXT_TOKEN_LIMIT", "12000")]).await;
    let mut conversation = None;
    let mut compressed_at = None;
    for turn in 0..20 {
        let events = app
            .chat(
                &format!("Question {turn}: how is Haaland doing?"),
                conversation,
            )
            .await;
        conversation = Some(conversation_of(&events));
        assert_eq!(stop_of(&events), "end_turn", "turn {turn}");
        let (tokens, compressed) = events
            .iter()
            .find_map(|e| match e {
                ChatEvent::Context {
                    tokens,
                    limit,
                    compressed,
                } => {
                    assert_eq!(*limit, 12_000);
                    Some((*tokens, *compressed))
                }
                _ => None,
            })
            .expect("a context event");
        assert!(tokens <= 12_000, "turn {turn}: {tokens} tokens");
        if compressed && compressed_at.is_none() {
            compressed_at = Some(turn);
        }
    }
    let first = compressed_at.expect("the context was compressed at some point");
    assert!(first > 3, "compressed too early, at turn {first}");

    // What Claude was sent last: the summary first, then alternating roles, the newest question last.
    let last = claude.requests().pop().unwrap();
    let messages = last.body["messages"].as_array().unwrap();
    let opening = messages[0]["content"][0]["text"].as_str().unwrap();
    assert!(
        opening.starts_with("Summary of the earlier conversation:"),
        "{opening}"
    );
    assert!(opening.contains("- Asked: Question"), "{opening}");
    for pair in messages.windows(2) {
        assert_ne!(pair[0]["role"], pair[1]["role"]);
    }
    assert!(
        messages.len() < 40,
        "older turns were folded: {} messages",
        messages.len()
    );
    let newest = messages.last().unwrap()["content"].as_array().unwrap();
    assert!(newest.iter().any(|b| b["text"]
        .as_str()
        .is_some_and(|t| t.contains("Question 19"))));

    // The whole history stays in the database.
    let store = Store::connect(&db.url()).await.unwrap();
    assert_eq!(
        store
            .list_messages(conversation.unwrap())
            .await
            .unwrap()
            .len(),
        40
    );
    let metrics = app.metrics().await;
    assert!(
        metrics.contains(r#"context_compressions_total{strategy="summarize"}"#),
        "{metrics}"
    );
}

#[tokio::test]
async fn token_estimates_are_corrected_by_what_claude_reports() {
    let db = TestDb::sqlite();
    let claude = ClaudeStandIn::start().await;
    // Claude counts far more than tiktoken estimated (the factor is clamped at 3).
    claude.set_fallback(Fallback::Always(
        Sse::new()
            .usage(100_000, 0, 0)
            .text(&["Fine."])
            .end("end_turn"),
    ));
    let app = spawn_with_claude(&db, &claude.base_url, &[]).await;
    let context_tokens = |events: &[ChatEvent]| {
        events
            .iter()
            .find_map(|e| match e {
                ChatEvent::Context { tokens, .. } => Some(*tokens),
                _ => None,
            })
            .unwrap()
    };
    let first = app.chat("hi", None).await;
    let before = context_tokens(&first);
    let second = app.chat("hi again", Some(conversation_of(&first))).await;
    let after = context_tokens(&second);
    let ratio = after as f64 / before as f64;
    assert!((2.8..3.2).contains(&ratio), "{before} → {after}");
}

fpl_chat::redis_tests!(earlier_tool_calls_go_back_to_claude_and_contexts_are_shared_by_instances);

/// On a single Redis node (`node::…`) and on a Redis Cluster (`cluster::…`).
async fn earlier_tool_calls_go_back_to_claude_and_contexts_are_shared_by_instances(redis: String) {
    let db = TestDb::sqlite();
    let claude = ClaudeStandIn::start().await;
    claude.push([
        Sse::new()
            .tool_use(
                "toolu_h1",
                "fpl_player_data",
                &[r#"{"playerQuery": "Haaland"}"#],
            )
            .end("tool_use"),
        Sse::new().text(&["Haaland: 9 goals."]).end("end_turn"),
        Sse::new().text(&["Salah: 2 goals."]).end("end_turn"),
        Sse::new().text(&["Both are fine."]).end("end_turn"),
    ]);
    let prefix = format!("test:{}:", Uuid::new_v4().simple());
    let shared = [
        ("REDIS_URL", redis.as_str()),
        ("REDIS_PREFIX", prefix.as_str()),
    ];
    let first = spawn_with_claude(&db, &claude.base_url, &shared).await;
    let mut second = spawn_with_claude(&db, &claude.base_url, &shared).await;
    second.client = first.client.clone(); // the same visitor (cookie) on both instances

    let events = first.chat("How is Haaland doing?", None).await;
    let conversation = conversation_of(&events);
    assert_eq!(stop_of(&events), "end_turn");
    // Turn two, on the other instance: the first turn's tool exchange goes back as it happened.
    let events = second.chat("And Salah?", Some(conversation)).await;
    assert_eq!(stop_of(&events), "end_turn");
    let sent = claude.requests()[2].body["messages"].clone();
    let roles: Vec<&str> = sent
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["user", "assistant", "user", "assistant", "user"]);
    assert_eq!(sent[1]["content"][0]["type"], "tool_use");
    assert_eq!(sent[1]["content"][0]["id"], "toolu_h1");
    assert_eq!(
        sent[1]["content"][0]["input"],
        json!({"playerQuery": "Haaland"})
    );
    assert_eq!(sent[2]["content"][0]["type"], "tool_result");
    assert_eq!(sent[2]["content"][0]["tool_use_id"], "toolu_h1");
    assert!(sent[2]["content"][0]["content"]
        .as_str()
        .unwrap()
        .contains("Haaland"));
    assert_eq!(sent[3]["content"][0]["text"], "Haaland: 9 goals.");
    let metrics = second.metrics().await;
    assert!(
        metrics.contains(r#"cache_requests_total{cache="context",layer="redis",result="hit"} 1"#),
        "the second instance read the first one's context from Redis: {metrics}"
    );
    assert!(
        metrics
            .contains(r#"cache_requests_total{cache="context-head",layer="redis",result="hit"} 1"#),
        "turn two was admitted by the conversation's head in Redis: {metrics}"
    );
    // Turn three, back on the first instance: its own copy is out of date, so it is rebuilt
    // from the database and turn two is there.
    first.chat("Compare them", Some(conversation)).await;
    let sent = claude.requests()[3].body["messages"].clone();
    let texts = sent.to_string();
    assert!(
        texts.contains("And Salah?") && texts.contains("Salah: 2 goals."),
        "{texts}"
    );
    assert_eq!(sent.as_array().unwrap().len(), 7);
    let metrics = first.metrics().await;
    assert!(
        metrics.contains(
            r#"cache_requests_total{cache="context",layer="validation",result="stale"} 1"#
        ),
        "{metrics}"
    );
    // The token count stored with the answer covers its tool call and result.
    let store = Store::connect(&db.url()).await.unwrap();
    let messages = store.list_messages(conversation).await.unwrap();
    let with_tools = &messages[1];
    assert!(with_tools.tool_results[0]["tokens"].as_u64().unwrap() > 50);
    assert!(
        with_tools.token_count as u64
            > with_tools.tool_results[0]["tokens"].as_u64().unwrap()
                + with_tools.tool_calls[0]["tokens"].as_u64().unwrap()
    );
}

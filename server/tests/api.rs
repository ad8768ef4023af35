//! The public HTTP contract of docs/contract.md, against the real server (SQLite and PostgreSQL).
mod common;

use app::types::ChatEvent;
use common::*;
use serde_json::{json, Value};
use uuid::Uuid;

#[tokio::test]
async fn a_chat_turn_streams_events_in_order_and_is_stored() {
    let db = TestDb::sqlite();
    let app = spawn_app(&db).await;
    let events = app.chat("How is Haaland doing?", None).await;
    let names: Vec<&str> = events.iter().map(ChatEvent::name).collect();
    assert_eq!(names.first(), Some(&"meta"));
    assert_eq!(names.last(), Some(&"done"));
    assert!(
        names.contains(&"tool_call") && names.contains(&"tool_result"),
        "{names:?}"
    );
    let call = names.iter().position(|n| *n == "tool_call").unwrap();
    let result = names.iter().position(|n| *n == "tool_result").unwrap();
    let first_text = names.iter().position(|n| *n == "text").unwrap();
    assert!(call < result && result < first_text, "{names:?}");
    assert!(
        names.iter().filter(|n| **n == "text").count() > 5,
        "answer streamed in pieces"
    );
    assert!(events.iter().any(|e| matches!(e,
        ChatEvent::ToolCall { name, input, .. }
            if name == "fpl_player_data" && input["playerQuery"].as_str().is_some_and(|q| q.contains("Haaland")))));
    assert!(events
        .iter()
        .any(|e| matches!(e, ChatEvent::ToolResult { ok: true, .. })));
    assert!(
        matches!(events.last(), Some(ChatEvent::Done { stop_reason }) if stop_reason == "end_turn")
    );
    let text = answer_text(&events);
    assert!(text.contains("Haaland") && text.contains("£"), "{text}");

    // The page of the conversation shows the stored question and answer.
    let id = conversation_of(&events);
    let page = app
        .client
        .get(app.url(&format!("/c/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("How is Haaland doing?"));
    assert!(html.contains("fpl_player_data"));
}

#[tokio::test]
async fn a_follow_up_goes_into_the_same_conversation() {
    let db = TestDb::sqlite();
    let app = spawn_app(&db).await;
    let first = app.chat("How much is Salah?", None).await;
    let id = conversation_of(&first);
    let second = app.chat("And Haaland?", Some(id)).await;
    assert_eq!(conversation_of(&second), id);
    let context = second.iter().find_map(|e| match e {
        ChatEvent::Context { tokens, limit, .. } => Some((*tokens, *limit)),
        _ => None,
    });
    let (tokens, limit) = context.expect("a context event");
    assert!(tokens > 10 && limit == 100_000, "{tokens}/{limit}");
}

#[tokio::test]
async fn bad_requests_get_json_errors_before_streaming() {
    let db = TestDb::sqlite();
    let app = spawn_app(&db).await;
    let post = |body: String| {
        app.client
            .post(app.url("/api/chat"))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let check = |status: u16, code: &str, r: reqwest::Response| {
        let code = code.to_string();
        async move {
            assert_eq!(r.status(), status);
            let body: Value = r.json().await.unwrap();
            assert_eq!(body["error"]["code"], code.as_str(), "{body}");
            assert!(body["error"]["message"].as_str().unwrap().len() > 5);
        }
    };
    check(
        400,
        "invalid_input",
        post(json!({"message": "   "}).to_string()).await.unwrap(),
    )
    .await;
    check(
        400,
        "invalid_input",
        post("{not json".into()).await.unwrap(),
    )
    .await;
    check(
        400,
        "invalid_input",
        post(json!({"msg": "hi"}).to_string()).await.unwrap(),
    )
    .await;
    check(
        413,
        "payload_too_large",
        post(json!({"message": "x".repeat(8_001)}).to_string())
            .await
            .unwrap(),
    )
    .await;
    check(
        413,
        "payload_too_large",
        post(format!("{{\"message\": \"{}\"}}", "x".repeat(200_000)))
            .await
            .unwrap(),
    )
    .await;
    check(
        404,
        "not_found",
        post(json!({"message": "hi", "conversation_id": uuid::Uuid::new_v4()}).to_string())
            .await
            .unwrap(),
    )
    .await;
    // A maximal message of 4-byte characters fits however it is escaped (Python's json.dumps
    // writes each as a 12-byte surrogate pair): one turn, stored.
    let escaped = format!("{{\"message\": \"{}\"}}", "\\ud835\\udd3d".repeat(8_000));
    let maximal = post(escaped).await.unwrap();
    assert_eq!(maximal.status(), 200);
    read_events(maximal).await;
    // Nothing else was stored by any of them.
    let list = app
        .client
        .post(app.url("/api/conversations/list"))
        .send()
        .await
        .unwrap();
    let list: Value = list.json().await.unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    // Each is counted by its code, for the error-rate panels and alerts.
    let metrics = app.metrics().await;
    for (code, n) in [
        ("invalid_input", 3),
        ("payload_too_large", 2),
        ("not_found", 1),
    ] {
        let line = format!("chat_errors_total{{code=\"{code}\"}} {n}");
        assert!(metrics.contains(&line), "{line} in\n{metrics}");
    }
}

#[tokio::test]
async fn visitors_see_only_their_own_conversations() {
    let db = TestDb::sqlite();
    let app = spawn_app(&db).await;
    let events = app.chat("Show the league table", None).await;
    let id = conversation_of(&events);

    let stranger = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let page = stranger
        .get(app.url(&format!("/c/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 404);
    let post = stranger
        .post(app.url("/api/chat"))
        .json(&json!({"message": "more", "conversation_id": id}))
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), 404);
    stranger
        .post(app.url("/api/conversations/delete"))
        .form(&[("id", id.to_string())])
        .send()
        .await
        .unwrap();
    let list: Value = stranger
        .post(app.url("/api/conversations/list"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list, json!([]));
    // The owner still has it, after the stranger's delete.
    let page = app
        .client
        .get(app.url(&format!("/c/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
}

#[tokio::test]
async fn the_identity_cookie_is_signed_http_only_and_same_site() {
    let db = TestDb::sqlite();
    let app = spawn_app(&db).await;
    let response = reqwest::get(app.url("/")).await.unwrap();
    let cookie = response
        .headers()
        .get("set-cookie")
        .expect("a new visitor gets a cookie")
        .to_str()
        .unwrap()
        .to_string();
    assert!(cookie.starts_with("fplchat_id="));
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    // A forged cookie is not trusted: the server hands out a new identity.
    let forged = format!("fplchat_id=anon:{}", uuid::Uuid::new_v4());
    let response = reqwest::Client::new()
        .get(app.url("/"))
        .header("cookie", forged)
        .send()
        .await
        .unwrap();
    assert!(response.headers().get("set-cookie").is_some());
}

async fn conversations_survive_a_restart(db: TestDb) {
    let app = spawn_app(&db).await;
    let events = app.chat("Who is injured at Arsenal?", None).await;
    let id = conversation_of(&events);
    let client = app.client.clone();
    drop(app);

    let again = spawn_app(&db).await;
    let page = client
        .get(again.url(&format!("/c/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("Who is injured at Arsenal?"));
    let list: Value = client
        .post(again.url("/api/conversations/list"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list[0]["id"], id.to_string());
    assert_eq!(list[0]["message_count"], 2);
}

#[tokio::test]
async fn conversations_survive_a_restart_on_sqlite() {
    conversations_survive_a_restart(TestDb::sqlite()).await;
}

#[tokio::test]
async fn conversations_survive_a_restart_on_postgres() {
    conversations_survive_a_restart(TestDb::postgres().await).await;
}

#[tokio::test]
async fn the_form_post_without_javascript_runs_a_turn_and_redirects() {
    let db = TestDb::sqlite();
    let app = spawn_app(&db).await;
    let response = app
        .client
        .post(app.url("/api/chat/send"))
        .header("accept", "text/html") // as a browser's form post
        .form(&[
            ("message", "When is the next deadline?"),
            ("conversation_id", ""),
        ])
        .send()
        .await
        .unwrap();
    assert!(response.status().is_redirection(), "{}", response.status());
    let location = response.headers()["location"].to_str().unwrap().to_string();
    assert!(location.starts_with("/c/"), "{location}");
    let html = app
        .client
        .get(app.url(&location))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("When is the next deadline?"));
    assert!(
        html.contains("fpl_get_gameweek"),
        "the tool card is rendered"
    );
}

#[tokio::test]
async fn health_readiness_and_metrics() {
    let db = TestDb::sqlite();
    let app = spawn_app(&db).await;
    let health = reqwest::get(app.url("/healthz")).await.unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(health.text().await.unwrap(), "ok");

    let ready: Value = reqwest::get(app.url("/readyz"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        ready,
        json!({"database": "ok", "redis": "disabled", "mcp": "disabled", "llm": "offline"})
    );

    let first = app.chat("How is Haaland doing?", None).await;
    // The same visitor's second conversation: the identity was stored with the first.
    let second = app.chat("Compare Salah and Palmer", None).await;
    let used: u64 = first
        .iter()
        .chain(&second)
        .filter_map(|e| match e {
            ChatEvent::Usage {
                input_tokens,
                output_tokens,
            } => Some(input_tokens + output_tokens),
            _ => None,
        })
        .sum();
    assert!(used > 0);
    let client = reqwest::Client::new();
    for auth in [
        None,
        Some("Bearer wrong"),
        Some("Bearer test-metrics-tokenX"),
    ] {
        let mut req = client.get(app.url("/api/metrics"));
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        assert_eq!(req.send().await.unwrap().status(), 401, "{auth:?}");
    }
    let metrics = client
        .get(app.url("/api/metrics"))
        .bearer_auth(METRICS_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(metrics.status(), 200);
    let text = metrics.text().await.unwrap();
    assert!(
        text.contains(r#"chat_turns_total{provider="offline",outcome="complete"} 2"#),
        "{text}"
    );
    assert!(text.contains(r#"tool_calls_total{tool="fpl_player_data",outcome="ok"}"#));
    assert!(text.contains(r#"http_requests_total{method="POST",route="/api/chat",status="200"} 2"#));
    // One identity stored (not one per cookie handed out: /healthz and /readyz got cookies);
    // the tokens its turns used charged to its tier; the dependencies as /readyz sees them,
    // and none for those not configured; no global budget configured, no series.
    for line in [
        "\nanonymous_identities_created_total 1\n".to_string(),
        format!("\ntoken_budget_spent_tokens_total{{tier=\"anonymous\"}} {used}\n"),
        "\ndependency_ready{dependency=\"database\"} 1\n".to_string(),
    ] {
        assert!(text.contains(&line), "{line} in\n{text}");
    }
    assert!(
        !text.contains(r#"dependency_ready{dependency="redis""#),
        "{text}"
    );
    assert!(!text.contains("token_budget_limit_tokens{"), "{text}");
    assert!(text.contains("process_resident_memory_bytes"));
    // The pools as they are when scraped: connections are open, and none stays busy once the
    // turns' last writes (made after their streams ended) are done.
    let idle_pools = |t: &str| {
        ["read", "write"].iter().all(|pool| {
            t.contains(&format!(
                r#"db_pool_connections{{pool="{pool}",state="in_use"}} 0"#
            ))
        })
    };
    let mut text = text;
    for _ in 0..40 {
        if idle_pools(&text) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let scrape = client
            .get(app.url("/api/metrics"))
            .bearer_auth(METRICS_TOKEN);
        text = scrape.send().await.unwrap().text().await.unwrap();
    }
    for pool in ["read", "write"] {
        let busy = format!(r#"db_pool_connections{{pool="{pool}",state="in_use"}} 0"#);
        assert!(text.contains(&busy), "{busy} in\n{text}");
        let idle = format!(r#"db_pool_connections{{pool="{pool}",state="idle"}} "#);
        let open: i64 = text
            .lines()
            .find_map(|l| l.strip_prefix(idle.as_str()))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{idle} in\n{text}"));
        assert!(open >= 1, "{idle}{open}");
    }
    let openmetrics = client
        .get(app.url("/api/metrics"))
        .bearer_auth(METRICS_TOKEN)
        .header("accept", "application/openmetrics-text; version=1.0.0")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(openmetrics.ends_with("# EOF\n"));

    // promtool (Debian package `prometheus`) accepts the exposition.
    assert_promtool_accepts(&text);
}

#[tokio::test]
async fn readiness_reports_a_dead_redis() {
    let db = TestDb::sqlite();
    let mut vars = base_vars(&db);
    vars.insert("REDIS_URL".into(), "redis://127.0.0.1:1".into());
    let app = spawn_with(vars).await;
    let response = reqwest::get(app.url("/readyz")).await.unwrap();
    assert_eq!(response.status(), 503);
    let ready: Value = response.json().await.unwrap();
    assert_eq!(ready["redis"], "down");
    assert_eq!(ready["database"], "ok");
    let metrics = app.metrics().await;
    for line in [
        r#"dependency_ready{dependency="redis"} 0"#,
        r#"dependency_ready{dependency="database"} 1"#,
    ] {
        assert!(metrics.contains(line), "{line} in\n{metrics}");
    }
}

/// Posts `message` and reads the stream until the first text, then hangs up (a page reloaded
/// mid-answer); the turn's `meta` (conversation, answer).
async fn ask_and_leave(app: &TestApp, message: &str) -> (Uuid, Uuid) {
    let mut response = app
        .client
        .post(app.url("/api/chat"))
        .json(&json!({ "message": message }))
        .send()
        .await
        .unwrap();
    let mut parser = app::types::SseParser::default();
    let events = read_until(&mut response, &mut parser, |e| {
        matches!(e, ChatEvent::Text { .. })
    })
    .await;
    match events[0] {
        ChatEvent::Meta {
            conversation_id,
            message_id,
            ..
        } => (conversation_id, message_id),
        ref other => panic!("first event is not meta: {other:?}"),
    }
}

/// Reads `response`'s events up to its `meta` (its conversation's id), the rest in a task.
async fn read_in_background(
    mut response: reqwest::Response,
) -> (Uuid, tokio::task::JoinHandle<Vec<ChatEvent>>) {
    let mut parser = app::types::SseParser::default();
    let mut events = read_until(&mut response, &mut parser, |_| true).await;
    let id = conversation_of(&events);
    let rest = tokio::spawn(async move {
        while let Some(chunk) = response.chunk().await.unwrap() {
            for (name, data) in parser.push(&chunk) {
                events.push(ChatEvent::from_sse(&name, &data).unwrap());
            }
        }
        events
    });
    (id, rest)
}

fn follow(app: &TestApp, conversation: Uuid) -> reqwest::RequestBuilder {
    app.client
        .get(app.url(&format!("/api/chat/{conversation}/stream")))
}

fn stop(app: &TestApp, conversation: Uuid) -> reqwest::RequestBuilder {
    app.client
        .post(app.url(&format!("/api/chat/{conversation}/stop")))
}

/// A reload mid-answer: the answer goes on being written without its first page, the new page
/// is told which answer is being written and follows it from its first event to `done`, the
/// stored answer is the one streamed; strangers can neither follow nor stop it.
#[tokio::test]
async fn a_page_reloaded_mid_answer_follows_the_answer_to_its_end() {
    let db = TestDb::sqlite();
    let mut vars = base_vars(&db);
    vars.insert("OFFLINE_ANALYST_PACE_MS".into(), "20".into());
    let app = spawn_with(vars).await;
    let (id, answer) = ask_and_leave(&app, "Show the league table").await;

    // The question is written beside the answer: the page finds it a moment after `meta`
    // (a moment that, with a busy disk, can pass a second: SQLite commits with an fsync).
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut page = app.conversation(id).await;
    while page.is_null() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        page = app.conversation(id).await;
    }
    assert_eq!(page["answering"], json!(answer), "{page}");
    let stranger = spawn_with(base_vars(&db)).await;
    for response in [
        follow(&stranger, id).send().await.unwrap(),
        stop(&stranger, id).send().await.unwrap(),
    ] {
        assert_eq!(response.status(), 404);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "not_found");
    }
    // A client that has events 0 and 1 goes on from 2.
    let mut resumed = follow(&app, id)
        .header("last-event-id", "1")
        .send()
        .await
        .unwrap();
    let first = resumed.chunk().await.unwrap().unwrap();
    let first = String::from_utf8_lossy(&first).to_string();
    assert!(first.starts_with("id: 2\n"), "{first}");
    drop(resumed);

    let response = follow(&app, id).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let events = read_events(response).await;
    assert!(
        matches!(events[0], ChatEvent::Meta { message_id, .. } if message_id == answer),
        "{events:?}"
    );
    assert!(matches!(events[1], ChatEvent::Context { .. }), "{events:?}");
    assert_eq!(
        events.last(),
        Some(&ChatEvent::Done {
            stop_reason: "end_turn".into()
        })
    );
    let stored = app.conversation(id).await;
    let message = &stored["messages"][1];
    assert_eq!(message["status"], "complete");
    assert_eq!(message["content"].as_str().unwrap(), answer_text(&events));
    assert_eq!(stored["answering"], Value::Null);
    let after = follow(&app, id).send().await.unwrap();
    assert_eq!(after.status(), 404, "nothing is being written any more");
}

/// Behind a load balancer: a page on another instance follows the answer (through Redis) and
/// stops it; the answer is stored as interrupted and every page's stream says so.
async fn an_answer_is_followed_and_stopped_from_another_instance(redis: String) {
    let db = TestDb::sqlite();
    let prefix = format!("test:{}:", Uuid::new_v4().simple());
    let mut vars = base_vars(&db);
    vars.insert("OFFLINE_ANALYST_PACE_MS".into(), "30".into());
    vars.insert("REDIS_URL".into(), redis);
    vars.insert("REDIS_PREFIX".into(), prefix);
    let first = spawn_with(vars.clone()).await;
    let mut second = spawn_with(vars).await;
    second.client = first.client.clone(); // the same visitor (cookie) on both instances

    let asked = first
        .client
        .post(first.url("/api/chat"))
        .json(&json!({"message": "Show the league table"}))
        .send()
        .await
        .unwrap();
    let (id, asked) = read_in_background(asked).await;
    let followed = tokio::spawn(read_events(follow(&second, id).send().await.unwrap()));
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let stopped = stop(&second, id).send().await.unwrap();
    assert_eq!(stopped.status(), 204);

    let interrupted = Some(ChatEvent::Done {
        stop_reason: "interrupted".into(),
    });
    let (asked, followed) = (asked.await.unwrap(), followed.await.unwrap());
    assert_eq!(asked.last().cloned(), interrupted, "{asked:?}");
    assert_eq!(followed.last().cloned(), interrupted, "{followed:?}");
    assert_eq!(answer_text(&followed), answer_text(&asked));
    let stored = second.conversation(id).await;
    let answer = &stored["messages"][1];
    assert_eq!(answer["status"], "interrupted");
    let text = answer["content"].as_str().unwrap();
    assert_eq!(text, answer_text(&asked));
    assert!(!text.is_empty() && text.lines().count() < 20, "{text}");
    let again = stop(&second, id).send().await.unwrap();
    assert_eq!(again.status(), 404);
}

fpl_chat::redis_tests!(an_answer_is_followed_and_stopped_from_another_instance);

#[tokio::test]
async fn a_conversations_topics_are_the_fpl_names_in_its_questions() {
    let db = TestDb::sqlite();
    let app = spawn_app(&db).await;
    let first = app.chat("How is Haaland doing?", None).await;
    let id = conversation_of(&first);
    app.chat("And what about Arsenal's fixtures for GW9?", Some(id))
        .await;
    let row: (String,) = sqlx::query_as("SELECT topics FROM conversations WHERE id = $1")
        .bind(id)
        .fetch_one(&sqlx::SqlitePool::connect(&db.url()).await.unwrap())
        .await
        .unwrap();
    let topics: Vec<String> = serde_json::from_str(&row.0).unwrap();
    assert_eq!(topics, ["Haaland", "Arsenal", "GW9"]);
}

/// A question the database refuses to store gets no answer: the turn ends with `internal`
/// ("could not be saved"), no answer is stored without its question, a new conversation is not
/// left behind empty, and an existing one keeps exactly what it had.
#[tokio::test]
async fn a_question_that_cannot_be_stored_gets_no_answer() {
    use sqlx::Connection;
    let db = TestDb::postgres().await;
    let app = spawn_app(&db).await;
    let first = app.chat("How is Haaland doing?", None).await;
    let conversation = conversation_of(&first);
    // The database refuses these questions, as a full disk or a lost primary would.
    let mut conn = sqlx::PgConnection::connect(&db.url()).await.unwrap();
    for sql in [
        "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
         IF NEW.content LIKE '%refuse-this-write%' THEN RAISE EXCEPTION 'refused by the test'; \
         END IF; RETURN NEW; END $$",
        "CREATE TRIGGER refuse BEFORE INSERT ON messages FOR EACH ROW EXECUTE FUNCTION refuse()",
    ] {
        sqlx::query(sql).execute(&mut conn).await.unwrap();
    }
    for to in [Some(conversation), None] {
        let events = app.chat("How is Salah doing? refuse-this-write", to).await;
        let error = events.iter().find_map(|e| match e {
            ChatEvent::Error { code, message } => Some((code.as_str(), message.as_str())),
            _ => None,
        });
        let (code, message) = error.unwrap_or_else(|| panic!("no error event: {events:?}"));
        assert_eq!(code, "internal");
        assert!(message.contains("could not be saved"), "{message}");
        assert_eq!(events.last().map(ChatEvent::name), Some("done"));
    }
    let count = |sql: &'static str| sqlx::query_scalar::<_, i64>(sql);
    let messages = count("SELECT count(*) FROM messages")
        .fetch_one(&mut conn)
        .await;
    assert_eq!(
        messages.unwrap(),
        2,
        "only the first turn's question and answer"
    );
    let conversations = count("SELECT count(*) FROM conversations");
    assert_eq!(conversations.fetch_one(&mut conn).await.unwrap(), 1);
}

/// The conversation list's tools over HTTP, as the page uses them: export (Markdown and JSON
/// with tool calls and results), search, a read-only share link that a stranger can read but
/// not post into and that stops working when revoked, and delete with undo.
#[tokio::test]
async fn conversations_are_exported_searched_shared_and_restored() {
    let db = TestDb::sqlite();
    let app = spawn_app(&db).await;
    let id = conversation_of(&app.chat("How is Haaland doing?", None).await);
    let stranger = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();

    let export = |client: &reqwest::Client, format: &str| {
        client
            .get(app.url(&format!("/api/conversations/{id}/export?format={format}")))
            .send()
    };
    let md = export(&app.client, "markdown").await.unwrap();
    assert_eq!(md.status(), 200);
    assert_eq!(md.headers()["content-type"], "text/markdown; charset=utf-8");
    assert_eq!(
        md.headers()["content-disposition"],
        "attachment; filename=\"fpl-chat-how-is-haaland-doing.md\""
    );
    let md = md.text().await.unwrap();
    assert!(md.starts_with("# How is Haaland doing?\n"), "{md}");
    assert!(md.contains("## You\n\nHow is Haaland doing?"), "{md}");
    assert!(md.contains("<code>fpl_player_data</code> (ok)"), "{md}");
    assert!(md.contains("```json\n{"), "{md}");
    let json: Value = export(&app.client, "json")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(json["id"], id.to_string());
    let messages = json["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0]["role"], "user");
    let tool = &messages[1]["tool_calls"][0];
    assert_eq!(tool["name"], "fpl_player_data");
    assert_eq!(tool["ok"], true);
    assert!(tool["text"].as_str().unwrap().contains("Haaland"), "{tool}");
    assert_eq!(export(&stranger, "json").await.unwrap().status(), 404);
    assert_eq!(export(&app.client, "pdf").await.unwrap().status(), 400);

    let search = |client: &reqwest::Client, query: &str| {
        client
            .post(app.url("/api/conversations/search"))
            .form(&[("query", query)])
            .send()
    };
    let found: Value = search(&app.client, "haal")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(found[0]["id"], id.to_string(), "{found}");
    let found: Value = search(&stranger, "haal")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(found, json!([]));
    assert_eq!(search(&app.client, " ?! ").await.unwrap().status(), 400);

    let share = |client: &reqwest::Client, create: bool| {
        client
            .post(app.url("/api/conversations/share"))
            .form(&[("id", id.to_string()), ("create", create.to_string())])
            .send()
    };
    assert_eq!(
        share(&stranger, true)
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap(),
        Value::Null
    );
    let link: Value = share(&app.client, true)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let path = link["path"].as_str().unwrap().to_string();
    assert!(path.starts_with("/s/") && path.len() == 3 + 32, "{path}");
    assert_eq!(link["messages"], 2);
    let page = stranger.get(app.url(&path)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["x-robots-tag"], "noindex, nofollow");
    assert_eq!(page.headers()["cache-control"], "no-store");
    let html = page.text().await.unwrap();
    assert!(
        html.contains("How is Haaland doing?"),
        "the shared question"
    );
    assert!(html.contains("fpl_player_data"), "the shared tool card");
    for private in [
        "conversation-list",
        "id=\"account\"",
        "id=\"composer\"",
        &id.to_string(),
    ] {
        assert!(!html.contains(private), "{private} on a shared page");
    }
    let post = stranger
        .post(app.url("/api/chat"))
        .json(&json!({"message": "mine now", "conversation_id": id}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        post.status(),
        404,
        "a shared conversation takes no one else's turn"
    );
    let revoked = app
        .client
        .post(app.url("/api/conversations/unshare"))
        .form(&[("id", id.to_string())])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.json::<Value>().await.unwrap(), json!(true));
    assert_eq!(
        stranger.get(app.url(&path)).send().await.unwrap().status(),
        404
    );
    let bogus = stranger
        .get(app.url("/s/not-a-token"))
        .send()
        .await
        .unwrap();
    assert_eq!(bogus.status(), 404);

    let post = |path: &str| {
        app.client
            .post(app.url(path))
            .form(&[("id", id.to_string())])
            .send()
    };
    let list = || async {
        app.client
            .post(app.url("/api/conversations/list"))
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
    };
    let deleted = post("/api/conversations/delete").await.unwrap();
    assert_eq!(
        deleted.status(),
        200,
        "a call from the page is not redirected"
    );
    assert_eq!(list().await, json!([]));
    let page = app
        .client
        .get(app.url(&format!("/c/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 404);
    let restored: Value = post("/api/conversations/restore")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(restored, json!(true));
    assert_eq!(list().await[0]["id"], id.to_string());
    // Without JavaScript the delete is a browser's form post, which lands on a new chat.
    let form = app
        .client
        .post(app.url("/api/conversations/delete"))
        .header("accept", "text/html")
        .form(&[("id", id.to_string())])
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 302);
    assert_eq!(form.headers()["location"], "/");
}

/// Regenerating an answer and editing a question make versions: the conversation shows the new
/// one with "2 / 2", the old one is a click away, and a follow-up continues the branch shown
/// (the model sees that branch only). Both databases.
#[tokio::test]
async fn answers_are_regenerated_and_questions_edited_as_versions() {
    for db in [TestDb::sqlite(), TestDb::postgres().await] {
        let app = spawn_app(&db).await;
        let first = app.chat("How is Haaland doing?", None).await;
        let id = conversation_of(&first);
        let question = match &first[0] {
            ChatEvent::Meta { question_id, .. } => *question_id,
            other => panic!("{other:?}"),
        };
        let get = || async {
            let conv = app.conversation(id).await;
            conv["messages"].as_array().unwrap().clone()
        };
        let send = |body: Value| app.client.post(app.url("/api/chat")).json(&body).send();
        let old_answer = get().await[1]["id"].clone();

        // Regenerate: same question, a second answer shown as version 2 of 2.
        let events = read_events(
            send(json!({"conversation_id": id, "regenerate": question}))
                .await
                .unwrap(),
        )
        .await;
        assert!(
            matches!(&events[0], ChatEvent::Meta { question_id, .. } if *question_id == question)
        );
        assert!(
            matches!(events.last(), Some(ChatEvent::Done { .. })),
            "{events:?}"
        );
        let shown = get().await;
        assert_eq!(shown.len(), 2, "{shown:?}");
        assert_eq!(shown[0]["id"], question.to_string());
        assert_ne!(shown[1]["id"], old_answer);
        assert_eq!(shown[1]["versions"]["number"], 2);
        assert_eq!(shown[1]["versions"]["count"], 2);
        assert_eq!(shown[1]["versions"]["previous"], old_answer);
        assert!(
            shown[0]["versions"].is_null(),
            "the question has one version"
        );

        // Page back to the first answer, and forward again.
        let show = |message: &Value| {
            app.client
                .post(app.url("/api/conversations/version"))
                .form(&[
                    ("conversation_id", id.to_string()),
                    ("message_id", message.as_str().unwrap().to_string()),
                ])
                .send()
        };
        assert_eq!(show(&old_answer).await.unwrap().status(), 200);
        let back = get().await;
        assert_eq!(back[1]["id"], old_answer);
        assert_eq!(back[1]["versions"]["number"], 1);
        let newest = back[1]["versions"]["next"].clone();
        show(&newest).await.unwrap();
        assert_eq!(get().await[1]["id"], newest);

        // A follow-up continues the branch shown; then editing the first question starts a
        // new branch from the top, and the follow-up stays in the old one.
        app.chat("And his price?", Some(id)).await;
        assert_eq!(get().await.len(), 4);
        let edited = read_events(
            send(
                json!({"conversation_id": id, "edit": question, "message": "How is Salah doing?"}),
            )
            .await
            .unwrap(),
        )
        .await;
        assert!(!answer_text(&edited).is_empty(), "{edited:?}");
        let shown = get().await;
        assert_eq!(shown.len(), 2, "{shown:?}");
        assert_eq!(shown[0]["content"], "How is Salah doing?");
        assert_eq!(shown[0]["versions"]["number"], 2);
        assert_eq!(shown[0]["versions"]["previous"], question.to_string());
        show(&json!(question.to_string())).await.unwrap();
        let old = get().await;
        assert_eq!(old.len(), 4, "the old branch with its follow-up: {old:?}");
        assert_eq!(old[1]["id"], newest, "as it was left");

        // Exports and share links show the branch shown.
        let json: Value = app
            .client
            .get(app.url(&format!("/api/conversations/{id}/export?format=json")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(json["messages"].as_array().unwrap().len(), 4);

        // Bad requests: both kinds at once, a regenerate with text, another's message.
        for body in [
            json!({"conversation_id": id, "edit": question, "regenerate": question, "message": "x"}),
            json!({"conversation_id": id, "regenerate": question, "message": "x"}),
            json!({"regenerate": question}),
        ] {
            assert_eq!(send(body).await.unwrap().status(), 400);
        }
        let answer_id = old[1]["id"].as_str().unwrap();
        let unknown = json!({"conversation_id": id, "regenerate": answer_id});
        assert_eq!(
            send(unknown).await.unwrap().status(),
            404,
            "an answer is not a question"
        );
        let stranger = reqwest::Client::new();
        let theirs = stranger
            .post(app.url("/api/chat"))
            .json(&json!({"conversation_id": id, "regenerate": question}))
            .send()
            .await
            .unwrap();
        assert_eq!(theirs.status(), 404);
    }
}

//! Accounts over HTTP: sign-up, log-in, log-out, sessions (in the database, with and without
//! Redis), the moving of
//! anonymous conversations, tiers and their limits, and the guards around passwords. Redis
//! variants run on a single node (`node::…`) and on a Redis Cluster (`cluster::…`).
mod common;

use app::types::ChatEvent;
use common::*;
use serde_json::{json, Value};

async fn auth(
    app: &TestApp,
    client: &reqwest::Client,
    what: &str,
    email: &str,
    password: &str,
) -> reqwest::Response {
    client
        .post(app.url(&format!("/api/auth/{what}")))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap()
}

async fn me(app: &TestApp, client: &reqwest::Client) -> Value {
    client
        .post(app.url("/api/auth/me"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn conversations(app: &TestApp, client: &reqwest::Client) -> Vec<Value> {
    let list: Value = client
        .post(app.url("/api/conversations/list"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    list.as_array().unwrap().clone()
}

fn cookie_of(response: &reqwest::Response) -> String {
    let set = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Lax"),
        "{set}"
    );
    set.split(';').next().unwrap().to_string()
}

/// The base variables, with Redis at `redis` under a fresh prefix when given.
fn vars_with(db: &TestDb, redis: Option<String>) -> std::collections::HashMap<String, String> {
    let mut vars = base_vars(db);
    if let Some(url) = redis {
        vars.insert("REDIS_URL".into(), url);
        vars.insert(
            "REDIS_PREFIX".into(),
            format!("test:{}:", uuid::Uuid::new_v4().simple()),
        );
    }
    vars
}

async fn account_lifecycle(db: TestDb, redis: Option<String>) {
    let app = spawn_with(vars_with(&db, redis)).await;
    let browser = &app.client;

    // Anonymous first: a conversation, and the anonymous limit.
    let response = browser
        .post(app.url("/api/chat"))
        .json(&json!({"message": "How is Haaland doing?"}))
        .send()
        .await
        .unwrap();
    let anonymous = cookie_of(&response);
    let before = conversation_of(&read_events(response).await);
    assert_eq!(me(&app, browser).await, Value::Null);

    let email = format!("fan-{}@Example.com", uuid::Uuid::new_v4().simple());
    let signed_up = auth(&app, browser, "signup", &email, "correct horse battery").await;
    assert_eq!(signed_up.status(), 200);
    let first_session = cookie_of(&signed_up);
    let account: Value = signed_up.json().await.unwrap();
    assert_eq!(account["email"], email.to_lowercase());
    assert_eq!(account["tier"], "default");
    assert_eq!(me(&app, browser).await["email"], email.to_lowercase());
    // The anonymous conversation moved to the account.
    let list = conversations(&app, browser).await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["id"], before.to_string());
    // The anonymous cookie of before (copied, stolen) no longer reaches it, even while the
    // conversation's head in Redis still names the anonymous owner: the turn's write checks
    // the owner in the database. Nothing is added.
    let stale = reqwest::Client::new()
        .post(app.url("/api/chat"))
        .header("cookie", &anonymous)
        .json(&json!({"message": "Still mine?", "conversation_id": before}))
        .send()
        .await
        .unwrap();
    let refused = stale.status() == 404
        || read_events(stale).await.iter().any(|e| {
            matches!(e, ChatEvent::Error { code, .. } if *code == app::types::ErrorCode::NotFound)
        });
    assert!(refused, "the old anonymous identity was refused");
    assert_eq!(conversations(&app, browser).await[0]["message_count"], 2);
    // Chats now count against the default tier's limit (base_vars leaves it at 20/60s).
    let response = browser
        .post(app.url("/api/chat"))
        .json(&json!({"message": "hi", "conversation_id": before}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["ratelimit-limit"], "20");
    read_events(response).await;

    // Log out: a new anonymous identity that sees nothing of the account.
    let out = browser
        .post(app.url("/api/auth/logout"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 200);
    assert_eq!(me(&app, browser).await, Value::Null);
    assert!(conversations(&app, browser).await.is_empty());

    // Log in again: a new session id; the one from sign-up no longer works.
    let logged_in = auth(
        &app,
        browser,
        "login",
        &email.to_uppercase(),
        "correct horse battery",
    )
    .await;
    assert_eq!(logged_in.status(), 200);
    assert_ne!(cookie_of(&logged_in), first_session);
    assert_eq!(conversations(&app, browser).await.len(), 1);
    let stale_me: Value = reqwest::Client::new()
        .post(app.url("/api/auth/me"))
        .header("cookie", &first_session)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stale_me, Value::Null, "a logged-out session is dead");

    // A taken address with another password: the answer of a wrong log-in (it does not say
    // the address is registered); with its password: its owner is signed in.
    let again = auth(
        &app,
        &reqwest::Client::new(),
        "signup",
        &email,
        "another password",
    )
    .await;
    assert_eq!(again.status(), 401);
    assert!(again
        .text()
        .await
        .unwrap()
        .contains("email or the password is incorrect"));
    let owner = auth(
        &app,
        &reqwest::Client::new(),
        "signup",
        &email,
        "correct horse battery",
    )
    .await;
    assert_eq!(owner.status(), 200);
}

#[tokio::test]
async fn an_account_lives_with_sessions_in_the_database_sqlite() {
    account_lifecycle(TestDb::sqlite(), None).await;
}

#[tokio::test]
async fn an_account_lives_with_sessions_in_the_database_postgres() {
    account_lifecycle(TestDb::postgres().await, None).await;
}

async fn an_account_lives_with_redis_configured(url: String) {
    account_lifecycle(TestDb::sqlite(), Some(url)).await;
}

/// Sessions live in the database: with Redis configured but unreachable, signing up, staying
/// signed in and chatting all work.
#[tokio::test]
async fn a_redis_outage_signs_nobody_out() {
    let db = TestDb::sqlite();
    let mut vars = base_vars(&db);
    vars.insert("REDIS_URL".into(), "redis://127.0.0.1:1".into());
    let app = spawn_with(vars).await;
    let signed_up = auth(
        &app,
        &app.client,
        "signup",
        "outage@example.com",
        "long enough pw",
    )
    .await;
    assert_eq!(signed_up.status(), 200);
    for _ in 0..3 {
        assert_eq!(me(&app, &app.client).await["email"], "outage@example.com");
    }
    let events = app.chat("How is Haaland doing?", None).await;
    assert!(
        matches!(events.last(), Some(ChatEvent::Done { .. })),
        "{events:?}"
    );
    assert_eq!(me(&app, &app.client).await["email"], "outage@example.com");
}

#[tokio::test]
async fn a_failed_log_in_does_not_say_which_part_was_wrong_and_is_limited() {
    failed_log_ins_are_limited(None).await;
}

async fn failed_log_ins_are_limited_in_redis(url: String) {
    failed_log_ins_are_limited(Some(url)).await;
}

fpl_chat::redis_tests!(
    an_account_lives_with_redis_configured,
    failed_log_ins_are_limited_in_redis,
);

/// Failed log-ins are counted (in Redis when `redis` is given, else in process).
async fn failed_log_ins_are_limited(redis: Option<String>) {
    let db = TestDb::sqlite();
    let app = spawn_with(vars_with(&db, redis)).await;
    let email = "keeper@example.com";
    assert_eq!(
        auth(&app, &app.client, "signup", email, "the right one")
            .await
            .status(),
        200
    );
    let stranger = reqwest::Client::new();
    let wrong_password = auth(&app, &stranger, "login", email, "the wrong one").await;
    assert_eq!(wrong_password.status(), 401);
    let a = wrong_password.text().await.unwrap();
    let unknown_email = auth(
        &app,
        &stranger,
        "login",
        "nobody@example.com",
        "the wrong one",
    )
    .await;
    assert_eq!(unknown_email.status(), 401);
    assert_eq!(
        unknown_email.text().await.unwrap(),
        a,
        "the same answer either way"
    );
    assert!(a.contains("email or the password is incorrect"), "{a}");

    // Ten failures per email from one address in 15 minutes; then it waits.
    let mut last = None;
    for _ in 0..10 {
        last = Some(auth(&app, &stranger, "login", email, "guess").await);
    }
    let last = last.unwrap();
    assert_eq!(last.status(), 429);
    assert!(last.headers().contains_key("retry-after"));
    assert!(last.text().await.unwrap().contains("Too many attempts"));
    // Even the right password waits now, from that address.
    assert_eq!(
        auth(&app, &stranger, "login", email, "the right one")
            .await
            .status(),
        429
    );
    // Every attempt is counted by its result (for the log-in failure panels and alerts).
    let metrics = app.metrics().await;
    for (event, result, n) in [
        ("signup", "ok", 1),
        ("login", "wrong_credentials", 11),
        ("login", "too_many_attempts", 2),
    ] {
        let line = format!(r#"auth_events_total{{event="{event}",result="{result}"}} {n}"#);
        assert!(metrics.contains(&line), "{line} in\n{metrics}");
    }
    // The sign-up's session is the only live one.
    assert!(metrics.contains("\nsessions_active 1\n"), "{metrics}");
}

#[tokio::test]
async fn bad_emails_and_passwords_get_clear_messages() {
    let db = TestDb::sqlite();
    let app = spawn_app(&db).await;
    for (email, password, words) in [
        (
            "not-an-email",
            "long enough",
            "email address like name@example.com",
        ),
        ("a@b.c", "short", "at least 8 characters"),
        ("a@b.c", &"x".repeat(200), "at most 128 characters"),
    ] {
        let response = auth(&app, &reqwest::Client::new(), "signup", email, password).await;
        assert_eq!(response.status(), 400, "{email}");
        let text = response.text().await.unwrap();
        assert!(text.contains(words), "{text}");
    }
}

#[tokio::test]
async fn premium_accounts_get_the_premium_limit() {
    let db = TestDb::sqlite();
    let app = spawn_app(&db).await;
    let email = "vip@example.com";
    assert_eq!(
        auth(&app, &app.client, "signup", email, "premium please")
            .await
            .status(),
        200
    );
    let set_tier = tokio::process::Command::new(env!("CARGO_BIN_EXE_fpl-chat"))
        .args(["user", "set-tier", email, "premium"])
        .env_clear()
        .envs(base_vars(&db))
        .output()
        .await
        .unwrap();
    assert!(
        set_tier.status.success(),
        "{}",
        String::from_utf8_lossy(&set_tier.stderr)
    );
    assert_eq!(me(&app, &app.client).await["tier"], "premium");
    let response = app
        .client
        .post(app.url("/api/chat"))
        .json(&json!({"message": "hi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["ratelimit-limit"], "40");
}

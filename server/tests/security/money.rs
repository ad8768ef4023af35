//! See security.rs: the operator's money (daily token budgets per identity, per IP and for the
//! deployment; turn caps) and the owner's account (log-in limits per (email, IP) and per IP;
//! a sign-up that does not reveal a taken address).
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use fpl_chat::testkit::claude::{ClaudeStandIn, Fallback, Sse};
use serde_json::{json, Value};

use crate::common::{
    base_vars, conversation_of, read_events, read_until, spawn_with, TestApp, TestDb, CLAUDE_KEY,
};

/// A browser-like client (keeps its cookie) on the loopback address `127.0.0.<last>`.
fn client_on(last: u8) -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, last)))
        .build()
        .unwrap()
}

/// The app with Claude's stand-in, on Redis (a prefix of its own) or in process, with `extra`.
async fn app_with(
    claude: &ClaudeStandIn,
    redis: bool,
    extra: &[(&str, &str)],
) -> (TestApp, TestDb) {
    let db = TestDb::sqlite();
    let mut vars = base_vars(&db);
    vars.insert("CLAUDE_API_KEY".into(), CLAUDE_KEY.into());
    vars.insert("CLAUDE_API_BASE_URL".into(), claude.base_url.clone());
    vars.insert("CLAUDE_MODEL_VERSION".into(), "claude-test-model".into());
    if redis {
        let url =
            std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
        vars.insert("REDIS_URL".into(), url);
        let prefix = format!("test:{}:", uuid::Uuid::new_v4().simple());
        vars.insert("REDIS_PREFIX".into(), prefix);
    }
    for (k, v) in extra {
        vars.insert(k.to_string(), v.to_string());
    }
    (spawn_with(vars).await, db)
}

/// A stand-in whose every answer costs 1,200 input tokens and a few output tokens.
async fn claude_at_1200_tokens() -> ClaudeStandIn {
    let claude = ClaudeStandIn::start().await;
    claude.set_fallback(Fallback::Always(
        Sse::new()
            .usage(1_200, 0, 0)
            .text(&["Hello!"])
            .end("end_turn"),
    ));
    claude
}

async fn chat(app: &TestApp, client: &reqwest::Client) -> reqwest::Response {
    client
        .post(app.url("/api/chat"))
        .json(&json!({"message": "hi"}))
        .send()
        .await
        .unwrap()
}

fn header(response: &reqwest::Response, name: &str) -> String {
    response.headers()[name].to_str().unwrap().to_string()
}

/// A refusal before streaming: `status`, `Retry-After`, a JSON body (no event stream).
async fn assert_refused(response: reqwest::Response, status: u16) -> Value {
    assert_eq!(response.status(), status);
    let wait: u64 = header(&response, "retry-after").parse().unwrap();
    assert!((1..=86_400).contains(&wait), "{wait}");
    assert!(
        header(&response, "content-type").starts_with("application/json"),
        "no event stream"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited", "{body}");
    body
}

async fn a_new_cookie_brings_no_new_budget(redis: bool) {
    let claude = claude_at_1200_tokens().await;
    let (app, _db) = app_with(
        &claude,
        redis,
        &[
            ("TOKEN_BUDGET_ANONYMOUS", "100000"),
            ("TOKEN_BUDGET_IP", "2000"),
        ],
    )
    .await;
    // Each turn from a client without cookies: a new anonymous identity every time.
    for _ in 0..2 {
        let response = chat(&app, &reqwest::Client::new()).await;
        assert_eq!(response.status(), 200);
        assert_eq!(header(&response, "token-budget-limit"), "2000");
        read_events(response).await;
    }
    let refused = chat(&app, &reqwest::Client::new()).await;
    assert_eq!(header(&refused, "token-budget-remaining"), "0");
    let body = assert_refused(refused, 429).await;
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("network"),
        "{body}"
    );
    assert_eq!(
        claude.requests().len(),
        2,
        "the refused turn never reached Claude"
    );
}

#[tokio::test]
async fn a_new_cookie_brings_no_new_budget_with_redis() {
    a_new_cookie_brings_no_new_budget(true).await;
}

#[tokio::test]
async fn a_new_cookie_brings_no_new_budget_in_process() {
    a_new_cookie_brings_no_new_budget(false).await;
}

async fn identities_on_one_ip_share_its_budget(redis: bool) {
    let claude = claude_at_1200_tokens().await;
    let (app, _db) = app_with(
        &claude,
        redis,
        &[
            ("TOKEN_BUDGET_ANONYMOUS", "100000"),
            ("TOKEN_BUDGET_IP", "2000"),
        ],
    )
    .await;
    let (first, second) = (client_on(1), client_on(1));
    read_events(chat(&app, &first).await).await;
    let response = chat(&app, &second).await;
    assert_eq!(response.status(), 200);
    // The tightest budget is shown: the network's, of which the first visitor spent ~1,200.
    assert_eq!(header(&response, "token-budget-limit"), "2000");
    let left: u64 = header(&response, "token-budget-remaining").parse().unwrap();
    assert!((700..800).contains(&left), "{left}");
    read_events(response).await;
    // The first visitor spent only ~1,200 of their own 100,000, and is refused all the same.
    assert_refused(chat(&app, &first).await, 429).await;
}

#[tokio::test]
async fn identities_on_one_ip_share_its_budget_with_redis() {
    identities_on_one_ip_share_its_budget(true).await;
}

#[tokio::test]
async fn identities_on_one_ip_share_its_budget_in_process() {
    identities_on_one_ip_share_its_budget(false).await;
}

async fn the_deployment_budget_holds_across_ips(redis: bool) {
    let claude = claude_at_1200_tokens().await;
    let (app, _db) = app_with(&claude, redis, &[("TOKEN_BUDGET_GLOBAL", "2000")]).await;
    read_events(chat(&app, &client_on(1)).await).await;
    let other_ip = client_on(2);
    read_events(chat(&app, &other_ip).await).await;
    // Over the deployment's budget: the service is out for everyone, a 503.
    let body = assert_refused(chat(&app, &other_ip).await, 503).await;
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("everyone"),
        "{body}"
    );
    assert_refused(chat(&app, &client_on(3)).await, 503).await;
}

#[tokio::test]
async fn the_deployment_budget_holds_across_ips_with_redis() {
    the_deployment_budget_holds_across_ips(true).await;
}

#[tokio::test]
async fn the_deployment_budget_holds_across_ips_in_process() {
    the_deployment_budget_holds_across_ips(false).await;
}

/// The conversation of a turn's stream (its `meta` event), the rest of which is dropped.
async fn meta_of(mut response: reqwest::Response) -> uuid::Uuid {
    let mut parser = app::types::SseParser::default();
    conversation_of(&read_until(&mut response, &mut parser, |_| true).await)
}

/// A client that already has its anonymous identity (its cookie).
async fn visitor(app: &TestApp) -> reqwest::Client {
    let client = client_on(1);
    let me = client.post(app.url("/api/auth/me")).send().await.unwrap();
    assert!(me.headers().contains_key("set-cookie"));
    client
}

#[tokio::test]
async fn a_third_concurrent_turn_of_one_identity_is_refused() {
    let claude = ClaudeStandIn::start().await;
    // Every answer starts, then stalls: the turns stay open.
    claude.set_fallback(Fallback::Always(
        Sse::new()
            .text(&["Thinking"])
            .stall(Duration::from_secs(30))
            .end("end_turn"),
    ));
    let (app, _db) = app_with(&claude, false, &[]).await;
    let me = visitor(&app).await;
    let first = chat(&app, &me).await;
    let second = chat(&app, &me).await;
    assert_eq!(
        (first.status().as_u16(), second.status().as_u16()),
        (200, 200)
    );
    let body = assert_refused(chat(&app, &me).await, 429).await;
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Wait for one"),
        "{body}"
    );
    // Another identity is not held back by this one.
    let other = chat(&app, &visitor(&app).await).await;
    assert_eq!(other.status(), 200);
    assert!(header(&other, "content-type").starts_with("text/event-stream"));

    // The client of one turn goes away: the turn goes on and keeps its place. Once it is
    // stopped and its partial answer stored, its place is free.
    let conversation = meta_of(first).await;
    assert_eq!(
        chat(&app, &me).await.status(),
        429,
        "a left turn still runs"
    );
    let stop = me
        .post(app.url(&format!("/api/chat/{conversation}/stop")))
        .send()
        .await
        .unwrap();
    assert_eq!(stop.status(), 204);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let again = chat(&app, &me).await;
        if again.status() == 200 {
            break;
        }
        assert_eq!(again.status(), 429);
        assert!(
            Instant::now() < deadline,
            "the place of a dropped turn is given back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn over_the_instance_cap_a_turn_is_503_until_one_ends() {
    let claude = ClaudeStandIn::start().await;
    claude.push([Sse::new()
        .text(&["Half"])
        .stall(Duration::from_millis(1_500))
        .text(&[" and the rest."])
        .end("end_turn")]);
    let (app, _db) = app_with(&claude, true, &[("CHAT_MAX_CONCURRENT_TURNS", "1")]).await;
    let (one, another) = (visitor(&app).await, visitor(&app).await);
    let running = chat(&app, &one).await;
    assert_eq!(running.status(), 200);
    let body = assert_refused(chat(&app, &another).await, 503).await;
    assert!(
        body["error"]["message"].as_str().unwrap().contains("busy"),
        "{body}"
    );
    // The running turn ends (`done` read): the next one is accepted at once.
    let events = read_events(running).await;
    assert!(matches!(
        events.last(),
        Some(app::types::ChatEvent::Done { .. })
    ));
    let next = chat(&app, &another).await;
    assert_eq!(next.status(), 200);
    read_events(next).await;
}

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

async fn accounts_app() -> (TestApp, TestDb) {
    let db = TestDb::sqlite();
    (spawn_with(base_vars(&db)).await, db)
}

#[tokio::test]
async fn wrong_passwords_from_one_ip_do_not_lock_the_owner_out() {
    let (app, _db) = accounts_app().await;
    let (email, right) = ("owner@example.com", "the owner's password");
    let owner = client_on(1);
    assert_eq!(
        auth(&app, &owner, "signup", email, right).await.status(),
        200
    );

    let attacker = client_on(2);
    for _ in 0..10 {
        let guess = auth(&app, &attacker, "login", email, "a wrong guess").await;
        assert_eq!(guess.status(), 401);
    }
    // The attacker's address is held back, even with the right password …
    let held = auth(&app, &attacker, "login", email, right).await;
    assert_eq!(held.status(), 429);
    assert!(held.headers().contains_key("retry-after"));
    // … and the owner, from their own address, is not.
    assert_eq!(
        auth(&app, &client_on(1), "login", email, right)
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn a_success_resets_the_count_and_one_ip_is_limited_across_emails() {
    let (app, _db) = accounts_app().await;
    let (email, right) = ("forgetful@example.com", "the right password");
    let owner = client_on(1);
    assert_eq!(
        auth(&app, &owner, "signup", email, right).await.status(),
        200
    );
    // Nine typos and a success, twice: the success starts the count again.
    for _ in 0..2 {
        for _ in 0..9 {
            assert_eq!(
                auth(&app, &owner, "login", email, "a typo!!")
                    .await
                    .status(),
                401
            );
        }
        assert_eq!(
            auth(&app, &owner, "login", email, right).await.status(),
            200
        );
    }
    // One address trying many accounts is limited too (50 failures).
    let sprayer = client_on(3);
    let mut refused = None;
    for n in 0..60 {
        let guess = auth(
            &app,
            &sprayer,
            "login",
            &format!("user{n}@example.com"),
            "password1",
        )
        .await;
        if guess.status() == 429 {
            refused = Some(n);
            break;
        }
        assert_eq!(guess.status(), 401);
    }
    assert_eq!(refused, Some(50), "the 51st failure from one IP waits");
}

#[tokio::test]
async fn sign_up_with_a_taken_email_reveals_nothing() {
    let (app, _db) = accounts_app().await;
    let (email, right) = ("taken@example.com", "the owner's password");
    assert_eq!(
        auth(&app, &client_on(1), "signup", email, right)
            .await
            .status(),
        200
    );

    // A stranger signing up with the owner's address: the answer of a wrong log-in, word for
    // word, the same as for an address nobody has.
    let stranger = client_on(2);
    let taken = auth(&app, &stranger, "signup", email, "another password").await;
    assert_eq!(taken.status(), 401);
    let taken = taken.text().await.unwrap();
    assert_eq!(me(&app, &stranger).await, Value::Null, "not signed in");
    let wrong_login = auth(&app, &client_on(3), "login", email, "another password").await;
    let unknown = auth(
        &app,
        &client_on(4),
        "login",
        "nobody@example.com",
        "another password",
    )
    .await;
    assert_eq!(unknown.status(), 401);
    assert_eq!(taken, wrong_login.text().await.unwrap());
    assert_eq!(taken, unknown.text().await.unwrap());
    assert!(!taken.contains("exists"), "{taken}");

    // The owner signing up again with their password: signed in, as a fresh sign-up answers.
    let again = client_on(5);
    let response = auth(&app, &again, "signup", email, right).await;
    assert_eq!(response.status(), 200);
    assert!(response.headers().contains_key("set-cookie"));
    let fresh = auth(&app, &client_on(6), "signup", "fresh@example.com", right).await;
    let (account, fresh): (Value, Value) =
        (response.json().await.unwrap(), fresh.json().await.unwrap());
    assert_eq!(account["email"], email);
    assert_eq!(
        account.as_object().unwrap().keys().collect::<Vec<_>>(),
        fresh.as_object().unwrap().keys().collect::<Vec<_>>()
    );
    assert_eq!(me(&app, &again).await["email"], email);
}

/// The account the client is signed in to (`null`: none).
async fn me(app: &TestApp, client: &reqwest::Client) -> Value {
    let response = client.post(app.url("/api/auth/me")).send().await.unwrap();
    response.json().await.unwrap()
}

//! Identities that survive restarts and span instances, key rotation, cross-site requests,
//! client addresses behind proxies, and the headers and cookies of every response.
use reqwest::header::{HeaderMap, SET_COOKIE};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::common::*;

/// The `name=value` of a response's identity cookie, if it sets one.
fn set_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.contains("fplchat_id="))
        .map(str::to_string)
}

fn pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().to_string()
}

/// A plain client that keeps no cookies: each request says what it carries.
fn bare() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// One chat turn with `cookie` (or none); the conversation and the cookie it now has.
async fn turn(app: &TestApp, cookie: Option<&str>) -> (Uuid, String) {
    let mut request = bare()
        .post(app.url("/api/chat"))
        .json(&json!({"message": "How is Haaland doing?", "conversation_id": null}));
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200);
    let cookie = match (cookie, set_cookie(response.headers())) {
        (_, Some(set)) => pair(&set),
        (Some(cookie), None) => cookie.to_string(),
        (None, None) => panic!("a new visitor gets a cookie"),
    };
    (conversation_of(&read_events(response).await), cookie)
}

/// The status of `/c/{id}` for `cookie`: 200 for its owner, 404 for anyone else.
async fn page_status(app: &TestApp, cookie: &str, id: Uuid) -> u16 {
    bare()
        .get(app.url(&format!("/c/{id}")))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

fn without_secret(db: &TestDb) -> std::collections::HashMap<String, String> {
    let mut vars = base_vars(db);
    vars.remove("SESSION_SECRET");
    vars
}

#[tokio::test]
async fn without_session_secret_a_restart_keeps_the_visitor() {
    let db = TestDb::sqlite();
    let app = spawn_with(without_secret(&db)).await;
    let (id, cookie) = turn(&app, None).await;
    drop(app);
    let again = spawn_with(without_secret(&db)).await;
    assert_eq!(page_status(&again, &cookie, id).await, 200);
}

#[tokio::test]
async fn without_session_secret_two_instances_share_the_visitor() {
    let db = TestDb::postgres().await;
    let (first, second) = (
        spawn_with(without_secret(&db)).await,
        spawn_with(without_secret(&db)).await,
    );
    let (id, cookie) = turn(&first, None).await;
    assert_eq!(page_status(&second, &cookie, id).await, 200);
    // And back: a turn on the second instance is the same visitor's on the first.
    let (other, _) = turn(&second, Some(&cookie)).await;
    assert_eq!(page_status(&first, &cookie, other).await, 200);
}

#[tokio::test]
async fn a_rotated_key_keeps_everyone_signed_in() {
    let db = TestDb::sqlite();
    let (old, new) = ("o".repeat(40), "n".repeat(40));
    let with = |current: &str, previous: Option<&str>| {
        let mut vars = base_vars(&db);
        vars.insert("SESSION_SECRET".into(), current.into());
        if let Some(previous) = previous {
            vars.insert("SESSION_SECRET_PREVIOUS".into(), previous.into());
        }
        vars
    };
    let app = spawn_with(with(&old, None)).await;
    let (id, old_cookie) = turn(&app, None).await;
    drop(app);

    let rotated = spawn_with(with(&new, Some(&old))).await;
    let page = bare()
        .get(rotated.url(&format!("/c/{id}")))
        .header("cookie", &old_cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let resigned = pair(&set_cookie(page.headers()).expect("signed again with the new key"));
    assert_ne!(resigned, old_cookie);
    drop(rotated);

    // Once the previous key is dropped, the re-signed cookie still works; the old one not.
    let later = spawn_with(with(&new, None)).await;
    assert_eq!(page_status(&later, &resigned, id).await, 200);
    assert_eq!(page_status(&later, &old_cookie, id).await, 404);
}

/// A signed-in browser: its cookie, after a sign-up.
async fn signed_in(app: &TestApp) -> (String, String) {
    let email = format!("fan-{}@example.com", Uuid::new_v4().simple());
    let response = bare()
        .post(app.url("/api/auth/signup"))
        .json(&json!({"email": email, "password": "correct horse battery"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    (pair(&set_cookie(response.headers()).unwrap()), email)
}

async fn me(app: &TestApp, cookie: &str) -> Value {
    bare()
        .post(app.url("/api/auth/me"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Sends `request` as a page on another site would, and checks it was refused untouched.
async fn assert_refused(request: reqwest::RequestBuilder, what: &str) {
    let response = request
        .header("origin", "https://evil.example")
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403, "{what}");
    assert!(
        set_cookie(response.headers()).is_none(),
        "{what}: no cookie"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "forbidden", "{what}");
}

#[tokio::test]
async fn cross_site_requests_change_nothing() {
    let db = TestDb::sqlite();
    let app = spawn_app(&db).await;
    let (cookie, email) = signed_in(&app).await;
    let (id, _) = turn(&app, Some(&cookie)).await;
    let c = bare();
    let post = |path: &str| c.post(app.url(path)).header("cookie", &cookie);

    // Login CSRF, as a `<form enctype=text/plain>` would send it.
    let attacker = r#"{"email":"attacker@example.com","password":"x","y":"="}"#;
    assert_refused(
        post("/api/auth/login")
            .header("content-type", "text/plain")
            .body(attacker),
        "login",
    )
    .await;
    assert_refused(post("/api/auth/logout").json(&json!({})), "logout").await;
    assert_refused(
        post("/api/conversations/rename")
            .form(&[("id", id.to_string()), ("title", "pwned".into())]),
        "rename",
    )
    .await;
    assert_refused(
        post("/api/conversations/delete").form(&[("id", id.to_string())]),
        "delete",
    )
    .await;
    assert_refused(
        post("/api/chat/send").form(&[("message", "spend tokens"), ("conversation_id", "")]),
        "form post",
    )
    .await;
    assert_refused(
        post("/api/chat").json(&json!({"message": "spend tokens"})),
        "chat",
    )
    .await;
    // Origin: null (a sandboxed frame) is another site too, and a visitor without a cookie
    // does not get one from a refused request.
    let response = c
        .post(app.url("/api/chat"))
        .header("origin", "null")
        .json(&json!({"message": "hi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    assert!(set_cookie(response.headers()).is_none());

    // Nothing changed: still signed in, the conversation as it was.
    assert_eq!(me(&app, &cookie).await["email"], email);
    let list: Value = post("/api/conversations/list")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_ne!(list[0]["title"], "pwned");
    assert_eq!(list[0]["message_count"], 2);
}

#[tokio::test]
async fn the_sites_own_requests_and_programs_still_work() {
    let db = TestDb::sqlite();
    let app = spawn_app(&db).await;
    let (cookie, email) = signed_in(&app).await;
    let (id, _) = turn(&app, Some(&cookie)).await;
    let own = bare()
        .post(app.url("/api/conversations/rename"))
        .header("cookie", &cookie)
        .header("origin", app.base.clone())
        .header("sec-fetch-site", "same-origin")
        .form(&[("id", id.to_string()), ("title", "Haaland".into())])
        .send()
        .await
        .unwrap();
    assert_eq!(own.status(), 200);
    // A JSON endpoint refuses a body that is not declared JSON, even from the site itself.
    let text = bare()
        .post(app.url("/api/auth/logout"))
        .header("cookie", &cookie)
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(text.status(), 415);
    assert_eq!(me(&app, &cookie).await["email"], email, "still signed in");
    // A cross-site image or link gets no new cookie either.
    let image = bare()
        .get(app.url("/"))
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    assert!(set_cookie(image.headers()).is_none());
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let db = TestDb::sqlite();
    let app = spawn_app(&db).await;
    let page = bare().get(app.url("/")).send().await.unwrap();
    let headers = page.headers().clone();
    let html = page.text().await.unwrap();
    let csp = headers["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    let script_src = csp
        .split(';')
        .find(|d| d.trim().starts_with("script-src"))
        .expect("a script-src directive");
    assert!(!script_src.contains("unsafe-inline"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    let nonce = script_src
        .split("'nonce-")
        .nth(1)
        .and_then(|n| n.split('\'').next())
        .expect("a nonce");
    // Every inline script of the page carries this response's nonce.
    let scripts = html.matches("<script").count();
    assert!(scripts >= 2, "theme and hydration scripts");
    assert_eq!(
        html.matches(&format!("nonce=\"{nonce}\"")).count(),
        scripts,
        "{html}"
    );
    for (name, value) in [
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "strict-origin-when-cross-origin"),
        ("x-frame-options", "DENY"),
    ] {
        assert_eq!(headers[name], value);
    }
    assert!(
        headers.get("strict-transport-security").is_none(),
        "plain HTTP"
    );
    // Another response, another nonce; JSON and health answers are locked down too.
    let again = bare().get(app.url("/")).send().await.unwrap();
    assert!(!again.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .contains(nonce));
    let health = bare().get(app.url("/healthz")).send().await.unwrap();
    assert!(health.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .starts_with("default-src 'none'"));
    assert_eq!(health.headers()["x-content-type-options"], "nosniff");
}

#[tokio::test]
async fn over_https_cookies_are_host_prefixed_and_hsts_is_sent() {
    let db = TestDb::sqlite();
    let mut vars = base_vars(&db);
    vars.insert("TRUST_PROXY_HEADERS".into(), "true".into());
    let app = spawn_with(vars).await;
    let page = bare()
        .get(app.url("/"))
        .header("x-forwarded-proto", "https")
        .header("x-forwarded-for", "203.0.113.7")
        .send()
        .await
        .unwrap();
    let cookie = set_cookie(page.headers()).unwrap();
    assert!(cookie.starts_with("__Host-fplchat_id="), "{cookie}");
    assert!(
        cookie.contains("Secure") && cookie.contains("Path=/"),
        "{cookie}"
    );
    assert!(!cookie.contains("Domain"), "{cookie}");
    assert!(page.headers()["strict-transport-security"]
        .to_str()
        .unwrap()
        .starts_with("max-age="));
    // A sign-up over HTTPS sets the prefixed session cookie.
    let response = bare()
        .post(app.url("/api/auth/signup"))
        .header("x-forwarded-proto", "https")
        .json(&json!({"email": format!("s-{}@example.com", Uuid::new_v4().simple()), "password": "correct horse battery"}))
        .send()
        .await
        .unwrap();
    let session = set_cookie(response.headers()).unwrap();
    assert!(
        session.starts_with("__Host-fplchat_id=") && session.contains("Secure"),
        "{session}"
    );
}

#[tokio::test]
async fn the_client_behind_a_proxy_is_the_proxys_entry() {
    let db = TestDb::sqlite();
    let mut vars = base_vars(&db);
    vars.insert("TRUST_PROXY_HEADERS".into(), "true".into());
    vars.insert("RATE_LIMIT_IP".into(), "2/60s".into());
    let app = spawn_with(vars).await;
    // Fresh cookies each time, and a forged entry on the left that changes every time: the
    // client is still the proxy's own entry (with a port), so the per-IP limit holds.
    let ask = |forged: String, client: &'static str| {
        bare()
            .post(app.url("/api/chat"))
            .header("x-forwarded-for", format!("{forged}, {client}"))
            .json(&json!({"message": "hi"}))
            .send()
    };
    assert_eq!(
        ask("1.1.1.1".into(), "203.0.113.7:4711")
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        ask("2.2.2.2".into(), "203.0.113.7").await.unwrap().status(),
        200
    );
    assert_eq!(
        ask("3.3.3.3".into(), "203.0.113.7:80")
            .await
            .unwrap()
            .status(),
        429
    );
    // Another client behind the proxy is not limited by the first; `[v6]:port` is read.
    assert_eq!(
        ask("unknown".into(), "[2001:db8::1]:443")
            .await
            .unwrap()
            .status(),
        200
    );
    // An entry that is not an address counts as the peer (loopback), not as the forged one.
    assert_eq!(
        ask("203.0.113.9".into(), "unknown").await.unwrap().status(),
        200
    );
    assert_eq!(
        ask("203.0.113.10".into(), "garbage")
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        ask("203.0.113.11".into(), "unknown")
            .await
            .unwrap()
            .status(),
        429
    );
}

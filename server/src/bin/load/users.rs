//! The simulated users: each sends its turns one after the other, through the app
//! (`POST /api/chat`, its own cookie, a new conversation then follow-ups) or straight to the
//! stand-in (`POST /v1/messages`), and notes when each turn was sent, when its first token and
//! its last event arrived, and whether it failed.
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use app::types::SseParser;
use reqwest::header::{CONTENT_TYPE, COOKIE, SET_COOKIE};
use serde_json::{json, Value};

/// One turn as its client saw it.
#[derive(Debug, Clone)]
pub struct Turn {
    /// The word after `tag=` in its question: how the stand-in's arrival is matched to it.
    pub tag: String,
    /// When it was sent, microseconds since the Unix epoch.
    pub sent_unix_us: u64,
    /// Until the first token: the app's first `text` event, the stand-in's first
    /// `content_block_delta`.
    pub first_token_ms: Option<f64>,
    /// Until the last event (`done`, `message_stop`) or the failure.
    pub last_byte_ms: f64,
    /// Why it failed (an HTTP status, an `error` event, a cut stream), if it did.
    pub failure: Option<String>,
    /// The `code` of its `error` event, if it ended with one.
    pub error_code: Option<String>,
    /// Whether the app admitted it (200 and a stream).
    pub admitted: bool,
}

/// What each user does.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub turns: usize,
    /// Keep sending turns until then instead (the soak).
    pub until: Option<Instant>,
    pub conversation_turns: usize,
    /// Drop the response at the first token (a client that goes away mid-answer; the answer
    /// goes on), then stop the answer (`POST /api/chat/{id}/stop`, as a reloaded page's Stop).
    pub hang_up: bool,
    /// Stop after the first turn that failed (a user whose server is going away).
    pub stop_after_failure: bool,
}

impl Plan {
    /// `turns` turns, `conversation_turns` to a conversation, each read to its end.
    pub fn turns(turns: usize, conversation_turns: usize) -> Self {
        Self {
            turns,
            until: None,
            conversation_turns,
            hang_up: false,
            stop_after_failure: false,
        }
    }

    fn goes_on(&self, sent: usize) -> bool {
        match self.until {
            Some(deadline) => Instant::now() < deadline,
            None => sent < self.turns,
        }
    }
}

/// Turns in flight now and at most (all users together).
#[derive(Debug, Default)]
pub struct InFlight {
    now: AtomicUsize,
    max: AtomicUsize,
}

impl InFlight {
    fn enter(&self) {
        let now = self.now.fetch_add(1, Ordering::Relaxed) + 1;
        self.max.fetch_max(now, Ordering::Relaxed);
    }

    fn leave(&self) {
        self.now.fetch_sub(1, Ordering::Relaxed);
    }

    pub fn now(&self) -> usize {
        self.now.load(Ordering::Relaxed)
    }

    pub fn max(&self) -> usize {
        self.max.load(Ordering::Relaxed)
    }
}

/// The HTTP client all users share (connections are per request in flight, as browsers'
/// would be); each user keeps its own cookie.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(300))
        .tcp_nodelay(true)
        .build()
        .expect("HTTP client")
}

/// One user of the app: `plan`'s turns, tagged `{prefix}.{user}.{turn}`.
pub async fn app_user(
    client: &reqwest::Client,
    base: &str,
    prefix: &str,
    user: usize,
    plan: Plan,
    in_flight: &InFlight,
) -> Vec<Turn> {
    let mut cookie: Option<String> = None;
    let mut conversation: Option<String> = None;
    let mut turns = Vec::new();
    while plan.goes_on(turns.len()) {
        if turns.len() % plan.conversation_turns == 0 {
            conversation = None;
        }
        let tag = format!("{prefix}.{user}.{}", turns.len());
        let body = json!({
            "message": format!("tag={tag} How is Haaland doing this season?"),
            "conversation_id": conversation,
        });
        let mut request = client
            .post(format!("{base}/api/chat"))
            .header(CONTENT_TYPE, "application/json")
            .body(body.to_string());
        if let Some(c) = &cookie {
            request = request.header(COOKIE, c.clone());
        }
        let ends = Ends {
            first: "text",
            last: "done",
            hang_up: plan.hang_up,
        };
        in_flight.enter();
        let (turn, seen) = send(request, tag, ends, &mut cookie).await;
        if let (true, Some(id)) = (plan.hang_up, &seen.conversation) {
            // On a connection of its own that closes: an idle kept-alive connection would
            // count as a task left behind by the turn.
            let mut stop = client
                .post(format!("{base}/api/chat/{id}/stop"))
                .header(reqwest::header::CONNECTION, "close");
            if let Some(c) = &cookie {
                stop = stop.header(COOKIE, c.clone());
            }
            let _ = stop.send().await;
        }
        in_flight.leave();
        conversation = seen.conversation.or(conversation);
        let failed = turn.failure.is_some();
        turns.push(turn);
        if failed && plan.stop_after_failure {
            break;
        }
    }
    turns
}

/// A request body the app sent upstream, to be sent again by the direct client with another
/// tag: both then ask the same upstream work (system prompt, tools, history).
#[derive(Debug, Clone)]
pub struct Template {
    pub body: String,
    /// `tag=…` as it is in `body`.
    pub tag: String,
}

impl Template {
    /// `body` with its tag's word in the last message, if it has one.
    pub fn new(body: String) -> Option<Self> {
        let start = body.rfind("tag=")?;
        let end = body[start..]
            .find([' ', '"'])
            .map_or(body.len(), |e| start + e);
        let tag = body[start..end].to_string();
        Some(Self { body, tag })
    }

    fn with_tag(&self, tag: &str) -> String {
        self.body.replacen(&self.tag, &format!("tag={tag}"), 1)
    }
}

/// One client straight to the stand-in, sending the same number of requests: the app's own
/// request (`template`) when there is one, else a minimal one.
pub async fn direct_user(
    client: &reqwest::Client,
    base: &str,
    (prefix, user): (&str, usize),
    plan: Plan,
    template: Option<&Template>,
) -> Vec<Turn> {
    let mut turns = Vec::new();
    let mut no_cookie = None;
    while plan.goes_on(turns.len()) {
        let tag = format!("{prefix}.{user}.{}", turns.len());
        let body = match template {
            Some(t) => t.with_tag(&tag),
            None => json!({"model": "claude-stand-in", "max_tokens": 1024, "stream": true,
                "messages": [{"role": "user", "content": format!("tag={tag} How is Haaland doing?")}]})
            .to_string(),
        };
        let request = client
            .post(format!("{base}/v1/messages"))
            .header(CONTENT_TYPE, "application/json")
            .body(body);
        let ends = Ends {
            first: "content_block_delta",
            last: "message_stop",
            hang_up: false,
        };
        let (turn, _) = send(request, tag, ends, &mut no_cookie).await;
        turns.push(turn);
    }
    turns
}

/// What a turn's stream told besides its timing.
#[derive(Debug, Default)]
struct Seen {
    /// The `meta` event's conversation.
    conversation: Option<String>,
}

/// The events that mark a turn's first token and its end, and whether to hang up at the first.
#[derive(Debug, Clone, Copy)]
struct Ends {
    first: &'static str,
    last: &'static str,
    hang_up: bool,
}

/// Sends one turn and reads its events.
async fn send(
    request: reqwest::RequestBuilder,
    tag: String,
    ends: Ends,
    cookie: &mut Option<String>,
) -> (Turn, Seen) {
    let sent_unix_us = unix_us();
    let started = Instant::now();
    let mut turn = Turn {
        tag,
        sent_unix_us,
        first_token_ms: None,
        last_byte_ms: 0.0,
        failure: None,
        error_code: None,
        admitted: false,
    };
    let mut seen = Seen::default();
    match request.send().await {
        Ok(response) if response.status() == 200 => {
            if cookie.is_none() {
                *cookie = cookie_of(&response);
            }
            turn.admitted = true;
            read(response, started, ends, &mut turn, &mut seen).await;
        }
        Ok(response) => turn.failure = Some(format!("HTTP {}", response.status().as_u16())),
        Err(e) => turn.failure = Some(format!("request: {e}")),
    }
    turn.last_byte_ms = ms(started.elapsed());
    (turn, seen)
}

async fn read(
    mut response: reqwest::Response,
    started: Instant,
    ends: Ends,
    turn: &mut Turn,
    seen: &mut Seen,
) {
    let Ends { first, last, .. } = ends;
    let mut parser = SseParser::default();
    let mut ended = false;
    loop {
        let chunk = match response.chunk().await {
            Ok(Some(chunk)) => chunk,
            Ok(None) => break,
            Err(e) => {
                turn.failure = Some(format!("body: {e}"));
                return;
            }
        };
        for (name, data) in parser.push(&chunk) {
            if name == first && turn.first_token_ms.is_none() {
                turn.first_token_ms = Some(ms(started.elapsed()));
                if ends.hang_up {
                    // Dropping the response closes its connection: the client is gone.
                    turn.failure = Some("hung up".into());
                    return;
                }
            } else if name == "meta" {
                let meta: Value = serde_json::from_str(&data).unwrap_or(Value::Null);
                seen.conversation = meta["conversation_id"].as_str().map(str::to_string);
            } else if name == "error" {
                let error: Value = serde_json::from_str(&data).unwrap_or(Value::Null);
                turn.error_code = error["code"].as_str().map(str::to_string);
                turn.failure = Some(format!("error event: {data}"));
            }
            ended |= name == last;
        }
    }
    if !ended && turn.failure.is_none() {
        turn.failure = Some(format!("the stream ended without `{last}`"));
    }
}

/// The `name=value` of the response's first `Set-Cookie`.
fn cookie_of(response: &reqwest::Response) -> Option<String> {
    let value = response.headers().get(SET_COOKIE)?.to_str().ok()?;
    Some(value.split(';').next()?.trim().to_string())
}

pub fn unix_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or_default()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

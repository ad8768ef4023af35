//! A stand-in for Claude's Messages API, for tests, browser tests and benchmarks: a real HTTP
//! server on loopback that answers `POST /v1/messages` with Server-Sent Events byte for byte as
//! the API writes them, and records what it was sent.
//!
//! `GET /v1/models/{model}` answers for every model but `claude-unknown` (a 404). A request
//! without streaming (`"stream": false`, the summarizer's) gets a JSON message naming the
//! model, unless a reply is queued for it.
//!
//! Promises: replies are served in the order they were queued, then the fallback answers
//! ([`Fallback::Scripted`]: a small FPL "model" that calls a tool and then summarises its
//! result); every request is recorded with its arrival time, headers and JSON body before it
//! is answered; a stream the client dropped before its end is recorded as cancelled, with the
//! time it was noticed; the streams open at once are counted (now and the most so far).
//!
//! For load runs against the binary (`claude-stand-in`), `GET /stand-in/stats` answers those
//! counts and when each tagged request arrived ([`Arrival`]), and `POST /stand-in/reset` starts
//! them afresh; `GET /stand-in/last-body` gives the last streaming request's body as it came;
//! [`ClaudeStandIn::keep_bodies`]`(false)` stops keeping every request's body.
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::{Body, Bytes};
use axum::extract::Path;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use axum::Router;
use serde_json::{json, Value};
use tokio::sync::Notify;

/// One piece of a streamed body, written after a pause.
#[derive(Debug, Clone)]
pub struct Chunk {
    pub delay: Duration,
    pub bytes: Bytes,
}

/// One answer of the stand-in.
#[derive(Debug, Clone)]
pub enum Reply {
    /// 200 `text/event-stream`, written chunk by chunk.
    Stream(Vec<Chunk>),
    /// Any status with a JSON body, e.g. an API error.
    Status {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
    },
    /// Holds the response head back for a while, then answers.
    Delayed(Duration, Box<Reply>),
}

impl Reply {
    /// An API error response as Anthropic writes them.
    pub fn error(status: u16, kind: &str) -> Self {
        Reply::Status {
            status,
            headers: vec![("request-id".into(), "req_standin".into())],
            body: json!({
                "type": "error",
                "error": {"type": kind, "message": format!("stand-in {kind} (upstream detail)")},
            })
            .to_string(),
        }
    }

    /// Adds a response header (to `Status` replies).
    pub fn header(mut self, name: &str, value: &str) -> Self {
        if let Reply::Status { headers, .. } = &mut self {
            headers.push((name.into(), value.into()));
        }
        self
    }

    /// The same stream, re-cut into pieces of `size` bytes, so that events, lines, JSON keys and
    /// UTF-8 characters are split across network writes.
    pub fn rechunked(self, size: usize) -> Self {
        match self {
            Reply::Stream(chunks) => {
                let all: Vec<u8> = chunks.iter().flat_map(|c| c.bytes.to_vec()).collect();
                let delay = chunks.get(1).map(|c| c.delay).unwrap_or_default();
                Reply::Stream(
                    all.chunks(size.max(1))
                        .map(|piece| Chunk {
                            delay,
                            bytes: Bytes::copy_from_slice(piece),
                        })
                        .collect(),
                )
            }
            other => other,
        }
    }
}

/// Builds one streamed message, event by event, as the API sends it.
#[derive(Debug, Clone)]
pub struct Sse {
    chunks: Vec<Chunk>,
    index: u32,
    pace: Duration,
    input_tokens: u64,
    cache_read: u64,
    cache_write: u64,
    output_tokens: u64,
}

impl Default for Sse {
    fn default() -> Self {
        Self::new()
    }
}

impl Sse {
    pub fn new() -> Self {
        Self {
            chunks: Vec::new(),
            index: 0,
            pace: Duration::ZERO,
            input_tokens: 1200,
            cache_read: 0,
            cache_write: 0,
            output_tokens: 0,
        }
    }

    /// The pause before each event from here on.
    pub fn pace(mut self, pace: Duration) -> Self {
        self.pace = pace;
        self
    }

    /// The input side of `usage` in message_start.
    pub fn usage(mut self, input: u64, cache_read: u64, cache_write: u64) -> Self {
        self.input_tokens = input;
        self.cache_read = cache_read;
        self.cache_write = cache_write;
        self
    }

    /// Any event, as is (its data is written on one line).
    pub fn event(mut self, name: &str, data: Value) -> Self {
        self.chunks.push(Chunk {
            delay: self.pace,
            bytes: Bytes::from(format!("event: {name}\ndata: {data}\n\n")),
        });
        self
    }

    pub fn ping(self) -> Self {
        self.event("ping", json!({"type": "ping"}))
    }

    /// A text block streamed as `pieces`.
    pub fn text(mut self, pieces: &[&str]) -> Self {
        let index = self.next_index();
        self = self.event(
            "content_block_start",
            json!({"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}}),
        );
        for piece in pieces {
            self.output_tokens += 1 + piece.len() as u64 / 4;
            self = self.event(
                "content_block_delta",
                json!({"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": piece}}),
            );
        }
        self.event(
            "content_block_stop",
            json!({"type": "content_block_stop", "index": index}),
        )
    }

    /// A tool_use block whose input JSON arrives in `pieces` (joined, they must be the input).
    pub fn tool_use(mut self, id: &str, name: &str, pieces: &[&str]) -> Self {
        let index = self.next_index();
        self = self.event(
            "content_block_start",
            json!({"type": "content_block_start", "index": index, "content_block": {"type": "tool_use", "id": id, "name": name, "input": {}}}),
        );
        self = self.event(
            "content_block_delta",
            json!({"type": "content_block_delta", "index": index, "delta": {"type": "input_json_delta", "partial_json": ""}}),
        );
        for piece in pieces {
            self.output_tokens += 2;
            self = self.event(
                "content_block_delta",
                json!({"type": "content_block_delta", "index": index, "delta": {"type": "input_json_delta", "partial_json": piece}}),
            );
        }
        self.event(
            "content_block_stop",
            json!({"type": "content_block_stop", "index": index}),
        )
    }

    /// A block of a type this client does not show (a thinking block).
    pub fn thinking(mut self, thought: &str) -> Self {
        let index = self.next_index();
        self.event(
            "content_block_start",
            json!({"type": "content_block_start", "index": index, "content_block": {"type": "thinking", "thinking": ""}}),
        )
        .event(
            "content_block_delta",
            json!({"type": "content_block_delta", "index": index, "delta": {"type": "thinking_delta", "thinking": thought}}),
        )
        .event(
            "content_block_delta",
            json!({"type": "content_block_delta", "index": index, "delta": {"type": "signature_delta", "signature": "c2ln"}}),
        )
        .event(
            "content_block_stop",
            json!({"type": "content_block_stop", "index": index}),
        )
    }

    /// Ends the message normally with `stop_reason`.
    pub fn end(self, stop_reason: &str) -> Reply {
        let output = self.output_tokens.max(1);
        let done = self
            .event(
                "message_delta",
                json!({"type": "message_delta", "delta": {"stop_reason": stop_reason, "stop_sequence": null}, "usage": {"output_tokens": output}}),
            )
            .event("message_stop", json!({"type": "message_stop"}));
        done.build()
    }

    /// Ends the stream with an `error` event, as the API does when it fails mid-stream.
    pub fn error(self, kind: &str) -> Reply {
        self.event(
            "error",
            json!({"type": "error", "error": {"type": kind, "message": "stand-in upstream detail"}}),
        )
        .build()
    }

    /// Ends the stream where it is, without message_stop (a broken connection).
    pub fn cut(self) -> Reply {
        self.build()
    }

    /// Then goes silent for `pause` before whatever follows.
    pub fn stall(mut self, pause: Duration) -> Self {
        self.chunks.push(Chunk {
            delay: pause,
            bytes: Bytes::new(),
        });
        self
    }

    fn next_index(&mut self) -> u32 {
        self.index += 1;
        self.index - 1
    }

    fn build(self) -> Reply {
        let start = json!({
            "type": "message_start",
            "message": {
                "id": "msg_standin", "type": "message", "role": "assistant",
                "model": "claude-stand-in", "content": [],
                "stop_reason": null, "stop_sequence": null,
                "usage": {
                    "input_tokens": self.input_tokens,
                    "cache_creation_input_tokens": self.cache_write,
                    "cache_read_input_tokens": self.cache_read,
                    "output_tokens": 1,
                },
            },
        });
        let mut chunks = vec![Chunk {
            delay: Duration::ZERO,
            bytes: Bytes::from(format!("event: message_start\ndata: {start}\n\n")),
        }];
        chunks.extend(self.chunks);
        Reply::Stream(chunks)
    }
}

/// What answers once the queued replies are used up.
#[derive(Debug, Clone)]
pub enum Fallback {
    /// A small FPL model: asks `fpl_player_data` about the name in the question (or
    /// `fpl_get_gameweek` when there is none), then sums up the tool results; greetings get a
    /// greeting; a question that contains "simulate overload" gets a 529 that must not be
    /// retried (so a browser test can see how that failure looks). Events are written `pace`
    /// apart.
    Scripted { pace: Duration },
    /// The same reply every time.
    Always(Reply),
}

impl Default for Fallback {
    fn default() -> Self {
        Fallback::Scripted {
            pace: Duration::ZERO,
        }
    }
}

/// A request the stand-in received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub at: Instant,
    pub headers: HeaderMap,
    pub body: Value,
}

/// When a request whose question carries a tag (a word `tag=…`, e.g. `tag=u12.3`) arrived:
/// a load driver, on the same machine, compares it with when it sent the question.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Arrival {
    /// The word after `tag=`.
    pub tag: String,
    /// Wall-clock arrival, microseconds since the Unix epoch (shared by every process here).
    pub unix_us: u64,
}

/// The streamed answers open at once: how a load run sees whether the app admits its turns
/// to the upstream in parallel or one after another.
#[derive(Default)]
struct StreamCount {
    /// Streams answered and not yet ended or dropped.
    open: AtomicUsize,
    /// The most open at once since the start (or the last reset).
    max: AtomicUsize,
}

#[derive(Default)]
struct Shared {
    queue: Mutex<VecDeque<Reply>>,
    fallback: Mutex<Fallback>,
    requests: Mutex<Vec<Recorded>>,
    /// Whether `requests` drops bodies: a long load run would keep gigabytes of them.
    skip_bodies: AtomicBool,
    /// Tagged arrivals, for load runs (cleared by a reset).
    arrivals: Mutex<Vec<Arrival>>,
    streams: StreamCount,
    cancelled: Mutex<Vec<Instant>>,
    /// The raw body of the last streaming request: the load harness's direct client sends the
    /// same request as the app (system prompt, tools, history), so that the two are compared
    /// on equal upstream work.
    last_body: Mutex<Bytes>,
    changed: Notify,
}

/// The running stand-in; stopped when dropped.
pub struct ClaudeStandIn {
    pub base_url: String,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for ClaudeStandIn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl ClaudeStandIn {
    /// Starts on a random loopback port, answering with the scripted FPL model.
    pub async fn start() -> Self {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .expect("bind a loopback port")
    }

    pub async fn start_on(addr: SocketAddr) -> std::io::Result<Self> {
        let shared = Arc::new(Shared::default());
        let listener = crate::http::serve::bind(addr)?;
        let base_url = format!("http://{}", listener.local_addr()?);
        let router = Router::new()
            .route("/v1/messages", post(messages))
            .route("/v1/models/{model}", get(model))
            .route("/stand-in/stats", get(stats))
            .route("/stand-in/reset", post(reset))
            .route("/stand-in/last-body", get(last_body))
            .with_state(shared.clone());
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Ok(Self {
            base_url,
            shared,
            task,
        })
    }

    /// Queues replies for the next requests, in order.
    pub fn push(&self, replies: impl IntoIterator<Item = Reply>) {
        lock(&self.shared.queue).extend(replies);
    }

    pub fn set_fallback(&self, fallback: Fallback) {
        *lock(&self.shared.fallback) = fallback;
    }

    /// Whether requests keep their bodies (they do unless told otherwise).
    pub fn keep_bodies(&self, keep: bool) {
        self.shared.skip_bodies.store(!keep, Ordering::Relaxed);
    }

    /// Streams open now, and the most open at once so far.
    pub fn streams(&self) -> (usize, usize) {
        let s = &self.shared.streams;
        (
            s.open.load(Ordering::Relaxed),
            s.max.load(Ordering::Relaxed),
        )
    }

    /// Every request so far, oldest first.
    pub fn requests(&self) -> Vec<Recorded> {
        lock(&self.shared.requests).clone()
    }

    /// When each stream that the client dropped before its end was noticed.
    pub fn cancelled(&self) -> Vec<Instant> {
        lock(&self.shared.cancelled).clone()
    }

    /// Waits until `done` holds for the stand-in (checked after every request and
    /// cancellation), at most `limit`; true if it held.
    pub async fn wait_for(&self, limit: Duration, done: impl Fn(&Self) -> bool) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let changed = self.shared.changed.notified();
            if done(self) {
                return true;
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                return done(self);
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

async fn messages(State(shared): State<Arc<Shared>>, headers: HeaderMap, raw: Bytes) -> Response {
    let body: Value = serde_json::from_slice(&raw).unwrap_or(Value::Null);
    if body["stream"] != false {
        *lock(&shared.last_body) = raw;
    }
    let queued = if body["stream"] == false {
        None
    } else {
        lock(&shared.queue).pop_front()
    };
    let reply = match queued {
        None if body["stream"] == false => summary_reply(&body),
        Some(reply) => reply,
        None => match &*lock(&shared.fallback) {
            Fallback::Always(reply) => reply.clone(),
            Fallback::Scripted { pace } => scripted(&body, *pace),
        },
    };
    if let Some(tag) = tag_of(&body) {
        lock(&shared.arrivals).push(Arrival {
            tag,
            unix_us: unix_us(),
        });
    }
    let skip = shared.skip_bodies.load(Ordering::Relaxed);
    lock(&shared.requests).push(Recorded {
        at: Instant::now(),
        headers,
        body: if skip { Value::Null } else { body },
    });
    shared.changed.notify_waiters();
    respond(reply, shared).await
}

/// `GET /v1/models/{model}`: every model exists but `claude-unknown`.
async fn model(Path(model): Path<String>) -> Response {
    let reply = if model == "claude-unknown" {
        Reply::error(404, "not_found_error")
    } else {
        Reply::Status {
            status: 200,
            headers: Vec::new(),
            body: json!({"type": "model", "id": model, "display_name": model}).to_string(),
        }
    };
    respond(reply, Arc::new(Shared::default())).await
}

async fn respond(reply: Reply, shared: Arc<Shared>) -> Response {
    let mut reply = reply;
    while let Reply::Delayed(delay, then) = reply {
        tokio::time::sleep(delay).await;
        reply = *then;
    }
    match reply {
        Reply::Status {
            status,
            headers,
            body,
        } => {
            let mut response = Response::builder()
                .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
                .header("content-type", "application/json");
            for (name, value) in headers {
                response = response.header(name, value);
            }
            response.body(Body::from(body)).expect("a valid response")
        }
        Reply::Stream(chunks) => {
            // Made before the body is first polled, so a body dropped unpolled still counts.
            let guard = CancelGuard::open(shared);
            let stream = async_stream::stream! {
                // The whole guard moves in (a closure would capture only the field it sets).
                let mut guard = guard;
                for chunk in chunks {
                    if !chunk.delay.is_zero() {
                        tokio::time::sleep(chunk.delay).await;
                    }
                    if !chunk.bytes.is_empty() {
                        yield Ok::<Bytes, std::convert::Infallible>(chunk.bytes);
                    }
                }
                guard.finished = true;
            };
            Response::builder()
                .status(200)
                .header("content-type", "text/event-stream; charset=utf-8")
                .header("cache-control", "no-cache")
                .header("request-id", "req_standin")
                .body(Body::from_stream(stream))
                .expect("a valid response")
        }
        Reply::Delayed(..) => unreachable!("unwrapped above"),
    }
}

/// Counts a stream open while it lives; records it as cancelled if dropped before its end.
struct CancelGuard {
    shared: Arc<Shared>,
    finished: bool,
}

impl CancelGuard {
    fn open(shared: Arc<Shared>) -> Self {
        let open = shared.streams.open.fetch_add(1, Ordering::Relaxed) + 1;
        shared.streams.max.fetch_max(open, Ordering::Relaxed);
        Self {
            shared,
            finished: false,
        }
    }
}

impl Drop for CancelGuard {
    fn drop(&mut self) {
        self.shared.streams.open.fetch_sub(1, Ordering::Relaxed);
        if !self.finished {
            lock(&self.shared.cancelled).push(Instant::now());
            self.shared.changed.notify_waiters();
        }
    }
}

/// `GET /stand-in/stats`: requests so far, streams open now and at most, streams the client
/// dropped before their end, tagged arrivals.
async fn stats(State(shared): State<Arc<Shared>>) -> axum::Json<Value> {
    axum::Json(json!({
        "requests": lock(&shared.requests).len(),
        "streams_cancelled": lock(&shared.cancelled).len(),
        "streams_open": shared.streams.open.load(Ordering::Relaxed),
        "streams_max": shared.streams.max.load(Ordering::Relaxed),
        "arrivals": *lock(&shared.arrivals),
    }))
}

/// `GET /stand-in/last-body`: the last streaming request's body, as it came.
async fn last_body(State(shared): State<Arc<Shared>>) -> Bytes {
    lock(&shared.last_body).clone()
}

/// `POST /stand-in/reset`: forgets requests and arrivals; the most streams becomes those open.
async fn reset(State(shared): State<Arc<Shared>>) -> StatusCode {
    lock(&shared.requests).clear();
    lock(&shared.arrivals).clear();
    let open = shared.streams.open.load(Ordering::Relaxed);
    shared.streams.max.store(open, Ordering::Relaxed);
    StatusCode::NO_CONTENT
}

/// The word after `tag=` in the last message's text, if any.
fn tag_of(body: &Value) -> Option<String> {
    let last = body["messages"].as_array()?.last()?;
    let text = match &last["content"] {
        Value::String(s) => s.clone(),
        Value::Array(blocks) => blocks
            .iter()
            .filter_map(|b| b["text"].as_str())
            .collect::<Vec<_>>()
            .join(" "),
        _ => return None,
    };
    let word = text
        .split_whitespace()
        .find_map(|w| w.strip_prefix("tag="))?;
    Some(word.to_string())
}

fn unix_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or_default()
}

/// A request without streaming (a summary): a JSON message that names the model and counts the
/// questions of the transcript.
fn summary_reply(body: &Value) -> Reply {
    let transcript = body["messages"][0]["content"].as_str().unwrap_or_default();
    let questions = transcript.matches("Manager:").count();
    let text = format!(
        "- Summary by {}: the manager asked {questions} questions about their FPL team.",
        body["model"].as_str().unwrap_or("?")
    );
    Reply::Status {
        status: 200,
        headers: vec![("request-id".into(), "req_standin".into())],
        body: json!({
            "id": "msg_standin", "type": "message", "role": "assistant",
            "model": body["model"], "content": [{"type": "text", "text": text}],
            "stop_reason": "end_turn", "stop_sequence": null,
            "usage": {"input_tokens": transcript.len() / 4, "output_tokens": 20},
        })
        .to_string(),
    }
}

/// The scripted FPL model's answer to a request.
fn scripted(body: &Value, pace: Duration) -> Reply {
    let messages = body["messages"].as_array().cloned().unwrap_or_default();
    let last = messages.last().cloned().unwrap_or(Value::Null);
    let blocks = last["content"].as_array().cloned().unwrap_or_default();
    let results: Vec<&Value> = blocks
        .iter()
        .filter(|b| b["type"] == "tool_result")
        .collect();
    let sse = Sse::new().pace(pace);
    if !results.is_empty() {
        let mut answer = vec![
            "Here is what ".to_string(),
            "the FPL data shows:\n\n".into(),
        ];
        for result in results {
            let text = result["content"].as_str().unwrap_or_default();
            for line in text.lines().filter(|l| !l.trim().is_empty()).take(6) {
                answer.push(format!("{line}\n"));
            }
        }
        let pieces: Vec<&str> = answer.iter().map(String::as_str).collect();
        return sse.text(&pieces).end("end_turn");
    }
    let question = blocks
        .iter()
        .filter_map(|b| b["text"].as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let lower = question.to_lowercase();
    if lower.contains("simulate overload") {
        return Reply::error(529, "overloaded_error").header("x-should-retry", "false");
    }
    let greeting = ["hi", "hello", "hey", "thanks", "thank you"]
        .iter()
        .any(|g| lower.trim_matches(|c: char| !c.is_alphanumeric() && c != ' ') == *g);
    if greeting {
        return sse
            .text(&[
                "Hello! ",
                "Ask me about FPL players, teams, fixtures or gameweeks.",
            ])
            .end("end_turn");
    }
    let name = question
        .split(|c: char| !c.is_alphanumeric() && c != '-')
        .skip(1)
        .filter(|w| w.chars().next().is_some_and(char::is_uppercase))
        .max_by_key(|w| w.len());
    let sse = sse.text(&["Let me ", "check the FPL data."]);
    match name {
        Some(name) => {
            let input = json!({ "playerQuery": name }).to_string();
            let (a, b) = input.split_at(input.len() / 2);
            sse.tool_use("toolu_standin_1", "fpl_player_data", &[a, b])
        }
        None => sse.tool_use(
            "toolu_standin_1",
            "fpl_get_gameweek",
            &[r#"{"type": "#, r#""current"}"#],
        ),
    }
    .end("tool_use")
}

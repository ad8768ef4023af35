//! `POST /api/chat`: one chat turn as a `text/event-stream` (events in the order of
//! docs/contract.md).
//!
//! What is known before streaming is a JSON error `{"error":{"code","message"}}` with its
//! status: 400 bad input, 404 a conversation that is not the caller's, 413 a body over
//! [`MAX_BODY_BYTES`], 429 over the rate limit, a daily token budget of the caller or their
//! network, or `CHAT_MAX_TURNS_PER_IDENTITY`; 503 over `CHAT_MAX_CONCURRENT_TURNS` or the
//! deployment's token budget (each refusal over a limit with `Retry-After`).
//! Every chat response carries the `RateLimit-*` and `Token-Budget-*` headers. When the client
//! goes away the stream is dropped, which cancels the turn (the partial answer is stored as
//! interrupted).
use std::convert::Infallible;
use std::time::Duration;

use axum::body::to_bytes;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures::{Stream, StreamExt};
use serde_json::json;
use tokio_stream::wrappers::ReceiverStream;

use app::backend::Viewer;
use app::types::{ChatRequest, ErrorCode, MAX_MESSAGE_CHARS};

use super::AppState;
use crate::chat::ChatError;
use crate::rate_limit::{Budget, Decision};

/// Largest accepted request body: a maximal message of 4-byte characters, JSON-escaped (a
/// surrogate pair, `\ud83d\ude00`: 12 bytes, as most JSON libraries write by default), with
/// room for the rest of the object.
pub const MAX_BODY_BYTES: usize = MAX_MESSAGE_CHARS * 12 + 16 * 1024;

/// A JSON error response.
pub fn error_response(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Response {
    let body = json!({ "error": { "code": code, "message": message.into() } });
    (status, Json(body)).into_response()
}

pub async fn handler(State(state): State<AppState>, request: Request) -> Response {
    // A request refused here, before the chat service, is counted here.
    let reject = |status, code, message: String| {
        state.metrics.record_chat_error(code);
        error_response(status, code, message)
    };
    let Some(viewer) = request.extensions().get::<Viewer>().copied() else {
        return reject(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::Internal,
            "no identity".into(),
        );
    };
    if !super::cross_site::is_json(request.headers()) {
        return reject(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::InvalidInput,
            "Send the request as application/json.".into(),
        );
    }
    let bytes = match to_bytes(request.into_body(), MAX_BODY_BYTES).await {
        Ok(b) => b,
        Err(_) => {
            return reject(
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorCode::PayloadTooLarge,
                format!("The request is larger than {} KiB.", MAX_BODY_BYTES / 1024),
            )
        }
    };
    let body: ChatRequest = match serde_json::from_slice(&bytes) {
        Ok(b) => b,
        Err(e) => {
            return reject(
                StatusCode::BAD_REQUEST,
                ErrorCode::InvalidInput,
                format!(
                    "The request must be JSON like {{\"message\": \"…\", \"conversation_id\": null}}: {e}"
                ),
            )
        }
    };
    let ask = match body.ask() {
        Ok(ask) => ask,
        Err(e) => {
            let e = ChatError::from(e);
            state.metrics.record_chat_error(e.code());
            return refusal(e);
        }
    };
    let turn = match state.chat.start(viewer, body.conversation_id, ask).await {
        Ok(turn) => turn,
        Err(e) => return refusal(e),
    };
    let events = ReceiverStream::new(turn.events)
        .map(|event| Event::default().event(event.name()).data(event.data()));
    let mut response = event_stream(events);
    let headers = response.headers_mut();
    rate_limit_headers(headers, &turn.limit);
    budget_headers(headers, &turn.budget);
    response
}

/// A `text/event-stream` response of `events`, with keep-alive comments, never cached nor
/// buffered by proxies (nginx, Railway's edge).
pub(crate) fn event_stream(events: impl Stream<Item = Event> + Send + 'static) -> Response {
    let events = events.map(Ok::<_, Infallible>);
    let mut response = Sse::new(events)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, no-transform"),
    );
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

/// The JSON error of a turn that could not start, with its status ([`ChatError::status`]),
/// `Retry-After` for a refusal over a limit, and the headers of the limit that refused.
pub(crate) fn refusal(e: ChatError) -> Response {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = error_response(status, e.code(), e.to_string());
    let headers = response.headers_mut();
    match &e {
        ChatError::RateLimited { decision, .. } => rate_limit_headers(headers, decision),
        ChatError::BudgetExhausted { budget, .. } => budget_headers(headers, budget),
        _ => {}
    }
    if let Some(wait) = e.retry_after_secs() {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(wait));
    }
    response
}

/// `Token-Budget-Limit` and `Token-Budget-Remaining`: the tokens per day of the caller's
/// tightest budget (their own, their network's or the deployment's) and what is left of
/// today's (before this turn).
fn budget_headers(headers: &mut axum::http::HeaderMap, budget: &Budget) {
    headers.insert("token-budget-limit", HeaderValue::from(budget.limit));
    headers.insert(
        "token-budget-remaining",
        HeaderValue::from(budget.remaining()),
    );
}

/// `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` (seconds until the limit is
/// whole again), as the IETF RateLimit header fields draft has them (chat and `/mcp`).
pub(crate) fn rate_limit_headers(headers: &mut axum::http::HeaderMap, decision: &Decision) {
    headers.insert("ratelimit-limit", HeaderValue::from(decision.limit));
    headers.insert("ratelimit-remaining", HeaderValue::from(decision.remaining));
    headers.insert(
        "ratelimit-reset",
        HeaderValue::from(decision.reset_ms.div_ceil(1000)),
    );
}

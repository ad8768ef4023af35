//! Browser side of `POST /api/chat` and `GET /api/chat/{id}/stream`: a fetch whose body is
//! read as a stream of SSE events, with an `AbortController` to end the request; "Stop" asks
//! the server (`POST /api/chat/{id}/stop`), which ends the answer (stored as interrupted) and
//! so the stream. Compiled only for the browser (`hydrate`).
use futures::StreamExt;
use js_sys::Uint8Array;
use wasm_bindgen::{JsCast, JsValue};
use wasm_streams::ReadableStream;
use web_sys::{AbortController, Headers, Request, RequestCredentials, RequestInit, Response};

use crate::types::{ChatEvent, ChatRequest, ErrorCode, SseParser};

/// A running chat request; dropping it does not abort, calling [`Abort::abort`] does.
#[derive(Clone)]
pub struct Abort(AbortController);

impl Abort {
    pub fn abort(&self) {
        self.0.abort();
    }

    pub fn aborted(&self) -> bool {
        self.0.signal().aborted()
    }
}

/// What a chat response said about the caller's limits.
#[derive(Debug, Default, Clone, Copy)]
pub struct Limits {
    /// Seconds to wait: the request was refused (429 with `Retry-After`).
    pub retry_after: Option<u64>,
    /// Today's token budget before the turn: (remaining, limit).
    pub budget: Option<(u64, u64)>,
}

/// What a stream is for: a new turn (`POST /api/chat`), or following the answer being written
/// in a conversation (`GET /api/chat/{id}/stream`: a page opened or reloaded mid-answer).
pub enum Call<'a> {
    Ask(&'a ChatRequest),
    Follow(uuid::Uuid),
}

/// Starts the request. `on_event` receives every event in order; a failure before the stream
/// starts (400, 404, 413, 429, network) is reported as one `error` event, and the returned
/// future resolves when the stream ends, with what the response said about the caller's limits.
pub fn start(
    call: Call<'_>,
    mut on_event: impl FnMut(ChatEvent) + 'static,
) -> Result<(Abort, impl std::future::Future<Output = Limits>), JsValue> {
    let controller = AbortController::new()?;
    let headers = Headers::new()?;
    headers.set("accept", "text/event-stream")?;
    let init = RequestInit::new();
    init.set_credentials(RequestCredentials::SameOrigin);
    init.set_signal(Some(&controller.signal()));
    let url = match call {
        Call::Ask(request) => {
            headers.set("content-type", "application/json")?;
            init.set_method("POST");
            let body =
                serde_json::to_string(request).map_err(|e| JsValue::from_str(&e.to_string()))?;
            init.set_body(&JsValue::from_str(&body));
            "/api/chat".to_string()
        }
        Call::Follow(conversation) => format!("/api/chat/{conversation}/stream"),
    };
    init.set_headers(&headers);
    let req = Request::new_with_str_and_init(&url, &init)?;
    let window = web_sys::window().ok_or_else(|| JsValue::from_str("no window"))?;
    let fetch = window.fetch_with_request(&req);

    let future = async move {
        let fail = |on_event: &mut dyn FnMut(ChatEvent), code, message: String| {
            on_event(ChatEvent::Error { code, message });
        };
        let response = match wasm_bindgen_futures::JsFuture::from(fetch).await {
            Ok(r) => r.unchecked_into::<Response>(),
            Err(e) => {
                if !is_abort(&e) {
                    fail(
                        &mut on_event,
                        ErrorCode::Internal,
                        "Could not reach the server. Check your connection and try again.".into(),
                    );
                }
                return Limits::default();
            }
        };
        if !response.ok() {
            let status = response.status();
            let retry_after = response.headers().get("retry-after").ok().flatten();
            let text = match response.text() {
                Ok(p) => wasm_bindgen_futures::JsFuture::from(p)
                    .await
                    .ok()
                    .and_then(|v| v.as_string())
                    .unwrap_or_default(),
                Err(_) => String::new(),
            };
            let parsed: Option<(ErrorCode, String)> =
                serde_json::from_str::<serde_json::Value>(&text)
                    .ok()
                    .and_then(|v| {
                        let code = serde_json::from_value(v["error"]["code"].clone()).ok()?;
                        let message = v["error"]["message"].as_str()?.to_string();
                        Some((code, message))
                    });
            let (code, message) = parsed.unwrap_or((
                ErrorCode::Internal,
                format!("The server answered {status}. Please try again."),
            ));
            fail(&mut on_event, code, message);
            return Limits {
                retry_after: match status {
                    429 => retry_after.and_then(|s| s.trim().parse::<u64>().ok()),
                    _ => None,
                },
                budget: None,
            };
        }
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .ok()
                .flatten()
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        let limits = Limits {
            retry_after: None,
            budget: header("token-budget-remaining").zip(header("token-budget-limit")),
        };
        let Some(body) = response.body() else {
            fail(
                &mut on_event,
                ErrorCode::Internal,
                "The server sent no answer.".into(),
            );
            return limits;
        };
        let mut chunks = ReadableStream::from_raw(body.unchecked_into()).into_stream();
        let mut parser = SseParser::default();
        while let Some(chunk) = chunks.next().await {
            let chunk = match chunk {
                Ok(c) => c,
                Err(e) => {
                    if !is_abort(&e) {
                        fail(
                            &mut on_event,
                            ErrorCode::Internal,
                            "The connection was lost while the answer was streaming.".into(),
                        );
                    }
                    return limits;
                }
            };
            let bytes = Uint8Array::new(&chunk).to_vec();
            for (name, data) in parser.push(&bytes) {
                if let Ok(event) = ChatEvent::from_sse(&name, &data) {
                    on_event(event);
                }
            }
        }
        limits
    };
    Ok((Abort(controller), future))
}

/// Asks the server to stop the answer being written in `conversation` (on whichever instance
/// writes it); false when the request failed (the caller then aborts its stream).
pub async fn stop(conversation: uuid::Uuid) -> bool {
    let sent = async {
        let init = RequestInit::new();
        init.set_method("POST");
        init.set_credentials(RequestCredentials::SameOrigin);
        let url = format!("/api/chat/{conversation}/stop");
        let req = Request::new_with_str_and_init(&url, &init)?;
        let window = web_sys::window().ok_or_else(|| JsValue::from_str("no window"))?;
        let response =
            wasm_bindgen_futures::JsFuture::from(window.fetch_with_request(&req)).await?;
        Ok::<bool, JsValue>(response.unchecked_into::<Response>().ok())
    };
    sent.await.unwrap_or(false)
}

fn is_abort(e: &JsValue) -> bool {
    e.dyn_ref::<web_sys::DomException>()
        .map(|d| d.name() == "AbortError")
        .unwrap_or(false)
        || js_sys::Reflect::get(e, &JsValue::from_str("name"))
            .ok()
            .and_then(|n| n.as_string())
            .is_some_and(|n| n == "AbortError")
}

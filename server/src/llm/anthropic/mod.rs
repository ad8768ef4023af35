//! The Anthropic provider: Claude's Messages API, streamed, on one pooled reqwest client.
//!
//! Promises: a request is retried as the official SDKs retry it ([`retry`]) only until its
//! stream starts; after that an error ends the round and the text already streamed stays with
//! the caller. Connecting, the response head and every gap between stream events have their
//! own timeout. Dropping the stream (the client left) drops the connection, which cancels the
//! request upstream. Nothing from an upstream error body, the key or a stack reaches a user or
//! a log: logs get the status, the API's error type and its request-id. Redirects are not
//! followed (a 3xx is an upstream error), so the key is only ever sent to
//! `CLAUDE_API_BASE_URL`. Every request is counted and timed in the GenAI metrics, cancelled
//! ones included.
mod body;
mod decode;
mod retry;
mod wire;

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;
use eventsource_stream::Eventsource;
use futures::StreamExt;
use reqwest::header::{HeaderMap, HeaderValue, CONTENT_TYPE};
use reqwest::StatusCode;

use super::{LlmError, LlmEvent, LlmRequest, LlmStream, Provider};
use crate::config::ClaudeConfig;
use crate::metrics::Metrics;
use body::{Preambles, RequestBody};
use decode::{Decoder, Tokens};

pub use wire::API_VERSION;

/// Largest error body read to learn the error type.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// Claude through the Messages API.
pub struct Anthropic {
    client: reqwest::Client,
    base_url: String,
    model: String,
    max_retries: u32,
    first_byte_timeout: Duration,
    idle_timeout: Duration,
    /// The shared start of streaming requests' bodies (system prompt, tool definitions).
    preambles: Preambles,
    metrics: Arc<Metrics>,
}

/// The answer of [`Anthropic::complete`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    pub text: String,
    /// Tokens the request cost: input (cached or not) and output, for the token budgets.
    pub tokens: u64,
}

impl Anthropic {
    pub fn new(config: &ClaudeConfig, metrics: Arc<Metrics>) -> Result<Self, String> {
        let mut key = HeaderValue::from_str(config.api_key.expose())
            .map_err(|_| "CLAUDE_API_KEY holds characters a header cannot carry".to_string())?;
        key.set_sensitive(true);
        let mut headers = HeaderMap::new();
        headers.insert("x-api-key", key);
        headers.insert("anthropic-version", HeaderValue::from_static(API_VERSION));
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(
            reqwest::header::ACCEPT,
            HeaderValue::from_static("text/event-stream"),
        );
        let client = reqwest::Client::builder()
            .default_headers(headers)
            .user_agent(concat!("fpl-chat/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(config.connect_timeout)
            .pool_idle_timeout(Duration::from_secs(60))
            .tcp_keepalive(Duration::from_secs(30))
            // The key goes to CLAUDE_API_BASE_URL and nowhere else: a redirect is an error.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        Ok(Self {
            client,
            base_url: config.base_url.clone(),
            model: config.model.clone(),
            max_retries: config.max_retries,
            first_byte_timeout: config.first_byte_timeout,
            idle_timeout: config.idle_timeout,
            preambles: Preambles::default(),
            metrics,
        })
    }

    /// Asks the API about the configured model (`GET /v1/models/{model}`), which proves the
    /// key and the model name without spending tokens: for `fpl-chat doctor`.
    pub async fn check_model(&self) -> Result<String, String> {
        let url = format!("{}/v1/models/{}", self.base_url, self.model);
        let response = tokio::time::timeout(self.first_byte_timeout, self.client.get(url).send())
            .await
            .map_err(|_| "no answer in time".to_string())?
            .map_err(|e| format!("unreachable ({})", without_url(&e)))?;
        let status = response.status();
        match status.as_u16() {
            200 => Ok(format!("key accepted, model {} available", self.model)),
            401 | 403 => Err("the API key was refused".into()),
            404 => Err(format!(
                "model {} not found (CLAUDE_MODEL_VERSION)",
                self.model
            )),
            code @ 300..=399 => Err(format!(
                "HTTP {code}: a redirect, not followed (the key goes to CLAUDE_API_BASE_URL \
                 only); set CLAUDE_API_BASE_URL to the API itself"
            )),
            _ => Err(format!(
                "HTTP {} (request-id {})",
                status.as_u16(),
                request_id(response.headers())
            )),
        }
    }

    /// One request without streaming (summaries): the text of the answer, with `model`, and
    /// the tokens it cost.
    pub async fn complete(
        &self,
        model: &str,
        system: &str,
        user: &str,
        max_tokens: u32,
    ) -> Result<Completion, LlmError> {
        let body = serde_json::json!({
            "model": model,
            "max_tokens": max_tokens,
            "system": system,
            "messages": [{"role": "user", "content": user}],
        });
        let mut call = Call::new(self.metrics.clone(), model);
        let body = RequestBody::whole(Bytes::from(body.to_string()));
        let response = match self.open(body, &call).await {
            Ok(r) => r,
            Err(e) => {
                call.finish(&Err(&e), Tokens::default());
                return Err(e);
            }
        };
        let value: serde_json::Value =
            match tokio::time::timeout(self.idle_timeout, response.json()).await {
                Ok(Ok(v)) => v,
                Ok(Err(_)) => {
                    let e = LlmError::Upstream("unreadable answer".into());
                    call.finish(&Err(&e), Tokens::default());
                    return Err(e);
                }
                Err(_) => {
                    let e = LlmError::Timeout;
                    call.finish(&Err(&e), Tokens::default());
                    return Err(e);
                }
            };
        let usage = &value["usage"];
        let number = |k: &str| usage[k].as_u64().unwrap_or(0);
        let tokens = Tokens {
            input: number("input_tokens"),
            cache_read: number("cache_read_input_tokens"),
            cache_write: number("cache_creation_input_tokens"),
            output: number("output_tokens"),
        };
        call.finish(&Ok(()), tokens);
        let cost = tokens.input_total() + tokens.output;
        let text = value["content"]
            .as_array()
            .map(|blocks| {
                blocks
                    .iter()
                    .filter(|b| b["type"] == "text")
                    .filter_map(|b| b["text"].as_str())
                    .collect::<Vec<_>>()
                    .join("")
            })
            .unwrap_or_default();
        Ok(Completion { text, tokens: cost })
    }

    /// Sends the request until it gets a streaming response, retrying what may be retried.
    async fn open(&self, body: RequestBody, call: &Call) -> Result<reqwest::Response, LlmError> {
        let mut retries = 0;
        loop {
            let sent = tokio::time::timeout(
                self.first_byte_timeout,
                self.client
                    .post(format!("{}/v1/messages", self.base_url))
                    .body(reqwest::Body::wrap(body.clone()))
                    .send(),
            )
            .await;
            let (error, retryable, headers, reason) = match sent {
                Ok(Ok(response)) if response.status().is_success() => return Ok(response),
                Ok(Ok(response)) => {
                    let status = response.status();
                    let headers = response.headers().clone();
                    let kind = error_type(response).await;
                    tracing::warn!(
                        status = status.as_u16(),
                        error_type = kind.as_deref().unwrap_or("unknown"),
                        request_id = request_id(&headers),
                        attempt = retries + 1,
                        "the Claude API refused a request"
                    );
                    (
                        error_from_status(status, kind.as_deref(), &headers),
                        retry::should_retry(status, &headers),
                        Some(headers),
                        status.as_str().to_string(),
                    )
                }
                Ok(Err(e)) => {
                    let reason = if e.is_connect() { "connect" } else { "network" };
                    tracing::warn!(error = %without_url(&e), attempt = retries + 1, "could not reach the Claude API");
                    (
                        LlmError::Upstream(format!("{reason} error")),
                        true,
                        None,
                        reason.to_string(),
                    )
                }
                Err(_) => {
                    tracing::warn!(
                        timeout_ms = self.first_byte_timeout.as_millis() as u64,
                        attempt = retries + 1,
                        "the Claude API did not answer in time"
                    );
                    (LlmError::Timeout, true, None, "timeout".to_string())
                }
            };
            if !retryable || retries >= self.max_retries {
                return Err(error);
            }
            let wait = retry::delay(headers.as_ref(), retries, rand::random::<f64>());
            self.metrics.record_llm_retry(&call.model, &reason);
            tracing::info!(
                wait_ms = wait.as_millis() as u64,
                retry = retries + 1,
                "retrying the Claude request"
            );
            tokio::time::sleep(wait).await;
            retries += 1;
        }
    }

    /// The response's events, decoded; the call is recorded when the stream ends or is dropped.
    fn events(&self, response: reqwest::Response, mut call: Call) -> LlmStream {
        let idle = self.idle_timeout;
        Box::pin(async_stream::stream! {
            let mut sse = response.bytes_stream().eventsource();
            let mut decoder = Decoder::default();
            loop {
                let item = match tokio::time::timeout(idle, sse.next()).await {
                    Err(_) => {
                        tracing::warn!(idle_ms = idle.as_millis() as u64, "the Claude stream went silent");
                        let e = LlmError::Timeout;
                        call.finish(&Err(&e), decoder.tokens());
                        yield Err(e);
                        break;
                    }
                    Ok(None) => {
                        if let Err(e) = decoder.finish() {
                            tracing::warn!("the Claude stream ended early");
                            call.finish(&Err(&e), decoder.tokens());
                            yield Err(e);
                        }
                        break;
                    }
                    Ok(Some(Err(e))) => {
                        tracing::warn!(error = %e, "the Claude stream broke");
                        let e = LlmError::Upstream("the stream broke".into());
                        call.finish(&Err(&e), decoder.tokens());
                        yield Err(e);
                        break;
                    }
                    Ok(Some(Ok(event))) => event,
                };
                match decoder.feed(&item.data) {
                    Ok(events) => {
                        if decoder.is_finished() {
                            call.finish(&Ok(()), decoder.tokens());
                        }
                        for event in events {
                            if matches!(event, LlmEvent::TextDelta(_) | LlmEvent::ToolUse { .. }) {
                                call.first_chunk();
                            }
                            yield Ok(event);
                        }
                        if decoder.is_finished() {
                            break;
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "the Claude stream reported an error");
                        call.finish(&Err(&e), decoder.tokens());
                        yield Err(e);
                        break;
                    }
                }
            }
        })
    }
}

#[async_trait]
impl Provider for Anthropic {
    fn name(&self) -> &'static str {
        "anthropic"
    }

    fn model(&self) -> &str {
        &self.model
    }

    async fn stream(&self, request: &LlmRequest) -> Result<LlmStream, LlmError> {
        let body = self
            .preambles
            .body(&self.model, request)
            .map_err(|e| LlmError::Upstream(format!("request encoding: {e}")))?;
        let mut call = Call::new(self.metrics.clone(), &self.model);
        match self.open(body, &call).await {
            Ok(response) => Ok(self.events(response, call)),
            Err(e) => {
                call.finish(&Err(&e), Tokens::default());
                Err(e)
            }
        }
    }
}

/// One request's metrics: recorded once, when it ends, is refused, or is dropped (cancelled).
struct Call {
    metrics: Arc<Metrics>,
    model: String,
    started: Instant,
    first_chunk: bool,
    finished: bool,
}

impl Call {
    fn new(metrics: Arc<Metrics>, model: &str) -> Self {
        Self {
            metrics,
            model: model.to_string(),
            started: Instant::now(),
            first_chunk: false,
            finished: false,
        }
    }

    fn first_chunk(&mut self) {
        if !self.first_chunk {
            self.first_chunk = true;
            self.metrics
                .record_llm_first_chunk(&self.model, self.started.elapsed());
        }
    }

    fn finish(&mut self, result: &Result<(), &LlmError>, tokens: Tokens) {
        if self.finished {
            return;
        }
        self.finished = true;
        let outcome = match result {
            Ok(()) => "ok",
            Err(e) => e.outcome(),
        };
        self.record(outcome, tokens);
    }

    fn record(&self, outcome: &str, tokens: Tokens) {
        self.metrics.record_llm_request(
            &self.model,
            outcome,
            self.started.elapsed(),
            crate::metrics::TokenUsage {
                input: tokens.input_total(),
                output: tokens.output,
                cache_read: tokens.cache_read,
                cache_write: tokens.cache_write,
            },
        );
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        if !self.finished {
            self.record("cancelled", Tokens::default());
        }
    }
}

/// The error a refused request stands for.
fn error_from_status(status: StatusCode, kind: Option<&str>, headers: &HeaderMap) -> LlmError {
    match (status.as_u16(), kind) {
        (529, _) | (_, Some("overloaded_error")) => LlmError::Overloaded,
        (429, _) if retry::should_retry(status, headers) => LlmError::RateLimited,
        (429, _) => LlmError::QuotaExhausted,
        (401 | 403, _) => LlmError::Unauthorized,
        (408 | 504, _) => LlmError::Timeout,
        (code @ 300..=399, _) => LlmError::Upstream(format!(
            "HTTP {code}: the Claude API redirected the request, which is not followed (the API \
             key goes to CLAUDE_API_BASE_URL only); set CLAUDE_API_BASE_URL to the API itself"
        )),
        (code, kind) => {
            LlmError::Upstream(format!("HTTP {code} {}", kind.unwrap_or("(no error type)")))
        }
    }
}

/// The error an `error` event of the stream stands for.
fn error_from_type(kind: &str) -> LlmError {
    match kind {
        "overloaded_error" => LlmError::Overloaded,
        "rate_limit_error" => LlmError::RateLimited,
        "timeout_error" => LlmError::Timeout,
        other => LlmError::Upstream(other.to_string()),
    }
}

/// The API's error type from an error response body (read up to [`MAX_ERROR_BODY`]).
async fn error_type(response: reqwest::Response) -> Option<String> {
    let mut body = Vec::new();
    let mut chunks = response.bytes_stream();
    let read = async {
        while let Some(Ok(chunk)) = chunks.next().await {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_ERROR_BODY {
                break;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(5), read)
        .await
        .ok();
    serde_json::from_slice::<wire::ErrorBody>(&body)
        .ok()
        .map(|b| b.error.kind)
}

fn request_id(headers: &HeaderMap) -> &str {
    headers
        .get("request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
}

/// A reqwest error's text without the URL (it would repeat the configured base URL).
fn without_url(e: &reqwest::Error) -> String {
    let mut e = e.to_string();
    if let Some(at) = e.find(" for url (") {
        e.truncate(at);
    }
    e
}

//! The tool loop: one chat turn as rounds of "model streams → tools run → results go back",
//! until the model ends its turn or `TOOL_MAX_DEPTH` rounds of tool calls have run.
//!
//! Promises: every text delta and tool event reaches the client in order as it happens; text
//! written before and between tool calls is kept; the tool calls of one round run in parallel
//! (bounded), each with a timeout, and their results go back in one user message in the order
//! of the calls; unknown tools and backend failures become `is_error` results the model can
//! recover from; a circuit breaker guards the backend (open: calls fail fast with a result that
//! says so); when the client goes away the model stream is dropped at once (which cancels the
//! upstream request) and the partial answer is returned as interrupted.
use std::time::{Duration, Instant};

use app::types::{ChatEvent, ErrorCode};
use futures::{stream, StreamExt};
use serde_json::Value;
use tokio::sync::mpsc::Sender;
use tokio_util::sync::CancellationToken;

use crate::llm::{
    ContentBlock, LlmError, LlmEvent, LlmRequest, Message, Provider, Role, StopReason,
    ToolCallRecord, ToolResultRecord,
};
use crate::metrics::Metrics;
use crate::tools::breaker::CircuitBreaker;
use crate::tools::{ToolBackend, ToolOutput};

/// How many tool calls of one round run at the same time.
const TOOL_CONCURRENCY: usize = 4;

/// How a turn ended.
#[derive(Debug, Clone, PartialEq)]
pub enum LoopEnd {
    Complete(StopReason),
    Interrupted,
    DepthExceeded,
    Failed { code: ErrorCode, message: String },
}

#[derive(Debug, Clone, PartialEq)]
pub struct LoopOutput {
    pub text: String,
    pub tool_calls: Vec<ToolCallRecord>,
    pub tool_results: Vec<ToolResultRecord>,
    pub end: LoopEnd,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub first_token_ms: Option<u64>,
    /// The input tokens the provider counted for the first request (for calibration).
    pub first_input_tokens: Option<u64>,
}

/// Everything one run needs.
pub struct ToolLoop<'a> {
    pub provider: &'a dyn Provider,
    pub tools: &'a dyn ToolBackend,
    pub breaker: &'a CircuitBreaker,
    /// One tool call's limit.
    pub tool_timeout: Duration,
    pub max_depth: u32,
    pub events: &'a Sender<ChatEvent>,
    /// Cancelled when the turn is stopped (its owner asked, or the drain time of a shutdown
    /// is over): the turn ends as interrupted, keeping what it has.
    pub stopping: &'a CancellationToken,
    pub metrics: &'a Metrics,
}

enum RoundEnd {
    Stopped(Option<StopReason>),
    Interrupted,
    Failed(LlmError),
}

impl ToolLoop<'_> {
    /// Completes when the rest of the answer is not wanted: the turn was stopped, or nothing
    /// relays its events any more.
    async fn abandoned(&self) {
        tokio::select! {
            () = self.events.closed() => {}
            () = self.stopping.cancelled() => {}
        }
    }

    pub async fn run(&self, request: LlmRequest) -> LoopOutput {
        let (output, rounds) = self.rounds(request).await;
        self.metrics
            .record_tool_rounds(self.provider.name(), rounds);
        output
    }

    /// The rounds of a turn; also how many rounds of tool calls ran.
    async fn rounds(&self, mut request: LlmRequest) -> (LoopOutput, u32) {
        let started = Instant::now();
        let mut out = LoopOutput {
            text: String::new(),
            tool_calls: Vec::new(),
            tool_results: Vec::new(),
            end: LoopEnd::Complete(StopReason::EndTurn),
            input_tokens: 0,
            output_tokens: 0,
            first_token_ms: None,
            first_input_tokens: None,
        };
        let mut round: u32 = 0;
        loop {
            let mut blocks = Vec::new();
            let mut round_text = String::new();
            let mut uses: Vec<(String, String, Value)> = Vec::new();
            let end = self
                .stream_round(&request, &mut out, &mut round_text, &mut uses, started)
                .await;
            if !round_text.is_empty() {
                if !out.text.is_empty() {
                    out.text.push_str("\n\n");
                }
                out.text.push_str(&round_text);
                blocks.push(ContentBlock::Text { text: round_text });
            }
            let stop = match end {
                RoundEnd::Stopped(stop) => stop,
                RoundEnd::Interrupted => {
                    out.end = LoopEnd::Interrupted;
                    return (out, round);
                }
                RoundEnd::Failed(e) => {
                    out.end = failed(e);
                    return (out, round);
                }
            };
            if stop != Some(StopReason::ToolUse) || uses.is_empty() {
                out.end = LoopEnd::Complete(stop.unwrap_or(StopReason::EndTurn));
                return (out, round);
            }
            if round >= self.max_depth {
                // The client saw these calls: close their cards as not run.
                for (id, name, _) in uses {
                    let event = ChatEvent::ToolResult {
                        id,
                        name,
                        ok: false,
                        duration_ms: 0,
                        text: None,
                        visual: None,
                    };
                    if self.events.send(event).await.is_err() {
                        break;
                    }
                }
                out.end = LoopEnd::DepthExceeded;
                return (out, round);
            }
            round += 1;
            for (id, name, input) in &uses {
                let call = ToolCallRecord {
                    id: id.clone(),
                    name: name.clone(),
                    input: input.clone(),
                    round,
                    tokens: None,
                };
                blocks.push(call.block());
                out.tool_calls.push(call);
            }
            let Some(results) = self.run_tools(&uses, round, &mut out).await else {
                out.end = LoopEnd::Interrupted;
                return (out, round);
            };
            request.messages.push(Message {
                role: Role::Assistant,
                content: blocks,
            });
            request.messages.push(Message {
                role: Role::User,
                content: results,
            });
        }
    }

    /// Streams one model round to the client; collects its text and tool uses.
    async fn stream_round(
        &self,
        request: &LlmRequest,
        out: &mut LoopOutput,
        text: &mut String,
        uses: &mut Vec<(String, String, Value)>,
        started: Instant,
    ) -> RoundEnd {
        let mut model_stream = tokio::select! {
            biased;
            _ = self.abandoned() => return RoundEnd::Interrupted,
            opened = self.provider.stream(request) => match opened {
                Ok(s) => s,
                Err(e) => return RoundEnd::Failed(e),
            },
        };
        let mut stop = None;
        loop {
            let next = tokio::select! {
                biased;
                _ = self.abandoned() => return RoundEnd::Interrupted,
                next = model_stream.next() => next,
            };
            let event = match next {
                None => return RoundEnd::Stopped(stop),
                Some(Err(e)) => return RoundEnd::Failed(e),
                Some(Ok(event)) => event,
            };
            let client_event = match event {
                LlmEvent::TextDelta(delta) => {
                    if delta.is_empty() {
                        continue;
                    }
                    out.first_token_ms
                        .get_or_insert(started.elapsed().as_millis() as u64);
                    text.push_str(&delta);
                    ChatEvent::Text { delta }
                }
                LlmEvent::ToolUse { id, name, input } => {
                    uses.push((id.clone(), name.clone(), input.clone()));
                    ChatEvent::ToolCall { id, name, input }
                }
                LlmEvent::Usage {
                    input_tokens,
                    output_tokens,
                } => {
                    out.first_input_tokens.get_or_insert(input_tokens);
                    out.input_tokens += input_tokens;
                    out.output_tokens += output_tokens;
                    continue;
                }
                LlmEvent::Stop(reason) => {
                    stop = Some(reason);
                    continue;
                }
            };
            if self.events.send(client_event).await.is_err() {
                return RoundEnd::Interrupted;
            }
        }
    }

    /// Runs the round's tool calls in parallel; `None` when the client went away meanwhile.
    async fn run_tools(
        &self,
        uses: &[(String, String, Value)],
        round: u32,
        out: &mut LoopOutput,
    ) -> Option<Vec<ContentBlock>> {
        let calls = stream::iter(uses.iter().cloned().enumerate())
            .map(|(index, (id, name, input))| async move {
                let started = Instant::now();
                let permit = match self.breaker.admit() {
                    Ok(permit) => permit,
                    Err(refused) => {
                        self.metrics.record_tool(&name, "rejected", Duration::ZERO);
                        let when = match refused.retry_in.as_secs() {
                            0 => "shortly".to_string(),
                            s => format!("in {s} s"),
                        };
                        let output = error_output(format!(
                            "The FPL tools are failing right now, so this call was not made; they \
                             will be tried again {when}. Tell the user that live FPL data is \
                             unavailable at the moment."
                        ));
                        return (index, id, name, output, Duration::ZERO);
                    }
                };
                let result =
                    tokio::time::timeout(self.tool_timeout, self.tools.call(&name, input)).await;
                let elapsed = started.elapsed();
                permit.record(matches!(result, Ok(Ok(_))));
                let (output, outcome) = match result {
                    Ok(Ok(output)) if output.is_error => (output, "error"),
                    Ok(Ok(output)) => (output, "ok"),
                    Ok(Err(e)) => (
                        error_output(format!("The tool could not run: {e}. Try again later.")),
                        "failed",
                    ),
                    Err(_) => (
                        error_output(format!(
                            "The tool did not answer within {} ms.",
                            self.tool_timeout.as_millis()
                        )),
                        "timeout",
                    ),
                };
                self.metrics.record_tool(&name, outcome, elapsed);
                (index, id, name, output, elapsed)
            })
            .buffer_unordered(TOOL_CONCURRENCY);
        tokio::pin!(calls);
        let mut done = Vec::with_capacity(uses.len());
        loop {
            let next = tokio::select! {
                biased;
                _ = self.abandoned() => return None,
                next = calls.next() => next,
            };
            let Some((index, id, name, output, elapsed)) = next else {
                break;
            };
            let duration_ms = elapsed.as_millis() as u64;
            let visual = match (&output.structured, output.is_error) {
                (Some(s), false) => crate::visuals::render(&name, &id, s),
                _ => None,
            };
            let event = ChatEvent::ToolResult {
                id: id.clone(),
                name: name.clone(),
                ok: !output.is_error,
                duration_ms,
                text: Some(output.text.clone()),
                visual: visual.clone(),
            };
            if self.events.send(event).await.is_err() {
                return None;
            }
            done.push((index, id, name, output, duration_ms, visual));
        }
        done.sort_by_key(|(index, ..)| *index);
        let mut blocks = Vec::with_capacity(done.len());
        for (_, id, name, output, duration_ms, visual) in done {
            out.tool_results.push(ToolResultRecord {
                tool_use_id: id.clone(),
                name,
                ok: !output.is_error,
                content: output.text.clone(),
                duration_ms,
                round,
                tokens: None,
                visual,
            });
            blocks.push(ContentBlock::ToolResult {
                tool_use_id: id,
                content: output.text,
                structured: output.structured,
                is_error: output.is_error,
            });
        }
        Some(blocks)
    }
}

fn error_output(text: String) -> ToolOutput {
    ToolOutput {
        text,
        structured: None,
        is_error: true,
    }
}

/// What the user is told when the model fails (the details are in the logs).
fn failed(e: LlmError) -> LoopEnd {
    let (code, message) = match e {
        LlmError::Overloaded => (
            ErrorCode::UpstreamOverloaded,
            "Claude is overloaded right now. Please try again in a minute.",
        ),
        LlmError::RateLimited => (
            ErrorCode::UpstreamOverloaded,
            "Claude is receiving too many requests right now. Please try again in a minute.",
        ),
        LlmError::QuotaExhausted => (
            ErrorCode::UpstreamError,
            "The assistant has reached its usage limit for now. Please try again later.",
        ),
        LlmError::Unauthorized => (
            ErrorCode::UpstreamError,
            "The assistant is not available: the server's Claude API key was refused. \
             The operator needs to fix the configuration.",
        ),
        LlmError::Timeout => (
            ErrorCode::UpstreamError,
            "Claude took too long to answer. Please try again.",
        ),
        LlmError::Upstream(_) => (
            ErrorCode::UpstreamError,
            "The assistant failed to answer. Please try again.",
        ),
    };
    LoopEnd::Failed {
        code,
        message: message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
    use std::sync::Arc;

    use async_trait::async_trait;
    use serde_json::json;
    use tokio::sync::{mpsc, Barrier};

    use super::*;
    use crate::config::{ClaudeConfig, Secret};
    use crate::llm::anthropic::Anthropic;
    use crate::testkit::claude::{ClaudeStandIn, Sse};
    use crate::tools::breaker::BreakerState;
    use crate::tools::{ToolError, ToolList};

    /// Answers only when `n` calls are in flight at once (proof that calls run in parallel).
    struct Rendezvous(Barrier);

    /// Fails while `healthy` is false; counts the calls that reached it.
    struct Flaky {
        healthy: AtomicBool,
        calls: AtomicU32,
    }

    #[async_trait]
    impl ToolBackend for Rendezvous {
        async fn list_tools(&self) -> Result<ToolList, ToolError> {
            Ok(ToolList::from([]))
        }
        async fn call(&self, name: &str, _: Value) -> Result<ToolOutput, ToolError> {
            self.0.wait().await;
            Ok(ToolOutput::ok(format!("{name} answered"), json!({})))
        }
    }

    #[async_trait]
    impl ToolBackend for Flaky {
        async fn list_tools(&self) -> Result<ToolList, ToolError> {
            Ok(ToolList::from([]))
        }
        async fn call(&self, _: &str, _: Value) -> Result<ToolOutput, ToolError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            if self.healthy.load(Ordering::SeqCst) {
                Ok(ToolOutput::ok("fine", json!({})))
            } else {
                Err(ToolError::Unavailable("FPL API down".into()))
            }
        }
    }

    fn claude(base_url: &str, metrics: &Arc<Metrics>) -> Anthropic {
        let config = ClaudeConfig {
            api_key: Secret::new("k"),
            model: "claude-test".into(),
            summary_model: "claude-small".into(),
            base_url: base_url.into(),
            max_retries: 0,
            connect_timeout: Duration::from_secs(2),
            first_byte_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(5),
        };
        Anthropic::new(&config, metrics.clone()).unwrap()
    }

    fn request() -> LlmRequest {
        LlmRequest {
            system: "s".into(),
            messages: vec![Message {
                role: Role::User,
                content: vec![ContentBlock::Text { text: "q".into() }],
            }],
            tools: ToolList::from([]),
            max_tokens: 100,
        }
    }

    fn three_calls() -> Sse {
        Sse::new()
            .tool_use("t1", "fpl_a", &["{}"])
            .tool_use("t2", "fpl_b", &["{}"])
            .tool_use("t3", "fpl_c", &["{}"])
    }

    #[tokio::test]
    async fn the_calls_of_a_round_run_at_the_same_time() {
        let stand_in = ClaudeStandIn::start().await;
        stand_in.push([
            three_calls().end("tool_use"),
            Sse::new().text(&["ok"]).end("end_turn"),
        ]);
        let metrics = Arc::new(Metrics::new());
        let provider = claude(&stand_in.base_url, &metrics);
        let tools = Rendezvous(Barrier::new(3));
        let breaker = CircuitBreaker::new("test", 5, Duration::from_secs(30), metrics.clone());
        let (tx, _rx) = mpsc::channel(64);
        let out = ToolLoop {
            provider: &provider,
            tools: &tools,
            breaker: &breaker,
            // Sequential calls would wait at the barrier until this runs out.
            tool_timeout: Duration::from_secs(2),
            max_depth: 5,
            events: &tx,
            stopping: &CancellationToken::new(),
            metrics: &metrics,
        }
        .run(request())
        .await;
        assert_eq!(out.end, LoopEnd::Complete(StopReason::EndTurn));
        let ok: Vec<bool> = out.tool_results.iter().map(|r| r.ok).collect();
        assert_eq!(ok, [true, true, true], "{:?}", out.tool_results);
    }

    #[tokio::test]
    async fn a_failing_backend_opens_the_breaker_and_a_probe_closes_it() {
        let stand_in = ClaudeStandIn::start().await;
        let metrics = Arc::new(Metrics::new());
        let provider = claude(&stand_in.base_url, &metrics);
        let tools = Flaky {
            healthy: AtomicBool::new(false),
            calls: AtomicU32::new(0),
        };
        let breaker = CircuitBreaker::new("test", 2, Duration::from_millis(300), metrics.clone());
        let (tx, _rx) = mpsc::channel(256);
        let stopping = CancellationToken::new();
        let run = || ToolLoop {
            provider: &provider,
            tools: &tools,
            breaker: &breaker,
            tool_timeout: Duration::from_secs(2),
            max_depth: 5,
            events: &tx,
            stopping: &stopping,
            metrics: &metrics,
        };

        stand_in.push([
            three_calls().end("tool_use"),
            Sse::new().text(&["sorry"]).end("end_turn"),
        ]);
        let out = run().run(request()).await;
        assert_eq!(
            tools.calls.load(Ordering::SeqCst),
            2,
            "the third call fails fast"
        );
        assert_eq!(breaker.state(), BreakerState::Open);
        assert!(out.tool_results.iter().all(|r| !r.ok));
        assert!(out.tool_results[2].content.contains("failing right now"));
        // Claude is told in the tool results, which go back in order.
        let sent = &stand_in.requests()[1].body["messages"][2]["content"];
        assert_eq!(sent[2]["tool_use_id"], "t3");
        assert_eq!(sent[2]["is_error"], true);

        tokio::time::sleep(Duration::from_millis(350)).await;
        tools.healthy.store(true, Ordering::SeqCst);
        stand_in.push([
            Sse::new().tool_use("t4", "fpl_a", &["{}"]).end("tool_use"),
            Sse::new().text(&["back"]).end("end_turn"),
        ]);
        let out = run().run(request()).await;
        assert!(out.tool_results[0].ok, "the half-open probe went through");
        assert_eq!(breaker.state(), BreakerState::Closed);
        let text = metrics.encode_prometheus();
        assert!(text.contains(r#"tool_calls_total{tool="fpl_c",outcome="rejected"} 1"#));
    }
}

//! The tool loop: one chat turn as rounds of "model streams → tools run → results go back",
//! until the model ends its turn or `TOOL_MAX_DEPTH` rounds of tool calls have run.
//!
//! Promises: every text delta and tool event reaches the client in order as it happens; text
//! written before and between tool calls is kept; the tool calls of one round run in parallel
//! (bounded), each with a timeout, and their results go back in one user message in the order
//! of the calls; unknown tools and backend failures become `is_error` results the model can
//! recover from; when the client goes away the model stream is dropped at once (which cancels
//! the upstream request) and the partial answer is returned as interrupted.
use std::time::{Duration, Instant};

use app::types::{ChatEvent, ErrorCode};
use futures::{stream, StreamExt};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::mpsc::Sender;

use crate::llm::{
    ContentBlock, LlmError, LlmEvent, LlmRequest, Message, Provider, Role, StopReason,
};
use crate::metrics::Metrics;
use crate::tools::{ToolBackend, ToolOutput};

/// How many tool calls of one round run at the same time.
const TOOL_CONCURRENCY: usize = 4;
/// How long one tool call may take before it counts as failed.
pub const TOOL_TIMEOUT: Duration = Duration::from_secs(30);

/// A tool call as stored on the assistant message (`messages.tool_calls`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ToolCallRecord {
    pub id: String,
    pub name: String,
    pub input: Value,
    pub round: u32,
}

/// A tool result as stored on the assistant message (`messages.tool_results`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ToolResultRecord {
    pub tool_use_id: String,
    pub name: String,
    pub ok: bool,
    pub content: String,
    pub duration_ms: u64,
    pub round: u32,
}

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
}

/// Everything one run needs.
pub struct ToolLoop<'a> {
    pub provider: &'a dyn Provider,
    pub tools: &'a dyn ToolBackend,
    pub max_depth: u32,
    pub events: &'a Sender<ChatEvent>,
    pub metrics: &'a Metrics,
}

enum RoundEnd {
    Stopped(Option<StopReason>),
    Interrupted,
    Failed(LlmError),
}

impl ToolLoop<'_> {
    pub async fn run(&self, mut request: LlmRequest) -> LoopOutput {
        let started = Instant::now();
        let mut out = LoopOutput {
            text: String::new(),
            tool_calls: Vec::new(),
            tool_results: Vec::new(),
            end: LoopEnd::Complete(StopReason::EndTurn),
            input_tokens: 0,
            output_tokens: 0,
            first_token_ms: None,
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
                    return out;
                }
                RoundEnd::Failed(e) => {
                    out.end = failed(e);
                    return out;
                }
            };
            if stop != Some(StopReason::ToolUse) || uses.is_empty() {
                out.end = LoopEnd::Complete(stop.unwrap_or(StopReason::EndTurn));
                return out;
            }
            if round >= self.max_depth {
                out.end = LoopEnd::DepthExceeded;
                return out;
            }
            round += 1;
            for (id, name, input) in &uses {
                out.tool_calls.push(ToolCallRecord {
                    id: id.clone(),
                    name: name.clone(),
                    input: input.clone(),
                    round,
                });
                blocks.push(ContentBlock::ToolUse {
                    id: id.clone(),
                    name: name.clone(),
                    input: input.clone(),
                });
            }
            let Some(results) = self.run_tools(&uses, round, &mut out).await else {
                out.end = LoopEnd::Interrupted;
                return out;
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
            _ = self.events.closed() => return RoundEnd::Interrupted,
            opened = self.provider.stream(request.clone()) => match opened {
                Ok(s) => s,
                Err(e) => return RoundEnd::Failed(e),
            },
        };
        let mut stop = None;
        loop {
            let next = tokio::select! {
                biased;
                _ = self.events.closed() => return RoundEnd::Interrupted,
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
                let result =
                    tokio::time::timeout(TOOL_TIMEOUT, self.tools.call(&name, input)).await;
                let elapsed = started.elapsed();
                let (output, outcome) = match result {
                    Ok(Ok(output)) if output.is_error => (output, "error"),
                    Ok(Ok(output)) => (output, "ok"),
                    Ok(Err(e)) => (
                        error_output(format!("The tool could not run: {e}. Try again later.")),
                        "failed",
                    ),
                    Err(_) => (
                        error_output(format!(
                            "The tool did not answer within {} seconds.",
                            TOOL_TIMEOUT.as_secs()
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
                _ = self.events.closed() => return None,
                next = calls.next() => next,
            };
            let Some((index, id, name, output, elapsed)) = next else {
                break;
            };
            let duration_ms = elapsed.as_millis() as u64;
            let event = ChatEvent::ToolResult {
                id: id.clone(),
                name: name.clone(),
                ok: !output.is_error,
                duration_ms,
            };
            if self.events.send(event).await.is_err() {
                return None;
            }
            done.push((index, id, name, output, duration_ms));
        }
        done.sort_by_key(|(index, ..)| *index);
        let mut blocks = Vec::with_capacity(done.len());
        for (_, id, name, output, duration_ms) in done {
            out.tool_results.push(ToolResultRecord {
                tool_use_id: id.clone(),
                name,
                ok: !output.is_error,
                content: output.text.clone(),
                duration_ms,
                round,
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

fn failed(e: LlmError) -> LoopEnd {
    let (code, message) = match e {
        LlmError::Overloaded => (
            ErrorCode::UpstreamOverloaded,
            "The assistant is overloaded right now. Please try again in a minute.".to_string(),
        ),
        LlmError::RateLimited => (
            ErrorCode::UpstreamOverloaded,
            "The assistant is receiving too many requests. Please try again in a minute."
                .to_string(),
        ),
        LlmError::Upstream(_) => (
            ErrorCode::UpstreamError,
            "The assistant failed to answer. Please try again.".to_string(),
        ),
    };
    LoopEnd::Failed { code, message }
}

//! `OfflineAnalyst`: the embedded FPL analyst, a [`Provider`] named "offline" with model
//! "fpl-analyst", used when there is no Claude API key.
//!
//! Promises: it speaks the same tool loop as Claude. When the last message is a user
//! question it answers greetings, thanks and questions it cannot place directly (with
//! example questions), and otherwise emits the FPL tool calls that answer it
//! (`ToolUse` events with ids `toolu_offline_<n>`, then `Usage`, then `Stop(ToolUse)`).
//! When the last message carries tool results it writes a short Markdown answer from their
//! `structured` data, streamed as small `TextDelta` pieces (a word or two each) with
//! `pacing` between pieces, then `Usage` (tokens estimated as chars / 4) and
//! `Stop(EndTurn)`. It never asks for more than [`MAX_TOOL_ROUNDS`] tool rounds in a turn.

mod answer;
mod intent;
mod manager;
#[cfg(test)]
mod manager_questions;
#[cfg(test)]
mod questions;
#[cfg(test)]
mod ranking_questions;

use std::time::Duration;

use async_trait::async_trait;
use futures::stream::{self, StreamExt};
use serde_json::Value;

use crate::fpl::FplSource;
use crate::llm::{
    ContentBlock, LlmError, LlmEvent, LlmRequest, LlmStream, Message, Provider, Role, StopReason,
};

pub use answer::ToolResultView;
pub use intent::{understand, understand_in, Intent};

/// Most tool rounds the analyst asks for in one turn.
pub const MAX_TOOL_ROUNDS: usize = 3;

/// Default pause between streamed pieces, so streaming is visible.
pub const DEFAULT_PACING: Duration = Duration::from_millis(12);

/// The offline FPL analyst.
#[derive(Debug, Clone)]
pub struct OfflineAnalyst {
    source: FplSource,
    /// Pause between streamed text pieces (0 in tests).
    pub pacing: Duration,
}

impl OfflineAnalyst {
    /// An analyst reading names from `source` (share it with the tools).
    pub fn new(source: FplSource) -> Self {
        Self {
            source,
            pacing: DEFAULT_PACING,
        }
    }

    /// The same analyst with another pacing between text pieces.
    pub fn with_pacing(mut self, pacing: Duration) -> Self {
        self.pacing = pacing;
        self
    }
}

/// Index of the message that opened this turn: the last user message with text.
fn turn_start(messages: &[Message]) -> Option<usize> {
    messages.iter().rposition(|m| {
        m.role == Role::User
            && m.content
                .iter()
                .any(|b| matches!(b, ContentBlock::Text { text } if !text.trim().is_empty()))
    })
}

fn question_of(m: &Message) -> String {
    m.content
        .iter()
        .filter_map(|b| match b {
            ContentBlock::Text { text } => Some(text.as_str()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The FPL team id the user gave most recently before this turn, if any ("my team is
/// 84062"): the last 10 questions are read, 2,000 characters of each, so a long conversation
/// costs no more than a short one.
fn remembered_entry(earlier: &[Message]) -> Option<u32> {
    earlier
        .iter()
        .rev()
        .filter(|m| m.role == Role::User)
        .take(10)
        .find_map(|m| {
            let text = question_of(m);
            let cut = text.char_indices().nth(2000).map_or(text.len(), |(i, _)| i);
            let folded = crate::fpl::names::fold(&text[..cut]);
            let ws: Vec<String> = folded.split_whitespace().map(str::to_string).collect();
            manager::entry_id(&ws)
        })
}

/// Splits text into pieces of one or two words, keeping every character.
pub fn pieces(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut words_in_cur = 0;
    let mut in_word = false;
    for c in text.chars() {
        if c.is_whitespace() {
            if in_word {
                words_in_cur += 1;
                in_word = false;
            }
            cur.push(c);
            if words_in_cur >= 2 || c == '\n' {
                out.push(std::mem::take(&mut cur));
                words_in_cur = 0;
            }
        } else {
            in_word = true;
            cur.push(c);
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn estimate_tokens(chars: usize) -> u64 {
    (chars as u64).div_ceil(4)
}

fn request_chars(request: &LlmRequest) -> usize {
    request.system.len()
        + request
            .messages
            .iter()
            .flat_map(|m| m.content.iter())
            .map(|b| match b {
                ContentBlock::Text { text } => text.len(),
                ContentBlock::ToolUse { name, input, .. } => name.len() + input.to_string().len(),
                ContentBlock::ToolResult { content, .. } => content.len(),
            })
            .sum::<usize>()
}

impl OfflineAnalyst {
    fn text_stream(&self, text: String, input_tokens: u64) -> LlmStream {
        let pacing = self.pacing;
        let output_tokens = estimate_tokens(text.chars().count());
        let deltas =
            stream::iter(pieces(&text).into_iter().enumerate()).then(move |(i, p)| async move {
                if i > 0 && !pacing.is_zero() {
                    tokio::time::sleep(pacing).await;
                }
                Ok(LlmEvent::TextDelta(p))
            });
        deltas
            .chain(stream::iter(vec![
                Ok(LlmEvent::Usage {
                    input_tokens,
                    output_tokens,
                }),
                Ok(LlmEvent::Stop(StopReason::EndTurn)),
            ]))
            .boxed()
    }
}

#[async_trait]
impl Provider for OfflineAnalyst {
    fn name(&self) -> &'static str {
        "offline"
    }

    /// Its usage is characters / 4: good enough for budgets, not a token count.
    fn counts_tokens(&self) -> bool {
        false
    }

    fn model(&self) -> &str {
        "fpl-analyst"
    }

    async fn stream(&self, request: &LlmRequest) -> Result<LlmStream, LlmError> {
        let input_tokens = estimate_tokens(request_chars(request));
        let Some(start) = turn_start(&request.messages) else {
            return Ok(self.text_stream(answer::HELP.to_string(), input_tokens));
        };
        let question = question_of(&request.messages[start]);
        let remembered = remembered_entry(&request.messages[..start]);
        let data = match self.source.data().await {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(error = %e, "offline analyst: FPL data unavailable");
                return Ok(self.text_stream(
                    format!(
                        "I can't reach the FPL data right now ({e}). Please try again in a moment."
                    ),
                    input_tokens,
                ));
            }
        };
        // Reading the question (up to 8,000 characters) is CPU work: off the async workers.
        let (intent, planned) = tokio::task::spawn_blocking(move || {
            let intent = understand_in(&data, &question, remembered);
            let planned = intent.tool_calls(&data);
            (intent, planned)
        })
        .await
        .unwrap_or((Intent::Help, Vec::new()));
        let turn = &request.messages[start + 1..];

        // Tool calls and results of this turn, in order.
        let mut calls: Vec<(String, String)> = Vec::new();
        let mut results: Vec<(String, ContentBlock)> = Vec::new();
        for m in turn {
            for b in &m.content {
                match b {
                    ContentBlock::ToolUse { id, name, .. } => {
                        calls.push((id.clone(), name.clone()))
                    }
                    ContentBlock::ToolResult { tool_use_id, .. } => {
                        results.push((tool_use_id.clone(), b.clone()))
                    }
                    ContentBlock::Text { .. } => {}
                }
            }
        }
        let rounds = turn
            .iter()
            .filter(|m| {
                m.role == Role::Assistant
                    && m.content
                        .iter()
                        .any(|b| matches!(b, ContentBlock::ToolUse { .. }))
            })
            .count();

        if results.is_empty() && !planned.is_empty() && rounds < MAX_TOOL_ROUNDS {
            let used_before: usize = request
                .messages
                .iter()
                .flat_map(|m| m.content.iter())
                .filter(|b| matches!(b, ContentBlock::ToolUse { .. }))
                .count();
            let mut events: Vec<Result<LlmEvent, LlmError>> = Vec::new();
            let mut out_chars = 0;
            for (i, (name, input)) in planned.into_iter().enumerate() {
                out_chars += name.len() + input.to_string().len();
                events.push(Ok(LlmEvent::ToolUse {
                    id: format!("toolu_offline_{}", used_before + i + 1),
                    name: name.to_string(),
                    input,
                }));
            }
            events.push(Ok(LlmEvent::Usage {
                input_tokens,
                output_tokens: estimate_tokens(out_chars),
            }));
            events.push(Ok(LlmEvent::Stop(StopReason::ToolUse)));
            return Ok(stream::iter(events).boxed());
        }

        let views: Vec<ToolResultView> = results
            .into_iter()
            .filter_map(|(id, block)| {
                let ContentBlock::ToolResult {
                    content,
                    structured,
                    is_error,
                    ..
                } = block
                else {
                    return None;
                };
                let name = calls
                    .iter()
                    .find(|(cid, _)| *cid == id)
                    .map(|(_, n)| n.clone())
                    .unwrap_or_default();
                Some(ToolResultView {
                    name,
                    text: content,
                    structured: structured.unwrap_or(Value::Null),
                    is_error,
                })
            })
            .collect();
        let text = if views.iter().all(|v| v.structured.is_null()) && !views.is_empty() {
            format!(
                "Here is what the FPL tools returned:\n\n{}",
                views
                    .iter()
                    .map(|v| v.text.as_str())
                    .collect::<Vec<_>>()
                    .join("\n\n")
            )
        } else {
            answer::write(&intent, &views)
        };
        Ok(self.text_stream(text, input_tokens))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_keep_every_character_and_are_small() {
        let text = "**Haaland** has 70 points.\n\n- xG 7.64\nDone";
        let p = pieces(text);
        assert_eq!(p.concat(), text);
        assert!(p.len() >= 5);
        assert!(p.iter().all(|x| x.split_whitespace().count() <= 2));
    }

    #[test]
    fn token_estimate_is_chars_over_four() {
        assert_eq!(estimate_tokens(0), 0);
        assert_eq!(estimate_tokens(4), 1);
        assert_eq!(estimate_tokens(5), 2);
    }
}

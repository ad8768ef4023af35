//! The summarizer seam: folds old turns into a conversation's running summary.
//!
//! [`Extractive`] needs no model (each question, and the sentence of its answer with numbers);
//! [`ClaudeSummarizer`] asks `CLAUDE_SUMMARY_MODEL` with a prompt that keeps decisions, numbers
//! and tool findings, and falls back to the extractive summary when the call fails, so a
//! summary is always produced. Calls and failures are counted by summarizer. Every summary
//! says the model tokens it cost, which the chat charges to the caller whose conversation was
//! summarized (and so to the deployment's budget).
use std::sync::Arc;

use async_trait::async_trait;

use crate::llm::anthropic::Anthropic;
use crate::llm::{ContentBlock, Message, Role};
use crate::metrics::Metrics;

/// A running summary and what making it cost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub text: String,
    /// Model tokens (input + output) spent on it, for the token budgets; 0 without a model.
    pub tokens: u64,
}

#[async_trait]
pub trait Summarizer: Send + Sync + 'static {
    fn name(&self) -> &'static str;
    /// The new running summary: `previous` with `folded` (oldest first) added.
    async fn summarize(&self, previous: Option<String>, folded: Vec<Message>) -> Summary;
}

pub struct Extractive;

#[async_trait]
impl Summarizer for Extractive {
    fn name(&self) -> &'static str {
        "extractive"
    }

    async fn summarize(&self, previous: Option<String>, folded: Vec<Message>) -> Summary {
        Summary {
            text: extractive_summary(previous.as_deref(), &folded),
            tokens: 0,
        }
    }
}

const SUMMARY_PROMPT: &str = "You summarize the earlier part of a conversation between a \
Fantasy Premier League manager and an FPL analyst, so that the analyst can continue it without \
the full transcript. Keep: the manager's team, budget, constraints and decisions; every player, \
team and gameweek discussed with the numbers the tools returned (points, goals, prices in £m, \
fixture difficulty, form); conclusions and open questions. Drop greetings and repetition. Write \
short bullet points, at most 250 words, in the same language as the conversation. Start from the \
previous summary if there is one and merge the new part into it.";

/// Words of a transcript line kept for a tool result (the rest is in the database).
const TOOL_RESULT_CHARS: usize = 1_500;

pub struct ClaudeSummarizer {
    claude: Arc<Anthropic>,
    model: String,
    metrics: Arc<Metrics>,
}

impl ClaudeSummarizer {
    pub fn new(claude: Arc<Anthropic>, model: &str, metrics: Arc<Metrics>) -> Self {
        Self {
            claude,
            model: model.to_string(),
            metrics,
        }
    }
}

/// The folded messages as a plain transcript.
fn transcript(previous: Option<&str>, folded: &[Message]) -> String {
    let mut out = String::new();
    if let Some(p) = previous {
        out.push_str("Previous summary:\n");
        out.push_str(p);
        out.push_str("\n\nConversation to add:\n");
    }
    for m in folded {
        let who = match m.role {
            Role::User => "Manager",
            Role::Assistant => "Analyst",
        };
        for block in &m.content {
            match block {
                ContentBlock::Text { text } => out.push_str(&format!("{who}: {text}\n")),
                ContentBlock::ToolUse { name, input, .. } => {
                    out.push_str(&format!("Analyst used {name} with {input}\n"))
                }
                ContentBlock::ToolResult { content, .. } => {
                    let short: String = content.chars().take(TOOL_RESULT_CHARS).collect();
                    out.push_str(&format!("Tool result: {short}\n"));
                }
            }
        }
    }
    out
}

#[async_trait]
impl Summarizer for ClaudeSummarizer {
    fn name(&self) -> &'static str {
        "claude"
    }

    async fn summarize(&self, previous: Option<String>, folded: Vec<Message>) -> Summary {
        let text = transcript(previous.as_deref(), &folded);
        let tokens = match self
            .claude
            .complete(&self.model, SUMMARY_PROMPT, &text, 600)
            .await
        {
            Ok(done) if !done.text.trim().is_empty() => {
                self.metrics.record_summary("claude", "ok");
                return Summary {
                    text: done.text,
                    tokens: done.tokens,
                };
            }
            // An empty answer still cost its tokens.
            Ok(empty) => empty.tokens,
            Err(e) => {
                tracing::warn!(error = %e, "the summary model failed; using an extractive summary");
                0
            }
        };
        self.metrics.record_summary("claude", "failed");
        Summary {
            text: extractive_summary(previous.as_deref(), &folded),
            tokens,
        }
    }
}

/// How the summary is introduced in the context's first user message.
pub const SUMMARY_HEADING: &str = "Summary of the earlier conversation:\n";

/// An extractive summary, without a model: each folded question, and the first sentence of its
/// answer that carries a number; appended to the previous summary and kept to the newest
/// [`SUMMARY_LINES`] lines.
pub fn extractive_summary(previous: Option<&str>, folded: &[Message]) -> String {
    let mut lines: Vec<String> = previous
        .map(|p| p.lines().map(str::to_string).collect())
        .unwrap_or_default();
    for message in folded {
        let text: String = message
            .content
            .iter()
            .filter_map(|b| match b {
                ContentBlock::Text { text } if !text.starts_with(SUMMARY_HEADING) => {
                    Some(text.as_str())
                }
                _ => None,
            })
            .collect::<Vec<_>>()
            .join(" ");
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        if text.is_empty() {
            continue;
        }
        match message.role {
            Role::User => lines.push(format!("- Asked: {}", clip(&text, 160))),
            Role::Assistant => {
                let sentence = text
                    .split_inclusive(['.', '!', '?', '\n'])
                    .find(|s| s.chars().any(|c| c.is_ascii_digit()))
                    .unwrap_or(&text);
                lines.push(format!("  Answer: {}", clip(sentence.trim(), 200)));
            }
        }
    }
    let skip = lines.len().saturating_sub(SUMMARY_LINES);
    lines[skip..].join("\n")
}

/// Lines an extractive summary keeps.
pub const SUMMARY_LINES: usize = 40;

fn clip(text: &str, chars: usize) -> String {
    if text.chars().count() <= chars {
        return text.to_string();
    }
    let cut: String = text.chars().take(chars).collect();
    format!("{}…", cut.trim_end())
}

//! The `Provider` seam: one model round as a stream of events (text deltas, complete
//! tool_use blocks, usage, stop). [`anthropic::Anthropic`] is Claude's Messages API;
//! [`offline::OfflineAnalyst`] is the embedded FPL analyst used when there is no Claude API key.

use std::borrow::Cow;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::tools::ToolList;

pub mod anthropic;
pub mod exchange;
pub mod offline;

pub use exchange::{ToolCallRecord, ToolResultRecord};
pub use offline::OfflineAnalyst;

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Assistant,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ContentBlock {
    Text {
        text: String,
    },
    ToolUse {
        id: String,
        name: String,
        input: Value,
    },
    ToolResult {
        tool_use_id: String,
        content: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        structured: Option<Value>,
        #[serde(default)]
        is_error: bool,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Message {
    pub role: Role,
    pub content: Vec<ContentBlock>,
}

#[derive(Debug, Clone)]
pub struct LlmRequest {
    /// The system prompt: the app's is a constant, borrowed rather than copied into every
    /// turn (it lives as long as the turn's stream).
    pub system: Cow<'static, str>,
    pub messages: Vec<Message>, // first is a user message; roles alternate
    pub tools: ToolList,
    pub max_tokens: u32,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    EndTurn,
    ToolUse,
    MaxTokens,
    StopSequence,
    Refusal,
    PauseTurn,
}

#[derive(Debug, Clone, PartialEq)]
pub enum LlmEvent {
    TextDelta(String),
    /// A complete tool_use block (input already assembled and parsed).
    ToolUse {
        id: String,
        name: String,
        input: Value,
    },
    Usage {
        input_tokens: u64,
        output_tokens: u64,
    },
    Stop(StopReason),
}

/// Why a model round failed. The text is for logs: it never holds an upstream body or a key.
#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    #[error("the model is overloaded")]
    Overloaded,
    #[error("rate limited by the model provider")]
    RateLimited,
    /// A 429 that waiting will not lift (a spend or usage cap).
    #[error("the model provider's usage limit is reached")]
    QuotaExhausted,
    #[error("the model provider refused the API key")]
    Unauthorized,
    #[error("the model provider did not answer in time")]
    Timeout,
    #[error("model provider error: {0}")]
    Upstream(String),
}

impl LlmError {
    /// The `outcome` label of the request metrics.
    pub fn outcome(&self) -> &'static str {
        match self {
            LlmError::Overloaded => "overloaded",
            LlmError::RateLimited => "rate_limited",
            LlmError::QuotaExhausted => "quota_exhausted",
            LlmError::Unauthorized => "unauthorized",
            LlmError::Timeout => "timeout",
            LlmError::Upstream(_) => "error",
        }
    }
}

pub type LlmStream = futures::stream::BoxStream<'static, Result<LlmEvent, LlmError>>;

#[async_trait]
pub trait Provider: Send + Sync + 'static {
    /// "offline" or "anthropic"
    fn name(&self) -> &'static str;
    fn model(&self) -> &str;
    /// Whether the usage it reports is the model's own token count (worth calibrating token
    /// estimates against), rather than an estimate.
    fn counts_tokens(&self) -> bool {
        true
    }
    /// One model round: streams text deltas and complete tool_use blocks, then Usage, then Stop.
    /// The request is borrowed: the tool loop keeps it and extends it between rounds, and the
    /// stream holds nothing of it.
    async fn stream(&self, request: &LlmRequest) -> Result<LlmStream, LlmError>;
}

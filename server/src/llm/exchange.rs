//! A turn's tool exchange as it is stored on the assistant message (`messages.tool_calls`,
//! `messages.tool_results`) and sent back to the model with the conversation's history.
//!
//! Promises: a record serializes to the stored JSON and back unchanged; `tokens` is absent
//! until the turn is stored (counted once then, never again).
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::ContentBlock;

/// A tool call as stored on the assistant message (`messages.tool_calls`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ToolCallRecord {
    pub id: String,
    pub name: String,
    pub input: Value,
    pub round: u32,
    /// Tokens of the tool_use block, counted once when the turn is stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens: Option<u32>,
}

impl ToolCallRecord {
    /// The tool_use block the model sent.
    pub fn block(&self) -> ContentBlock {
        ContentBlock::ToolUse {
            id: self.id.clone(),
            name: self.name.clone(),
            input: self.input.clone(),
        }
    }
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
    /// Tokens of the tool_result block, counted once when the turn is stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens: Option<u32>,
    /// The picture of the result shown on its card (see [`crate::visuals`]), stored so that
    /// a reloaded conversation shows it without running the tool again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visual: Option<String>,
}

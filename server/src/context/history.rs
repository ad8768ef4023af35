//! Rebuilds the model's messages from a conversation's stored history, with the token counts
//! stored with each message and each tool call and result (never counted again).
//!
//! Promises: an assistant message that used tools comes back as the exchange the model had:
//! per round, the tool_use blocks, then a user message with their tool_results (a call without
//! a stored result gets an error result saying it was not run), then the answer's text; the
//! result starts with a user message and roles alternate (two user messages in a row — a turn
//! whose answer was never stored — are merged; an assistant message with no text says so), so
//! that any stored history is a valid request. Building the whole history at once
//! ([`to_context`]) and message by message ([`push_stored`]) give the same result.
use serde_json::Value;

use super::compress::{block_tokens, Counted};
use super::tokens;
use crate::llm::{ContentBlock, Message, Role};
use crate::llm::{ToolCallRecord, ToolResultRecord};
use crate::store::{Message as StoredMessage, Role as StoredRole};

const NO_ANSWER: &str = "(no answer was given)";
const NOT_RUN: &str = "This tool call was not run.";

/// The stored messages as model messages with their tokens, oldest first, ready for the new
/// user message.
pub fn to_context(stored: &[StoredMessage]) -> Vec<Counted> {
    let mut out: Vec<Counted> = Vec::with_capacity(stored.len());
    for m in stored {
        push_stored(&mut out, m);
    }
    out
}

/// Appends one stored message.
pub fn push_stored(out: &mut Vec<Counted>, m: &StoredMessage) {
    let role = match m.role {
        StoredRole::User => Role::User,
        StoredRole::Assistant => Role::Assistant,
    };
    let mut text_tokens = m.token_count.max(0) as u32;
    if role == Role::Assistant {
        text_tokens = text_tokens.saturating_sub(push_tool_rounds(out, m));
    }
    if m.content.trim().is_empty() {
        if role == Role::Assistant {
            push_text(out, role, NO_ANSWER.to_string(), 6);
        }
    } else {
        push_text(out, role, m.content.clone(), text_tokens);
    }
    // The conversation must not open with the assistant.
    if out
        .first()
        .is_some_and(|c| c.message.role == Role::Assistant)
    {
        out.clear();
        return;
    }
    if let Some(last) = out.last_mut() {
        last.seq = Some(m.seq);
    }
}

/// The tool rounds of an assistant message; the tokens they carry.
fn push_tool_rounds(out: &mut Vec<Counted>, m: &StoredMessage) -> u32 {
    let calls: Vec<ToolCallRecord> = records(&m.tool_calls);
    if calls.is_empty() {
        return 0;
    }
    let results: Vec<ToolResultRecord> = records(&m.tool_results);
    let count = |s: &str| tokens::count(s);
    let mut carried = 0;
    let mut rounds: Vec<u32> = calls.iter().map(|c| c.round).collect();
    rounds.dedup();
    for round in rounds {
        let (mut uses, mut answers) = (Vec::new(), Vec::new());
        let (mut use_tokens, mut result_tokens) = (0, 0);
        for call in calls.iter().filter(|c| c.round == round) {
            let block = call.block();
            let stored = call.tokens.filter(|t| *t > 0);
            use_tokens += stored.unwrap_or_else(|| block_tokens(&block, &count));
            uses.push(block);
            let result = results.iter().find(|r| r.tool_use_id == call.id);
            let block = ContentBlock::ToolResult {
                tool_use_id: call.id.clone(),
                content: result.map_or(NOT_RUN.to_string(), |r| r.content.clone()),
                structured: None,
                is_error: result.is_none_or(|r| !r.ok),
            };
            let stored = result.and_then(|r| r.tokens).filter(|t| *t > 0);
            result_tokens += stored.unwrap_or_else(|| block_tokens(&block, &count));
            answers.push(block);
        }
        push_blocks(out, Role::Assistant, uses, use_tokens);
        push_blocks(out, Role::User, answers, result_tokens);
        carried += use_tokens + result_tokens;
    }
    carried
}

fn records<T: serde::de::DeserializeOwned>(value: &Value) -> Vec<T> {
    use serde::Deserialize;
    match value.as_array() {
        Some(items) if !items.is_empty() => Vec::<T>::deserialize(value).unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// Appends text as `role`, merging it into the last message when that has the same role.
pub fn push_text(messages: &mut Vec<Counted>, role: Role, text: String, tokens: u32) {
    push_blocks(messages, role, vec![ContentBlock::Text { text }], tokens);
}

fn push_blocks(messages: &mut Vec<Counted>, role: Role, blocks: Vec<ContentBlock>, tokens: u32) {
    if let Some(last) = messages.last_mut() {
        if last.message.role == role {
            last.message.content.extend(blocks);
            last.tokens += tokens;
            return;
        }
    }
    messages.push(Counted {
        message: Message {
            role,
            content: blocks,
        },
        tokens,
        seq: None,
    });
}

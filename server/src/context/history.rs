//! Rebuilds the model's messages from a conversation's stored history, with the token counts
//! stored with each message (never counted again).
//!
//! Promises: the result starts with a user message and roles alternate (two user messages in a
//! row — a turn whose answer was never stored — are merged; an assistant message with no text
//! says so), so that any stored history is a valid request.
use super::compress::Counted;
use crate::llm::{ContentBlock, Message, Role};
use crate::store::{Message as StoredMessage, Role as StoredRole};

const NO_ANSWER: &str = "(no answer was given)";

/// The stored messages as model messages with their tokens, oldest first, ready for the new
/// user message.
pub fn to_context(stored: &[StoredMessage]) -> Vec<Counted> {
    let mut out: Vec<Counted> = Vec::with_capacity(stored.len());
    for m in stored {
        let role = match m.role {
            StoredRole::User => Role::User,
            StoredRole::Assistant => Role::Assistant,
        };
        let (text, tokens) = if m.content.trim().is_empty() {
            match role {
                Role::Assistant => (NO_ANSWER.to_string(), 6),
                Role::User => continue,
            }
        } else {
            (m.content.clone(), m.token_count.max(0) as u32)
        };
        push_text(&mut out, role, text, tokens);
        if let Some(last) = out.last_mut() {
            last.seq = Some(m.seq);
        }
    }
    // The conversation must not open with the assistant.
    while out
        .first()
        .is_some_and(|m| m.message.role == Role::Assistant)
    {
        out.remove(0);
    }
    out
}

/// Appends text as `role`, merging it into the last message when that has the same role.
pub fn push_text(messages: &mut Vec<Counted>, role: Role, text: String, tokens: u32) {
    if let Some(last) = messages.last_mut() {
        if last.message.role == role {
            last.message.content.push(ContentBlock::Text { text });
            last.tokens += tokens;
            return;
        }
    }
    messages.push(Counted {
        message: Message {
            role,
            content: vec![ContentBlock::Text { text }],
        },
        tokens,
        seq: None,
    });
}

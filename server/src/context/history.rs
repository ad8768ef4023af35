//! Rebuilds the model's messages from a conversation's stored history.
//!
//! Promises: the result starts with a user message and roles alternate (two user messages in a
//! row — a turn whose answer was never stored — are merged; an assistant message with no text
//! says so), so that any stored history is a valid request.
use crate::llm::{ContentBlock, Message, Role};
use crate::store::{Message as StoredMessage, Role as StoredRole};

/// The stored messages as model messages, oldest first, ready for the new user message.
pub fn to_model_messages(stored: &[StoredMessage]) -> Vec<Message> {
    let mut out: Vec<Message> = Vec::with_capacity(stored.len());
    for m in stored {
        let role = match m.role {
            StoredRole::User => Role::User,
            StoredRole::Assistant => Role::Assistant,
        };
        let text = if m.content.trim().is_empty() {
            match role {
                Role::Assistant => "(no answer was given)".to_string(),
                Role::User => continue,
            }
        } else {
            m.content.clone()
        };
        push_text(&mut out, role, text);
    }
    // The conversation must not open with the assistant.
    while out.first().is_some_and(|m| m.role == Role::Assistant) {
        out.remove(0);
    }
    out
}

/// Appends text as `role`, merging it into the last message when that has the same role.
pub fn push_text(messages: &mut Vec<Message>, role: Role, text: String) {
    if let Some(last) = messages.last_mut() {
        if last.role == role {
            last.content.push(ContentBlock::Text { text });
            return;
        }
    }
    messages.push(Message {
        role,
        content: vec![ContentBlock::Text { text }],
    });
}

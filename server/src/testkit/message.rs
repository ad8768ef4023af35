//! A stored message as the store returns it, for tests and benchmarks that build histories
//! without a database.
use uuid::Uuid;

use crate::store::{Message, MessageStatus, Role};

/// Message `seq` of a conversation: complete, no tool calls, `content` counted as
/// `token_count` tokens, following message `parent_seq`.
pub fn stored(seq: i64, parent_seq: Option<i64>, role: Role, content: &str) -> Message {
    Message {
        id: Uuid::new_v4(),
        conversation_id: Uuid::nil(),
        seq,
        role,
        content: content.to_string(),
        token_count: 1,
        tool_calls: serde_json::json!([]),
        tool_results: serde_json::json!([]),
        status: MessageStatus::Complete,
        error_code: None,
        model: None,
        input_tokens: None,
        output_tokens: None,
        started_at: chrono::Utc::now(),
        first_token_ms: None,
        duration_ms: None,
        created_at: chrono::Utc::now(),
        parent_seq,
    }
}

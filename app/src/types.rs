//! The types that cross the wire: the chat request, the chat event stream (`text/event-stream`
//! from `POST /api/chat`), and the conversation views the UI renders. The server produces
//! exactly these values and the browser parses exactly these values, so the two cannot drift.
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

/// Longest message a user may send, in characters (DESIGN.md: 1 to 8,000).
pub const MAX_MESSAGE_CHARS: usize = 8_000;

/// Body of `POST /api/chat`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ChatRequest {
    pub message: String,
    #[serde(default)]
    pub conversation_id: Option<Uuid>,
}

/// A user message that passed validation: trimmed, 1 to [`MAX_MESSAGE_CHARS`] characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserMessage(String);

impl UserMessage {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let trimmed = raw.trim();
        let chars = trimmed.chars().count();
        if chars == 0 {
            return Err("The message is empty: write a question about FPL.".into());
        }
        if chars > MAX_MESSAGE_CHARS {
            return Err(format!(
                "The message is {chars} characters long; the limit is {MAX_MESSAGE_CHARS}."
            ));
        }
        Ok(Self(trimmed.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// Error codes of the `error` event and of JSON error bodies.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    RateLimited,
    UpstreamOverloaded,
    UpstreamError,
    ToolDepthExceeded,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    /// A cross-site request to change state (403).
    Forbidden,
    Internal,
}

/// One event of the chat stream. The SSE `event:` line is [`ChatEvent::name`], the `data:` line
/// is the JSON of the fields (see DESIGN.md, "HTTP endpoints").
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "event", content = "data", rename_all = "snake_case")]
pub enum ChatEvent {
    Meta {
        conversation_id: Uuid,
        message_id: Uuid,
    },
    Text {
        delta: String,
    },
    ToolCall {
        id: String,
        name: String,
        input: Value,
    },
    ToolResult {
        id: String,
        name: String,
        ok: bool,
        duration_ms: u64,
    },
    Context {
        tokens: u64,
        limit: u64,
        compressed: bool,
    },
    Usage {
        input_tokens: u64,
        output_tokens: u64,
    },
    Error {
        code: ErrorCode,
        message: String,
    },
    Done {
        stop_reason: String,
    },
}

impl ChatEvent {
    /// The SSE event name.
    pub fn name(&self) -> &'static str {
        match self {
            ChatEvent::Meta { .. } => "meta",
            ChatEvent::Text { .. } => "text",
            ChatEvent::ToolCall { .. } => "tool_call",
            ChatEvent::ToolResult { .. } => "tool_result",
            ChatEvent::Context { .. } => "context",
            ChatEvent::Usage { .. } => "usage",
            ChatEvent::Error { .. } => "error",
            ChatEvent::Done { .. } => "done",
        }
    }

    /// The SSE data: the event's fields as one JSON object.
    pub fn data(&self) -> String {
        let tagged = serde_json::to_value(self).unwrap_or(Value::Null);
        tagged
            .get("data")
            .map(Value::to_string)
            .unwrap_or_else(|| "{}".into())
    }

    /// Parses one SSE event (name and data) back into a `ChatEvent`.
    pub fn from_sse(name: &str, data: &str) -> Result<Self, serde_json::Error> {
        let data: Value = serde_json::from_str(data)?;
        serde_json::from_value(serde_json::json!({ "event": name, "data": data }))
    }
}

/// Incremental parser for a `text/event-stream` body: feed it bytes as they arrive, get
/// complete events back. Lines may be split anywhere between chunks.
#[derive(Debug, Default)]
pub struct SseParser {
    buffer: String,
    pending: Vec<u8>,
}

impl SseParser {
    pub fn push(&mut self, bytes: &[u8]) -> Vec<(String, String)> {
        self.pending.extend_from_slice(bytes);
        // Only decode up to the last complete UTF-8 sequence.
        let valid = match std::str::from_utf8(&self.pending) {
            Ok(s) => s.len(),
            Err(e) => e.valid_up_to(),
        };
        let text = String::from_utf8_lossy(&self.pending[..valid]).into_owned();
        self.pending.drain(..valid);
        self.buffer.push_str(&text.replace("\r\n", "\n"));
        let mut events = Vec::new();
        while let Some(end) = self.buffer.find("\n\n") {
            let block: String = self.buffer.drain(..end + 2).collect();
            let mut name = String::from("message");
            let mut data = Vec::new();
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("event:") {
                    name = v.trim().to_string();
                } else if let Some(v) = line.strip_prefix("data:") {
                    data.push(v.strip_prefix(' ').unwrap_or(v).to_string());
                }
            }
            if !data.is_empty() {
                events.push((name, data.join("\n")));
            }
        }
        events
    }
}

/// Account tier; decides the rate limit.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    Anonymous,
    Default,
    Premium,
}

/// The signed-in user's account, as the page shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AccountView {
    pub email: String,
    pub tier: Tier,
}

/// A conversation in the sidebar list.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ConversationSummary {
    pub id: Uuid,
    pub title: String,
    pub updated_at: chrono::DateTime<chrono::Utc>,
    pub message_count: i64,
}

/// One tool call shown as a card.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ToolCallView {
    pub id: String,
    pub name: String,
    pub input: Value,
    /// None while running; Some(true) done; Some(false) failed.
    pub ok: Option<bool>,
    pub duration_ms: Option<u64>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum MessageStatus {
    Complete,
    Interrupted,
    Error,
}

/// One message of a conversation as the page shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MessageView {
    pub id: Uuid,
    pub role: String,
    pub content: String,
    pub tools: Vec<ToolCallView>,
    pub status: MessageStatus,
    pub error: Option<String>,
}

/// A whole conversation page.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ConversationView {
    pub id: Uuid,
    pub title: String,
    pub messages: Vec<MessageView>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip_through_sse() {
        let events = vec![
            ChatEvent::Meta {
                conversation_id: Uuid::new_v4(),
                message_id: Uuid::new_v4(),
            },
            ChatEvent::Text {
                delta: "Haaland: £14.5m\n\n".into(),
            },
            ChatEvent::ToolResult {
                id: "t1".into(),
                name: "fpl_player_data".into(),
                ok: true,
                duration_ms: 3,
            },
            ChatEvent::Error {
                code: ErrorCode::UpstreamOverloaded,
                message: "busy".into(),
            },
            ChatEvent::Done {
                stop_reason: "end_turn".into(),
            },
        ];
        let mut wire = String::new();
        for e in &events {
            wire.push_str(&format!("event: {}\ndata: {}\n\n", e.name(), e.data()));
        }
        // Feed the bytes in awkward pieces, splitting a multi-byte '£'.
        let bytes = wire.as_bytes();
        let mut parser = SseParser::default();
        let mut parsed = Vec::new();
        for chunk in bytes.chunks(7) {
            for (name, data) in parser.push(chunk) {
                parsed.push(ChatEvent::from_sse(&name, &data).unwrap());
            }
        }
        assert_eq!(parsed, events);
    }

    #[test]
    fn data_is_the_bare_fields() {
        let e = ChatEvent::Usage {
            input_tokens: 10,
            output_tokens: 2,
        };
        assert_eq!(e.data(), r#"{"input_tokens":10,"output_tokens":2}"#);
    }

    #[test]
    fn messages_are_validated() {
        assert!(UserMessage::parse("   ").is_err());
        assert!(UserMessage::parse(&"x".repeat(MAX_MESSAGE_CHARS + 1)).is_err());
        assert_eq!(UserMessage::parse(" hi ").unwrap().as_str(), "hi");
        assert!(UserMessage::parse(&"é".repeat(MAX_MESSAGE_CHARS)).is_ok());
    }
}

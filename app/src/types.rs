//! The types that cross the wire: the chat request, the chat event stream (`text/event-stream`
//! from `POST /api/chat`), and the conversation views the UI renders. The server produces
//! exactly these values and the browser parses exactly these values, so the two cannot drift.
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

/// Longest message a user may send, in characters (docs/contract.md: 1 to 8,000).
pub const MAX_MESSAGE_CHARS: usize = 8_000;

/// Body of `POST /api/chat`: a question (`message`), an edited question (`message` and `edit`,
/// the id of the question it replaces) or a new answer to a question (`regenerate`, its id).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ChatRequest {
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub conversation_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edit: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regenerate: Option<Uuid>,
}

/// What a turn asks: parsed once, from a [`ChatRequest`] or the composer's form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ask {
    /// A question after the branch shown.
    Question(UserMessage),
    /// A new version of question `of`: the conversation continues from it, and what followed
    /// `of` stays as an earlier branch.
    Edit { of: Uuid, text: UserMessage },
    /// A new version of the answer to question `of`.
    Regenerate { of: Uuid },
}

impl Ask {
    /// From the request's fields: `edit` and `regenerate` are exclusive, and both need the
    /// conversation; a regenerated answer takes no message.
    pub fn parse(
        message: &str,
        conversation: Option<Uuid>,
        edit: Option<Uuid>,
        regenerate: Option<Uuid>,
    ) -> Result<Self, MessageError> {
        if (edit.is_some() || regenerate.is_some()) && conversation.is_none() {
            return Err(MessageError::Invalid(
                "edit and regenerate need conversation_id",
            ));
        }
        match (edit, regenerate) {
            (Some(_), Some(_)) => Err(MessageError::Invalid("send edit or regenerate, not both")),
            (None, Some(_)) if !message.trim().is_empty() => Err(MessageError::Invalid(
                "regenerate answers the stored question: send no message",
            )),
            (None, Some(of)) => Ok(Ask::Regenerate { of }),
            (Some(of), None) => Ok(Ask::Edit {
                of,
                text: UserMessage::parse(message)?,
            }),
            (None, None) => Ok(Ask::Question(UserMessage::parse(message)?)),
        }
    }
}

impl ChatRequest {
    pub fn ask(&self) -> Result<Ask, MessageError> {
        Ask::parse(
            &self.message,
            self.conversation_id,
            self.edit,
            self.regenerate,
        )
    }
}

/// A user message that passed validation: trimmed, 1 to [`MAX_MESSAGE_CHARS`] characters.
/// Parsed once, where a message enters (the chat endpoint, the form's server function).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserMessage(String);

/// Why a message was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageError {
    /// Nothing but whitespace.
    Empty,
    /// Over [`MAX_MESSAGE_CHARS`] characters (after trimming).
    TooLong { chars: usize },
    /// The request's fields do not go together (why).
    Invalid(&'static str),
}

impl MessageError {
    /// `invalid_input` or `payload_too_large`.
    pub fn code(&self) -> ErrorCode {
        match self {
            MessageError::Empty | MessageError::Invalid(_) => ErrorCode::InvalidInput,
            MessageError::TooLong { .. } => ErrorCode::PayloadTooLarge,
        }
    }

    /// The HTTP status of the refusal, wherever the message arrived: 400 or 413.
    pub fn status(&self) -> u16 {
        match self {
            MessageError::Empty | MessageError::Invalid(_) => 400,
            MessageError::TooLong { .. } => 413,
        }
    }
}

impl std::fmt::Display for MessageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MessageError::Empty => f.write_str("The message is empty: write a question about FPL."),
            MessageError::TooLong { chars } => write!(
                f,
                "The message is {chars} characters long; the limit is {MAX_MESSAGE_CHARS}."
            ),
            MessageError::Invalid(why) => write!(f, "Invalid request: {why}."),
        }
    }
}

impl std::error::Error for MessageError {}

impl UserMessage {
    pub fn parse(raw: &str) -> Result<Self, MessageError> {
        let trimmed = raw.trim();
        // Counting stops past the limit: a huge message costs no more than a maximal one.
        let chars = trimmed.chars().take(MAX_MESSAGE_CHARS + 1).count();
        if chars == 0 {
            return Err(MessageError::Empty);
        }
        if chars > MAX_MESSAGE_CHARS {
            return Err(MessageError::TooLong {
                chars: trimmed.chars().count(),
            });
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
    /// The server stopped (a deploy, a restart) before the answer was finished; what was
    /// written of it is stored as interrupted.
    ShuttingDown,
}

impl ErrorCode {
    /// The snake_case name, as in JSON and in the store's `error_code` column.
    pub fn as_str(&self) -> &'static str {
        match self {
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::UpstreamOverloaded => "upstream_overloaded",
            ErrorCode::UpstreamError => "upstream_error",
            ErrorCode::ToolDepthExceeded => "tool_depth_exceeded",
            ErrorCode::InvalidInput => "invalid_input",
            ErrorCode::NotFound => "not_found",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::Internal => "internal",
            ErrorCode::ShuttingDown => "shutting_down",
        }
    }
}

/// One event of the chat stream. The SSE `event:` line is [`ChatEvent::name`], the `data:` line
/// is the JSON of the fields (docs/contract.md, "The chat event stream").
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "event", content = "data", rename_all = "snake_case")]
pub enum ChatEvent {
    Meta {
        conversation_id: Uuid,
        /// The answer's id.
        message_id: Uuid,
        /// The question's id (a regenerated answer's is the stored question's).
        question_id: Uuid,
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
        /// The tool's answer as the model read it (shown one click away on the card).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        text: Option<String>,
        /// A server-rendered picture of the result (sanitised SVG / HTML), when the tool
        /// has one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        visual: Option<String>,
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

/// Who owns a conversation and asks the questions: a signed-up user or an anonymous (cookie)
/// identity. Serialized as `{"kind": "user" | "anonymous", "id": …}`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(tag = "kind", content = "id", rename_all = "lowercase")]
pub enum Owner {
    /// A row of `users`.
    User(Uuid),
    /// A row of `anonymous_identities`.
    Anonymous(Uuid),
}

impl Owner {
    /// The owner's id, whichever kind it is.
    pub fn id(&self) -> Uuid {
        match self {
            Owner::User(id) | Owner::Anonymous(id) => *id,
        }
    }
}

/// Account tier; decides the rate limit. Users are `Default` or `Premium`; `Anonymous` is for
/// identities without an account and is never stored on a user.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    /// No account.
    Anonymous,
    /// A signed-up user.
    Default,
    /// A user upgraded by an operator (`fpl-chat user set-tier`).
    Premium,
}

impl Tier {
    /// The lowercase name: as stored, in metrics labels, and as [`FromStr`] accepts it.
    pub fn as_str(&self) -> &'static str {
        match self {
            Tier::Anonymous => "anonymous",
            Tier::Default => "default",
            Tier::Premium => "premium",
        }
    }
}

impl std::fmt::Display for Tier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Tier {
    type Err = String;

    /// Case-insensitive, surrounding whitespace ignored.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "anonymous" => Ok(Tier::Anonymous),
            "default" => Ok(Tier::Default),
            "premium" => Ok(Tier::Premium),
            other => Err(format!(
                "unknown tier `{other}`: expected anonymous, default or premium"
            )),
        }
    }
}

/// How the store reads the `tier` column.
impl TryFrom<String> for Tier {
    type Error = String;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

/// The signed-in user's account, as the page shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AccountView {
    pub email: String,
    pub tier: Tier,
}

/// A conversation in the sidebar list (one row of the store's list query).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct ConversationSummary {
    pub id: Uuid,
    /// Shown in the list.
    pub title: String,
    /// Last activity; the list is ordered by it, newest first.
    pub updated_at: chrono::DateTime<chrono::Utc>,
    /// Messages counted by finished turns (0 before the first).
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
    /// The tool's answer as text, once known.
    #[serde(default)]
    pub text: Option<String>,
    /// The server-rendered picture of the result (trusted markup made by the server from
    /// escaped data; see the server's `visuals`).
    #[serde(default)]
    pub visual: Option<String>,
}

/// How a message ended.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum MessageStatus {
    /// Fully written.
    Complete,
    /// The client went away or the turn was cancelled; the content is the partial answer.
    Interrupted,
    /// The turn failed; the stored `error_code` says why.
    Error,
}

impl MessageStatus {
    /// The stored name.
    pub fn as_str(&self) -> &'static str {
        match self {
            MessageStatus::Complete => "complete",
            MessageStatus::Interrupted => "interrupted",
            MessageStatus::Error => "error",
        }
    }
}

/// How the store reads the `status` column.
impl TryFrom<String> for MessageStatus {
    type Error = String;

    fn try_from(s: String) -> Result<Self, String> {
        match s.as_str() {
            "complete" => Ok(MessageStatus::Complete),
            "interrupted" => Ok(MessageStatus::Interrupted),
            "error" => Ok(MessageStatus::Error),
            other => Err(format!("unknown message status `{other}`")),
        }
    }
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
    /// Its place among its versions (regenerated answers, edited questions); `None` when it
    /// has none.
    pub versions: Option<Versions>,
}

/// Where a message stands among its versions: the messages that follow the same message with
/// the same role, oldest first (the store computes it: `store::thread`).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct Versions {
    /// 1-based.
    pub number: u32,
    pub count: u32,
    /// The version before this one, and after it (what "‹" and "›" show).
    pub previous: Option<Uuid>,
    pub next: Option<Uuid>,
}

/// One conversation found by a search (the store returns it as is: `store::SearchHit`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SearchHitView {
    pub id: Uuid,
    pub title: String,
    pub updated_at: chrono::DateTime<chrono::Utc>,
    /// Plain text around the words in its newest matching message; `None` for a title match.
    pub snippet: Option<String>,
}

/// A conversation's read-only share link.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ShareView {
    /// The path of the shared page: `/s/{token}`.
    pub path: String,
    /// Messages the link shows (those written after it was made are not shown until it is
    /// updated).
    pub messages: i64,
}

/// A whole conversation page.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ConversationView {
    pub id: Uuid,
    pub title: String,
    pub messages: Vec<MessageView>,
    /// The answer being written now (its message id), to follow from
    /// `GET /api/chat/{id}/stream`; none on shared pages.
    #[serde(default)]
    pub answering: Option<Uuid>,
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
                question_id: Uuid::new_v4(),
            },
            ChatEvent::Text {
                delta: "Haaland: £14.5m\n\n".into(),
            },
            ChatEvent::ToolResult {
                id: "t1".into(),
                name: "fpl_player_data".into(),
                ok: true,
                duration_ms: 3,
                text: Some("Haaland £14.5m".into()),
                visual: Some("<figure class=\"viz\"></figure>".into()),
            },
            ChatEvent::ToolResult {
                id: "t2".into(),
                name: "fpl_get_gameweek".into(),
                ok: false,
                duration_ms: 0,
                text: None,
                visual: None,
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
    fn error_code_names_are_their_json() {
        for code in [
            ErrorCode::RateLimited,
            ErrorCode::UpstreamOverloaded,
            ErrorCode::UpstreamError,
            ErrorCode::ToolDepthExceeded,
            ErrorCode::InvalidInput,
            ErrorCode::NotFound,
            ErrorCode::PayloadTooLarge,
            ErrorCode::Forbidden,
            ErrorCode::Internal,
            ErrorCode::ShuttingDown,
        ] {
            assert_eq!(serde_json::to_value(code).unwrap(), code.as_str());
        }
    }

    #[test]
    fn messages_are_validated() {
        assert_eq!(UserMessage::parse("   "), Err(MessageError::Empty));
        let long = UserMessage::parse(&"x".repeat(MAX_MESSAGE_CHARS + 1)).unwrap_err();
        assert_eq!(long.code(), ErrorCode::PayloadTooLarge);
        assert!(long.to_string().contains("8001"), "{long}");
        assert_eq!(UserMessage::parse(" hi ").unwrap().as_str(), "hi");
        assert!(UserMessage::parse(&"é".repeat(MAX_MESSAGE_CHARS)).is_ok());
    }
}

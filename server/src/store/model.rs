//! Domain types of the store: what goes in and what comes out.
//!
//! Promises: input is validated here, at the edge, before any SQL runs — an [`Email`] is always
//! trimmed, lowercased and plausible; a [`Title`] is always one line of 1 to
//! [`Title::MAX_CHARS`] characters; a [`NewMessage`] is checked by [`NewMessage::validate`]
//! (JSON arrays, non-negative counts). Output types are plain data with serde support; the
//! password hash never appears in `Debug` output. Timestamps are UTC with microsecond precision,
//! which both backends store exactly.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

pub use app::types::{ConversationSummary, MessageStatus, Owner, Tier};

use crate::store::error::StoreError;

/// The current time, truncated to microseconds (the precision of PostgreSQL `timestamptz`), so
/// that a value read back equals the value written on both backends.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// A normalized email address: trimmed, lowercased, one `@` with a non-empty local part and
/// domain, no whitespace or control characters, at most 254 characters.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    /// Longest address accepted (RFC 5321 path limit).
    pub const MAX_CHARS: usize = 254;

    /// Validates and normalizes an address typed by a person.
    pub fn parse(raw: &str) -> Result<Self, StoreError> {
        let email = raw.trim().to_lowercase();
        let invalid = |why: &str| Err(StoreError::Invalid(format!("email address {why}")));
        if email.is_empty() {
            return invalid("is empty");
        }
        if email.chars().count() > Self::MAX_CHARS {
            return invalid("is too long");
        }
        if email.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return invalid("contains whitespace");
        }
        let Some((local, domain)) = email.split_once('@') else {
            return invalid("has no @");
        };
        if local.is_empty() || domain.is_empty() || domain.contains('@') {
            return invalid("must look like name@domain");
        }
        if domain.starts_with('.') || domain.ends_with('.') || domain.contains("..") {
            return invalid("has a malformed domain");
        }
        Ok(Email(email))
    }

    /// The normalized address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Email {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Email::parse(s)
    }
}

impl TryFrom<String> for Email {
    type Error = StoreError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        Email::parse(&s)
    }
}

impl From<Email> for String {
    fn from(email: Email) -> Self {
        email.0
    }
}

/// A conversation title: one line (control characters and runs of whitespace become a single
/// space), trimmed, cut to at most [`Title::MAX_CHARS`] characters, never empty.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Title(String);

impl Title {
    /// Longest title kept, in characters (Unicode scalar values).
    pub const MAX_CHARS: usize = 120;

    /// Normalizes `raw` into a title; fails only when nothing printable is left.
    pub fn parse(raw: &str) -> Result<Self, StoreError> {
        let mut title = String::with_capacity(raw.len().min(Self::MAX_CHARS * 4));
        let mut chars = 0;
        for word in raw
            .split(|c: char| c.is_whitespace() || c.is_control())
            .filter(|w| !w.is_empty())
        {
            if chars > 0 {
                if chars + 1 >= Self::MAX_CHARS {
                    break;
                }
                title.push(' ');
                chars += 1;
            }
            for c in word.chars() {
                if chars == Self::MAX_CHARS {
                    break;
                }
                title.push(c);
                chars += 1;
            }
            if chars == Self::MAX_CHARS {
                break;
            }
        }
        if title.is_empty() {
            return Err(StoreError::Invalid("title is empty".into()));
        }
        Ok(Title(title))
    }

    /// A conversation's first title: its first question, on one line, shortened at a word
    /// to about 60 characters ("New chat" when nothing printable is left).
    pub fn from_question(question: &str) -> Self {
        let line = question.split_whitespace().collect::<Vec<_>>().join(" ");
        let line = if line.chars().count() <= 60 {
            line
        } else {
            let cut: String = line.chars().take(60).collect();
            let cut = cut.rsplit_once(' ').map(|(head, _)| head).unwrap_or(&cut);
            format!("{}…", cut.trim_end_matches([',', '.', ';', ':']))
        };
        Title::parse(&line).unwrap_or_else(|_| Title("New chat".to_string()))
    }

    /// The normalized title.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Title {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Title {
    type Error = StoreError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        Title::parse(&s)
    }
}

impl From<Title> for String {
    fn from(title: Title) -> Self {
        title.0
    }
}

/// Who wrote a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The person.
    User,
    /// The model.
    Assistant,
}

impl Role {
    /// The stored name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }
}

impl TryFrom<String> for Role {
    type Error = StoreError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        match s.as_str() {
            "user" => Ok(Role::User),
            "assistant" => Ok(Role::Assistant),
            other => Err(StoreError::Corrupt(format!(
                "unknown message role `{other}`"
            ))),
        }
    }
}

/// A signed-up user.
#[derive(Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct User {
    /// Primary key.
    pub id: Uuid,
    /// Normalized address, unique.
    #[sqlx(try_from = "String")]
    pub email: Email,
    /// The password hash as produced by the app (e.g. an argon2 PHC string).
    pub password_hash: String,
    /// `Default` or `Premium`.
    #[sqlx(try_from = "String")]
    pub tier: Tier,
    /// When the account was created.
    pub created_at: DateTime<Utc>,
}

impl fmt::Debug for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("email", &self.email)
            .field("password_hash", &"<redacted>")
            .field("tier", &self.tier)
            .field("created_at", &self.created_at)
            .finish()
    }
}

/// An anonymous (cookie) identity.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct AnonymousIdentity {
    /// Primary key (the id in the identity cookie).
    pub id: Uuid,
    /// First seen.
    pub created_at: DateTime<Utc>,
    /// Last [`Store::touch_anonymous`](crate::store::Store::touch_anonymous).
    pub last_seen_at: DateTime<Utc>,
    /// The user that signed up from this identity and took its conversations.
    pub claimed_by_user: Option<Uuid>,
}

/// A conversation with everything the chat needs to build its context.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Conversation {
    /// Primary key.
    pub id: Uuid,
    /// Whose it is.
    pub owner: Owner,
    /// Shown in the list.
    pub title: Title,
    /// Topics detected so far (player names, teams …).
    pub topics: Vec<String>,
    /// Summary of the messages up to `summarized_through_seq`, if the conversation was
    /// compressed.
    pub summary: Option<String>,
    /// Tokens of `summary`.
    pub summary_token_count: Option<i32>,
    /// The last message seq covered by `summary`.
    pub summarized_through_seq: Option<i64>,
    /// Seq of the newest message (0 before the first); changes with every message.
    pub last_seq: i64,
    /// Seq of the newest message of the branch the user sees (0 before the first): the branch
    /// is this message and its ancestors (`store::thread`). Below `last_seq` when the user
    /// went back to an earlier version, or while a regenerated answer is written.
    pub leaf_seq: i64,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last message appended (or created, if none yet).
    pub updated_at: DateTime<Utc>,
}

/// A message to store. Build one with [`NewMessage::user`] or [`NewMessage::assistant`] and
/// set the remaining public fields.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewMessage {
    /// Primary key; new by default, set it when the id must be known before the message is
    /// stored (the chat's `meta` event announces the answer's id first).
    pub id: Uuid,
    /// Who wrote it.
    pub role: Role,
    /// The text.
    pub content: String,
    /// Tokens of `content` as counted by the context module.
    pub token_count: i32,
    /// JSON array of tool calls the assistant made.
    pub tool_calls: Value,
    /// JSON array of the results of those calls.
    pub tool_results: Value,
    /// How it ended.
    pub status: MessageStatus,
    /// Error code (`upstream_error`, …) when `status` is not `Complete`.
    pub error_code: Option<String>,
    /// Model that wrote an assistant message.
    pub model: Option<String>,
    /// Upstream-reported input tokens.
    pub input_tokens: Option<i32>,
    /// Upstream-reported output tokens.
    pub output_tokens: Option<i32>,
    /// When the message began (user: received; assistant: generation started).
    pub started_at: DateTime<Utc>,
    /// Time to first token, for assistant messages.
    pub first_token_ms: Option<i32>,
    /// Total generation time, for assistant messages; feeds the running average.
    pub duration_ms: Option<i32>,
    /// Seq of the message it follows (`None`: a first question). A question follows the
    /// message its context ended with; an answer follows its question.
    pub parent_seq: Option<i64>,
}

impl NewMessage {
    fn new(role: Role, content: impl Into<String>, token_count: i32) -> Self {
        NewMessage {
            id: Uuid::new_v4(),
            role,
            content: content.into(),
            token_count,
            tool_calls: Value::Array(Vec::new()),
            tool_results: Value::Array(Vec::new()),
            status: MessageStatus::Complete,
            error_code: None,
            model: None,
            input_tokens: None,
            output_tokens: None,
            started_at: now(),
            first_token_ms: None,
            duration_ms: None,
            parent_seq: None,
        }
    }

    /// A complete user message started now, with no tool calls.
    pub fn user(content: impl Into<String>, token_count: i32) -> Self {
        Self::new(Role::User, content, token_count)
    }

    /// A complete assistant message started now, with no tool calls; set the timing, model and
    /// tool fields as they become known.
    pub fn assistant(content: impl Into<String>, token_count: i32) -> Self {
        Self::new(Role::Assistant, content, token_count)
    }

    /// Number of tool calls (the length of the `tool_calls` array).
    pub fn tool_call_count(&self) -> usize {
        self.tool_calls.as_array().map_or(0, Vec::len)
    }

    /// Checks what the schema also checks, so that bad input fails with a clear message.
    pub fn validate(&self) -> Result<(), StoreError> {
        let invalid = |why: &str| Err(StoreError::Invalid(why.to_string()));
        if !self.tool_calls.is_array() {
            return invalid("tool_calls must be a JSON array");
        }
        if !self.tool_results.is_array() {
            return invalid("tool_results must be a JSON array");
        }
        if self.token_count < 0 {
            return invalid("token_count must not be negative");
        }
        if self.parent_seq.is_some_and(|p| p <= 0) {
            return invalid("parent_seq must be positive");
        }
        let optional = [
            ("input_tokens", self.input_tokens),
            ("output_tokens", self.output_tokens),
            ("first_token_ms", self.first_token_ms),
            ("duration_ms", self.duration_ms),
        ];
        if let Some((name, _)) = optional.iter().find(|(_, v)| v.is_some_and(|v| v < 0)) {
            return Err(StoreError::Invalid(format!("{name} must not be negative")));
        }
        Ok(())
    }
}

/// A stored message.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
pub struct Message {
    /// Primary key.
    pub id: Uuid,
    /// The conversation it belongs to.
    pub conversation_id: Uuid,
    /// Position in the conversation: 1, 2, 3 … without gaps or duplicates.
    pub seq: i64,
    /// Who wrote it.
    #[sqlx(try_from = "String")]
    pub role: Role,
    /// The text.
    pub content: String,
    /// Tokens of `content`.
    pub token_count: i32,
    /// JSON array of tool calls.
    #[sqlx(json)]
    pub tool_calls: Value,
    /// JSON array of tool results.
    #[sqlx(json)]
    pub tool_results: Value,
    /// How it ended.
    #[sqlx(try_from = "String")]
    pub status: MessageStatus,
    /// Error code for failed or interrupted messages.
    pub error_code: Option<String>,
    /// Model of an assistant message.
    pub model: Option<String>,
    /// Upstream-reported input tokens.
    pub input_tokens: Option<i32>,
    /// Upstream-reported output tokens.
    pub output_tokens: Option<i32>,
    /// When the message began.
    pub started_at: DateTime<Utc>,
    /// Time to first token.
    pub first_token_ms: Option<i32>,
    /// Total generation time.
    pub duration_ms: Option<i32>,
    /// When it was stored.
    pub created_at: DateTime<Utc>,
    /// Seq of the message it follows (`None`: a first question); versions of a message share
    /// it (`store::thread`).
    pub parent_seq: Option<i64>,
}

/// A summary of a conversation's messages through a seq, from the turn that folded them.
#[derive(Clone, Debug, PartialEq)]
pub struct SummaryUpdate {
    /// The running summary.
    pub text: String,
    /// Its tokens.
    pub token_count: i32,
    /// The newest message it covers.
    pub through_seq: i64,
    /// The stored summary covers another branch (the turn's context was built without it), so
    /// this one replaces it even when that one reaches a later seq.
    pub replaces_other_branch: bool,
}

/// The first write of a chat turn ([`Store::begin_turn`](crate::store::Store::begin_turn)):
/// its question, with what the turn changes in its conversation.
#[derive(Clone, Debug)]
pub struct TurnStart {
    /// The conversation (new or existing).
    pub conversation_id: Uuid,
    /// Who asks: the owner of a conversation the turn starts; an existing conversation of
    /// anyone else is not touched (`NotFound`).
    pub owner: Owner,
    /// Set when the turn starts the conversation: it is created with this title.
    pub new: Option<Title>,
    /// The user's message (its `parent_seq` is set here, from `after`).
    pub question: NewMessage,
    /// Where the question goes: `None`, after the leaf of the branch shown; `Some(seq)`, after
    /// message `seq` (an edited question: a new version of the question that followed it; 0,
    /// a new first question).
    pub after: Option<i64>,
    /// The conversation's topics, when the question changed them.
    pub topics: Option<Vec<String>>,
    /// A new title (kept only while the title is the app's, not one the user gave).
    pub title: Option<Title>,
    /// Older messages folded into the summary (kept unless a later summary is stored).
    pub summary: Option<SummaryUpdate>,
}

/// What [`Store::begin_turn`](crate::store::Store::begin_turn) stored.
#[derive(Clone, Debug, PartialEq)]
pub struct TurnStarted {
    /// The question as stored (with its seq).
    pub question: Message,
    /// The turn's summary was stored (`false`: none, or a later one was there).
    pub summary_stored: bool,
    /// The turn started the first conversation of an anonymous identity, which was stored
    /// for the first time (`anonymous_identities_created_total`).
    pub identity_created: bool,
}

/// Aggregates of a conversation, maintained by [`Store::finish_turn`](crate::store::Store::finish_turn).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
pub struct ConversationMetrics {
    /// The conversation.
    pub conversation_id: Uuid,
    /// Messages of finished turns (user + assistant).
    pub message_count: i64,
    /// Tool calls made by assistant messages.
    pub tool_call_count: i64,
    /// Sum of `token_count` over the counted messages.
    pub total_tokens: i64,
    /// Assistant messages that reported a `duration_ms`.
    pub timed_response_count: i64,
    /// Mean `duration_ms` over those messages (0 when there are none).
    pub avg_response_time_ms: f64,
    /// When the last turn finished.
    pub last_activity: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_titles_are_short_single_lines() {
        let title = Title::from_question("How is\nHaaland  doing?");
        assert_eq!(title.as_str(), "How is Haaland doing?");
        let long = Title::from_question(
            "Who has the easiest fixtures for the next five gameweeks among the teams in the top half?",
        );
        assert!(
            long.as_str().ends_with('…') && long.as_str().chars().count() <= 61,
            "{long}"
        );
        assert_eq!(Title::from_question("\u{7}").as_str(), "New chat");
    }

    #[test]
    fn email_is_trimmed_and_lowercased() {
        let email = Email::parse("  Alice.Smith@Example.COM ").unwrap();
        assert_eq!(email.as_str(), "alice.smith@example.com");
    }

    #[test]
    fn email_rejects_malformed_addresses() {
        for bad in [
            "",
            "   ",
            "no-at-sign",
            "@example.com",
            "alice@",
            "a@b@c",
            "al ice@example.com",
            "alice@.example.com",
            "alice@example..com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} was accepted");
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(Email::parse(&long).is_err());
    }

    #[test]
    fn title_is_one_trimmed_line() {
        let title = Title::parse("  Who\n is\tthe   best\u{7} captain?  ").unwrap();
        assert_eq!(title.as_str(), "Who is the best captain?");
        assert!(Title::parse(" \n\t ").is_err());
    }

    #[test]
    fn title_is_cut_to_120_characters_on_char_boundaries() {
        let title = Title::parse(&"é".repeat(300)).unwrap();
        assert_eq!(title.as_str().chars().count(), Title::MAX_CHARS);
        let words = Title::parse(&"word ".repeat(100)).unwrap();
        assert!(words.as_str().chars().count() <= Title::MAX_CHARS);
        assert!(!words.as_str().ends_with(' '));
        let exact = "x".repeat(Title::MAX_CHARS);
        assert_eq!(Title::parse(&exact).unwrap().as_str(), exact);
    }

    #[test]
    fn tier_parses_case_insensitively() {
        assert_eq!("Premium".parse::<Tier>().unwrap(), Tier::Premium);
        assert_eq!("default".parse::<Tier>().unwrap(), Tier::Default);
        assert!("gold".parse::<Tier>().is_err());
    }

    #[test]
    fn new_message_validation() {
        let mut m = NewMessage::assistant("hi", 1);
        assert!(m.validate().is_ok());
        m.tool_calls = serde_json::json!({"not": "an array"});
        assert!(m.validate().is_err());
        let mut m = NewMessage::user("hi", -1);
        assert!(m.validate().is_err());
        m.token_count = 1;
        m.duration_ms = Some(-5);
        assert!(m.validate().is_err());
    }

    #[test]
    fn user_debug_hides_the_password_hash() {
        let user = User {
            id: Uuid::nil(),
            email: Email::parse("a@b.c").unwrap(),
            password_hash: "$argon2id$secret".into(),
            tier: Tier::Default,
            created_at: now(),
        };
        let shown = format!("{user:?}");
        assert!(!shown.contains("secret"), "{shown}");
    }
}

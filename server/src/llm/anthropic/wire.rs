//! The Messages API on the wire: the request body we send and the stream events we read.
//!
//! Promises: the request marks the tools, the system prompt and the conversation so far as
//! cacheable (`cache_control`, three of the four breakpoints the API allows), never sends an
//! empty text block, and puts a user message's tool_result blocks first. Every stream event
//! type and content block type the API documents is read; unknown ones parse as `Unknown` /
//! `Other` and are skipped by the decoder, so a new API feature never breaks a turn.
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::llm::{ContentBlock, LlmRequest, Message, Role, StopReason};

/// The `anthropic-version` header.
pub const API_VERSION: &str = "2023-06-01";

/// The JSON body of a streaming `POST /v1/messages` but its messages, borrowing the request:
/// the part every request with the same tools and system prompt shares ([`preamble`]).
#[derive(Debug, Serialize)]
struct Preamble<'a> {
    model: &'a str,
    max_tokens: u32,
    stream: bool,
    system: [Block<'a>; 1],
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tools: Vec<WireTool<'a>>,
}

/// `{"type": "ephemeral"}`: a prompt-cache breakpoint.
#[derive(Debug, Clone, Copy, Serialize)]
struct Ephemeral {
    r#type: &'static str,
}

const EPHEMERAL: Ephemeral = Ephemeral {
    r#type: "ephemeral",
};

#[derive(Debug, Serialize)]
struct WireTool<'a> {
    name: &'a str,
    description: &'a str,
    input_schema: &'a Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    cache_control: Option<Ephemeral>,
}

#[derive(Debug, Serialize)]
struct WireMessage<'a> {
    role: &'static str,
    content: Vec<Block<'a>>,
}

#[derive(Debug, Serialize)]
struct Block<'a> {
    #[serde(flatten)]
    kind: BlockKind<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cache_control: Option<Ephemeral>,
}

#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum BlockKind<'a> {
    Text {
        text: &'a str,
    },
    ToolUse {
        id: &'a str,
        name: &'a str,
        input: &'a Value,
    },
    ToolResult {
        tool_use_id: &'a str,
        content: &'a str,
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        is_error: bool,
    },
}

impl<'a> From<BlockKind<'a>> for Block<'a> {
    fn from(kind: BlockKind<'a>) -> Self {
        Block {
            kind,
            cache_control: None,
        }
    }
}

/// The start of a streaming request's body for `model`: an object with the model, the answer's
/// limit, the system prompt and the tool definitions (most of the body), open for its
/// `"messages":` value, which [`messages_json`] completes. Serialized straight to bytes, without
/// an intermediate JSON tree.
pub fn preamble(model: &str, request: &LlmRequest) -> serde_json::Result<Vec<u8>> {
    let count = request.tools.len();
    let tools = request
        .tools
        .iter()
        .enumerate()
        .map(|(i, tool)| WireTool {
            name: &tool.name,
            description: &tool.description,
            input_schema: &tool.input_schema,
            cache_control: (i + 1 == count).then_some(EPHEMERAL),
        })
        .collect();
    let mut out = serde_json::to_vec(&Preamble {
        model,
        max_tokens: request.max_tokens,
        stream: true,
        system: [Block {
            kind: BlockKind::Text {
                text: &request.system,
            },
            cache_control: Some(EPHEMERAL),
        }],
        tools,
    })?;
    out.pop(); // the object's closing brace: the messages come first
    out.extend_from_slice(br#","messages":"#);
    Ok(out)
}

/// The rest of the body after [`preamble`]: the request's messages, and the closing brace.
pub fn messages_json(request: &LlmRequest) -> serde_json::Result<Vec<u8>> {
    let mut out = serde_json::to_vec(&messages(&request.messages))?;
    out.push(b'}');
    Ok(out)
}

fn messages(messages: &[Message]) -> Vec<WireMessage<'_>> {
    let mut out: Vec<WireMessage> = messages
        .iter()
        .map(|m| {
            let mut blocks: Vec<&ContentBlock> = m.content.iter().collect();
            // The API wants a user message's tool results before anything else in it.
            blocks.sort_by_key(|b| !matches!(b, ContentBlock::ToolResult { .. }));
            let mut content: Vec<Block> = blocks.into_iter().filter_map(block).collect();
            if content.is_empty() {
                content.push(BlockKind::Text { text: "(empty)" }.into());
            }
            WireMessage {
                role: match m.role {
                    Role::User => "user",
                    Role::Assistant => "assistant",
                },
                content,
            }
        })
        .collect();
    // The conversation so far is the cacheable prefix of the next round and the next turn.
    if let Some(last) = out.last_mut().and_then(|m| m.content.last_mut()) {
        last.cache_control = Some(EPHEMERAL);
    }
    out
}

fn block(block: &ContentBlock) -> Option<Block<'_>> {
    let kind = match block {
        ContentBlock::Text { text } if text.trim().is_empty() => return None,
        ContentBlock::Text { text } => BlockKind::Text { text },
        ContentBlock::ToolUse { id, name, input } => BlockKind::ToolUse { id, name, input },
        ContentBlock::ToolResult {
            tool_use_id,
            content,
            is_error,
            ..
        } => BlockKind::ToolResult {
            tool_use_id,
            content,
            is_error: *is_error,
        },
    };
    Some(kind.into())
}

/// One event of the response stream (the `data:` JSON; its `type` equals the `event:` name).
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StreamEvent {
    MessageStart {
        message: MessageStart,
    },
    ContentBlockStart {
        index: u32,
        content_block: BlockStart,
    },
    ContentBlockDelta {
        index: u32,
        delta: Delta,
    },
    ContentBlockStop {
        index: u32,
    },
    MessageDelta {
        delta: MessageDeltaBody,
        #[serde(default)]
        usage: Option<Usage>,
    },
    MessageStop,
    Ping,
    Error {
        error: ApiError,
    },
    #[serde(other)]
    Unknown,
}

#[derive(Debug, Deserialize)]
pub struct MessageStart {
    #[serde(default)]
    pub usage: Option<Usage>,
}

/// Token counts; message_start carries the input side, message_delta the running output count
/// (and, on newer API versions, the input side again).
#[derive(Debug, Default, Clone, Copy, Deserialize)]
pub struct Usage {
    #[serde(default)]
    pub input_tokens: Option<u64>,
    #[serde(default)]
    pub output_tokens: Option<u64>,
    #[serde(default)]
    pub cache_creation_input_tokens: Option<u64>,
    #[serde(default)]
    pub cache_read_input_tokens: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum BlockStart {
    Text {
        #[serde(default)]
        text: String,
    },
    ToolUse {
        id: String,
        name: String,
    },
    /// thinking, redacted_thinking, server_tool_use, … : not ours to show.
    #[serde(other)]
    Other,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Delta {
    #[serde(rename = "text_delta")]
    Text { text: String },
    #[serde(rename = "input_json_delta")]
    InputJson { partial_json: String },
    /// thinking_delta, signature_delta, citations_delta, … : skipped.
    #[serde(other)]
    Other,
}

#[derive(Debug, Deserialize)]
pub struct MessageDeltaBody {
    #[serde(default)]
    pub stop_reason: Option<String>,
}

/// The `error` object of an error event or an error response body. Only its type is read:
/// its message is the upstream's words, which are neither shown nor logged.
#[derive(Debug, Clone, Deserialize)]
pub struct ApiError {
    #[serde(rename = "type")]
    pub kind: String,
}

/// An error response body: `{"type":"error","error":{…}}`.
#[derive(Debug, Deserialize)]
pub struct ErrorBody {
    pub error: ApiError,
}

/// The API's stop reasons; one we do not know yet ends the turn normally.
pub fn stop_reason(raw: &str) -> StopReason {
    match raw {
        "tool_use" => StopReason::ToolUse,
        "max_tokens" | "model_context_window_exceeded" => StopReason::MaxTokens,
        "stop_sequence" => StopReason::StopSequence,
        "refusal" => StopReason::Refusal,
        "pause_turn" => StopReason::PauseTurn,
        _ => StopReason::EndTurn,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::ToolSpec;
    use serde_json::json;

    fn request() -> LlmRequest {
        let tool = |name: &str| ToolSpec {
            name: name.into(),
            description: format!("{name} tool"),
            input_schema: json!({"type": "object"}),
            output_schema: None,
        };
        LlmRequest {
            system: "You are an analyst.".into(),
            messages: vec![
                Message {
                    role: Role::User,
                    content: vec![ContentBlock::Text {
                        text: "How is Haaland doing?".into(),
                    }],
                },
                Message {
                    role: Role::Assistant,
                    content: vec![
                        ContentBlock::Text { text: " ".into() },
                        ContentBlock::ToolUse {
                            id: "toolu_1".into(),
                            name: "a".into(),
                            input: json!({"playerQuery": "Haaland"}),
                        },
                    ],
                },
                Message {
                    role: Role::User,
                    content: vec![
                        ContentBlock::Text {
                            text: "and Salah?".into(),
                        },
                        ContentBlock::ToolResult {
                            tool_use_id: "toolu_1".into(),
                            content: "no such player".into(),
                            structured: Some(json!({"x": 1})),
                            is_error: true,
                        },
                    ],
                },
            ],
            tools: vec![tool("a"), tool("b")].into(),
            max_tokens: 1024,
        }
    }

    /// The whole body, as the API reads it.
    fn body(model: &str, request: &LlmRequest) -> Value {
        let mut bytes = preamble(model, request).unwrap();
        bytes.extend(messages_json(request).unwrap());
        serde_json::from_slice(&bytes).unwrap()
    }

    #[test]
    fn the_body_caches_tools_system_and_history() {
        let body = body("claude-test", &request());
        assert_eq!(body["model"], "claude-test");
        assert_eq!(body["stream"], true);
        assert_eq!(body["max_tokens"], 1024);
        assert_eq!(body["system"][0]["cache_control"]["type"], "ephemeral");
        assert!(body["tools"][0].get("cache_control").is_none());
        assert_eq!(body["tools"][1]["cache_control"]["type"], "ephemeral");
        let messages = body["messages"].as_array().unwrap();
        let last = messages[2]["content"].as_array().unwrap();
        assert_eq!(last.last().unwrap()["cache_control"]["type"], "ephemeral");
        let marked = body.to_string().matches("ephemeral").count();
        assert!(marked <= 4, "the API allows four breakpoints, got {marked}");
    }

    #[test]
    fn tool_results_come_first_and_blank_text_is_dropped() {
        let body = body("m", &request());
        let assistant = body["messages"][1]["content"].as_array().unwrap();
        assert_eq!(assistant.len(), 1, "the blank text block is not sent");
        assert_eq!(assistant[0]["type"], "tool_use");
        let user = body["messages"][2]["content"].as_array().unwrap();
        assert_eq!(user[0]["type"], "tool_result");
        assert_eq!(user[0]["tool_use_id"], "toolu_1");
        assert_eq!(user[0]["is_error"], true);
        assert!(user[0].get("structured").is_none());
        assert_eq!(user[1]["text"], "and Salah?");
    }

    #[test]
    fn unknown_events_and_blocks_parse_as_skippable() {
        let e: StreamEvent = serde_json::from_str(r#"{"type":"brand_new","x":1}"#).unwrap();
        assert!(matches!(e, StreamEvent::Unknown));
        let e: StreamEvent = serde_json::from_str(
            r#"{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":""}}"#,
        )
        .unwrap();
        assert!(matches!(
            e,
            StreamEvent::ContentBlockStart {
                content_block: BlockStart::Other,
                ..
            }
        ));
        assert_eq!(stop_reason("something_new"), StopReason::EndTurn);
    }
}

//! Turns the Messages API's stream events into [`LlmEvent`]s.
//!
//! Promises: text deltas pass through as they come; a tool_use block's input is assembled
//! from its `input_json_delta` pieces and parsed only when the block stops, so a block cut off
//! (by max_tokens or a broken stream) never becomes a tool call; pings, unknown events and
//! unknown block types are skipped; an `error` event ends the stream with an error (the text
//! already passed on stays with the caller); usage and the stop reason come last, once
//! `message_stop` arrives. A stream that ends without `message_stop` is an error.
use std::collections::HashMap;

use serde_json::Value;

use super::wire::{self, BlockStart, Delta, StreamEvent, Usage};
use crate::llm::{LlmError, LlmEvent, StopReason};

#[derive(Debug)]
enum Block {
    Text,
    ToolUse {
        id: String,
        name: String,
        json: String,
    },
    Other,
}

/// Token counts of one response, as the API reported them.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tokens {
    /// Uncached input tokens.
    pub input: u64,
    pub cache_read: u64,
    pub cache_write: u64,
    pub output: u64,
}

impl Tokens {
    /// Every input token the model read, cached or not.
    pub fn input_total(&self) -> u64 {
        self.input + self.cache_read + self.cache_write
    }

    fn merge(&mut self, usage: &Usage) {
        let keep = |old: &mut u64, new: Option<u64>| *old = new.unwrap_or(*old).max(*old);
        keep(&mut self.input, usage.input_tokens);
        keep(&mut self.cache_read, usage.cache_read_input_tokens);
        keep(&mut self.cache_write, usage.cache_creation_input_tokens);
        keep(&mut self.output, usage.output_tokens);
    }
}

/// The state of one response stream.
#[derive(Debug, Default)]
pub struct Decoder {
    blocks: HashMap<u32, Block>,
    tokens: Tokens,
    stop: Option<StopReason>,
    finished: bool,
    /// Tool blocks whose input did not parse (only possible when the output was cut off).
    dropped_tools: Vec<String>,
}

impl Decoder {
    /// One SSE event's `data:` text (its `type` names the event); the events to pass on.
    pub fn feed(&mut self, data: &str) -> Result<Vec<LlmEvent>, LlmError> {
        let event: StreamEvent = match serde_json::from_str(data) {
            Ok(e) => e,
            // A known event type with a shape we do not understand: skip it, as with an
            // unknown type, rather than fail the answer.
            Err(e) => {
                tracing::debug!(error = %e, "skipping an unreadable stream event");
                return Ok(Vec::new());
            }
        };
        let mut out = Vec::new();
        match event {
            StreamEvent::MessageStart { message } => {
                if let Some(usage) = message.usage {
                    self.tokens.merge(&usage);
                }
            }
            StreamEvent::ContentBlockStart {
                index,
                content_block,
            } => {
                let block = match content_block {
                    BlockStart::Text { text } => {
                        if !text.is_empty() {
                            out.push(LlmEvent::TextDelta(text));
                        }
                        Block::Text
                    }
                    BlockStart::ToolUse { id, name } => Block::ToolUse {
                        id,
                        name,
                        json: String::new(),
                    },
                    BlockStart::Other => Block::Other,
                };
                self.blocks.insert(index, block);
            }
            StreamEvent::ContentBlockDelta { index, delta } => {
                match (self.blocks.get_mut(&index), delta) {
                    (Some(Block::Text), Delta::Text { text }) if !text.is_empty() => {
                        out.push(LlmEvent::TextDelta(text));
                    }
                    (Some(Block::ToolUse { json, .. }), Delta::InputJson { partial_json }) => {
                        json.push_str(&partial_json);
                    }
                    _ => {}
                }
            }
            StreamEvent::ContentBlockStop { index } => {
                if let Some(Block::ToolUse { id, name, json }) = self.blocks.remove(&index) {
                    let input = if json.trim().is_empty() {
                        Ok(Value::Object(Default::default()))
                    } else {
                        serde_json::from_str::<Value>(&json)
                    };
                    match input {
                        Ok(input) if input.is_object() => {
                            out.push(LlmEvent::ToolUse { id, name, input })
                        }
                        _ => self.dropped_tools.push(name),
                    }
                }
            }
            StreamEvent::MessageDelta { delta, usage } => {
                if let Some(reason) = delta.stop_reason {
                    self.stop = Some(wire::stop_reason(&reason));
                }
                if let Some(usage) = usage {
                    self.tokens.merge(&usage);
                }
            }
            StreamEvent::MessageStop => {
                self.finished = true;
                if !self.dropped_tools.is_empty() && self.stop == Some(StopReason::ToolUse) {
                    return Err(LlmError::Upstream(format!(
                        "unreadable input for {}",
                        self.dropped_tools.join(", ")
                    )));
                }
                out.push(LlmEvent::Usage {
                    input_tokens: self.tokens.input_total(),
                    output_tokens: self.tokens.output,
                });
                out.push(LlmEvent::Stop(self.stop.unwrap_or(StopReason::EndTurn)));
            }
            StreamEvent::Error { error } => return Err(super::error_from_type(&error.kind)),
            StreamEvent::Ping | StreamEvent::Unknown => {}
        }
        Ok(out)
    }

    /// True once `message_stop` has arrived.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    pub fn tokens(&self) -> Tokens {
        self.tokens
    }

    /// The stream's end: an error unless `message_stop` came.
    pub fn finish(&self) -> Result<(), LlmError> {
        if self.finished {
            Ok(())
        } else {
            Err(LlmError::Upstream(
                "the stream ended before message_stop".into(),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn feed_all(events: &[&str]) -> (Decoder, Vec<LlmEvent>, Option<LlmError>) {
        let mut d = Decoder::default();
        let mut out = Vec::new();
        for data in events {
            match d.feed(data) {
                Ok(e) => out.extend(e),
                Err(e) => return (d, out, Some(e)),
            }
        }
        (d, out, None)
    }

    const START: &str = r#"{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-x","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":100,"cache_creation_input_tokens":20,"cache_read_input_tokens":900,"output_tokens":1}}}"#;

    #[test]
    fn text_and_a_tool_call_in_pieces() {
        let (d, out, err) = feed_all(&[
            START,
            r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
            r#"{"type": "ping"}"#,
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Let me check."}}"#,
            r#"{"type":"content_block_stop","index":0}"#,
            r#"{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_1","name":"fpl_player_data","input":{}}}"#,
            r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":""}}"#,
            r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"player"}}"#,
            r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"Query\": \"Haa"}}"#,
            r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"land\"}"}}"#,
            r#"{"type":"content_block_stop","index":1}"#,
            r#"{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":57}}"#,
            r#"{"type":"message_stop"}"#,
        ]);
        assert!(err.is_none());
        assert_eq!(
            out,
            vec![
                LlmEvent::TextDelta("Let me check.".into()),
                LlmEvent::ToolUse {
                    id: "toolu_1".into(),
                    name: "fpl_player_data".into(),
                    input: json!({"playerQuery": "Haaland"}),
                },
                LlmEvent::Usage {
                    input_tokens: 1020,
                    output_tokens: 57
                },
                LlmEvent::Stop(StopReason::ToolUse),
            ]
        );
        assert!(d.finish().is_ok());
        assert_eq!(d.tokens().cache_read, 900);
    }

    #[test]
    fn input_cut_off_at_max_tokens_never_becomes_a_call() {
        let (_, out, err) = feed_all(&[
            START,
            r#"{"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_1","name":"fpl_player_data","input":{}}}"#,
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\"playerQuery\": \"Haa"}}"#,
            r#"{"type":"content_block_stop","index":0}"#,
            r#"{"type":"message_delta","delta":{"stop_reason":"max_tokens"},"usage":{"output_tokens":4096}}"#,
            r#"{"type":"message_stop"}"#,
        ]);
        assert!(err.is_none());
        assert!(!out.iter().any(|e| matches!(e, LlmEvent::ToolUse { .. })));
        assert_eq!(out.last(), Some(&LlmEvent::Stop(StopReason::MaxTokens)));
    }

    #[test]
    fn a_tool_block_that_never_stops_is_not_a_call_and_the_end_is_an_error() {
        let (d, out, err) = feed_all(&[
            START,
            r#"{"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_1","name":"x","input":{}}}"#,
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{}"}}"#,
        ]);
        assert!(err.is_none() && out.is_empty());
        assert!(d.finish().is_err());
    }

    #[test]
    fn unknown_things_are_skipped_and_error_events_end_the_stream() {
        let (_, out, err) = feed_all(&[
            START,
            r#"{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":""}}"#,
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"hmm"}}"#,
            r#"{"type":"content_block_stop","index":0}"#,
            r#"{"type":"a_future_event","payload":[1,2]}"#,
            r#"{"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}}"#,
            r#"{"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"Partial"}}"#,
            r#"{"type":"content_block_delta","index":1,"delta":{"type":"citations_delta","citation":{}}}"#,
            r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
        ]);
        assert_eq!(out, vec![LlmEvent::TextDelta("Partial".into())]);
        assert!(matches!(err, Some(LlmError::Overloaded)));
        let (_, _, err) = feed_all(&[
            START,
            r#"{"type":"error","error":{"type":"api_error","message":"Internal"}}"#,
        ]);
        assert!(matches!(err, Some(LlmError::Upstream(_))));
    }
}

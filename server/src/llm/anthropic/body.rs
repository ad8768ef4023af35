//! A streaming request's body as two parts: the preamble (model, answer limit, system prompt,
//! tool definitions: ≈ 13 KB of the app's ≈ 14 KB first request) and the request's messages.
//!
//! Promises: the preamble is serialized once per tool list, system prompt and answer limit and
//! shared (reference-counted) by every request until one of them changes, so turns streaming
//! at once hold one copy of it rather than one each (a thousand at once held a thousand); the
//! body is sent with its `Content-Length`, its parts one after the other without being copied
//! together; a retry sends the same bytes. Written by hand because reqwest's bodies are either
//! one buffer or a stream of unknown length (sent chunked).
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Frame, SizeHint};

use super::wire;
use crate::llm::LlmRequest;
use crate::tools::ToolList;

/// What a preamble was made of: the tool list (kept, so that it cannot be freed and another
/// take its address), the system prompt and the answer limit.
struct Made {
    tools: ToolList,
    system: std::borrow::Cow<'static, str>,
    max_tokens: u32,
    preamble: Bytes,
}

/// The last preamble made, for one model.
#[derive(Default)]
pub struct Preambles {
    last: Mutex<Option<Made>>,
}

impl Preambles {
    /// The body of a streaming request for `model`.
    pub fn body(&self, model: &str, request: &LlmRequest) -> serde_json::Result<RequestBody> {
        let messages = Bytes::from(wire::messages_json(request)?);
        Ok(RequestBody {
            parts: [self.preamble(model, request)?, messages],
        })
    }

    fn preamble(&self, model: &str, request: &LlmRequest) -> serde_json::Result<Bytes> {
        let same = |made: &Made| {
            std::sync::Arc::ptr_eq(&made.tools, &request.tools)
                && made.max_tokens == request.max_tokens
                && made.system == request.system
        };
        if let Some(made) = self.lock().as_ref().filter(|m| same(m)) {
            return Ok(made.preamble.clone());
        }
        let preamble = Bytes::from(wire::preamble(model, request)?);
        *self.lock() = Some(Made {
            tools: request.tools.clone(),
            system: request.system.clone(),
            max_tokens: request.max_tokens,
            preamble: preamble.clone(),
        });
        Ok(preamble)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Made>> {
        self.last.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A request body of shared parts; cheap to clone (for a retry).
#[derive(Clone)]
pub struct RequestBody {
    /// The preamble, then the messages; each taken (left empty) once sent.
    parts: [Bytes; 2],
}

impl RequestBody {
    /// A body of one part.
    pub fn whole(bytes: Bytes) -> Self {
        RequestBody {
            parts: [bytes, Bytes::new()],
        }
    }

    fn len(&self) -> u64 {
        self.parts.iter().map(|p| p.len() as u64).sum()
    }
}

impl http_body::Body for RequestBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let next = self.parts.iter_mut().find(|p| !p.is_empty());
        Poll::Ready(next.map(|part| Ok(Frame::data(std::mem::take(part)))))
    }

    fn is_end_stream(&self) -> bool {
        self.len() == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::{ContentBlock, Message, Role};
    use crate::tools::ToolSpec;
    use http_body::Body;

    fn request(tools: &ToolList, question: &str) -> LlmRequest {
        LlmRequest {
            system: "You answer about FPL.".into(),
            messages: vec![Message {
                role: Role::User,
                content: vec![ContentBlock::Text {
                    text: question.into(),
                }],
            }],
            tools: tools.clone(),
            max_tokens: 1024,
        }
    }

    /// What goes on the wire: the body's frames, and its Content-Length.
    async fn sent(mut body: RequestBody) -> (Option<u64>, serde_json::Value) {
        let length = body.size_hint().exact();
        let mut bytes = Vec::new();
        while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await
        {
            bytes.extend_from_slice(&frame.unwrap().into_data().unwrap());
        }
        assert!(body.is_end_stream());
        assert_eq!(
            Some(bytes.len() as u64),
            length,
            "Content-Length is the body's"
        );
        (length, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn requests_share_one_preamble_until_the_tools_change() {
        let tools: ToolList = vec![ToolSpec {
            name: "fpl_player_data".into(),
            description: "A player's season.".into(),
            input_schema: serde_json::json!({"type": "object"}),
            output_schema: None,
        }]
        .into();
        let preambles = Preambles::default();
        let one = preambles.body("m", &request(&tools, "Haaland?")).unwrap();
        let two = preambles.body("m", &request(&tools, "Salah?")).unwrap();
        assert_eq!(one.parts[0].as_ptr(), two.parts[0].as_ptr(), "one copy");
        let (_, body) = sent(two.clone()).await;
        assert_eq!(body["messages"][0]["content"][0]["text"], "Salah?");
        assert_eq!(body["tools"][0]["name"], "fpl_player_data");
        assert_eq!(sent(two).await.1, body, "a retry sends the same");
        // Another tool list (an MCP server's changed): a new preamble.
        let fewer: ToolList = Vec::new().into();
        let three = preambles.body("m", &request(&fewer, "Saka?")).unwrap();
        assert_ne!(three.parts[0].as_ptr(), one.parts[0].as_ptr());
        let (_, body) = sent(three).await;
        assert!(body.get("tools").is_none());
        assert_eq!(body["model"], "m");
    }
}

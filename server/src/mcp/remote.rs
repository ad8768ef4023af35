//! The remote tool backend: the tools of any MCP server (`EXPRESS_MCP_SERVER_PRIVATE`), used
//! by the tool loop instead of the built-in FPL tools.
//!
//! Promises: tools/list is cached and refreshed after [`TOOLS_TTL`]; when a refresh fails, the
//! last list is kept (and the failure logged), so a blip does not take the tools away from the
//! model; a call's text content is the result's text blocks, its structured content is kept,
//! and the server's `isError` and JSON-RPC errors (an unknown tool) become `is_error` results the
//! model can recover from; a server that cannot be reached is a [`ToolError`] (which the tool
//! loop's circuit breaker counts). Sessions, retries on a dead session and heartbeats are the
//! [`SessionManager`]'s.
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use rmcp::model::Tool;
use serde_json::{json, Value};
use tokio::sync::Mutex;

use super::client::{McpError, SessionManager};
use crate::tools::{ToolBackend, ToolError, ToolList, ToolOutput, ToolSpec};

/// How long a tools/list answer is used before it is asked again.
pub const TOOLS_TTL: Duration = Duration::from_secs(300);

pub struct RemoteTools {
    sessions: Arc<SessionManager>,
    cache: Mutex<Option<(Instant, ToolList)>>,
}

impl RemoteTools {
    pub fn new(sessions: Arc<SessionManager>) -> Self {
        Self {
            sessions,
            cache: Mutex::new(None),
        }
    }

    pub fn sessions(&self) -> &Arc<SessionManager> {
        &self.sessions
    }
}

fn spec(tool: Tool) -> ToolSpec {
    ToolSpec {
        name: tool.name.to_string(),
        description: tool.description.map(|d| d.to_string()).unwrap_or_default(),
        input_schema: Value::Object((*tool.input_schema).clone()),
        output_schema: tool.output_schema.map(|s| Value::Object((*s).clone())),
    }
}

#[async_trait]
impl ToolBackend for RemoteTools {
    async fn list_tools(&self) -> Result<ToolList, ToolError> {
        let mut cache = self.cache.lock().await;
        if let Some((at, tools)) = cache.as_ref() {
            if at.elapsed() < TOOLS_TTL {
                return Ok(tools.clone());
            }
        }
        match self.sessions.list_tools().await {
            Ok(tools) => {
                let specs: ToolList = tools.into_iter().map(spec).collect();
                *cache = Some((Instant::now(), specs.clone()));
                Ok(specs)
            }
            Err(e) => match cache.as_ref() {
                Some((_, stale)) => {
                    tracing::warn!(error = %e, "MCP tools/list failed: using the last list");
                    Ok(stale.clone())
                }
                None => Err(ToolError::Unavailable(e.to_string())),
            },
        }
    }

    async fn call(&self, name: &str, input: Value) -> Result<ToolOutput, ToolError> {
        match self.sessions.call_tool(name, input).await {
            Ok(result) => {
                let text = result
                    .content
                    .iter()
                    .filter_map(|c| c.as_text().map(|t| t.text.as_str()))
                    .collect::<Vec<_>>()
                    .join("\n");
                Ok(ToolOutput {
                    text,
                    structured: result.structured_content,
                    is_error: result.is_error.unwrap_or(false),
                })
            }
            Err(McpError::Protocol(message)) => Ok(ToolOutput::error(
                format!("{name}: {message}"),
                json!({"error": "mcp_error", "tool": name, "message": message}),
            )),
            Err(e @ McpError::Unavailable(_)) => Err(ToolError::Unavailable(e.to_string())),
        }
    }
}

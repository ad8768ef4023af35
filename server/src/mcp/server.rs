//! `/mcp`: the FPL tools as an MCP server on rmcp's Streamable HTTP transport, in the same axum
//! app as the chat.
//!
//! Promises: the tools, their descriptions and input schemas are the tool backend's own (the
//! schemas come from the types that validate the input); a call answers with the tool's text,
//! plus its structured content when it has one (an object) and, for a tool that declares an
//! output schema, only on success (the content then matches the schema); bad input and unknown names are
//! `isError` results, not protocol errors, so a model can recover; only the configured hosts
//! (`MCP_ALLOWED_HOSTS`; loopback by default) and origins (`MCP_ALLOWED_ORIGINS`) are served,
//! which guards against DNS rebinding; a session idle for `MCP_SESSION_IDLE_SECS` expires (its
//! id then answers 404, as the spec says); request bodies are limited; every call is counted in
//! the tool metrics; cancelling `shutdown` ends every session, so a graceful stop never waits
//! on an open event stream. Every request first passes the [`super::guard`] (rate limit per
//! client address, `MCP_AUTH_TOKEN`, `MCP_MAX_SESSIONS`), and sessions are [`CappedSessions`].
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::{middleware, Router};
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData, RoleServer, ServerHandler};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::capped::CappedSessions;
use super::guard::{self, Guard};
use crate::config::McpConfig;
use crate::http::identity::ProxyTrust;
use crate::metrics::Metrics;
use crate::rate_limit::RateLimiter;
use crate::tools::{ToolBackend, ToolSpec};

/// Largest accepted MCP request body.
const MAX_BODY_BYTES: usize = 256 * 1024;

/// One MCP session's view of the tools (rmcp makes one per session; all share the backend).
#[derive(Clone)]
struct FplMcp {
    tools: Arc<dyn ToolBackend>,
    metrics: Arc<Metrics>,
}

fn to_tool(spec: ToolSpec) -> Tool {
    let schema = match spec.input_schema {
        Value::Object(map) => map,
        _ => Default::default(),
    };
    let tool = Tool::new(spec.name, spec.description, Arc::new(schema));
    match spec.output_schema {
        Some(Value::Object(output)) => tool.with_raw_output_schema(Arc::new(output)),
        _ => tool,
    }
}

impl ServerHandler for FplMcp {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("fpl-chat", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "Fantasy Premier League data: players, teams, fixtures, fixture difficulty, \
                 league leaders, comparisons, form and gameweeks. Prices are in £m.",
            )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let specs = self.tools.list_tools().await.map_err(|e| {
            tracing::warn!(error = %e, "MCP tools/list: the tool backend failed");
            ErrorData::internal_error("the FPL tools are unavailable right now", None)
        })?;
        Ok(ListToolsResult::with_all_items(
            specs.iter().cloned().map(to_tool).collect(),
        ))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let started = Instant::now();
        let input = Value::Object(request.arguments.unwrap_or_default());
        let name = request.name.to_string();
        let result = match self.tools.call(&name, input).await {
            Ok(output) => {
                // A declared output schema describes answers; an error's details stay in its
                // text (clients validate any structured content against the schema).
                let typed = self.tools.list_tools().await.is_ok_and(|specs| {
                    specs
                        .iter()
                        .any(|s| s.name == name && s.output_schema.is_some())
                });
                let outcome = if output.is_error { "error" } else { "ok" };
                self.metrics.record_tool(&name, outcome, started.elapsed());
                let mut result = if output.is_error {
                    CallToolResult::error(vec![ContentBlock::text(output.text)])
                } else {
                    CallToolResult::success(vec![ContentBlock::text(output.text)])
                };
                result.structured_content = output
                    .structured
                    .filter(|v| v.is_object() && !(typed && output.is_error));
                result
            }
            Err(e) => {
                self.metrics.record_tool(&name, "failed", started.elapsed());
                tracing::warn!(tool = %name, error = %e, "MCP tools/call: the tool backend failed");
                CallToolResult::error(vec![ContentBlock::text(format!(
                    "The FPL data is unavailable right now ({e}). Try again later."
                ))])
            }
        };
        Ok(result.into())
    }
}

/// The `/mcp` routes behind their guard, for a router of any state; `limiter` and `trust`
/// count requests per client address.
pub fn router<S: Clone + Send + Sync + 'static>(
    tools: Arc<dyn ToolBackend>,
    metrics: Arc<Metrics>,
    config: &McpConfig,
    limiter: Arc<RateLimiter>,
    trust: ProxyTrust,
    shutdown: CancellationToken,
) -> Router<S> {
    let mut local = LocalSessionManager::default();
    local.session_config.keep_alive = Some(config.session_idle);
    local.session_config.sse_retry = None;
    let sessions = Arc::new(CappedSessions::new(local, config.max_sessions as usize));
    let mut http = StreamableHttpServerConfig::default()
        .with_sse_keep_alive(Some(Duration::from_secs(15)))
        // No empty "priming" events: older clients choke on them.
        .with_sse_retry(None)
        .with_legacy_session_mode(true)
        .with_max_request_body_bytes(MAX_BODY_BYTES)
        .with_cancellation_token(shutdown);
    http = match &config.allowed_hosts {
        Some(hosts) => http.with_allowed_hosts(hosts.clone()),
        None => http.disable_allowed_hosts(),
    };
    if !config.allowed_origins.is_empty() {
        http = http.with_allowed_origins(config.allowed_origins.clone());
    }
    let handler = FplMcp { tools, metrics };
    let service = StreamableHttpService::new(move || Ok(handler.clone()), sessions.clone(), http);
    let guard = Guard {
        limiter,
        trust,
        token: config.auth_token.clone(),
        sessions,
    };
    Router::new()
        .route_service("/mcp", service)
        .layer(middleware::from_fn_with_state(guard, guard::check))
}

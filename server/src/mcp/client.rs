//! The MCP session manager: one live client session per instance with a remote MCP server
//! (rmcp over Streamable HTTP), its record in the [`SessionStore`], heartbeats and recovery.
//!
//! Promises: a session is created (initialize) on first use, never per call; before a session
//! idle for longer than the heartbeat interval is reused, it is validated (its record must be
//! present and valid, and the server must answer a ping); a failed validation or a call that
//! fails at the transport (a dead session: 404 as the spec says, 400 as some servers answer,
//! a closed stream, no answer in time) leads to exactly one new initialize and the call again;
//! heartbeats ping the live session and renew its record's time to live, and mark it invalid
//! when the server stops answering; protocol errors (JSON-RPC errors) are the caller's, not the
//! session's. rmcp keeps the server's `Mcp-Session-Id` to itself and cannot resume a session by
//! id, so records name sessions by an id of ours; the store makes them visible to every
//! instance (`fpl-chat doctor`, `mcp tools`). The server's URL may carry credentials: logs,
//! records and error messages show it redacted (no user, password or query), never whole.
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rmcp::model::{
    CallToolRequestParams, CallToolResult, ClientCapabilities, ClientConfig, ClientRequest,
    Implementation, PingRequest, ProtocolVersion, Tool,
};
use rmcp::service::{Peer, RunningService, ServiceError};
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::{RoleClient, ServiceExt};
use serde_json::{Map, Value};
use tokio::sync::Mutex;
use uuid::Uuid;

use super::sessions::{now_ms, SessionRecord, SessionStore};
use crate::config::redact_url;
use crate::metrics::Metrics;

/// Why a remote MCP operation failed.
#[derive(Debug, thiserror::Error)]
pub enum McpError {
    /// The server could not be reached or kept failing after one new session.
    #[error("MCP server unavailable: {0}")]
    Unavailable(String),
    /// The server answered with a JSON-RPC error (e.g. an unknown tool).
    #[error("MCP server error: {0}")]
    Protocol(String),
}

/// Timing settings of the manager.
#[derive(Debug, Clone, Copy)]
pub struct SessionPolicy {
    /// Ping the live session this often; validate a session idle longer than this.
    pub heartbeat: Duration,
    /// One request's limit (initialize, ping, tools/list, tools/call).
    pub request_timeout: Duration,
}

impl SessionPolicy {
    /// A record outlives three missed heartbeats, no more.
    fn record_ttl(&self) -> Duration {
        self.heartbeat * 3
    }
}

struct Live {
    record: String,
    service: RunningService<RoleClient, ClientConfig>,
    last_used: Instant,
}

pub struct SessionManager {
    url: String,
    /// The URL as logs, records and errors show it: [`redact_url`] of `url`.
    shown: String,
    /// How `url` may be spelled in an HTTP client's error (the raw text and its parsed
    /// serialization), each replaced by `shown` there.
    spellings: Vec<String>,
    instance: String,
    http: reqwest013::Client,
    store: Arc<dyn SessionStore>,
    policy: SessionPolicy,
    metrics: Arc<Metrics>,
    live: Mutex<Option<Live>>,
}

impl SessionManager {
    pub fn new(
        url: &str,
        store: Arc<dyn SessionStore>,
        policy: SessionPolicy,
        metrics: Arc<Metrics>,
    ) -> Result<Self, String> {
        // reqwest 0.13 (rmcp's) is built without a crypto provider: use ring, as reqwest 0.12 does.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest013::Client::builder()
            .connect_timeout(policy.request_timeout)
            .user_agent(concat!("fpl-chat/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        let mut spellings = vec![url.to_string()];
        if let Ok(parsed) = reqwest013::Url::parse(url) {
            spellings.push(parsed.to_string());
        }
        Ok(Self {
            url: url.to_string(),
            shown: redact_url(url),
            spellings,
            instance: Uuid::new_v4().simple().to_string(),
            http,
            store,
            policy,
            metrics,
            live: Mutex::new(None),
        })
    }

    /// `error`'s text with the server's URL redacted (an HTTP client's error names the URL).
    fn scrub(&self, error: impl std::fmt::Display) -> String {
        let text = error.to_string();
        self.spellings
            .iter()
            .fold(text, |text, spelling| text.replace(spelling, &self.shown))
    }

    pub fn store_name(&self) -> &'static str {
        self.store.name()
    }

    /// Every session record the store knows (all instances).
    pub async fn records(&self) -> Result<Vec<SessionRecord>, McpError> {
        self.store
            .list()
            .await
            .map_err(|e| McpError::Unavailable(e.to_string()))
    }

    /// The server's tools (every page).
    pub async fn list_tools(&self) -> Result<Vec<Tool>, McpError> {
        self.with_session("tools/list", "", |peer| async move {
            peer.list_all_tools().await
        })
        .await
    }

    /// Whether the server answers a ping on the live session (one new session when there is
    /// none or it failed): one cheap round trip, for `/readyz`.
    pub async fn reachable(&self) -> Result<(), McpError> {
        self.with_session("ping", "", |peer| async move {
            let ping = ClientRequest::PingRequest(PingRequest::default());
            peer.send_request(ping).await.map(|_| ())
        })
        .await
    }

    /// Calls a tool; `arguments` must be a JSON object.
    pub async fn call_tool(
        &self,
        name: &str,
        arguments: Value,
    ) -> Result<CallToolResult, McpError> {
        let arguments: Map<String, Value> = match arguments {
            Value::Object(map) => map,
            Value::Null => Map::new(),
            other => {
                return Err(McpError::Protocol(format!(
                    "tool arguments must be a JSON object, got {other}"
                )))
            }
        };
        let tool = name.to_string();
        self.with_session("tools/call", name, move |peer| {
            let params = CallToolRequestParams::new(tool.clone()).with_arguments(arguments.clone());
            async move { peer.call_tool(params).await }
        })
        .await
    }

    /// Runs `op` on a valid session; on a transport failure, once more on a new session.
    async fn with_session<T, F, Fut>(
        &self,
        method: &'static str,
        tool: &str,
        op: F,
    ) -> Result<T, McpError>
    where
        F: Fn(Peer<RoleClient>) -> Fut,
        Fut: Future<Output = Result<T, ServiceError>>,
    {
        let mut fresh = false;
        loop {
            let (peer, record, new) = self.session().await?;
            fresh |= new;
            let started = Instant::now();
            let result = tokio::time::timeout(self.policy.request_timeout, op(peer)).await;
            let outcome = match &result {
                Ok(Ok(_)) => "ok",
                Ok(Err(ServiceError::McpError(_))) => "error",
                _ => "failed",
            };
            self.metrics
                .record_mcp_operation(method, tool, outcome, started.elapsed());
            match result {
                Ok(Ok(value)) => {
                    self.used(&record).await;
                    return Ok(value);
                }
                Ok(Err(ServiceError::McpError(e))) => {
                    self.used(&record).await;
                    return Err(McpError::Protocol(self.scrub(&e.message)));
                }
                Ok(Err(e)) => {
                    let e = self.scrub(e);
                    tracing::warn!(method, error = %e, "MCP request failed at the transport: the session is dropped");
                    self.drop_session(&record).await;
                    if fresh {
                        return Err(McpError::Unavailable(e));
                    }
                }
                Err(_) => {
                    tracing::warn!(method, "MCP request timed out: the session is dropped");
                    self.drop_session(&record).await;
                    if fresh {
                        return Err(McpError::Unavailable(format!(
                            "no answer within {} ms",
                            self.policy.request_timeout.as_millis()
                        )));
                    }
                }
            }
            // One new initialize, then the call again.
            fresh = true;
        }
    }

    /// The live session, validated if it sat idle; a new one if there is none or it failed.
    /// Also says whether it was created just now.
    async fn session(&self) -> Result<(Peer<RoleClient>, String, bool), McpError> {
        let mut live = self.live.lock().await;
        if let Some(current) = live.as_ref() {
            let idle = current.last_used.elapsed() >= self.policy.heartbeat;
            let usable = !current.service.is_closed() && (!idle || self.validate(current).await);
            if usable {
                return Ok((
                    current.service.peer().clone(),
                    current.record.clone(),
                    false,
                ));
            }
            let old = live.take().expect("checked above");
            self.close(old).await;
        }
        let created = self.connect().await?;
        let answer = (created.service.peer().clone(), created.record.clone(), true);
        *live = Some(created);
        Ok(answer)
    }

    /// Before reuse: the record still says valid, and the server answers a ping.
    async fn validate(&self, live: &Live) -> bool {
        let record = self.store.get(&live.record).await;
        let result = match record {
            Ok(Some(r)) if !r.valid => "invalid",
            Ok(None) => "missing",
            // The store is down: judge by the server alone.
            Ok(Some(_)) | Err(_) => {
                if self.ping(live.service.peer()).await {
                    "ok"
                } else {
                    "failed"
                }
            }
        };
        self.metrics.record_mcp_validation(result);
        result == "ok"
    }

    async fn ping(&self, peer: &Peer<RoleClient>) -> bool {
        let ping = peer.send_request(ClientRequest::PingRequest(PingRequest::default()));
        matches!(
            tokio::time::timeout(self.policy.request_timeout, ping).await,
            Ok(Ok(_))
        )
    }

    async fn connect(&self) -> Result<Live, McpError> {
        let transport = StreamableHttpClientTransport::with_client(
            self.http.clone(),
            StreamableHttpClientTransportConfig::with_uri(self.url.as_str()),
        );
        let info = ClientConfig::new(
            ClientCapabilities::default(),
            Implementation::new("fpl-chat", env!("CARGO_PKG_VERSION")),
        )
        .with_protocol_version(ProtocolVersion::V_2025_06_18);
        let service = tokio::time::timeout(self.policy.request_timeout, info.serve(transport))
            .await
            .map_err(|_| McpError::Unavailable("initialize timed out".into()))?
            .map_err(|e| McpError::Unavailable(format!("initialize failed: {}", self.scrub(e))))?;
        let now = now_ms();
        let record = SessionRecord {
            id: Uuid::new_v4().to_string(),
            server: self.shown.clone(),
            instance: self.instance.clone(),
            created_ms: now,
            last_used_ms: now,
            valid: true,
        };
        if let Err(e) = self.store.put(&record, self.policy.record_ttl()).await {
            tracing::warn!(error = %e, "could not store the MCP session record");
        }
        self.metrics.record_mcp_session_created();
        tracing::info!(server = %self.shown, session = %record.id, "MCP session created");
        Ok(Live {
            record: record.id,
            service,
            last_used: Instant::now(),
        })
    }

    async fn used(&self, record: &str) {
        if let Some(live) = self.live.lock().await.as_mut() {
            if live.record == record {
                live.last_used = Instant::now();
            }
        }
        if let Err(e) = self.store.touch(record, self.policy.record_ttl()).await {
            tracing::debug!(error = %e, "could not renew the MCP session record");
        }
    }

    /// Forgets the session `record` (if it is still the live one) and marks its record invalid.
    async fn drop_session(&self, record: &str) {
        let mut live = self.live.lock().await;
        if live.as_ref().is_some_and(|l| l.record == record) {
            let old = live.take().expect("checked");
            drop(live);
            self.close(old).await;
        } else if let Err(e) = self.store.invalidate(record).await {
            tracing::debug!(error = %e, "could not invalidate the MCP session record");
        }
    }

    async fn close(&self, live: Live) {
        if let Err(e) = self.store.invalidate(&live.record).await {
            tracing::debug!(error = %e, "could not invalidate the MCP session record");
        }
        // Ends the session politely (DELETE) when the server is still there; never waits long.
        let _ = tokio::time::timeout(Duration::from_secs(2), live.service.cancel()).await;
    }

    /// One heartbeat: ping the live session; renew its record, or drop it when it is dead. Also
    /// drops index entries of records that expired (listing does that).
    pub async fn heartbeat(&self) {
        if let Err(e) = self.store.list().await {
            tracing::debug!(error = %e, "could not list the MCP session records");
        }
        let current = {
            let live = self.live.lock().await;
            live.as_ref()
                .map(|l| (l.service.peer().clone(), l.record.clone()))
        };
        let Some((peer, record)) = current else {
            return;
        };
        if self.ping(&peer).await {
            self.metrics.record_mcp_heartbeat("ok");
            if let Ok(false) = self.store.touch(&record, self.policy.record_ttl()).await {
                // Expired or cleaned up meanwhile: write it again, the session is alive.
                let now = now_ms();
                let again = SessionRecord {
                    id: record.clone(),
                    server: self.shown.clone(),
                    instance: self.instance.clone(),
                    created_ms: now,
                    last_used_ms: now,
                    valid: true,
                };
                let _ = self.store.put(&again, self.policy.record_ttl()).await;
            }
        } else {
            self.metrics.record_mcp_heartbeat("failed");
            tracing::warn!(server = %self.shown, "MCP heartbeat failed: the session is dropped");
            self.drop_session(&record).await;
        }
    }

    /// Heartbeats every `policy.heartbeat` until `shutdown`.
    pub fn spawn_heartbeats(
        self: &Arc<Self>,
        shutdown: tokio_util::sync::CancellationToken,
    ) -> tokio::task::JoinHandle<()> {
        let manager = Arc::downgrade(self);
        let every = self.policy.heartbeat;
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tick.tick() => {}
                }
                let Some(manager) = manager.upgrade() else {
                    return;
                };
                manager.heartbeat().await;
            }
        })
    }
}

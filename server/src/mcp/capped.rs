//! `/mcp` sessions with a cap: rmcp's in-memory session manager, counted.
//!
//! Promises: at most `max` sessions are open at once (`MCP_MAX_SESSIONS`); a session over the
//! cap is never created, so memory never grows with the number of clients. A slot frees when
//! its session ends: closed by the client (`DELETE`), idle past `MCP_SESSION_IDLE_SECS` (rmcp
//! ends the session's worker, which removes it), or ended at shutdown. Everything else is
//! rmcp's [`LocalSessionManager`], unchanged.
use futures::Stream;
use rmcp::model::{ClientJsonRpcMessage, ServerJsonRpcMessage};
use rmcp::transport::streamable_http_server::session::local::{
    LocalSessionManager, LocalSessionManagerError,
};
use rmcp::transport::streamable_http_server::session::{
    ServerSseMessage, SessionId, SessionManager,
};

/// Why a session operation failed.
#[derive(Debug, thiserror::Error)]
pub enum CappedError {
    /// Every slot is taken.
    #[error("{0} MCP sessions are open, the most MCP_MAX_SESSIONS allows")]
    Full(usize),
    #[error(transparent)]
    Local(#[from] LocalSessionManagerError),
}

pub struct CappedSessions {
    inner: LocalSessionManager,
    /// The most sessions open at once.
    max: usize,
    /// Held while a session is created, so that concurrent `initialize`s cannot both take
    /// the last slot.
    creating: tokio::sync::Mutex<()>,
}

impl CappedSessions {
    pub fn new(inner: LocalSessionManager, max: usize) -> Self {
        Self {
            inner,
            max,
            creating: tokio::sync::Mutex::new(()),
        }
    }

    /// Sessions open now.
    pub async fn open(&self) -> usize {
        self.inner.sessions.read().await.len()
    }

    /// Whether a new session would be refused now.
    pub async fn is_full(&self) -> bool {
        self.open().await >= self.max
    }
}

impl SessionManager for CappedSessions {
    type Error = CappedError;
    type Transport = <LocalSessionManager as SessionManager>::Transport;

    async fn create_session(&self) -> Result<(SessionId, Self::Transport), Self::Error> {
        let _one_at_a_time = self.creating.lock().await;
        if self.is_full().await {
            return Err(CappedError::Full(self.max));
        }
        Ok(self.inner.create_session().await?)
    }

    async fn initialize_session(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<ServerJsonRpcMessage, Self::Error> {
        Ok(self.inner.initialize_session(id, message).await?)
    }

    async fn has_session(&self, id: &SessionId) -> Result<bool, Self::Error> {
        Ok(self.inner.has_session(id).await?)
    }

    async fn close_session(&self, id: &SessionId) -> Result<(), Self::Error> {
        Ok(self.inner.close_session(id).await?)
    }

    async fn create_stream(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        Ok(self.inner.create_stream(id, message).await?)
    }

    async fn accept_message(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<(), Self::Error> {
        Ok(self.inner.accept_message(id, message).await?)
    }

    async fn create_standalone_stream(
        &self,
        id: &SessionId,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        Ok(self.inner.create_standalone_stream(id).await?)
    }

    async fn resume(
        &self,
        id: &SessionId,
        last_event_id: String,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        Ok(self.inner.resume(id, last_event_id).await?)
    }
}

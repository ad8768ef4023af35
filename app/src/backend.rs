//! The seam between the UI's server functions and the server: the server implements
//! [`Backend`] and provides it (as `Arc<dyn Backend>`) through Leptos context; the identity of
//! the caller arrives as a [`Viewer`] request extension set by the server's identity layer.
//! Compiled only for the server (`ssr`).
use std::sync::Arc;

use async_trait::async_trait;
use uuid::Uuid;

use crate::types::{
    Ask, ConversationSummary, ConversationView, Owner, SearchHitView, ShareView, Tier,
};

/// The caller of a request, resolved from its cookie before any handler runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Viewer {
    pub owner: Owner,
    pub tier: Tier,
    /// The client's address (from the connection, or `X-Forwarded-For` behind a trusted
    /// proxy), for rate limits.
    pub ip: Option<std::net::IpAddr>,
    /// The server-side session of a signed-in viewer.
    pub session: Option<Uuid>,
    /// The request came over HTTPS (through a trusted proxy): cookies made for this viewer
    /// are `Secure` and `__Host-` prefixed.
    pub https: bool,
}

/// A failure a server function reports to the user; `message` is safe to show.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct BackendError {
    pub message: String,
    /// The HTTP status the server function answers with.
    pub status: u16,
    /// Seconds to wait, for a refusal over a limit (`Retry-After`).
    pub retry_after: Option<u64>,
}

impl BackendError {
    /// A failure of the caller's input (400).
    pub fn new(message: impl Into<String>) -> Self {
        Self::with_status(400, message)
    }

    pub fn with_status(status: u16, message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            status,
            retry_after: None,
        }
    }
}

/// Turns a backend failure into the server function's error, setting its HTTP status and
/// `Retry-After` on the response.
pub fn failed(e: BackendError) -> leptos::prelude::ServerFnError {
    use leptos::prelude::use_context;
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(
            axum::http::StatusCode::from_u16(e.status)
                .unwrap_or(axum::http::StatusCode::BAD_REQUEST),
        );
        if let Some(wait) = e.retry_after {
            response.insert_header(axum::http::header::RETRY_AFTER, wait.into());
        }
    }
    leptos::prelude::ServerFnError::new(e.message)
}

/// Sends a plain form post (no JavaScript: the browser asked for HTML) on to `path` after a
/// server function; a call from the hydrated page gets its result and stays where it is.
pub fn redirect_form_post(path: &str) {
    use leptos::prelude::use_context;
    let wants_html = use_context::<axum::http::request::Parts>().is_some_and(|parts| {
        parts
            .headers
            .get(axum::http::header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/html"))
    });
    if wants_html {
        leptos_axum::redirect(path, false);
    }
}

/// A sign-up or log-in that worked: the account, and the `Set-Cookie` value of its session.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub account: crate::types::AccountView,
    pub set_cookie: String,
}

#[async_trait]
pub trait Backend: Send + Sync + 'static {
    async fn list_conversations(
        &self,
        viewer: Viewer,
    ) -> Result<Vec<ConversationSummary>, BackendError>;

    /// `None` when the conversation does not exist or is not the viewer's.
    async fn conversation(
        &self,
        viewer: Viewer,
        id: Uuid,
    ) -> Result<Option<ConversationView>, BackendError>;

    async fn rename_conversation(
        &self,
        viewer: Viewer,
        id: Uuid,
        title: String,
    ) -> Result<bool, BackendError>;

    /// Deletes the conversation; it can be restored for a while (undo).
    async fn delete_conversation(&self, viewer: Viewer, id: Uuid) -> Result<bool, BackendError>;

    /// Undoes a delete while the conversation has not been purged.
    async fn restore_conversation(&self, viewer: Viewer, id: Uuid) -> Result<bool, BackendError>;

    /// The viewer's conversations whose title or messages have the words of `query`.
    async fn search(
        &self,
        viewer: Viewer,
        query: String,
    ) -> Result<Vec<SearchHitView>, BackendError>;

    /// The conversation's share link: `create` makes it (or moves its snapshot to the newest
    /// message), else the existing one is returned, if any.
    async fn share(
        &self,
        viewer: Viewer,
        id: Uuid,
        create: bool,
    ) -> Result<Option<ShareView>, BackendError>;

    /// Revokes the conversation's share link.
    async fn revoke_share(&self, viewer: Viewer, id: Uuid) -> Result<bool, BackendError>;

    /// What a share link shows (no viewer: anyone with the link sees it); `None` for an
    /// unknown or revoked token.
    async fn shared(&self, token: String) -> Result<Option<ConversationView>, BackendError>;

    /// Runs one whole chat turn without streaming (the form post that works before
    /// hydration) and returns the conversation it went into.
    async fn send_message(
        &self,
        viewer: Viewer,
        conversation_id: Option<Uuid>,
        ask: Ask,
    ) -> Result<Uuid, BackendError>;

    /// Shows version `message` of the viewer's conversation `id` (and what followed it when
    /// it was left); `false` when either is not the viewer's.
    async fn show_version(
        &self,
        viewer: Viewer,
        id: Uuid,
        message: Uuid,
    ) -> Result<bool, BackendError>;

    /// Creates an account, moves the viewer's anonymous conversations to it, signs it in.
    async fn sign_up(
        &self,
        viewer: Viewer,
        email: String,
        password: String,
    ) -> Result<SignedIn, BackendError>;

    /// Signs in (a new session id), moving the viewer's anonymous conversations to the account.
    async fn log_in(
        &self,
        viewer: Viewer,
        email: String,
        password: String,
    ) -> Result<SignedIn, BackendError>;

    /// Ends the viewer's session; the `Set-Cookie` value of a new anonymous identity.
    async fn log_out(&self, viewer: Viewer) -> Result<String, BackendError>;

    /// Where the FPL data comes from ("the official FPL API", a snapshot, an MCP server).
    fn data_source(&self) -> String;

    /// The signed-in viewer's account.
    async fn account(
        &self,
        viewer: Viewer,
    ) -> Result<Option<crate::types::AccountView>, BackendError>;
}

pub type SharedBackend = Arc<dyn Backend>;

/// The backend and the caller, as server functions need them.
pub async fn current() -> Result<(SharedBackend, Viewer), leptos::prelude::ServerFnError> {
    use leptos::prelude::*;
    let backend = use_context::<SharedBackend>()
        .ok_or_else(|| ServerFnError::new("the server is not configured"))?;
    let axum::Extension(viewer) = leptos_axum::extract::<axum::Extension<Viewer>>()
        .await
        .map_err(|_| ServerFnError::new("no identity on this request"))?;
    Ok((backend, viewer))
}

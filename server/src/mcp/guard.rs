//! What every `/mcp` request passes before rmcp sees it: the rate limit per client address,
//! the bearer token, and the session cap.
//!
//! Promises: a request over `RATE_LIMIT_MCP` for its client address is answered 429 with
//! `Retry-After` and the `RateLimit-*` headers (every other answer carries them too); with
//! `MCP_AUTH_TOKEN` set, a request without `Authorization: Bearer <token>` (compared in
//! constant time) is answered 401 with `WWW-Authenticate: Bearer`; a request that would open a
//! session (a POST without `Mcp-Session-Id`) while `MCP_MAX_SESSIONS` are open is answered 503.
//! Refusals are JSON-RPC error objects, so MCP clients can show them.
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::capped::CappedSessions;
use crate::config::Secret;
use crate::http::chat::rate_limit_headers;
use crate::http::identity::{client_ip, ProxyTrust};
use crate::http::ops::authorized;
use crate::rate_limit::{Decision, RateLimiter};

/// The guard's view of the app; cheap to clone.
#[derive(Clone)]
pub struct Guard {
    /// Counts requests per client address (`RATE_LIMIT_MCP`).
    pub limiter: Arc<RateLimiter>,
    /// Who the client is behind proxies.
    pub trust: ProxyTrust,
    /// `MCP_AUTH_TOKEN`: when set, the only key to `/mcp`.
    pub token: Option<Secret>,
    /// The sessions rmcp serves, to refuse a new one when all slots are taken.
    pub sessions: Arc<CappedSessions>,
}

/// The middleware.
pub async fn check(State(guard): State<Guard>, request: Request, next: Next) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let ip = client_ip(request.headers(), peer, guard.trust);
    let decision = guard.limiter.check_mcp(ip).await;
    let admitted = guard
        .token
        .as_ref()
        .is_none_or(|t| authorized(request.headers(), Some(t.expose())));
    let mut response = if !decision.allowed {
        too_many(&decision)
    } else if !admitted {
        unauthorized()
    } else if opens_session(&request) && guard.sessions.is_full().await {
        tracing::warn!("MCP_MAX_SESSIONS reached: a new /mcp session was refused");
        refusal(
            StatusCode::SERVICE_UNAVAILABLE,
            "The server has as many MCP sessions open as it allows. Close an unused session \
             or try again later.",
        )
    } else {
        next.run(request).await
    };
    rate_limit_headers(response.headers_mut(), &decision);
    response
}

/// A POST without a session id: an `initialize`, which opens a session.
fn opens_session(request: &Request) -> bool {
    request.method() == Method::POST && !request.headers().contains_key("mcp-session-id")
}

fn too_many(decision: &Decision) -> Response {
    let wait = decision.retry_after_secs();
    let mut response = refusal(
        StatusCode::TOO_MANY_REQUESTS,
        &format!(
            "Too many requests to /mcp from your address: {} are allowed per window. \
             Try again in {wait} s.",
            decision.limit
        ),
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(wait));
    response
}

fn unauthorized() -> Response {
    let mut response = refusal(
        StatusCode::UNAUTHORIZED,
        "This MCP server requires `Authorization: Bearer <token>`.",
    );
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"mcp\""),
    );
    response
}

/// A JSON-RPC error object (no request id: the request was not read).
fn refusal(status: StatusCode, message: &str) -> Response {
    let body = json!({
        "jsonrpc": "2.0",
        "id": null,
        "error": { "code": -32000, "message": message },
    });
    (status, Json(body)).into_response()
}

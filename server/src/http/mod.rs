//! The axum application: the routes of docs/contract.md, the Leptos pages and server
//! functions, and the layers every request passes (metrics, identity, compression, body
//! limits, tracing); [`serve`] runs it on a listener with a deadline for request heads.
pub mod assets;
pub mod chat;
pub mod cookies;
pub mod cross_site;
pub mod export;
pub mod follow;
pub mod headers;
pub mod identity;
pub mod ops;
pub mod proxy;
pub mod ready;
pub mod request_id;
pub mod serve;

use std::sync::Arc;

use axum::extract::FromRef;
use axum::routing::{get, post};
use axum::{middleware, Router};
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tower_http::compression::{CompressionLayer, Predicate};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::TraceLayer;

use app::backend::SharedBackend;
use app::{shell, App};

use crate::chat::ChatService;
use crate::config::Config;
use crate::metrics::Metrics;
use crate::store::Store;

/// Everything a handler may need; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub config: Arc<Config>,
    pub store: Store,
    pub chat: ChatService,
    pub metrics: Arc<Metrics>,
    /// Sign and verify identity cookies (shared by every instance: see [`cookies`]).
    pub cookie_keys: cookies::CookieKeys,
    /// Parsed `REDIS_URL` (connections are opened by the features that use Redis).
    pub redis: Option<crate::redis_conn::RedisClient>,
    pub backend: SharedBackend,
    pub accounts: Arc<crate::accounts::Accounts>,
    /// The built-in FPL tools, served at `/mcp`.
    pub builtin_tools: Arc<dyn crate::tools::ToolBackend>,
    /// The sessions with a remote MCP server, when the chat's tools come from one.
    pub mcp_sessions: Option<Arc<crate::mcp::client::SessionManager>>,
    /// The rate limits shared by the chat, the log-in and `/mcp` (which has no other way to
    /// reach them).
    pub limiter: Arc<crate::rate_limit::RateLimiter>,
    /// `/readyz`'s last report, shared so that dependencies are asked at most every 2 s.
    pub readiness: Arc<ready::ReadyCheck>,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

/// Largest body any other endpoint accepts (server functions, forms).
const MAX_FORM_BYTES: usize = 64 * 1024;

/// The whole app; cancelling `shutdown` ends long-lived MCP streams so a graceful stop
/// finishes.
pub fn router(state: AppState, shutdown: tokio_util::sync::CancellationToken) -> Router {
    let routes = generate_route_list(App);
    let backend = state.backend.clone();
    let context = move || {
        provide_context(backend.clone());
        // The page's inline scripts carry the nonce of this response's CSP (headers.rs).
        let nonce = use_context::<axum::http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<headers::CspNonce>().cloned());
        if let Some(nonce) = nonce {
            provide_context(leptos::nonce::Nonce::from_value(nonce.0));
        }
    };
    let pages = Router::new()
        .leptos_routes_with_context(&state, routes, context.clone(), {
            let options = state.leptos_options.clone();
            move || shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(context, shell))
        .layer(RequestBodyLimitLayer::new(MAX_FORM_BYTES));

    // MCP clients are programs, not visitors: no identity cookie; their own guard instead.
    let mcp = crate::mcp::server::router(
        state.builtin_tools.clone(),
        state.metrics.clone(),
        &state.config.mcp,
        state.limiter.clone(),
        identity::ProxyTrust::from_config(&state.config),
        shutdown,
    );

    Router::new()
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/api/metrics", get(ops::metrics))
        .route("/api/chat", post(chat::handler))
        .route("/api/chat/{id}/stream", get(follow::stream))
        .route("/api/chat/{id}/stop", post(follow::stop))
        .route("/api/conversations/{id}/export", get(export::handler))
        .merge(pages)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            identity::layer,
        ))
        // Outside the identity layer: a refused request gets no cookie.
        .layer(middleware::from_fn(cross_site::layer))
        .merge(mcp)
        .layer(middleware::from_fn_with_state(state.clone(), ops::record))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            headers::layer,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), assets::layer))
        .layer(CompressionLayer::new().gzip(true).compress_when(
            tower_http::compression::predicate::DefaultPredicate::new().and(
                tower_http::compression::predicate::NotForContentType::new("text/event-stream"),
            ),
        ))
        .layer(TraceLayer::new_for_http())
        // Outermost: every other layer's lines are in the request's span.
        .layer(middleware::from_fn(request_id::layer))
        .with_state(state)
}

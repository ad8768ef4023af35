//! The axum application: the routes of DESIGN.md, the Leptos pages and server functions, and
//! the layers every request passes (metrics, identity, compression, body limits, tracing);
//! [`serve`] runs it on a listener with a deadline for request heads.
pub mod chat;
pub mod identity;
pub mod ops;
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
    pub cookie_key: cookie::Key,
    /// Parsed `REDIS_URL` (connections are opened by the features that use Redis).
    pub redis: Option<redis::Client>,
    pub backend: SharedBackend,
    pub accounts: Arc<crate::accounts::Accounts>,
    /// The built-in FPL tools, served at `/mcp`.
    pub builtin_tools: Arc<dyn crate::tools::ToolBackend>,
    /// The sessions with a remote MCP server, when the chat's tools come from one.
    pub mcp_sessions: Option<Arc<crate::mcp::client::SessionManager>>,
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
    let context = move || provide_context(backend.clone());
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

    // MCP clients are programs, not visitors: no identity cookie.
    let mcp = crate::mcp::server::router(
        state.builtin_tools.clone(),
        state.metrics.clone(),
        &state.config.mcp,
        shutdown,
    );

    Router::new()
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/api/metrics", get(ops::metrics))
        .route("/api/chat", post(chat::handler))
        .merge(pages)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            identity::layer,
        ))
        .merge(mcp)
        .layer(middleware::from_fn_with_state(state.clone(), ops::record))
        .layer(CompressionLayer::new().gzip(true).compress_when(
            tower_http::compression::predicate::DefaultPredicate::new().and(
                tower_http::compression::predicate::NotForContentType::new("text/event-stream"),
            ),
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

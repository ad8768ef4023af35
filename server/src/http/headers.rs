//! Security headers on every response, and the per-response nonce of the page's scripts.
//!
//! Promises: every response carries `X-Content-Type-Options: nosniff`, `Referrer-Policy:
//! strict-origin-when-cross-origin`, `X-Frame-Options: DENY` and a `Content-Security-Policy`
//! with `frame-ancestors 'none'`; an HTML page's policy allows scripts only from this origin
//! and with this response's nonce (no `unsafe-inline`: the theme script and Leptos's hydration
//! scripts carry the nonce), plus `wasm-unsafe-eval` for the WASM bundle; any other response
//! gets `default-src 'none'`. Over HTTPS (a trusted proxy says so) `Strict-Transport-Security`
//! is added.
use axum::extract::{Request, State};
use axum::http::header::{
    CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY, STRICT_TRANSPORT_SECURITY,
    X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use rand::RngCore;

use super::proxy::{is_https, ProxyTrust};
use super::AppState;

/// This response's script nonce, in the request's extensions for the page renderer.
#[derive(Debug, Clone)]
pub struct CspNonce(pub String);

impl CspNonce {
    fn new() -> Self {
        let mut bytes = [0u8; 16];
        rand::rng().fill_bytes(&mut bytes);
        Self(bytes.iter().map(|b| format!("{b:02x}")).collect())
    }
}

/// Anything that is not a page: nothing may load, nothing may frame it.
const NON_PAGE_POLICY: &str = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'";
/// Two years, the preload list's minimum.
const HSTS: &str = "max-age=63072000";

/// The policy of an HTML page with `nonce`. Styles may be inline (Leptos sets `style`
/// attributes); scripts may not.
fn page_policy(nonce: &str) -> String {
    // `cargo leptos watch` reloads the page over a WebSocket on another port (debug only).
    let reload = if cfg!(debug_assertions) { " ws:" } else { "" };
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'{reload}; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

pub async fn layer(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let https = is_https(request.headers(), ProxyTrust::from_config(&state.config));
    let nonce = CspNonce::new();
    request.extensions_mut().insert(nonce.clone());
    let mut response = next.run(request).await;
    let is_html = response
        .headers()
        .get(CONTENT_TYPE)
        .is_some_and(|t| t.as_bytes().starts_with(b"text/html"));
    let policy = if is_html {
        HeaderValue::from_str(&page_policy(&nonce.0)).ok()
    } else {
        Some(HeaderValue::from_static(NON_PAGE_POLICY))
    };
    let headers = response.headers_mut();
    if let Some(policy) = policy {
        headers.insert(CONTENT_SECURITY_POLICY, policy);
    }
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(
        REFERRER_POLICY,
        HeaderValue::from_static("strict-origin-when-cross-origin"),
    );
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if https {
        headers.insert(STRICT_TRANSPORT_SECURITY, HeaderValue::from_static(HSTS));
    }
    response
}

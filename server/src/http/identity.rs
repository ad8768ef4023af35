//! Who is calling: the middleware that resolves every request's [`Viewer`] from the identity
//! cookie ([`super::cookies`]) and the client's address ([`super::proxy`]).
//!
//! Promises: every request reaching a handler carries a [`Viewer`] extension; a request
//! without a valid cookie, or with a session that has ended, gets a new anonymous identity,
//! and the cookie that keeps it only when the request is the site's own (not cross-site: a
//! cross-site request never replaces a visitor's cookie) and its response does not set the
//! cookie itself (log-in, log-out); a cookie signed with the previous key is signed again with
//! the current one on the site's own navigation; a tampered or forged cookie is ignored, never
//! an error; a signed-in viewer has their account's tier.
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::Response;
use uuid::Uuid;

use app::backend::Viewer;
use app::types::Owner;
use app::types::Tier;

use super::cookies::{cookie_name, identity_from_headers, set_cookie};
pub use super::cookies::{CookieIdentity, CookieKeys};
pub use super::proxy::{client_ip, ProxyTrust};
use super::{proxy, AppState};

/// Middleware: resolves the viewer, and sets the cookie when a new identity was made.
pub async fn layer(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let trust = ProxyTrust::from_config(&state.config);
    let https = proxy::is_https(request.headers(), trust);
    let cookie = identity_from_headers(request.headers(), &state.cookie_keys, https);
    let signed_in = match cookie.map(|c| c.identity) {
        Some(CookieIdentity::Session(session)) => match state.accounts.resolve(session).await {
            Ok(Some((user, tier))) => Some(Viewer {
                owner: Owner::User(user),
                tier,
                ip: None,
                session: Some(session),
                https,
            }),
            // Ended or unknown: a new anonymous identity.
            Ok(None) => None,
            // Storage down: the session may well be live, so the cookie is kept and the
            // request waits for another try (a new identity would sign the user out).
            Err(_) => return unavailable(),
        },
        _ => None,
    };
    let anonymous = match cookie.map(|c| c.identity) {
        Some(CookieIdentity::Anonymous(id)) => Some(id),
        _ => None,
    };
    let existing = signed_in.is_some() || anonymous.is_some();
    let mut viewer = signed_in.unwrap_or(Viewer {
        owner: Owner::Anonymous(anonymous.unwrap_or_else(Uuid::new_v4)),
        tier: Tier::Anonymous,
        ip: None,
        session: None,
        https,
    });
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    viewer.ip = client_ip(request.headers(), peer, trust);
    let own_navigation = request.method() == Method::GET && !is_cross_site(request.headers());
    let may_set = !is_cross_site(request.headers());
    let resign = cookie.is_some_and(|c| c.signed_with_previous) && own_navigation;
    request.extensions_mut().insert(viewer);
    let mut response = next.run(request).await;
    // A response that sets the cookie itself (log-in, log-out) keeps its own.
    let name = format!("{}=", cookie_name(https));
    let sets_own = response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .any(|v| v.as_bytes().starts_with(name.as_bytes()));
    if sets_own || !((!existing && may_set) || resign) {
        return response;
    }
    let identity = match (viewer.owner, viewer.session) {
        (_, Some(session)) => CookieIdentity::Session(session),
        (Owner::Anonymous(id), None) => CookieIdentity::Anonymous(id),
        (Owner::User(_), None) => return response,
    };
    if let Ok(value) = HeaderValue::from_str(&set_cookie(identity, &state.cookie_keys, https)) {
        response.headers_mut().append(SET_COOKIE, value);
    }
    response
}

/// 503 with `Retry-After`, for a request whose session cannot be checked right now.
fn unavailable() -> Response {
    let mut response = super::chat::error_response(
        axum::http::StatusCode::SERVICE_UNAVAILABLE,
        app::types::ErrorCode::Internal,
        "The service is unavailable right now. Please try again in a few seconds.",
    );
    response
        .headers_mut()
        .insert(axum::http::header::RETRY_AFTER, HeaderValue::from(5));
    response
}

/// Whether a browser says the request comes from another site (`Sec-Fetch-Site`), e.g. an
/// image or a form on another page: such a request never gets a cookie.
fn is_cross_site(headers: &HeaderMap) -> bool {
    headers
        .get("sec-fetch-site")
        .is_some_and(|v| v.as_bytes() == b"cross-site" || v.as_bytes() == b"same-site")
}

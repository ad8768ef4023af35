//! Who is calling: the identity cookie, signed with `SESSION_SECRET` (HMAC-SHA256 through the
//! `cookie` crate, verified in constant time), HttpOnly, SameSite=Lax, Secure behind HTTPS.
//!
//! Promises: every request reaching a handler carries a [`Viewer`] extension; a request
//! without a valid cookie gets a new anonymous identity and the cookie that keeps it; a
//! tampered or forged cookie is ignored (never trusted), never an error.
use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use cookie::{Cookie, CookieJar, Key, SameSite};
use uuid::Uuid;

use app::backend::{Owner, Viewer};
use app::types::Tier;

use super::AppState;

pub const COOKIE_NAME: &str = "fplchat_id";
const ANONYMOUS_PREFIX: &str = "anon:";
const MAX_AGE_DAYS: i64 = 400;

/// The signing key: derived from `SESSION_SECRET`, or random for this process.
pub fn cookie_key(secret: Option<&str>) -> Key {
    match secret {
        Some(secret) => Key::derive_from(secret.as_bytes()),
        None => Key::generate(),
    }
}

/// Reads the viewer from the signed cookie, if it is there and valid.
pub fn viewer_from_headers(headers: &HeaderMap, key: &Key) -> Option<Viewer> {
    let mut jar = CookieJar::new();
    for value in headers.get_all(COOKIE) {
        let Ok(value) = value.to_str() else { continue };
        for cookie in Cookie::split_parse_encoded(value.to_string()).flatten() {
            if cookie.name() == COOKIE_NAME {
                jar.add_original(cookie.into_owned());
            }
        }
    }
    let verified = jar.signed(key).get(COOKIE_NAME)?;
    let id = verified.value().strip_prefix(ANONYMOUS_PREFIX)?;
    let id = Uuid::parse_str(id).ok()?;
    Some(Viewer {
        owner: Owner::Anonymous(id),
        tier: Tier::Anonymous,
        ip: None,
    })
}

/// The `Set-Cookie` value for a new anonymous identity.
pub fn anonymous_cookie(id: Uuid, key: &Key, secure: bool) -> String {
    let mut jar = CookieJar::new();
    let cookie = Cookie::build((COOKIE_NAME, format!("{ANONYMOUS_PREFIX}{id}")))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .max_age(cookie::time::Duration::days(MAX_AGE_DAYS))
        .build();
    jar.signed_mut(key).add(cookie);
    jar.delta()
        .next()
        .map(|c| c.encoded().to_string())
        .unwrap_or_default()
}

/// Middleware: resolves the viewer, and sets the cookie when a new identity was made.
pub async fn layer(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let existing = viewer_from_headers(request.headers(), &state.cookie_key);
    let mut viewer = existing.unwrap_or(Viewer {
        owner: Owner::Anonymous(Uuid::new_v4()),
        tier: Tier::Anonymous,
        ip: None,
    });
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    viewer.ip = client_ip(request.headers(), peer, state.config.trust_proxy_headers);
    let secure = state.config.trust_proxy_headers
        && request
            .headers()
            .get("x-forwarded-proto")
            .is_some_and(|p| p.as_bytes().eq_ignore_ascii_case(b"https"));
    request.extensions_mut().insert(viewer);
    let mut response = next.run(request).await;
    if existing.is_none() {
        if let Owner::Anonymous(id) = viewer.owner {
            let value = anonymous_cookie(id, &state.cookie_key, secure);
            if let Ok(value) = HeaderValue::from_str(&value) {
                response.headers_mut().append(SET_COOKIE, value);
            }
        }
    }
    response
}

/// The client's address: the connection's peer, or, behind a trusted proxy
/// (`TRUST_PROXY_HEADERS`), the last `X-Forwarded-For` entry (the one the proxy itself added;
/// entries before it come from the client and could be forged).
pub fn client_ip(headers: &HeaderMap, peer: Option<IpAddr>, trust_proxy: bool) -> Option<IpAddr> {
    if trust_proxy {
        let forwarded = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|ip| ip.trim().parse::<IpAddr>().ok())
            .next_back();
        if forwarded.is_some() {
            return forwarded;
        }
    }
    peer
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers_with(cookie: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(COOKIE, HeaderValue::from_str(cookie).unwrap());
        h
    }

    #[test]
    fn a_signed_cookie_round_trips() {
        let key = cookie_key(Some(&"s".repeat(40)));
        let id = Uuid::new_v4();
        let set = anonymous_cookie(id, &key, false);
        assert!(set.contains("HttpOnly") && set.contains("SameSite=Lax") && set.contains("Path=/"));
        let pair = set.split(';').next().unwrap();
        let viewer = viewer_from_headers(&headers_with(&format!("other=1; {pair}")), &key).unwrap();
        assert_eq!(viewer.owner, Owner::Anonymous(id));
    }

    #[test]
    fn forged_or_foreign_cookies_are_ignored() {
        let key = cookie_key(Some(&"s".repeat(40)));
        let other = cookie_key(Some(&"t".repeat(40)));
        let id = Uuid::new_v4();
        let set = anonymous_cookie(id, &other, false);
        let pair = set.split(';').next().unwrap();
        assert!(viewer_from_headers(&headers_with(pair), &key).is_none());
        let forged = format!("{COOKIE_NAME}=anon:{id}");
        assert!(viewer_from_headers(&headers_with(&forged), &key).is_none());
        // Same signature, different id.
        let tampered = pair.replace(&id.to_string(), &Uuid::new_v4().to_string());
        assert!(viewer_from_headers(&headers_with(&tampered), &key).is_none());
    }

    #[test]
    fn the_client_ip_comes_from_a_trusted_proxy_only() {
        let mut h = HeaderMap::new();
        h.insert(
            "x-forwarded-for",
            HeaderValue::from_static("6.6.6.6, 203.0.113.7"),
        );
        let peer: IpAddr = "10.0.0.2".parse().unwrap();
        assert_eq!(client_ip(&h, Some(peer), false), Some(peer));
        assert_eq!(
            client_ip(&h, Some(peer), true),
            Some("203.0.113.7".parse().unwrap()),
            "the proxy's own entry, not the client's"
        );
        assert_eq!(client_ip(&HeaderMap::new(), Some(peer), true), Some(peer));
    }

    #[test]
    fn secure_flag_follows_https() {
        let key = cookie_key(None);
        assert!(anonymous_cookie(Uuid::new_v4(), &key, true).contains("Secure"));
        assert!(!anonymous_cookie(Uuid::new_v4(), &key, false).contains("Secure"));
    }
}

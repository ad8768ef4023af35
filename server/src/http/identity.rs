//! Who is calling: the identity cookie, signed with `SESSION_SECRET` (HMAC-SHA256 through the
//! `cookie` crate, verified in constant time), HttpOnly, SameSite=Lax, Secure behind HTTPS. It
//! holds either an anonymous identity or the id of a server-side session of a signed-in user.
//!
//! Promises: every request reaching a handler carries a [`Viewer`] extension; a request
//! without a valid cookie, or with a session that has ended, gets a new anonymous identity and
//! the cookie that keeps it; a tampered or forged cookie is ignored (never trusted), never an
//! error; a signed-in viewer has their account's tier.
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
const SESSION_PREFIX: &str = "sess:";
const MAX_AGE_DAYS: i64 = 400;

/// The signing key: derived from `SESSION_SECRET`, or random for this process.
pub fn cookie_key(secret: Option<&str>) -> Key {
    match secret {
        Some(secret) => Key::derive_from(secret.as_bytes()),
        None => Key::generate(),
    }
}

/// What a valid identity cookie says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CookieIdentity {
    Anonymous(Uuid),
    Session(Uuid),
}

/// Reads the signed cookie, if it is there and valid.
pub fn identity_from_headers(headers: &HeaderMap, key: &Key) -> Option<CookieIdentity> {
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
    let value = verified.value();
    if let Some(id) = value.strip_prefix(ANONYMOUS_PREFIX) {
        return Uuid::parse_str(id).ok().map(CookieIdentity::Anonymous);
    }
    let id = value.strip_prefix(SESSION_PREFIX)?;
    Uuid::parse_str(id).ok().map(CookieIdentity::Session)
}

fn signed_cookie(value: String, key: &Key, secure: bool) -> String {
    let mut jar = CookieJar::new();
    let cookie = Cookie::build((COOKIE_NAME, value))
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

/// The `Set-Cookie` value for a new anonymous identity.
pub fn anonymous_cookie(id: Uuid, key: &Key, secure: bool) -> String {
    signed_cookie(format!("{ANONYMOUS_PREFIX}{id}"), key, secure)
}

/// The `Set-Cookie` value for a signed-in session.
pub fn session_cookie(session: Uuid, key: &Key, secure: bool) -> String {
    signed_cookie(format!("{SESSION_PREFIX}{session}"), key, secure)
}

/// Middleware: resolves the viewer, and sets the cookie when a new identity was made.
pub async fn layer(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let identity = identity_from_headers(request.headers(), &state.cookie_key);
    let signed_in = match identity {
        Some(CookieIdentity::Session(session)) => match state.accounts.resolve(session).await {
            Ok(Some((user, tier))) => Some(Viewer {
                owner: Owner::User(user),
                tier,
                ip: None,
                session: Some(session),
            }),
            // Ended or unknown: a new anonymous identity. (Storage down: the same, rather
            // than failing every page.)
            _ => None,
        },
        _ => None,
    };
    let anonymous = match identity {
        Some(CookieIdentity::Anonymous(id)) => Some(id),
        _ => None,
    };
    let existing = signed_in.is_some() || anonymous.is_some();
    let mut viewer = signed_in.unwrap_or(Viewer {
        owner: Owner::Anonymous(anonymous.unwrap_or_else(Uuid::new_v4)),
        tier: Tier::Anonymous,
        ip: None,
        session: None,
    });
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    viewer.ip = client_ip(
        request.headers(),
        peer,
        ProxyTrust::from_config(&state.config),
    );
    let secure = state.config.trust_proxy_headers
        && request
            .headers()
            .get("x-forwarded-proto")
            .is_some_and(|p| p.as_bytes().eq_ignore_ascii_case(b"https"));
    request.extensions_mut().insert(viewer);
    let mut response = next.run(request).await;
    // A response that sets the cookie itself (log-in, log-out) keeps its own.
    let sets_own = response.headers().get_all(SET_COOKIE).iter().any(|v| {
        v.as_bytes()
            .starts_with(format!("{COOKIE_NAME}=").as_bytes())
    });
    if !existing && !sets_own {
        if let Owner::Anonymous(id) = viewer.owner {
            let value = anonymous_cookie(id, &state.cookie_key, secure);
            if let Ok(value) = HeaderValue::from_str(&value) {
                response.headers_mut().append(SET_COOKIE, value);
            }
        }
    }
    response
}

/// Which proxies in front of the app are trusted to say who the client is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyTrust {
    /// None: the client is the connection's peer, `X-Forwarded-For` is ignored.
    None,
    /// This many proxies each append the address they saw to `X-Forwarded-For`
    /// (`TRUST_PROXY_HEADERS=true`, `TRUSTED_PROXY_HOPS`).
    Hops(u32),
}

impl ProxyTrust {
    pub fn from_config(config: &crate::config::Config) -> Self {
        if config.trust_proxy_headers {
            Self::Hops(config.trusted_proxy_hops)
        } else {
            Self::None
        }
    }
}

/// The client's address: the connection's peer, or, behind trusted proxies, the
/// `X-Forwarded-For` entry that the outermost trusted proxy wrote: `hops` entries from the
/// right (every header joined in order). Entries to its left come from the client and could be
/// forged, so they are never used; when that entry is not an address (`unknown`, garbage), the
/// peer is used rather than any other entry. Entries may be `ip`, `ip:port` or `[v6]:port`.
pub fn client_ip(headers: &HeaderMap, peer: Option<IpAddr>, trust: ProxyTrust) -> Option<IpAddr> {
    let ProxyTrust::Hops(hops) = trust else {
        return peer;
    };
    let entries: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .collect();
    if entries.is_empty() {
        return peer;
    }
    // Fewer entries than proxies: the furthest one there is.
    let index = entries.len().saturating_sub(hops.max(1) as usize);
    parse_forwarded_ip(entries[index]).or(peer)
}

/// `203.0.113.7`, `203.0.113.7:4711`, `2001:db8::1`, `[2001:db8::1]:4711` → the address.
fn parse_forwarded_ip(entry: &str) -> Option<IpAddr> {
    if let Ok(ip) = entry.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(addr) = entry.parse::<SocketAddr>() {
        return Some(addr.ip());
    }
    // `[v6]` without a port.
    entry
        .strip_prefix('[')
        .and_then(|e| e.strip_suffix(']'))
        .and_then(|e| e.parse::<std::net::Ipv6Addr>().ok())
        .map(IpAddr::V6)
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
        let identity = identity_from_headers(&headers_with(&format!("other=1; {pair}")), &key);
        assert_eq!(identity, Some(CookieIdentity::Anonymous(id)));
        let session = Uuid::new_v4();
        let set = session_cookie(session, &key, false);
        let pair = set.split(';').next().unwrap();
        let identity = identity_from_headers(&headers_with(pair), &key);
        assert_eq!(identity, Some(CookieIdentity::Session(session)));
    }

    #[test]
    fn forged_or_foreign_cookies_are_ignored() {
        let key = cookie_key(Some(&"s".repeat(40)));
        let other = cookie_key(Some(&"t".repeat(40)));
        let id = Uuid::new_v4();
        let set = anonymous_cookie(id, &other, false);
        let pair = set.split(';').next().unwrap();
        assert!(identity_from_headers(&headers_with(pair), &key).is_none());
        let forged = format!("{COOKIE_NAME}=sess:{id}");
        assert!(identity_from_headers(&headers_with(&forged), &key).is_none());
        // Same signature, different id.
        let tampered = pair.replace(&id.to_string(), &Uuid::new_v4().to_string());
        assert!(identity_from_headers(&headers_with(&tampered), &key).is_none());
    }

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn the_client_ip_comes_from_a_trusted_proxy_only() {
        let peer: IpAddr = "10.0.0.2".parse().unwrap();
        let ip = |s: &str| Some(s.parse::<IpAddr>().unwrap());
        let h = forwarded(&["6.6.6.6, 203.0.113.7"]);
        assert_eq!(client_ip(&h, Some(peer), ProxyTrust::None), Some(peer));
        assert_eq!(
            client_ip(&h, Some(peer), ProxyTrust::Hops(1)),
            ip("203.0.113.7"),
            "the proxy's own entry, not the client's"
        );
        assert_eq!(
            client_ip(&h, Some(peer), ProxyTrust::Hops(2)),
            ip("6.6.6.6")
        );
        assert_eq!(
            client_ip(&HeaderMap::new(), Some(peer), ProxyTrust::Hops(1)),
            Some(peer)
        );
    }

    #[test]
    fn forwarded_entries_with_ports_and_garbage() {
        let peer: IpAddr = "10.0.0.2".parse().unwrap();
        let ip = |s: &str| Some(s.parse::<IpAddr>().unwrap());
        let one = ProxyTrust::Hops(1);
        for (header, client) in [
            ("6.6.6.6, 203.0.113.7:4711", ip("203.0.113.7")),
            ("6.6.6.6, [2001:db8::7]:4711", ip("2001:db8::7")),
            ("6.6.6.6, [2001:db8::7]", ip("2001:db8::7")),
            ("6.6.6.6, 2001:db8::7", ip("2001:db8::7")),
            // Not an address: the peer, never the client-supplied entry before it.
            ("6.6.6.6, unknown", Some(peer)),
            ("6.6.6.6, 203.0.113.7:port", Some(peer)),
            ("6.6.6.6,", ip("6.6.6.6")),
        ] {
            assert_eq!(
                client_ip(&forwarded(&[header]), Some(peer), one),
                client,
                "{header}"
            );
        }
        // Several headers are one list, in order.
        let h = forwarded(&["6.6.6.6", "198.51.100.1, 203.0.113.9"]);
        assert_eq!(client_ip(&h, Some(peer), one), ip("203.0.113.9"));
        assert_eq!(
            client_ip(&h, Some(peer), ProxyTrust::Hops(2)),
            ip("198.51.100.1")
        );
        assert_eq!(
            client_ip(&h, Some(peer), ProxyTrust::Hops(3)),
            ip("6.6.6.6")
        );
        // More hops than entries: the furthest entry there is.
        assert_eq!(
            client_ip(&h, Some(peer), ProxyTrust::Hops(5)),
            ip("6.6.6.6")
        );
    }

    #[test]
    fn secure_flag_follows_https() {
        let key = cookie_key(None);
        assert!(anonymous_cookie(Uuid::new_v4(), &key, true).contains("Secure"));
        assert!(!anonymous_cookie(Uuid::new_v4(), &key, false).contains("Secure"));
    }
}

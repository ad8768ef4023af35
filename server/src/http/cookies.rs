//! The identity cookie: its keys, its name, and reading and writing it.
//!
//! Promises: the cookie is signed (HMAC-SHA256 through the `cookie` crate, verified in constant
//! time) with the current key, and a cookie signed with the previous key
//! (`SESSION_SECRET_PREVIOUS`) is still accepted, so that a key can be rotated without signing
//! everyone out. The current key is `SESSION_SECRET` or, when that is unset, a key generated
//! once and kept in the database ([`CookieKeys::load`]), so that every instance on the database
//! shares it and it survives restarts: never a key of one process. The cookie is HttpOnly,
//! SameSite=Lax and Path=/; over HTTPS it is `Secure` and named with the `__Host-` prefix (the
//! browser then refuses it from a subdomain or over plain HTTP), and only that name is read.
//! A tampered or foreign cookie reads as no cookie, never as an error.
use axum::http::header::COOKIE;
use axum::http::HeaderMap;
use cookie::{Cookie, CookieJar, Key, SameSite};
use rand::RngCore;
use uuid::Uuid;

use crate::config::Config;
use crate::store::{Store, StoreError};

/// The cookie's name over plain HTTP (local runs, tests).
pub const COOKIE_NAME: &str = "fplchat_id";
/// Its name over HTTPS: the browser keeps a `__Host-` cookie only if it is Secure, has Path=/
/// and no Domain, so no subdomain and no plain-HTTP page can set or overwrite it.
pub const HOST_COOKIE_NAME: &str = "__Host-fplchat_id";
const ANONYMOUS_PREFIX: &str = "anon:";
const SESSION_PREFIX: &str = "sess:";
const MAX_AGE_DAYS: i64 = 400;
/// The database row that holds the generated key (`app_secrets.name`).
const STORED_KEY_NAME: &str = "cookie_key";

/// The keys that sign and verify identity cookies.
#[derive(Clone)]
pub struct CookieKeys {
    /// Signs every new cookie, and verifies.
    current: Key,
    /// Only verifies: cookies signed before a rotation (`SESSION_SECRET_PREVIOUS`).
    previous: Option<Key>,
}

/// Where the current key came from, for the start-up log and `doctor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySource {
    /// `SESSION_SECRET`.
    Configured,
    /// Generated once and kept in the database (table `app_secrets`).
    Stored,
}

impl CookieKeys {
    /// Keys from secrets (each at least 32 characters; `Key::derive_from` stretches them).
    pub fn new(current: &str, previous: Option<&str>) -> Self {
        Self {
            current: Key::derive_from(current.as_bytes()),
            previous: previous.map(|p| Key::derive_from(p.as_bytes())),
        }
    }

    /// `SESSION_SECRET`, else the key stored in the database (generated and stored by the
    /// first instance that needs it; every other instance then reads the same one).
    pub async fn load(config: &Config, store: &Store) -> Result<(Self, KeySource), StoreError> {
        let previous = config.session_secret_previous.as_ref().map(|s| s.expose());
        if let Some(secret) = &config.session_secret {
            return Ok((Self::new(secret.expose(), previous), KeySource::Configured));
        }
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let candidate: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let stored = store.secret_or_insert(STORED_KEY_NAME, &candidate).await?;
        Ok((Self::new(&stored, previous), KeySource::Stored))
    }

    /// Verifies `jar`'s cookie with the current key, then the previous one. The flag says
    /// whether the previous key was needed (the cookie should then be signed again).
    fn verify(&self, jar: &CookieJar, name: &str) -> Option<(String, bool)> {
        if let Some(c) = jar.signed(&self.current).get(name) {
            return Some((c.value().to_string(), false));
        }
        let previous = self.previous.as_ref()?;
        jar.signed(previous)
            .get(name)
            .map(|c| (c.value().to_string(), true))
    }
}

/// What a valid identity cookie says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CookieIdentity {
    Anonymous(Uuid),
    Session(Uuid),
}

/// The identity cookie's name for a request over HTTPS or not.
pub fn cookie_name(https: bool) -> &'static str {
    if https {
        HOST_COOKIE_NAME
    } else {
        COOKIE_NAME
    }
}

/// A verified identity cookie: what it says, and whether it was signed with the previous key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifiedCookie {
    pub identity: CookieIdentity,
    pub signed_with_previous: bool,
}

/// Reads the signed cookie of this transport, if it is there and valid.
pub fn identity_from_headers(
    headers: &HeaderMap,
    keys: &CookieKeys,
    https: bool,
) -> Option<VerifiedCookie> {
    let name = cookie_name(https);
    let mut jar = CookieJar::new();
    for value in headers.get_all(COOKIE) {
        let Ok(value) = value.to_str() else { continue };
        for cookie in Cookie::split_parse_encoded(value.to_string()).flatten() {
            if cookie.name() == name {
                jar.add_original(cookie.into_owned());
            }
        }
    }
    let (value, signed_with_previous) = keys.verify(&jar, name)?;
    let identity = if let Some(id) = value.strip_prefix(ANONYMOUS_PREFIX) {
        CookieIdentity::Anonymous(Uuid::parse_str(id).ok()?)
    } else {
        CookieIdentity::Session(Uuid::parse_str(value.strip_prefix(SESSION_PREFIX)?).ok()?)
    };
    Some(VerifiedCookie {
        identity,
        signed_with_previous,
    })
}

/// The `Set-Cookie` value for `identity`, signed with the current key.
pub fn set_cookie(identity: CookieIdentity, keys: &CookieKeys, https: bool) -> String {
    let value = match identity {
        CookieIdentity::Anonymous(id) => format!("{ANONYMOUS_PREFIX}{id}"),
        CookieIdentity::Session(id) => format!("{SESSION_PREFIX}{id}"),
    };
    let mut jar = CookieJar::new();
    let cookie = Cookie::build((cookie_name(https), value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(https)
        .max_age(cookie::time::Duration::days(MAX_AGE_DAYS))
        .build();
    jar.signed_mut(&keys.current).add(cookie);
    jar.delta()
        .next()
        .map(|c| c.encoded().to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers_with(cookie: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(COOKIE, HeaderValue::from_str(cookie).unwrap());
        h
    }

    fn pair(set_cookie: &str) -> &str {
        set_cookie.split(';').next().unwrap()
    }

    fn keys(secret: char) -> CookieKeys {
        CookieKeys::new(&secret.to_string().repeat(40), None)
    }

    #[test]
    fn a_signed_cookie_round_trips() {
        let keys = keys('s');
        let id = CookieIdentity::Anonymous(Uuid::new_v4());
        let set = set_cookie(id, &keys, false);
        assert!(set.contains("HttpOnly") && set.contains("SameSite=Lax") && set.contains("Path=/"));
        let read = identity_from_headers(
            &headers_with(&format!("other=1; {}", pair(&set))),
            &keys,
            false,
        );
        assert_eq!(read.map(|r| r.identity), Some(id));
        let session = CookieIdentity::Session(Uuid::new_v4());
        let set = set_cookie(session, &keys, false);
        let read = identity_from_headers(&headers_with(pair(&set)), &keys, false).unwrap();
        assert_eq!(read.identity, session);
        assert!(!read.signed_with_previous);
    }

    #[test]
    fn forged_or_foreign_cookies_are_ignored() {
        let (key, other) = (keys('s'), keys('t'));
        let id = Uuid::new_v4();
        let set = set_cookie(CookieIdentity::Anonymous(id), &other, false);
        assert!(identity_from_headers(&headers_with(pair(&set)), &key, false).is_none());
        let forged = format!("{COOKIE_NAME}=sess:{id}");
        assert!(identity_from_headers(&headers_with(&forged), &key, false).is_none());
        // Same signature, different id.
        let tampered = pair(&set).replace(&id.to_string(), &Uuid::new_v4().to_string());
        assert!(identity_from_headers(&headers_with(&tampered), &key, false).is_none());
    }

    #[test]
    fn the_previous_key_still_verifies_but_never_signs() {
        let old = "o".repeat(40);
        let before = CookieKeys::new(&old, None);
        let after = CookieKeys::new(&"n".repeat(40), Some(&old));
        let id = CookieIdentity::Anonymous(Uuid::new_v4());
        let old_cookie = set_cookie(id, &before, false);
        let read = identity_from_headers(&headers_with(pair(&old_cookie)), &after, false).unwrap();
        assert_eq!(read.identity, id);
        assert!(read.signed_with_previous);
        // A new cookie is signed with the new key: the old key alone no longer reads it.
        let new_cookie = set_cookie(id, &after, false);
        assert!(identity_from_headers(&headers_with(pair(&new_cookie)), &before, false).is_none());
        // Without the previous key configured, the old cookie is gone.
        let rotated = CookieKeys::new(&"n".repeat(40), None);
        assert!(identity_from_headers(&headers_with(pair(&old_cookie)), &rotated, false).is_none());
    }

    #[test]
    fn over_https_the_cookie_is_secure_and_host_prefixed() {
        let keys = keys('s');
        let id = CookieIdentity::Anonymous(Uuid::new_v4());
        let set = set_cookie(id, &keys, true);
        assert!(
            set.starts_with("__Host-fplchat_id=") && set.contains("Secure"),
            "{set}"
        );
        assert!(!set.contains("Domain"), "{set}");
        let read = identity_from_headers(&headers_with(pair(&set)), &keys, true);
        assert_eq!(read.map(|r| r.identity), Some(id));
        // Over HTTPS the unprefixed name (which a subdomain could set) is not read.
        let plain = set_cookie(id, &keys, false);
        assert!(!plain.contains("Secure"));
        assert!(identity_from_headers(&headers_with(pair(&plain)), &keys, true).is_none());
    }
}

//! Cross-site request refusal (CSRF): a request that would change state and that a browser
//! says comes from another site is refused before anything runs.
//!
//! Promises: every request with a method other than GET, HEAD or OPTIONS (server functions,
//! the auth endpoints, the no-JS form post, `/api/chat`) whose `Origin` is not this site's own
//! (or, without `Origin`, whose `Sec-Fetch-Site` is not `same-origin` or `none`) gets 403 with
//! the JSON error body, and no `Set-Cookie` (this layer runs outside the identity layer);
//! `Origin: null` is another site. Requests with neither header (programs, not browsers) pass.
//! The JSON endpoints of the accounts (`/api/auth/signup`, `/login`, `/logout`) refuse any other `Content-Type` (415):
//! a `<form enctype=text/plain>` on another site can forge a JSON-looking body, never that
//! header.
use axum::extract::Request;
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;

use app::types::ErrorCode;

use super::chat::error_response;

/// Endpoints whose bodies are JSON (the accounts' server functions with `input = Json`): a
/// form can only post them with another type.
const JSON_ENDPOINTS: [&str; 3] = ["/api/auth/signup", "/api/auth/login", "/api/auth/logout"];

pub async fn layer(request: Request, next: Next) -> Response {
    let method = request.method();
    if method == Method::GET || method == Method::HEAD || method == Method::OPTIONS {
        return next.run(request).await;
    }
    if !same_site(request.headers()) {
        return error_response(
            StatusCode::FORBIDDEN,
            ErrorCode::Forbidden,
            "Cross-site requests cannot change anything here.",
        );
    }
    if JSON_ENDPOINTS.contains(&request.uri().path()) && !is_json(request.headers()) {
        return error_response(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::InvalidInput,
            "Send the request as application/json.",
        );
    }
    next.run(request).await
}

/// Whether the browser's headers show the request comes from this site (or from no browser).
fn same_site(headers: &HeaderMap) -> bool {
    if let Some(origin) = headers.get(header::ORIGIN) {
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
        return match (origin.to_str().ok().and_then(authority_of), host) {
            (Some(origin), Some(host)) => origin.eq_ignore_ascii_case(host.trim()),
            _ => false,
        };
    }
    match headers.get("sec-fetch-site") {
        Some(site) => matches!(site.as_bytes(), b"same-origin" | b"none"),
        None => true,
    }
}

/// `https://example.com:8443` → `example.com:8443`; `null` and anything else → `None`.
fn authority_of(origin: &str) -> Option<&str> {
    let (scheme, rest) = origin.trim().split_once("://")?;
    if !matches!(scheme, "http" | "https") || rest.is_empty() || rest.contains(['/', '@']) {
        return None;
    }
    Some(rest)
}

/// `Content-Type: application/json` (with or without parameters).
pub fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn only_this_sites_origin_passes() {
        let host = ("host", "chat.example.com");
        assert!(same_site(&headers(&[
            host,
            ("origin", "https://chat.example.com")
        ])));
        assert!(same_site(&headers(&[
            host,
            ("origin", "https://CHAT.example.com")
        ])));
        for origin in [
            "https://evil.example",
            "https://chat.example.com.evil.example",
            "https://chat.example.com:8443",
            "null",
            "chat.example.com",
            "https://user@chat.example.com",
        ] {
            let h = headers(&[
                host,
                ("origin", Box::leak(origin.to_string().into_boxed_str())),
            ]);
            assert!(!same_site(&h), "{origin}");
        }
    }

    #[test]
    fn without_origin_the_fetch_metadata_decides() {
        assert!(same_site(&headers(&[("sec-fetch-site", "same-origin")])));
        assert!(same_site(&headers(&[("sec-fetch-site", "none")])));
        assert!(!same_site(&headers(&[("sec-fetch-site", "cross-site")])));
        assert!(!same_site(&headers(&[("sec-fetch-site", "same-site")])));
        assert!(same_site(&HeaderMap::new()), "programs send neither");
    }

    #[test]
    fn json_means_the_json_media_type() {
        assert!(is_json(&headers(&[(
            "content-type",
            "application/json; charset=utf-8"
        )])));
        assert!(!is_json(&headers(&[("content-type", "text/plain")])));
        assert!(!is_json(&headers(&[("content-type", "application/jsonx")])));
        assert!(!is_json(&HeaderMap::new()));
    }
}

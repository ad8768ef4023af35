//! How long browsers keep the site's files.
//!
//! Promises: with content-hashed names (`hash-files`, see `startup::leptos_options`) the
//! JS, WASM and CSS under `/pkg/` are `Cache-Control: public, max-age=31536000, immutable`
//! (a new build has new names, so a cached file is never stale); without hashing they are
//! `no-cache` (revalidated every time, as a rebuild keeps their names). The icons, the web
//! manifest and `robots.txt` are kept a day. Pages and API answers are not touched here.
//! The files themselves come precompressed (brotli and gzip, `cargo leptos build
//! --precompress`), chosen by the request's `Accept-Encoding`.
use axum::extract::{Request, State};
use axum::http::header::CACHE_CONTROL;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;

use super::AppState;

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const A_DAY: &str = "public, max-age=86400";

/// The files of `public/` (copied to the site root).
const PUBLIC_FILES: [&str; 6] = [
    "/favicon.svg",
    "/icon-192.png",
    "/icon-512.png",
    "/apple-touch-icon.png",
    "/manifest.webmanifest",
    "/robots.txt",
];

pub async fn layer(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let mut response = next.run(request).await;
    if !response.status().is_success() {
        return response;
    }
    let policy = if path.starts_with("/pkg/") {
        if state.leptos_options.hash_files {
            IMMUTABLE
        } else {
            "no-cache"
        }
    } else if PUBLIC_FILES.contains(&path.as_str()) {
        A_DAY
    } else {
        return response;
    };
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static(policy));
    response
}

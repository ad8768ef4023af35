//! `x-request-id`: every request gets an id that its log lines and its response carry.
//!
//! Promises: an incoming id is kept when it is 1 to 128 characters of letters, digits and
//! `-_.:` (a proxy's or a client's, so that one id follows a request across services);
//! anything else is replaced by a new UUID, never echoed; the id is in the response's
//! `x-request-id` header, in the request's headers for the handlers, and in the `request` span
//! that every log line of the request (and of the chat turn it starts) is written in, with the
//! chat's `conversation` once it is known; each request ends with one line (`request`: method,
//! path, status, time to the response head), at debug level for health checks and metrics
//! scrapes so that probes do not flood the log.
//!
//! By hand rather than tower-http's `SetRequestIdLayer`, which keeps any incoming id as it is
//! (a client could put anything in the logs) and opens no span.
use std::time::Instant;

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

pub static HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// Longest incoming id kept.
const MAX_LEN: usize = 128;

/// The incoming id if it is one we keep.
fn kept(value: &HeaderValue) -> Option<HeaderValue> {
    let bytes = value.as_bytes();
    let allowed = |b: &u8| b.is_ascii_alphanumeric() || b"-_.:".contains(b);
    ((1..=MAX_LEN).contains(&bytes.len()) && bytes.iter().all(allowed)).then(|| value.clone())
}

/// Middleware: gives the request its id and runs it in the `request` span.
pub async fn layer(mut request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get(&HEADER)
        .and_then(kept)
        .unwrap_or_else(|| {
            HeaderValue::try_from(uuid::Uuid::new_v4().to_string()).expect("a UUID is ASCII")
        });
    request.headers_mut().insert(HEADER.clone(), id.clone());
    let text = id.to_str().unwrap_or_default();
    // `conversation` is filled in by a chat request once its conversation is known.
    let span = tracing::info_span!(
        "request",
        request_id = text,
        conversation = tracing::field::Empty
    );
    let (method, path) = (request.method().clone(), request.uri().path().to_string());
    let started = Instant::now();
    let mut response = next.run(request).instrument(span.clone()).await;
    let status = response.status().as_u16();
    let ms = started.elapsed().as_secs_f64() * 1e3;
    span.in_scope(|| {
        if matches!(path.as_str(), "/healthz" | "/readyz" | "/api/metrics") {
            tracing::debug!(%method, path, status, ms, "request");
        } else {
            tracing::info!(%method, path, status, ms, "request");
        }
    });
    response.headers_mut().insert(HEADER.clone(), id);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_ids_of_a_sane_length_are_kept() {
        for good in ["abc", "4bf92f3577b34da6a3ce929d0e0e4736", "req-1.2_3:x"] {
            assert!(kept(&HeaderValue::from_static(good)).is_some(), "{good}");
        }
        let long = "a".repeat(MAX_LEN + 1);
        for bad in ["", "two words", "<script>", "a\"b", long.as_str()] {
            let value = HeaderValue::from_str(bad).unwrap();
            assert!(kept(&value).is_none(), "{bad:?}");
        }
    }
}

//! Operations endpoints: `/healthz` (the process answers), `/readyz` (each dependency's state,
//! at most 2 s old: [`super::ready`]) and `/api/metrics` (Prometheus text, behind a bearer
//! token compared in constant time; with no `METRICS_AUTH_TOKEN` configured it refuses
//! everyone), plus the middleware that records every request's route, status and duration.
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use subtle::ConstantTimeEq;

use super::ready::Readiness;
use super::AppState;

pub async fn healthz() -> &'static str {
    "ok"
}

pub async fn readyz(State(state): State<AppState>) -> Response {
    let report = state.readiness.report(&state).await;
    let status = if report.ready() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(report)).into_response()
}

pub async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if !authorized(
        &headers,
        state.config.metrics_token.as_ref().map(|t| t.expose()),
    ) {
        let mut response = (StatusCode::UNAUTHORIZED, "unauthorized\n").into_response();
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"metrics\""),
        );
        return response;
    }
    for (pool, idle, in_use) in state.store.pool_stats() {
        state.metrics.record_db_pool(pool, idle, in_use);
    }
    // The readiness of every dependency, from a check at most 2 s old (shared with /readyz).
    let report = state.readiness.report(&state).await;
    for (dependency, readiness) in report.dependencies() {
        let ready = match readiness {
            Readiness::Ok => Some(true),
            Readiness::Down => Some(false),
            Readiness::Disabled | Readiness::Offline => None,
        };
        state.metrics.record_dependency(dependency, ready);
    }
    // One indexed count per scrape; a database that cannot answer within the readiness
    // check's limit leaves the last value (and the scrape stays well inside Prometheus's
    // timeout, so a hung database shows as `dependency_ready 0`, not as the instance down).
    let count = state.store.count_live_sessions();
    if let Ok(Ok(live)) = tokio::time::timeout(super::ready::CHECK_TIMEOUT, count).await {
        state.metrics.sessions_active.set(live);
    }
    let openmetrics = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/openmetrics-text"));
    if openmetrics {
        (
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            state.metrics.encode_openmetrics(),
        )
            .into_response()
    } else {
        (
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            state.metrics.encode_prometheus(),
        )
            .into_response()
    }
}

/// `Authorization: Bearer <token>` equal to the configured token, compared in constant time
/// (`/api/metrics` and `/mcp`).
pub(crate) fn authorized(headers: &HeaderMap, expected: Option<&str>) -> bool {
    let Some(expected) = expected else {
        return false;
    };
    let Some(given) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return false;
    };
    given.trim().as_bytes().ct_eq(expected.as_bytes()).into()
}

/// Records every request: method, matched route (never the raw path, so ids do not explode
/// the label set), status, and time to the response head.
pub async fn record(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| {
            if request.uri().path().starts_with("/pkg/") {
                "/pkg/*".into()
            } else {
                "unmatched".into()
            }
        });
    let response = next.run(request).await;
    state.metrics.record_http(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_auth(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn only_the_exact_bearer_token_is_accepted() {
        assert!(authorized(&with_auth("Bearer s3cret"), Some("s3cret")));
        assert!(!authorized(&with_auth("Bearer s3cret"), None));
        assert!(!authorized(&with_auth("Bearer s3cre"), Some("s3cret")));
        assert!(!authorized(&with_auth("Bearer s3cretX"), Some("s3cret")));
        assert!(!authorized(&with_auth("Basic s3cret"), Some("s3cret")));
        assert!(!authorized(&HeaderMap::new(), Some("s3cret")));
    }
}

//! When and how long to wait before retrying a Messages API request, as Anthropic's official
//! SDKs decide it.
//!
//! Promises: only failures before the stream starts are retried: connection errors, timeouts,
//! and the statuses 408, 409, 429 and 5xx (529 included). `x-should-retry: true|false` from
//! the server overrides the status. The wait is the server's `retry-after-ms` or `retry-after`
//! (seconds or an HTTP date) when that is above 0 and at most 60 s, else exponential backoff:
//! 0.5 s doubling per retry, at most 8 s, shortened by up to 25 % of random jitter. A 429
//! without any retry-after is a spend or usage cap, which waiting will not lift: not retried.
use std::time::{Duration, SystemTime};

use reqwest::header::HeaderMap;
use reqwest::StatusCode;

const INITIAL_DELAY: Duration = Duration::from_millis(500);
const MAX_DELAY: Duration = Duration::from_secs(8);
const MAX_SERVER_DELAY: Duration = Duration::from_secs(60);

/// Whether a failed attempt may be retried.
pub fn should_retry(status: StatusCode, headers: &HeaderMap) -> bool {
    match header(headers, "x-should-retry") {
        Some("true") => return true,
        Some("false") => return false,
        _ => {}
    }
    match status.as_u16() {
        429 => has_retry_after(headers),
        408 | 409 => true,
        s => s >= 500,
    }
}

/// True when the server sent a retry-after header of any value (a rate limit, not a cap).
fn has_retry_after(headers: &HeaderMap) -> bool {
    headers.contains_key("retry-after") || headers.contains_key("retry-after-ms")
}

/// How long to wait before retry number `retries_done + 1`; `jitter` is a random number in
/// [0, 1).
pub fn delay(headers: Option<&HeaderMap>, retries_done: u32, jitter: f64) -> Duration {
    if let Some(delay) = headers.and_then(server_delay) {
        return delay;
    }
    let backoff = INITIAL_DELAY
        .saturating_mul(2u32.saturating_pow(retries_done))
        .min(MAX_DELAY);
    backoff.mul_f64(1.0 - 0.25 * jitter.clamp(0.0, 1.0))
}

/// The server's requested wait, when it is usable (above 0, at most 60 s).
fn server_delay(headers: &HeaderMap) -> Option<Duration> {
    let from_ms = header(headers, "retry-after-ms")
        .and_then(|v| v.trim().parse::<f64>().ok())
        .map(|ms| ms / 1000.0);
    let seconds = from_ms.or_else(|| {
        let raw = header(headers, "retry-after")?.trim();
        raw.parse::<f64>().ok().or_else(|| {
            let at = httpdate::parse_http_date(raw).ok()?;
            Some(
                at.duration_since(SystemTime::now())
                    .map(|d| d.as_secs_f64())
                    .unwrap_or(0.0),
            )
        })
    })?;
    (seconds > 0.0 && seconds <= MAX_SERVER_DELAY.as_secs_f64())
        .then(|| Duration::from_secs_f64(seconds))
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    fn status(code: u16) -> StatusCode {
        StatusCode::from_u16(code).unwrap()
    }

    #[test]
    fn retryable_statuses_are_the_sdks() {
        let none = HeaderMap::new();
        for code in [408, 409, 500, 502, 503, 504, 529] {
            assert!(should_retry(status(code), &none), "{code}");
        }
        for code in [400, 401, 403, 404, 413, 422] {
            assert!(!should_retry(status(code), &none), "{code}");
        }
        assert!(should_retry(status(429), &headers(&[("retry-after", "3")])));
        assert!(
            !should_retry(status(429), &none),
            "a 429 without retry-after is a spend cap"
        );
    }

    #[test]
    fn the_server_can_overrule_the_status() {
        assert!(!should_retry(
            status(529),
            &headers(&[("x-should-retry", "false")])
        ));
        assert!(should_retry(
            status(400),
            &headers(&[("x-should-retry", "true")])
        ));
        assert!(should_retry(
            status(429),
            &headers(&[("x-should-retry", "true")])
        ));
    }

    #[test]
    fn the_server_delay_wins_when_it_is_sane() {
        let ms = headers(&[("retry-after-ms", "250"), ("retry-after", "9")]);
        assert_eq!(delay(Some(&ms), 0, 0.0), Duration::from_millis(250));
        let secs = headers(&[("retry-after", "1.5")]);
        assert_eq!(delay(Some(&secs), 3, 0.9), Duration::from_millis(1500));
        let date = headers(&[(
            "retry-after",
            &httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(5)),
        )]);
        let d = delay(Some(&date), 0, 0.0);
        assert!(
            d > Duration::from_secs(3) && d <= Duration::from_secs(5),
            "{d:?}"
        );
        // Zero, negative, too long or unreadable: exponential backoff instead.
        for raw in ["0", "-1", "61", "soon"] {
            let h = headers(&[("retry-after", raw)]);
            assert_eq!(delay(Some(&h), 0, 0.0), INITIAL_DELAY, "{raw}");
        }
    }

    #[test]
    fn backoff_doubles_from_half_a_second_to_eight_with_jitter() {
        let no_jitter: Vec<Duration> = (0..6).map(|n| delay(None, n, 0.0)).collect();
        assert_eq!(
            no_jitter,
            [500, 1000, 2000, 4000, 8000, 8000].map(Duration::from_millis)
        );
        let most_jitter = delay(None, 0, 0.999_999);
        assert!(
            most_jitter > Duration::from_millis(374) && most_jitter < Duration::from_millis(376)
        );
        assert_eq!(delay(None, 1, 0.5), Duration::from_millis(875));
        assert_eq!(delay(None, 40, 0.0), MAX_DELAY);
    }
}

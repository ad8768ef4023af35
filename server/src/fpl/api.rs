//! HTTP client of the public FPL API.
//!
//! Promises: every request carries a polite User-Agent and connect + total timeouts;
//! 5xx, 429 and network failures are retried with exponential backoff (a `Retry-After`
//! header, in seconds or as an HTTP date, is honoured up to a cap); 404 becomes
//! [`FplError::NotAvailable`]; other 4xx fail at once.

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::StatusCode;

use crate::fpl::error::FplError;

/// Default base URL of the live API.
pub const DEFAULT_BASE_URL: &str = "https://fantasy.premierleague.com/api";

/// User-Agent sent with every request.
pub const USER_AGENT: &str = concat!(
    "fpl-chat/",
    env!("CARGO_PKG_VERSION"),
    " (+https://github.com/fpl-chat/fpl-chat)"
);

/// Timeouts and retry policy of the API client.
#[derive(Debug, Clone)]
pub struct ApiOptions {
    pub connect_timeout: Duration,
    /// Whole-request timeout (connect, send, read body).
    pub timeout: Duration,
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// First backoff; doubled on each retry.
    pub initial_backoff: Duration,
    /// Upper bound of any wait, including a server's `Retry-After`.
    pub max_backoff: Duration,
    pub user_agent: String,
}

impl Default for ApiOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(20),
            max_retries: 3,
            initial_backoff: Duration::from_millis(300),
            max_backoff: Duration::from_secs(30),
            user_agent: USER_AGENT.to_string(),
        }
    }
}

/// A client of one FPL API base URL.
#[derive(Debug, Clone)]
pub struct ApiClient {
    base_url: String,
    http: reqwest::Client,
    options: ApiOptions,
}

impl ApiClient {
    /// A client for `base_url` (e.g. [`DEFAULT_BASE_URL`]); a trailing `/` is ignored.
    pub fn new(base_url: &str, options: ApiOptions) -> Result<Self, FplError> {
        let base_url = base_url.trim().trim_end_matches('/').to_string();
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            return Err(FplError::Config(format!(
                "FPL API base URL must start with http:// or https://, got '{base_url}'"
            )));
        }
        let http = reqwest::Client::builder()
            .user_agent(options.user_agent.clone())
            .connect_timeout(options.connect_timeout)
            .timeout(options.timeout)
            .build()
            .map_err(|e| FplError::Config(format!("HTTP client: {e}")))?;
        Ok(Self {
            base_url,
            http,
            options,
        })
    }

    /// The base URL without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// GET `path` (starting with `/`) and return the body, retrying as documented above.
    pub async fn get_bytes(&self, path: &str) -> Result<Vec<u8>, FplError> {
        let url = format!("{}{}", self.base_url, path);
        let mut attempt: u32 = 0;
        loop {
            let backoff = self.backoff(attempt);
            let outcome = self.http.get(&url).send().await;
            let wait = match outcome {
                Ok(resp) => {
                    let status = resp.status();
                    if status.is_success() {
                        match resp.bytes().await {
                            Ok(body) => return Ok(body.to_vec()),
                            Err(e) if attempt < self.options.max_retries => {
                                tracing::warn!(%url, error = %e, "FPL API body read failed; retrying");
                                backoff
                            }
                            Err(e) => return Err(FplError::Network(format!("{url}: {e}"))),
                        }
                    } else if status == StatusCode::NOT_FOUND {
                        return Err(FplError::NotAvailable(format!(
                            "{path} was not found on the FPL API"
                        )));
                    } else if retryable(status) && attempt < self.options.max_retries {
                        let wait = retry_after(resp.headers(), Utc::now())
                            .map(|w| w.min(self.options.max_backoff))
                            .unwrap_or(backoff);
                        tracing::warn!(%url, %status, wait_ms = wait.as_millis() as u64, "FPL API busy; retrying");
                        wait
                    } else {
                        return Err(FplError::Http {
                            status: status.as_u16(),
                            url,
                        });
                    }
                }
                Err(e) if attempt < self.options.max_retries => {
                    tracing::warn!(%url, error = %e, "FPL API request failed; retrying");
                    backoff
                }
                Err(e) => return Err(FplError::Network(format!("{url}: {e}"))),
            };
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.min(16));
        self.options
            .initial_backoff
            .saturating_mul(factor)
            .min(self.options.max_backoff)
    }
}

fn retryable(status: StatusCode) -> bool {
    status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS
}

/// The wait a `Retry-After` header asks for: delta-seconds or an HTTP date.
pub fn retry_after(headers: &HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = DateTime::parse_from_rfc2822(value)
        .ok()?
        .with_timezone(&Utc);
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = DateTime::parse_from_rfc3339("2025-10-14T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h, now), None);
        h.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(7)));
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Tue, 14 Oct 2025 12:00:30 GMT"),
        );
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(30)));
        h.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h, now), None);
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let c = ApiClient::new(
            "http://127.0.0.1:1/api/",
            ApiOptions {
                initial_backoff: Duration::from_millis(100),
                max_backoff: Duration::from_millis(350),
                ..ApiOptions::default()
            },
        )
        .unwrap();
        assert_eq!(c.base_url(), "http://127.0.0.1:1/api");
        assert_eq!(c.backoff(0), Duration::from_millis(100));
        assert_eq!(c.backoff(1), Duration::from_millis(200));
        assert_eq!(c.backoff(2), Duration::from_millis(350));
        assert!(ApiClient::new("ftp://x", ApiOptions::default()).is_err());
    }
}

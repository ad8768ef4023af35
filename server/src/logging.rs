//! The process's log output: readable text by default, one JSON object per line with
//! `LOG_FORMAT=json`; which lines by `RUST_LOG` (default: `info`, quieter for tower-http and sqlx).
//!
//! Promises: every line written while a request is served carries its `request_id` (the span
//! `request`, see `http::request_id`), and every line of a chat turn once its conversation is
//! known, in the turn's own task (span `turn`) with its tools and upstream requests, also the
//! `conversation`; in JSON the fields of every enclosing span are in the line's `spans`.
//! Nothing here formats a secret: configuration secrets are [`Secret`](crate::config::Secret)s
//! and URLs are logged through `redact_url`.
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// The filter when `RUST_LOG` is unset.
const DEFAULT_FILTER: &str = "info,tower_http=warn,sqlx=warn";

/// Installs the process's subscriber; call once, before anything logs.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| DEFAULT_FILTER.into());
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(true)
            .init(),
    }
}

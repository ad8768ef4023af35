//! The process's log output: readable text by default, one JSON object per line with
//! `LOG_FORMAT=json`; which lines by `RUST_LOG` (default: `info`, quieter for tower-http and sqlx).
//!
//! Promises: every line written while a request is served carries its `request_id` (the span
//! `request`, see `http::request_id`), and every line of a chat turn once its conversation is
//! known, in the turn's own task (span `turn`) with its tools and upstream requests, also the
//! `conversation`; in JSON the fields of every enclosing span are in the line's `spans`.
//! Nothing here formats a secret: configuration secrets are [`Secret`](crate::config::Secret)s
//! and URLs are logged through `redact_url`.
//!
//! Beside the log output, [`AcquireWait`] turns sqlx's own measure of the time a query waited
//! for a pooled connection (its `sqlx::pool::acquire` events, whatever `RUST_LOG` says) into
//! `db_pool_acquire_duration_seconds`: sqlx exposes that time nowhere else, and timing the
//! acquire ourselves would mean acquiring by hand in front of every query.
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::config::LogFormat;

/// The filter when `RUST_LOG` is unset.
const DEFAULT_FILTER: &str = "info,tower_http=warn,sqlx=warn";

/// Installs the process's subscriber; call once, before anything logs.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| DEFAULT_FILTER.into());
    let output = match format {
        LogFormat::Text => tracing_subscriber::fmt::layer().boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(true)
            .boxed(),
    };
    tracing_subscriber::registry()
        .with(output.with_filter(filter))
        .with(AcquireWait::layer())
        .init();
}

/// sqlx's event after every pooled connection it hands out (`PoolOptions::acquire_time_level`
/// set by the store), and the field holding the wait in seconds (sic: sqlx spells it so).
const ACQUIRE_TARGET: &str = "sqlx::pool::acquire";
const ACQUIRE_FIELD: &str = "aquired_after_secs";

/// Records each `sqlx::pool::acquire` event's wait in
/// [`crate::metrics::db_acquire_wait`].
pub struct AcquireWait;

impl AcquireWait {
    /// The layer with its own filter: sqlx's acquire events at every level, nothing else.
    pub fn layer<S>() -> impl Layer<S>
    where
        S: Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    {
        AcquireWait.with_filter(Targets::new().with_target(ACQUIRE_TARGET, Level::TRACE))
    }
}

impl<S: Subscriber> Layer<S> for AcquireWait {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        struct Waited(Option<f64>);
        impl Visit for Waited {
            fn record_f64(&mut self, field: &Field, value: f64) {
                if field.name() == ACQUIRE_FIELD {
                    self.0 = Some(value);
                }
            }
            fn record_debug(&mut self, _: &Field, _: &dyn std::fmt::Debug) {}
        }
        let mut waited = Waited(None);
        event.record(&mut waited);
        if let Some(secs) = waited.0 {
            crate::metrics::db_acquire_wait().observe(secs);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A query through a pool is one sqlx acquire event, which lands in the histogram.
    #[tokio::test]
    async fn pooled_queries_record_their_wait_for_a_connection() {
        let subscriber = tracing_subscriber::registry().with(AcquireWait::layer());
        let _guard = tracing::subscriber::set_default(subscriber);
        let count = || {
            let text = crate::metrics::Metrics::new().encode_prometheus();
            text.lines()
                .find_map(|l| l.strip_prefix("db_pool_acquire_duration_seconds_count "))
                .map(|v| v.parse::<u64>().unwrap())
                .expect("the histogram is exposed")
        };
        let before = count();
        let store = crate::store::Store::connect("sqlite::memory:")
            .await
            .unwrap();
        store.ping().await.unwrap();
        store.ping().await.unwrap();
        assert!(count() >= before + 2, "{before} -> {}", count());
    }
}

//! Per-model correction of token estimates: tiktoken's `cl100k_base` undercounts Claude by
//! 4-35 % (most on code and pretty JSON) and the newest Claude tokenizers by 30-80 %, so an
//! uncorrected count is not a budget.
//!
//! Promises: after each model request the estimate of what was sent is compared with the
//! `input_tokens` the API reported, and the model's factor moves a fifth of the way towards
//! that ratio (clamped to 0.5-3, so one odd request cannot swing it); before any observation the
//! factor is 1; factors live in Redis (one hash, shared by every instance, no expiry: a handful
//! of models) when it is configured and reachable, and in the process otherwise; reads are
//! served from the process and refreshed from Redis at most once a minute.
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::redis_conn::{RedisClient, RedisConnection};

const WEIGHT: f64 = 0.2;
const MIN: f64 = 0.5;
const MAX: f64 = 3.0;
const REFRESH: Duration = Duration::from_secs(60);

pub struct Calibration {
    redis: Option<RedisConnection>,
    key: String,
    local: Mutex<HashMap<String, (f64, Instant)>>,
}

impl Calibration {
    pub fn new(redis: Option<RedisClient>, prefix: &str) -> Self {
        Self {
            redis: redis.map(|c| RedisConnection::new(c, Duration::from_millis(250))),
            key: format!("{prefix}tokens:calibration"),
            local: Mutex::new(HashMap::new()),
        }
    }

    fn cached(&self, model: &str) -> Option<(f64, Instant)> {
        let local = self.local.lock().unwrap_or_else(|e| e.into_inner());
        local.get(model).copied()
    }

    fn remember(&self, model: &str, factor: f64) {
        let mut local = self.local.lock().unwrap_or_else(|e| e.into_inner());
        local.insert(model.to_string(), (factor, Instant::now()));
    }

    /// Reported tokens per estimated token for `model`.
    pub async fn factor(&self, model: &str) -> f64 {
        let cached = self.cached(model);
        if let Some((factor, at)) = cached {
            if self.redis.is_none() || at.elapsed() < REFRESH {
                return factor;
            }
        }
        if let Some(redis) = &self.redis {
            let (key, field) = (self.key.clone(), model.to_string());
            let stored: Result<Option<f64>, _> = redis
                .run(|mut c| async move {
                    redis::cmd("HGET")
                        .arg(&key)
                        .arg(&field)
                        .query_async(&mut c)
                        .await
                })
                .await;
            if let Ok(Some(factor)) = stored {
                self.remember(model, factor);
                return factor;
            }
        }
        cached.map(|(f, _)| f).unwrap_or(1.0)
    }

    /// One request: `estimated` tokens were sent, the API counted `reported`.
    pub async fn observe(&self, model: &str, estimated: u64, reported: u64) {
        if estimated == 0 || reported == 0 {
            return;
        }
        let ratio = (reported as f64 / estimated as f64).clamp(MIN, MAX);
        let factor = match self.cached(model) {
            Some((old, _)) => old + WEIGHT * (ratio - old),
            None => ratio,
        };
        self.remember(model, factor);
        if let Some(redis) = &self.redis {
            let (key, field) = (self.key.clone(), model.to_string());
            let stored = redis
                .run(|mut c| async move {
                    redis::cmd("HSET")
                        .arg(&key)
                        .arg(&field)
                        .arg(format!("{factor:.4}"))
                        .query_async::<()>(&mut c)
                        .await
                })
                .await;
            if let Err(e) = stored {
                tracing::debug!(error = %e, "token calibration kept in process only");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn suite(calibration: &Calibration) {
        assert_eq!(
            calibration.factor("claude-x").await,
            1.0,
            "no data: no correction"
        );
        calibration.observe("claude-x", 1_000, 1_300).await;
        assert!((calibration.factor("claude-x").await - 1.3).abs() < 1e-3);
        // Later requests move it a fifth of the way; one absurd ratio is clamped.
        calibration.observe("claude-x", 1_000, 100_000).await;
        let f = calibration.factor("claude-x").await;
        assert!((f - (1.3 + 0.2 * (3.0 - 1.3))).abs() < 1e-3, "{f}");
        assert_eq!(calibration.factor("claude-y").await, 1.0, "per model");
        calibration.observe("claude-y", 0, 500).await;
        assert_eq!(calibration.factor("claude-y").await, 1.0);
    }

    #[tokio::test]
    async fn in_process_factors_follow_what_the_api_reports() {
        suite(&Calibration::new(None, "x:")).await;
    }

    crate::redis_tests!(redis_factors_are_shared_by_instances);

    async fn redis_factors_are_shared_by_instances(url: String) {
        let prefix = format!("test:{}:", uuid::Uuid::new_v4().simple());
        let client = || Some(crate::testkit::redis::client(&url));
        let one = Calibration::new(client(), &prefix);
        suite(&one).await;
        let other = Calibration::new(client(), &prefix);
        let f = other.factor("claude-x").await;
        assert!(
            (f - 1.64).abs() < 1e-3,
            "another instance reads the shared factor: {f}"
        );
        let key = format!("{prefix}tokens:calibration");
        let _: () = redis::cmd("DEL")
            .arg(key)
            .query_async(&mut client().unwrap().connect().await.unwrap())
            .await
            .unwrap();
    }
}

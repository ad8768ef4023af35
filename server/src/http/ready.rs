//! What `/readyz` reports: each dependency's state, from a check at most [`MAX_AGE`] old.
//!
//! Promises: the report's shape is `{"database","redis","mcp","llm"}`, each `ok`, `down`,
//! `disabled` or `offline`, and never shows a URL; callers within [`MAX_AGE`] of a check share
//! its report, and callers arriving while a check runs wait for that one (single flight), so
//! however often `/readyz` is called, the dependencies are asked at most once per
//! [`MAX_AGE`]; each dependency is asked over the app's pooled connections (the database pool,
//! one lasting Redis connection, the live session with the remote MCP server, which answers a
//! ping), each bounded by [`CHECK_TIMEOUT`].
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::Mutex;

use super::AppState;
use crate::redis_conn::{RedisClient, RedisConnection};

/// How old a report may be when it is served.
pub const MAX_AGE: Duration = Duration::from_secs(2);
/// One dependency's limit.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// One dependency's state in `/readyz`.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Readiness {
    Ok,
    Down,
    Disabled,
    Offline,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct ReadyReport {
    pub database: Readiness,
    pub redis: Readiness,
    pub mcp: Readiness,
    pub llm: Readiness,
}

impl ReadyReport {
    pub fn ready(&self) -> bool {
        !self
            .dependencies()
            .iter()
            .any(|(_, r)| *r == Readiness::Down)
    }

    /// Each dependency by name, as in the report's JSON.
    pub fn dependencies(&self) -> [(&'static str, Readiness); 4] {
        [
            ("database", self.database),
            ("redis", self.redis),
            ("mcp", self.mcp),
            ("llm", self.llm),
        ]
    }
}

/// The checker behind `/readyz`.
pub struct ReadyCheck {
    /// The connection Redis is pinged on, opened once and kept (`None`: no `REDIS_URL`).
    redis: Option<RedisConnection>,
    /// The last report and when its check started; the lock is held during a check, which
    /// makes concurrent callers wait for it rather than start their own.
    last: Mutex<Option<(Instant, ReadyReport)>>,
}

impl ReadyCheck {
    pub fn new(redis: Option<RedisClient>) -> Self {
        Self {
            redis: redis.map(|c| RedisConnection::new(c, CHECK_TIMEOUT)),
            last: Mutex::new(None),
        }
    }

    /// The report of a check at most [`MAX_AGE`] old; checks now if there is none.
    pub async fn report(&self, state: &AppState) -> ReadyReport {
        let mut last = self.last.lock().await;
        if let Some((at, report)) = *last {
            if at.elapsed() < MAX_AGE {
                return report;
            }
        }
        let started = Instant::now();
        let report = self.check(state).await;
        *last = Some((started, report));
        report
    }

    /// Asks every configured dependency.
    async fn check(&self, state: &AppState) -> ReadyReport {
        let database = async {
            match tokio::time::timeout(CHECK_TIMEOUT, state.store.ping()).await {
                Ok(Ok(())) => Readiness::Ok,
                _ => Readiness::Down,
            }
        };
        let redis = async {
            let Some(redis) = &self.redis else {
                return Readiness::Disabled;
            };
            let ping = redis
                .run(|mut c| async move { redis::cmd("PING").query_async::<String>(&mut c).await });
            match ping.await {
                Ok(_) => Readiness::Ok,
                Err(_) => Readiness::Down,
            }
        };
        let mcp = async {
            let Some(sessions) = &state.mcp_sessions else {
                return Readiness::Disabled;
            };
            match tokio::time::timeout(CHECK_TIMEOUT, sessions.reachable()).await {
                Ok(Ok(())) => Readiness::Ok,
                _ => Readiness::Down,
            }
        };
        let (database, redis, mcp) = tokio::join!(database, redis, mcp);
        ReadyReport {
            database,
            redis,
            mcp,
            llm: if state.config.claude.is_some() {
                Readiness::Ok
            } else {
                Readiness::Offline
            },
        }
    }
}

//! One lazily opened, self-healing Redis connection with a deadline on every command, to a
//! single node or to a Redis Cluster ([`client`]).
//!
//! Promises: the connection is opened on first use, not at start (a Redis that is down does not
//! stop the app), and every user of one client shares it (multiplexed: commands sent at the
//! same moment by the limiter, the caches and the sessions leave in one write and come back in
//! one read); every command gets its user's `timeout`, and a command that times out or fails
//! at the network drops the connection, so the next use opens a new one (Redis restarted,
//! failover);
//! errors say what kind of failure it was, never the URL (it may hold a password). Callers'
//! commands, pipelines and scripts run unchanged on both topologies as long as each one's keys
//! share a hash slot; commands on keys of different slots go in a [`Batch`].
pub mod batch;
pub mod client;

use std::future::Future;
use std::time::Duration;

pub use batch::Batch;
pub use client::{Connection, RedisClient};

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct RedisError(String);

/// A user of the client's one connection, with its own deadline.
pub struct RedisConnection {
    /// Holds the connection every user of this client shares (see [`RedisClient::slot`]).
    client: RedisClient,
    /// Each command's deadline.
    timeout: Duration,
}

impl RedisConnection {
    pub fn new(client: RedisClient, timeout: Duration) -> Self {
        Self { client, timeout }
    }

    async fn connection(&self) -> Result<Connection, RedisError> {
        let mut slot = self.client.slot().lock().await;
        if let Some(c) = slot.as_ref() {
            return Ok(c.clone());
        }
        let c = tokio::time::timeout(self.timeout, self.client.connect())
            .await
            .map_err(|_| RedisError("Redis did not answer in time".into()))?
            .map_err(|e| RedisError(format!("Redis unreachable ({:?})", e.kind())))?;
        *slot = Some(c.clone());
        Ok(c)
    }

    /// Runs commands on the connection, within the deadline.
    pub async fn run<T, F, Fut>(&self, f: F) -> Result<T, RedisError>
    where
        F: FnOnce(Connection) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        let conn = self.connection().await?;
        match tokio::time::timeout(self.timeout, f(conn)).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => {
                if e.is_io_error() || e.is_connection_dropped() || e.is_timeout() {
                    *self.client.slot().lock().await = None;
                }
                Err(RedisError(format!("Redis: {:?}", e.kind())))
            }
            Err(_) => {
                *self.client.slot().lock().await = None;
                Err(RedisError("Redis did not answer in time".into()))
            }
        }
    }

    /// Runs `batch` (see [`Batch::query`]) within the deadline.
    pub async fn batch<T: redis::FromRedisValue>(&self, batch: Batch) -> Result<T, RedisError> {
        self.run(|mut c| async move { batch.query(&mut c).await })
            .await
    }
}

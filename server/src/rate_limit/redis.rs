//! Rate-limit state in Redis, shared by every instance: one atomic Lua call per decision.
//!
//! Promises: one round trip (EVALSHA, and EVAL only when the server does not know the script
//! yet: the `redis` crate's `Script` does that); Redis's own clock, so instances with skewed
//! clocks agree; every key of one decision shares a hash tag (Redis Cluster) and expires when
//! its limit is whole again, so no cleanup job is needed. Token budgets are read and charged
//! in one batch of single-key commands (one pipeline, or one per hash slot on a cluster).
use std::time::Duration;

use super::gcra::{Decision, Rule};
use crate::redis_conn::{Batch, RedisClient, RedisConnection, RedisError};

/// GCRA over KEYS with ARGV = count1, window1_ms, count2, window2_ms, … (see `gcra.rs`).
/// Returns {allowed, limit, remaining, reset_ms, retry_after_ms}.
pub const SCRIPT: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local new_tats = {}
local best = nil
for i = 1, #KEYS do
  local count = tonumber(ARGV[2 * i - 1])
  local window = tonumber(ARGV[2 * i])
  local interval = window / count
  local tat = tonumber(redis.call('GET', KEYS[i]) or now)
  if tat < now then tat = now end
  local new_tat = tat + interval
  local allow_at = new_tat - window
  if allow_at > now then
    return {0, count, 0, math.ceil(tat - now), math.ceil(allow_at - now)}
  end
  local remaining = math.floor((window - (new_tat - now)) / interval + 1e-9)
  if remaining < 0 then remaining = 0 end
  if best == nil or remaining < best[3] then
    best = {1, count, remaining, math.ceil(new_tat - now), 0}
  end
  new_tats[i] = new_tat
end
for i = 1, #KEYS do
  redis.call('SET', KEYS[i], string.format('%.3f', new_tats[i]), 'PX', math.ceil(new_tats[i] - now) + 1)
end
return best
";

pub struct RedisLimits {
    redis: RedisConnection,
    script: redis::Script,
}

impl RedisLimits {
    /// `timeout` bounds each decision: past it, the caller falls back.
    pub fn new(client: RedisClient, timeout: Duration) -> Self {
        Self {
            redis: RedisConnection::new(client, timeout),
            script: redis::Script::new(SCRIPT),
        }
    }

    /// The connection, for the other counters of the limiter (log-in failures).
    pub fn connection(&self) -> &RedisConnection {
        &self.redis
    }

    /// Tokens counted on each budget key: one batch of GETs (each key has its own hash tag,
    /// so no cross-slot MGET).
    pub async fn used(&self, keys: &[String]) -> Result<Vec<u64>, RedisError> {
        let mut batch = Batch::new();
        for key in keys {
            batch.add(::redis::Cmd::get(key));
        }
        let used: Vec<Option<u64>> = self.redis.batch(batch).await?;
        Ok(used.into_iter().map(Option::unwrap_or_default).collect())
    }

    /// Adds tokens to each budget key, which expires after `ttl`: one batch, not a
    /// transaction (the keys live in different slots).
    pub async fn spend(
        &self,
        keys: &[String],
        tokens: u64,
        ttl: Duration,
    ) -> Result<(), RedisError> {
        let mut batch = Batch::new();
        for key in keys {
            batch
                .quiet(::redis::Cmd::incr(key, tokens))
                .quiet(::redis::Cmd::pexpire(key, ttl.as_millis() as i64));
        }
        self.redis.batch(batch).await
    }

    /// One decision for `keys` (same hash tag) under their `rules`.
    pub async fn decide(&self, keys: &[String], rules: &[Rule]) -> Result<Decision, RedisError> {
        let mut invocation = self.script.prepare_invoke();
        for (key, rule) in keys.iter().zip(rules) {
            invocation.key(key).arg(rule.count).arg(rule.window_ms);
        }
        let out: Vec<i64> = self
            .redis
            .run(|mut c| async move { invocation.invoke_async(&mut c).await })
            .await?;
        let get = |i: usize| out.get(i).copied().unwrap_or(0).max(0) as u64;
        Ok(Decision {
            allowed: get(0) == 1,
            limit: get(1) as u32,
            remaining: get(2) as u32,
            reset_ms: get(3),
            retry_after_ms: get(4),
        })
    }
}

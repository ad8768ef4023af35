//! The layered cache: a small in-process layer in front of Redis, shared by every instance.
//!
//! Promises:
//! - a read answers from the process when it can, else from Redis (and keeps the value in the
//!   process until the Redis entry expires or the layer's local TTL passes, whichever is
//!   first), else misses; a batch read is one Redis round trip;
//! - [`Layered::get_or_load`] runs the loader once per key for concurrent misses in this
//!   process and stores what it loaded in both layers; a failed load is not cached;
//! - keys are `:`-separated (`fpl:element-summary:430`); [`Layered::invalidate_pattern`]
//!   (`fpl:element-summary:*`) drops every matching key from both layers, through Redis index
//!   sets rather than `KEYS`;
//! - Redis is an accelerator, never a dependency: when it fails or is not configured the
//!   process layer answers alone, and the failure is counted
//!   (`cache_requests_total{layer="redis",result="error"}`), not raised;
//! - other instances' process layers are not told about invalidations: their copies live at
//!   most the local TTL, so callers that cannot accept that (conversation contexts) check a
//!   version carried in the value.
pub mod memory;
pub mod redis;

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::metrics::Metrics;
use memory::MemoryLayer;
use redis::{HitStats, IndexStats, RedisLayer};

/// Deadline of one Redis round trip of the cache.
const REDIS_TIMEOUT: Duration = Duration::from_millis(250);
/// Values larger than this are decoded on the blocking pool.
const DECODE_INLINE_MAX: usize = 64 * 1024;

/// How a value is stored in Redis.
pub trait Codec: Sized + Send + Sync + 'static {
    fn encode(&self) -> Vec<u8>;
    fn decode(bytes: Vec<u8>) -> Result<Self, String>;
}

/// The handle every layered cache of the process shares: Redis (if configured), the key
/// prefix, the metrics. Cheap to clone.
#[derive(Clone)]
pub struct Cache {
    redis: Option<Arc<RedisLayer>>,
    metrics: Arc<Metrics>,
}

impl Cache {
    /// Redis under `prefix` when a client is given, else the process only.
    pub fn new(
        redis: Option<crate::redis_conn::RedisClient>,
        prefix: &str,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            redis: redis.map(|c| Arc::new(RedisLayer::new(c, prefix, REDIS_TIMEOUT))),
            metrics,
        }
    }

    /// The shared layer, for values that need commands of their own (conversation heads);
    /// `None` without Redis.
    pub fn redis(&self) -> Option<&Arc<RedisLayer>> {
        self.redis.as_ref()
    }

    /// The process only, with metrics nobody reads (tools and tests without an app).
    pub fn local() -> Self {
        Self::new(None, "", Arc::new(Metrics::new()))
    }

    /// A cache of `T` values named `name` (the label of its metrics), holding at most
    /// `capacity` values in the process for at most `local_ttl` each.
    pub fn layered<T: Codec>(
        &self,
        name: &'static str,
        capacity: usize,
        local_ttl: Duration,
    ) -> Layered<T> {
        Layered {
            name,
            shared: self.clone(),
            memory: MemoryLayer::new(capacity),
            local_ttl,
            loading: Mutex::new(HashMap::new()),
        }
    }

    /// Deletes every Redis entry matching `pattern` (e.g. `fpl:*`); how many there were.
    /// Process layers are not reached (see the module docs). `None` without Redis.
    pub async fn invalidate_shared(&self, pattern: &str) -> Option<Result<u64, String>> {
        let redis = self.redis.as_ref()?;
        if let Err(e) = pattern_prefix(pattern) {
            return Some(Err(e));
        }
        Some(
            redis
                .invalidate_pattern(pattern)
                .await
                .map_err(|e| e.to_string()),
        )
    }

    /// What Redis holds, per index, and the hits and misses of every instance, per cache.
    /// `None` without Redis.
    pub async fn stats(&self) -> Option<Result<SharedStats, String>> {
        let redis = self.redis.as_ref()?;
        Some(
            redis
                .stats()
                .await
                .map(|(indexes, hits)| SharedStats { indexes, hits })
                .map_err(|e| e.to_string()),
        )
    }
}

/// What `fpl-chat cache stats` prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedStats {
    pub indexes: Vec<IndexStats>,
    pub hits: Vec<(String, HitStats)>,
}

/// One named cache of `T` values over both layers.
pub struct Layered<T> {
    name: &'static str,
    shared: Cache,
    memory: MemoryLayer<T>,
    local_ttl: Duration,
    loading: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl<T: Codec> Layered<T> {
    fn record(&self, layer: &str, result: &str, n: u64) {
        if n > 0 {
            self.shared
                .metrics
                .record_cache(self.name, layer, result, n);
        }
    }

    /// The value of `key`, from the process or from Redis.
    pub async fn get(&self, key: &str) -> Option<Arc<T>> {
        self.get_many(&[key.to_string()]).await.pop().flatten()
    }

    /// The values of `keys`, in order; those not in the process come from Redis in one round
    /// trip.
    pub async fn get_many(&self, keys: &[String]) -> Vec<Option<Arc<T>>> {
        let mut out: Vec<Option<Arc<T>>> = keys.iter().map(|k| self.memory.get(k)).collect();
        let missing: Vec<usize> = (0..keys.len()).filter(|i| out[*i].is_none()).collect();
        self.record("memory", "hit", (keys.len() - missing.len()) as u64);
        self.record("memory", "miss", missing.len() as u64);
        let Some(redis) = &self.shared.redis else {
            return out;
        };
        if missing.is_empty() {
            return out;
        }
        let wanted: Vec<String> = missing.iter().map(|i| keys[*i].clone()).collect();
        let found = match redis.get_many(&wanted).await {
            Ok(found) => found,
            Err(e) => {
                tracing::debug!(cache = self.name, error = %e, "cache read from Redis failed");
                self.record("redis", "error", 1);
                return out;
            }
        };
        let (mut hits, mut misses) = (0, 0);
        for (i, entry) in missing.into_iter().zip(found) {
            let Some((bytes, ttl)) = entry else {
                misses += 1;
                continue;
            };
            match decode::<T>(bytes).await {
                Ok(value) => {
                    hits += 1;
                    let value = Arc::new(value);
                    self.memory
                        .insert(&keys[i], value.clone(), self.local_expiry(ttl));
                    out[i] = Some(value);
                }
                Err(e) => {
                    misses += 1;
                    tracing::warn!(cache = self.name, key = %keys[i], error = %e, "undecodable cache entry");
                }
            }
        }
        self.record("redis", "hit", hits);
        self.record("redis", "miss", misses);
        let (redis, name) = (redis.clone(), self.name);
        tokio::spawn(async move {
            let _ = redis.count(name, hits, misses).await;
        });
        out
    }

    fn local_expiry(&self, ttl: Duration) -> Instant {
        Instant::now() + ttl.min(self.local_ttl)
    }

    /// Stores `value` under `key` for `ttl` in both layers.
    pub async fn set(&self, key: &str, value: T, ttl: Duration) -> Arc<T> {
        let value = Arc::new(value);
        self.set_many(&[(key.to_string(), value.clone(), ttl)])
            .await;
        value
    }

    /// Stores each `(key, value, ttl)` in both layers (one Redis round trip).
    pub async fn set_many(&self, entries: &[(String, Arc<T>, Duration)]) {
        for (key, value, ttl) in entries {
            self.memory
                .insert(key, value.clone(), self.local_expiry(*ttl));
        }
        let Some(redis) = &self.shared.redis else {
            return;
        };
        let encoded: Vec<(String, Vec<u8>, Duration)> = entries
            .iter()
            .map(|(k, v, ttl)| (k.clone(), v.encode(), *ttl))
            .collect();
        if let Err(e) = redis.set_many(&encoded).await {
            tracing::debug!(cache = self.name, error = %e, "cache write to Redis failed");
            self.record("redis", "error", 1);
        }
    }

    /// The value of `key`, or what `load` returns (run once for concurrent misses in this
    /// process), stored for `ttl(&value)`.
    pub async fn get_or_load<E, F, Fut>(
        &self,
        key: &str,
        ttl: impl FnOnce(&T) -> Duration,
        load: F,
    ) -> Result<Arc<T>, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        if let Some(v) = self.get(key).await {
            return Ok(v);
        }
        let gate = {
            let mut loading = self.loading.lock().unwrap_or_else(|p| p.into_inner());
            loading.entry(key.to_string()).or_default().clone()
        };
        let _turn = gate.lock().await;
        // Another caller may have loaded it while this one waited.
        let result = match self.memory.get(key) {
            Some(v) => Ok(v),
            None => match load().await {
                Ok(value) => {
                    let ttl = ttl(&value);
                    Ok(self.set(key, value, ttl).await)
                }
                Err(e) => Err(e),
            },
        };
        let mut loading = self.loading.lock().unwrap_or_else(|p| p.into_inner());
        if Arc::strong_count(&gate) <= 2 {
            loading.remove(key);
        }
        result
    }

    /// Drops `key` from both layers.
    pub async fn invalidate(&self, key: &str) {
        self.memory.remove(key);
        if let Some(redis) = &self.shared.redis {
            if let Err(e) = redis.invalidate(&[key.to_string()]).await {
                tracing::warn!(cache = self.name, error = %e, "cache invalidation in Redis failed");
                self.record("redis", "error", 1);
            }
        }
    }

    /// Drops every key matching `pattern` (`prefix:*`) from both layers; how many entries
    /// the layers held (Redis's count when there is Redis).
    pub async fn invalidate_pattern(&self, pattern: &str) -> Result<u64, String> {
        let local = self.invalidate_local_pattern(pattern)?;
        match &self.shared.redis {
            Some(redis) => redis.invalidate_pattern(pattern).await.map_err(|e| {
                self.record("redis", "error", 1);
                e.to_string()
            }),
            None => Ok(local),
        }
    }

    /// Drops every key matching `pattern` from this process only (when another layered cache
    /// on the same keys has cleared Redis); how many there were.
    pub fn invalidate_local_pattern(&self, pattern: &str) -> Result<u64, String> {
        Ok(self.memory.remove_prefix(pattern_prefix(pattern)?) as u64)
    }

    /// The value of `key` if this process holds it (no Redis, not counted).
    pub fn peek(&self, key: &str) -> Option<Arc<T>> {
        self.memory.get(key)
    }
}

/// The prefix of a `prefix:*` pattern, or why it is not one.
fn pattern_prefix(pattern: &str) -> Result<&str, String> {
    pattern
        .strip_suffix('*')
        .filter(|p| p.ends_with(':'))
        .ok_or_else(|| format!("{pattern:?} is not a pattern of the form prefix:*"))
}

async fn decode<T: Codec>(bytes: Vec<u8>) -> Result<T, String> {
    if bytes.len() <= DECODE_INLINE_MAX {
        return T::decode(bytes);
    }
    tokio::task::spawn_blocking(move || T::decode(bytes))
        .await
        .map_err(|e| e.to_string())?
}

/// JSON through serde, for values without a cheaper form.
#[macro_export]
macro_rules! json_codec {
    ($t:ty) => {
        impl $crate::cache::Codec for $t {
            fn encode(&self) -> Vec<u8> {
                serde_json::to_vec(self).unwrap_or_default()
            }
            fn decode(bytes: Vec<u8>) -> Result<Self, String> {
                serde_json::from_slice(&bytes).map_err(|e| e.to_string())
            }
        }
    };
}

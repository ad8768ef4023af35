//! The shared layer: cache entries in Redis, found again by pattern through index sets.
//!
//! Layout (every key under the configured prefix, every key expiring):
//! - `{prefix}cache:{key}`: the entry's bytes, `PX` its TTL;
//! - `{prefix}cache-index:{pattern}`: a sorted set of the keys matching `pattern` (each of the
//!   key's `:`-separated prefixes followed by `*`, e.g. `fpl:*` and `fpl:element-summary:*`),
//!   scored by their expiry in Unix milliseconds; expired members are pruned on every write, and
//!   the set expires with its newest member;
//! - `{prefix}cache-indexes`: the same for the index names, so that `stats` can list them;
//! - `{prefix}cache-stats`: hits and misses per cache name, kept for a week after the last one.
//!
//! Promises: a batch read or write is one [`Batch`] (not `MULTI`: no command touches two keys,
//! so the same code runs on Redis Cluster, where a batch is one pipeline per hash slot sent at
//! once; on a single node it is one round trip); no `KEYS` or `SCAN`; reads report the entry's
//! remaining TTL so the process layer never outlives it.
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use redis::{Cmd, Value};

use crate::redis_conn::{Batch, RedisClient, RedisConnection, RedisError};

const STATS_TTL_MS: u64 = 7 * 24 * 3600 * 1000;

pub struct RedisLayer {
    conn: RedisConnection,
    prefix: String,
}

/// One index in Redis: its pattern, live entries and their bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexStats {
    pub pattern: String,
    pub entries: u64,
    pub bytes: u64,
}

/// Hits and misses of one cache name, over every instance.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HitStats {
    pub hits: u64,
    pub misses: u64,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// The patterns a key is indexed under: each `:`-ending prefix, then `*`.
pub fn patterns_of(key: &str) -> Vec<String> {
    key.match_indices(':')
        .map(|(i, _)| format!("{}*", &key[..=i]))
        .collect()
}

impl RedisLayer {
    pub fn new(client: RedisClient, prefix: &str, timeout: Duration) -> Self {
        Self {
            conn: RedisConnection::new(client, timeout),
            prefix: prefix.to_string(),
        }
    }

    /// The connection, for callers with commands of their own.
    pub fn connection(&self) -> &RedisConnection {
        &self.conn
    }

    /// `name` under the prefix, for callers' own keys (outside `cache:`).
    pub fn key(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    fn entry_key(&self, key: &str) -> String {
        format!("{}cache:{key}", self.prefix)
    }

    fn index_key(&self, pattern: &str) -> String {
        format!("{}cache-index:{pattern}", self.prefix)
    }

    fn indexes_key(&self) -> String {
        format!("{}cache-indexes", self.prefix)
    }

    fn stats_key(&self) -> String {
        format!("{}cache-stats", self.prefix)
    }

    /// Each key's bytes and remaining TTL, in one round trip.
    pub async fn get_many(
        &self,
        keys: &[String],
    ) -> Result<Vec<Option<(Vec<u8>, Duration)>>, RedisError> {
        let mut batch = Batch::new();
        for k in keys {
            let k = self.entry_key(k);
            batch.add(Cmd::get(&k)).add(Cmd::pttl(&k));
        }
        let values: Vec<Value> = self.conn.batch(batch).await?;
        Ok(values
            .chunks(2)
            .map(|pair| match pair {
                [Value::BulkString(bytes), Value::Int(ttl)] if *ttl > 0 => {
                    Some((bytes.clone(), Duration::from_millis(*ttl as u64)))
                }
                _ => None,
            })
            .collect())
    }

    /// Writes each `(key, bytes, ttl)` and indexes it, in one round trip.
    pub async fn set_many(
        &self,
        entries: &[(String, Vec<u8>, Duration)],
    ) -> Result<(), RedisError> {
        let now = now_ms();
        let mut batch = Batch::new();
        for (key, bytes, ttl) in entries {
            let ttl_ms = (ttl.as_millis() as u64).max(1);
            let mut set = redis::cmd("SET");
            set.arg(self.entry_key(key))
                .arg(bytes.as_slice())
                .arg("PX")
                .arg(ttl_ms);
            batch.quiet(set);
            for pattern in patterns_of(key) {
                let index = self.index_key(&pattern);
                add_member(&mut batch, &index, key, now, ttl_ms);
                add_member(&mut batch, &self.indexes_key(), &pattern, now, ttl_ms);
            }
        }
        self.conn.batch(batch).await
    }

    /// Deletes the keys and takes them out of their indexes.
    pub async fn invalidate(&self, keys: &[String]) -> Result<u64, RedisError> {
        let mut batch = Batch::new();
        for key in keys {
            batch.add(Cmd::del(self.entry_key(key)));
        }
        for key in keys {
            for pattern in patterns_of(key) {
                batch.quiet(Cmd::zrem(self.index_key(&pattern), key));
            }
        }
        let deleted: Vec<u64> = self.conn.batch(batch).await?;
        Ok(deleted.iter().sum())
    }

    /// Deletes every key indexed under `pattern` (e.g. `fpl:*`) and the index itself; how many
    /// entries were deleted.
    pub async fn invalidate_pattern(&self, pattern: &str) -> Result<u64, RedisError> {
        let index = self.index_key(pattern);
        let members: Vec<String> = {
            let index = index.clone();
            self.conn
                .run(|mut c| async move {
                    redis::cmd("ZRANGE")
                        .arg(&index)
                        .arg(0)
                        .arg(-1)
                        .query_async(&mut c)
                        .await
                })
                .await?
        };
        let deleted = if members.is_empty() {
            0
        } else {
            self.invalidate(&members).await?
        };
        let mut batch = Batch::new();
        batch
            .quiet(Cmd::del(&index))
            .quiet(Cmd::zrem(self.indexes_key(), pattern));
        self.conn.batch::<()>(batch).await?;
        Ok(deleted)
    }

    /// Adds to the shared hit and miss counters of `name`.
    pub async fn count(&self, name: &str, hits: u64, misses: u64) -> Result<(), RedisError> {
        let key = self.stats_key();
        let (hit_field, miss_field) = (format!("{name}:hits"), format!("{name}:misses"));
        self.conn
            .run(|mut c| async move {
                redis::pipe()
                    .cmd("HINCRBY")
                    .arg(&key)
                    .arg(&hit_field)
                    .arg(hits)
                    .ignore()
                    .cmd("HINCRBY")
                    .arg(&key)
                    .arg(&miss_field)
                    .arg(misses)
                    .ignore()
                    .cmd("PEXPIRE")
                    .arg(&key)
                    .arg(STATS_TTL_MS)
                    .ignore()
                    .query_async::<()>(&mut c)
                    .await
            })
            .await
    }

    /// Every live index with its entries and their bytes, and the hit counters by cache name.
    pub async fn stats(&self) -> Result<(Vec<IndexStats>, Vec<(String, HitStats)>), RedisError> {
        let now = now_ms();
        let mut live = redis::cmd("ZRANGE");
        live.arg(self.indexes_key())
            .arg(now)
            .arg("+inf")
            .arg("BYSCORE");
        let mut batch = Batch::new();
        batch.add(live).add(Cmd::hgetall(self.stats_key()));
        let (patterns, counters): (Vec<String>, Vec<(String, u64)>) =
            self.conn.batch(batch).await?;
        let mut out = Vec::with_capacity(patterns.len());
        for pattern in patterns {
            let index = self.index_key(&pattern);
            let members: Vec<String> = self
                .conn
                .run(|mut c| async move {
                    redis::cmd("ZRANGE")
                        .arg(&index)
                        .arg(now)
                        .arg("+inf")
                        .arg("BYSCORE")
                        .query_async(&mut c)
                        .await
                })
                .await?;
            let mut batch = Batch::new();
            for m in &members {
                batch.add(Cmd::strlen(self.entry_key(m)));
            }
            let sizes: Vec<u64> = if batch.is_empty() {
                Vec::new()
            } else {
                self.conn.batch(batch).await?
            };
            out.push(IndexStats {
                pattern,
                entries: sizes.iter().filter(|s| **s > 0).count() as u64,
                bytes: sizes.iter().sum(),
            });
        }
        out.sort_by(|a, b| a.pattern.cmp(&b.pattern));
        let mut hits: Vec<(String, HitStats)> = Vec::new();
        for (field, n) in counters {
            let Some((name, kind)) = field.rsplit_once(':') else {
                continue;
            };
            let at = match hits.iter().position(|(k, _)| k == name) {
                Some(i) => i,
                None => {
                    hits.push((name.to_string(), HitStats::default()));
                    hits.len() - 1
                }
            };
            match kind {
                "hits" => hits[at].1.hits = n,
                "misses" => hits[at].1.misses = n,
                _ => {}
            }
        }
        hits.sort_by(|a, b| a.0.cmp(&b.0));
        Ok((out, hits))
    }
}

/// `member` in the sorted set `set` (`GT` adds it, or moves its expiry only later), the set
/// expiring with its newest member; expired members pruned.
fn add_member(batch: &mut Batch, set: &str, member: &str, now: u64, ttl: u64) {
    let mut add = redis::cmd("ZADD");
    add.arg(set).arg("GT").arg(now + ttl).arg(member);
    let mut prune = redis::cmd("ZREMRANGEBYSCORE");
    prune.arg(set).arg("-inf").arg(now);
    batch.quiet(add).quiet(prune);
    for when in ["NX", "GT"] {
        let mut expire = redis::cmd("PEXPIRE");
        expire.arg(set).arg(ttl).arg(when);
        batch.quiet(expire);
    }
}

#[cfg(test)]
mod tests {
    use super::patterns_of;

    #[test]
    fn keys_are_indexed_under_each_prefix() {
        assert_eq!(
            patterns_of("fpl:element-summary:430"),
            ["fpl:*", "fpl:element-summary:*"]
        );
        assert!(patterns_of("plain").is_empty());
    }
}

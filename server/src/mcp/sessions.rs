//! Where MCP client session records live: Redis (shared by every instance) or this process.
//!
//! A record says which session an instance holds with which server, when it was created and
//! last used, and whether it is still valid. Promises, for both stores (one test suite runs on
//! both): a record lives `ttl` after it was last written or touched, then disappears on its
//! own; `touch` renews it and says whether it was still there; an invalidated record stays
//! readable (valid = false) until it expires; `list` finds records through an index, never by
//! scanning keys (no `KEYS`), and drops index entries whose record has expired; in Redis every
//! key expires (the index with the last record it lists); keys carry the configured prefix and
//! one hash tag, so the same commands work on Redis Cluster.
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use redis::AsyncCommands;
use serde::{Deserialize, Serialize};

use crate::redis_conn::{Connection, RedisClient, RedisConnection};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRecord {
    /// The record's id (one per live client session of one instance).
    pub id: String,
    /// The MCP server's URL.
    pub server: String,
    /// Which app instance holds the session.
    pub instance: String,
    /// Milliseconds since the Unix epoch.
    pub created_ms: u64,
    pub last_used_ms: u64,
    pub valid: bool,
}

#[derive(Debug, thiserror::Error)]
#[error("session store: {0}")]
pub struct StoreError(String);

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[async_trait]
pub trait SessionStore: Send + Sync + 'static {
    /// "redis" or "memory".
    fn name(&self) -> &'static str;
    async fn put(&self, record: &SessionRecord, ttl: Duration) -> Result<(), StoreError>;
    async fn get(&self, id: &str) -> Result<Option<SessionRecord>, StoreError>;
    /// Marks it used now and renews its time to live; false when it no longer exists.
    async fn touch(&self, id: &str, ttl: Duration) -> Result<bool, StoreError>;
    async fn invalidate(&self, id: &str) -> Result<(), StoreError>;
    async fn remove(&self, id: &str) -> Result<(), StoreError>;
    /// Every live record, most recently used first; stale index entries are dropped.
    async fn list(&self) -> Result<Vec<SessionRecord>, StoreError>;
}

/// Records in this process (no `REDIS_URL`: one instance only).
#[derive(Default)]
pub struct MemorySessions {
    records: Mutex<HashMap<String, (SessionRecord, u64)>>, // record, expires at (ms)
}

impl MemorySessions {
    fn live(&self) -> std::sync::MutexGuard<'_, HashMap<String, (SessionRecord, u64)>> {
        let mut records = self.records.lock().unwrap_or_else(|e| e.into_inner());
        let now = now_ms();
        records.retain(|_, (_, expires)| *expires > now);
        records
    }
}

#[async_trait]
impl SessionStore for MemorySessions {
    fn name(&self) -> &'static str {
        "memory"
    }

    async fn put(&self, record: &SessionRecord, ttl: Duration) -> Result<(), StoreError> {
        let expires = now_ms() + ttl.as_millis() as u64;
        self.live()
            .insert(record.id.clone(), (record.clone(), expires));
        Ok(())
    }

    async fn get(&self, id: &str) -> Result<Option<SessionRecord>, StoreError> {
        Ok(self.live().get(id).map(|(r, _)| r.clone()))
    }

    async fn touch(&self, id: &str, ttl: Duration) -> Result<bool, StoreError> {
        let now = now_ms();
        Ok(match self.live().get_mut(id) {
            Some((record, expires)) => {
                record.last_used_ms = now;
                *expires = now + ttl.as_millis() as u64;
                true
            }
            None => false,
        })
    }

    async fn invalidate(&self, id: &str) -> Result<(), StoreError> {
        if let Some((record, _)) = self.live().get_mut(id) {
            record.valid = false;
        }
        Ok(())
    }

    async fn remove(&self, id: &str) -> Result<(), StoreError> {
        self.live().remove(id);
        Ok(())
    }

    async fn list(&self) -> Result<Vec<SessionRecord>, StoreError> {
        let mut records: Vec<SessionRecord> =
            self.live().values().map(|(r, _)| r.clone()).collect();
        records.sort_by_key(|r| std::cmp::Reverse(r.last_used_ms));
        Ok(records)
    }
}

/// Records in Redis, shared by every instance: a hash per record with an expiry, and a sorted
/// set (score = last use) as the index.
pub struct RedisSessions {
    redis: RedisConnection,
    prefix: String,
}

impl RedisSessions {
    pub fn new(client: RedisClient, prefix: &str) -> Self {
        Self {
            redis: RedisConnection::new(client, Duration::from_secs(2)),
            prefix: prefix.to_string(),
        }
    }

    fn key(&self, id: &str) -> String {
        format!("{}{{mcp}}:session:{id}", self.prefix)
    }

    fn index(&self) -> String {
        format!("{}{{mcp}}:sessions", self.prefix)
    }

    async fn run<T, F, Fut>(&self, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(Connection) -> Fut,
        Fut: std::future::Future<Output = redis::RedisResult<T>>,
    {
        self.redis
            .run(f)
            .await
            .map_err(|e| StoreError(e.to_string()))
    }
}

/// Lets the index live at least `ttl_ms` more (never shortens it): it expires with the last
/// record it lists.
async fn extend_expiry(c: &mut Connection, key: &str, ttl_ms: u64) -> redis::RedisResult<()> {
    redis::Script::new(
        r"local left = redis.call('PTTL', KEYS[1])
          if left == -1 or (left >= 0 and left < tonumber(ARGV[1])) then
            redis.call('PEXPIRE', KEYS[1], ARGV[1])
          end
          return 0",
    )
    .key(key)
    .arg(ttl_ms)
    .invoke_async::<i64>(c)
    .await
    .map(|_| ())
}

fn fields(record: &SessionRecord) -> [(&'static str, String); 6] {
    [
        ("id", record.id.clone()),
        ("server", record.server.clone()),
        ("instance", record.instance.clone()),
        ("created_ms", record.created_ms.to_string()),
        ("last_used_ms", record.last_used_ms.to_string()),
        ("valid", if record.valid { "1" } else { "0" }.to_string()),
    ]
}

fn from_fields(map: HashMap<String, String>) -> Option<SessionRecord> {
    let number = |k: &str| map.get(k).and_then(|v| v.parse::<u64>().ok());
    Some(SessionRecord {
        id: map.get("id")?.clone(),
        server: map.get("server")?.clone(),
        instance: map.get("instance")?.clone(),
        created_ms: number("created_ms")?,
        last_used_ms: number("last_used_ms")?,
        valid: map.get("valid")? == "1",
    })
}

#[async_trait]
impl SessionStore for RedisSessions {
    fn name(&self) -> &'static str {
        "redis"
    }

    async fn put(&self, record: &SessionRecord, ttl: Duration) -> Result<(), StoreError> {
        let (key, index) = (self.key(&record.id), self.index());
        let fields = fields(record);
        let (id, score) = (record.id.clone(), record.last_used_ms);
        let ttl_ms = ttl.as_millis() as u64;
        self.run(|mut c| async move {
            redis::pipe()
                .atomic()
                .hset_multiple(&key, &fields)
                .ignore()
                .pexpire(&key, ttl_ms as i64)
                .ignore()
                .zadd(&index, &id, score)
                .ignore()
                .query_async::<()>(&mut c)
                .await?;
            extend_expiry(&mut c, &index, ttl_ms).await
        })
        .await
    }

    async fn get(&self, id: &str) -> Result<Option<SessionRecord>, StoreError> {
        let key = self.key(id);
        let map: HashMap<String, String> = self
            .run(|mut c| async move { c.hgetall(&key).await })
            .await?;
        Ok(from_fields(map))
    }

    async fn touch(&self, id: &str, ttl: Duration) -> Result<bool, StoreError> {
        let (key, index, id) = (self.key(id), self.index(), id.to_string());
        let now = now_ms();
        // Only an existing record is renewed: a script keeps check and update one atomic step.
        let script = redis::Script::new(
            r"if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
              redis.call('HSET', KEYS[1], 'last_used_ms', ARGV[1])
              redis.call('PEXPIRE', KEYS[1], ARGV[2])
              redis.call('ZADD', KEYS[2], ARGV[1], ARGV[3])
              local left = redis.call('PTTL', KEYS[2])
              if left >= 0 and left < tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[2], ARGV[2]) end
              return 1",
        );
        let renewed: i64 = self
            .run(|mut c| async move {
                script
                    .key(&key)
                    .key(&index)
                    .arg(now)
                    .arg(ttl.as_millis() as u64)
                    .arg(&id)
                    .invoke_async(&mut c)
                    .await
            })
            .await?;
        Ok(renewed == 1)
    }

    async fn invalidate(&self, id: &str) -> Result<(), StoreError> {
        let key = self.key(id);
        let script = redis::Script::new(
            r"if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], 'valid', '0') end
              return 0",
        );
        self.run(|mut c| async move { script.key(&key).invoke_async::<i64>(&mut c).await })
            .await
            .map(|_| ())
    }

    async fn remove(&self, id: &str) -> Result<(), StoreError> {
        let (key, index, id) = (self.key(id), self.index(), id.to_string());
        self.run(|mut c| async move {
            redis::pipe()
                .atomic()
                .del(&key)
                .ignore()
                .zrem(&index, &id)
                .ignore()
                .query_async::<()>(&mut c)
                .await
        })
        .await
    }

    async fn list(&self) -> Result<Vec<SessionRecord>, StoreError> {
        let index = self.index();
        let ids: Vec<String> = self
            .run(|mut c| async move { c.zrevrange(&index, 0, 999).await })
            .await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<String> = ids.iter().map(|id| self.key(id)).collect();
        let maps: Vec<HashMap<String, String>> = self
            .run(|mut c| async move {
                let mut pipe = redis::pipe();
                for key in &keys {
                    pipe.hgetall(key);
                }
                pipe.query_async(&mut c).await
            })
            .await?;
        let mut records = Vec::new();
        let mut stale = Vec::new();
        for (id, map) in ids.into_iter().zip(maps) {
            match from_fields(map) {
                Some(record) => records.push(record),
                None => stale.push(id),
            }
        }
        if !stale.is_empty() {
            let index = self.index();
            self.run(|mut c| async move { c.zrem::<_, _, ()>(&index, &stale).await })
                .await?;
        }
        Ok(records)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str) -> SessionRecord {
        let now = now_ms();
        SessionRecord {
            id: id.into(),
            server: "http://mcp.example/mcp".into(),
            instance: "instance-a".into(),
            created_ms: now,
            last_used_ms: now,
            valid: true,
        }
    }

    /// The suite both stores must pass.
    async fn suite(store: &dyn SessionStore) {
        let ttl = Duration::from_millis(400);
        store.put(&record("s1"), ttl).await.unwrap();
        store
            .put(&record("s2"), Duration::from_secs(30))
            .await
            .unwrap();
        let got = store.get("s1").await.unwrap().expect("stored");
        assert_eq!(
            got,
            record("s1").clone_with(got.created_ms, got.last_used_ms)
        );
        assert!(store.get("nope").await.unwrap().is_none());

        // Touch renews the time to live and the last use.
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert!(store.touch("s1", ttl).await.unwrap());
        tokio::time::sleep(Duration::from_millis(250)).await;
        let touched = store
            .get("s1")
            .await
            .unwrap()
            .expect("renewed, still there");
        assert!(touched.last_used_ms > touched.created_ms);
        let listed = store.list().await.unwrap();
        assert_eq!(listed[0].id, "s1", "most recently used first");
        assert_eq!(listed.len(), 2);

        // Invalid records stay readable until they expire.
        store.invalidate("s2").await.unwrap();
        assert!(!store.get("s2").await.unwrap().unwrap().valid);

        // Expiry removes the record and, through the index, its listing.
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(store.get("s1").await.unwrap().is_none());
        assert!(
            !store.touch("s1", ttl).await.unwrap(),
            "an expired record is not revived"
        );
        let ids: Vec<String> = store
            .list()
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(ids, ["s2"]);

        store.remove("s2").await.unwrap();
        assert!(store.list().await.unwrap().is_empty());
    }

    impl SessionRecord {
        fn clone_with(mut self, created: u64, used: u64) -> Self {
            self.created_ms = created;
            self.last_used_ms = used;
            self
        }
    }

    #[tokio::test]
    async fn the_memory_store_keeps_the_promises() {
        suite(&MemorySessions::default()).await;
    }

    crate::redis_tests!(the_redis_store_keeps_the_promises);

    async fn the_redis_store_keeps_the_promises(url: String) {
        let prefix = format!("test:{}:", uuid::Uuid::new_v4().simple());
        let store = RedisSessions::new(crate::testkit::redis::client(&url), &prefix);
        suite(&store).await;
        // Nothing is left behind: the index went with its last record.
        let index = store.index();
        let left: i64 = store
            .run(|mut c| async move { c.exists(&index).await })
            .await
            .unwrap();
        assert_eq!(left, 0);

        // And the index itself expires with the records it lists.
        store
            .put(&record("s3"), Duration::from_millis(300))
            .await
            .unwrap();
        let index = store.index();
        let ttl: i64 = store
            .run(|mut c| async move { c.pttl(&index).await })
            .await
            .unwrap();
        assert!(ttl > 0 && ttl <= 300, "{ttl}");
    }
}

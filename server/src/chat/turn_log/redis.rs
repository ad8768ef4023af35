//! The turn log in Redis, shared by every instance: a stream per turn whose entry `n` has the
//! id `0-(n+1)` (so a reader asks for "from n on" without knowing Redis's ids), a stop flag
//! beside it (the same hash tag, so one pipeline on a cluster), and a key per conversation
//! naming its running turn. Readers poll every [`POLL`] on the shared connection rather than
//! `XREAD BLOCK`, which would hold the multiplexed connection every other user shares.
use std::time::Duration;

use app::types::ChatEvent;
use async_trait::async_trait;
use redis::{cmd, Cmd};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Lifetimes, LiveTurn, LogError, Read, TurnLog};
use crate::redis_conn::{Batch, RedisClient, RedisConnection};

/// How often a waiting reader asks for new entries.
const POLL: Duration = Duration::from_millis(100);
/// Deadline of one round trip: a turn waits at most this for its log.
const TIMEOUT: Duration = Duration::from_millis(500);
/// Entries read at most at once.
const READ_MAX: usize = 1024;

pub struct RedisLog {
    redis: RedisConnection,
    prefix: String,
    lifetimes: Lifetimes,
}

/// What a conversation's key holds.
#[derive(Serialize, Deserialize)]
struct Pointer {
    turn: Uuid,
    owner: app::types::Owner,
}

type Entries = Vec<(String, Vec<String>)>;

impl RedisLog {
    pub fn new(client: RedisClient, prefix: &str, lifetimes: Lifetimes) -> Self {
        Self {
            redis: RedisConnection::new(client, TIMEOUT),
            prefix: prefix.to_string(),
            lifetimes,
        }
    }

    fn stream(&self, turn: Uuid) -> String {
        format!("{}turn:{{{turn}}}", self.prefix)
    }

    fn stop_flag(&self, turn: Uuid) -> String {
        format!("{}turn:{{{turn}}}:stop", self.prefix)
    }

    fn pointer(&self, conversation: Uuid) -> String {
        format!("{}answering:{{{conversation}}}", self.prefix)
    }

    /// `XADD stream 0-(n+1) e <event>` for each entry; `NOMKSTREAM` after the first (an
    /// expired log is not made again by a late append).
    fn add_entries(&self, batch: &mut Batch, turn: Uuid, first: u64, entries: &[ChatEvent]) {
        for (n, entry) in (first..).zip(entries) {
            let json = serde_json::to_string(entry).unwrap_or_default();
            let mut xadd = cmd("XADD");
            xadd.arg(self.stream(turn));
            if n > 0 {
                xadd.arg("NOMKSTREAM");
            }
            xadd.arg(format!("0-{}", n + 1)).arg("e").arg(json);
            batch.quiet(xadd);
        }
    }

    async fn run<T: redis::FromRedisValue>(&self, batch: Batch) -> Result<T, LogError> {
        self.redis
            .batch(batch)
            .await
            .map_err(|e| LogError(e.to_string()))
    }
}

fn pexpire(key: String, ttl: Duration) -> Cmd {
    let mut c = cmd("PEXPIRE");
    c.arg(key).arg(ttl.as_millis() as u64);
    c
}

fn decode(entries: Entries) -> Vec<ChatEvent> {
    entries
        .into_iter()
        .filter_map(|(_, fields)| serde_json::from_str(fields.get(1)?).ok())
        .collect()
}

/// Deletes a conversation's pointer only while it names the given turn; built once (a
/// `Script` hashes its source when made), not on every turn's close.
static DROP_POINTER: std::sync::LazyLock<redis::Script> = std::sync::LazyLock::new(|| {
    redis::Script::new(
        r"local v = redis.call('GET', KEYS[1])
          if v and string.find(v, ARGV[1], 1, true) then
            return redis.call('DEL', KEYS[1])
          end
          return 0",
    )
});

#[async_trait]
impl TurnLog for RedisLog {
    fn name(&self) -> &'static str {
        "redis"
    }

    async fn open(&self, turn: &LiveTurn, entries: &[ChatEvent]) -> Result<(), LogError> {
        let pointer = Pointer {
            turn: turn.id,
            owner: turn.owner,
        };
        let mut batch = Batch::new();
        // The first entry makes the stream: a reader who finds the turn finds its log.
        self.add_entries(&mut batch, turn.id, 0, entries);
        batch.quiet(pexpire(self.stream(turn.id), self.lifetimes.lease));
        let mut set = cmd("SET");
        set.arg(self.pointer(turn.conversation))
            .arg(serde_json::to_string(&pointer).unwrap_or_default())
            .arg("PX")
            .arg(self.lifetimes.lease.as_millis() as u64);
        batch.quiet(set);
        self.run::<()>(batch).await
    }

    async fn append(
        &self,
        turn: &LiveTurn,
        first: u64,
        entries: &[ChatEvent],
    ) -> Result<bool, LogError> {
        let mut batch = Batch::new();
        self.add_entries(&mut batch, turn.id, first, entries);
        batch.quiet(pexpire(self.stream(turn.id), self.lifetimes.lease));
        batch.quiet(pexpire(
            self.pointer(turn.conversation),
            self.lifetimes.lease,
        ));
        let mut exists = cmd("EXISTS");
        exists.arg(self.stop_flag(turn.id));
        batch.add(exists);
        let (stop,): (bool,) = self.run(batch).await?;
        Ok(stop)
    }

    async fn close(&self, turn: &LiveTurn) -> Result<(), LogError> {
        let mut batch = Batch::new();
        batch.quiet(pexpire(self.stream(turn.id), self.lifetimes.keep_closed));
        batch.quiet(pexpire(self.stop_flag(turn.id), self.lifetimes.keep_closed));
        self.run::<()>(batch).await?;
        // The conversation's key is dropped only while it names this turn (not a newer one):
        // compared and deleted in one script, so a turn opened meanwhile keeps its key.
        let key = self.pointer(turn.conversation);
        let turn_id = turn.id.to_string();
        self.redis
            .run(|mut c| async move {
                DROP_POINTER
                    .key(key)
                    .arg(turn_id)
                    .invoke_async::<i64>(&mut c)
                    .await
                    .map(|_| ())
            })
            .await
            .map_err(|e| LogError(e.to_string()))
    }

    async fn running(&self, conversation: Uuid) -> Result<Option<LiveTurn>, LogError> {
        let key = self.pointer(conversation);
        let value: Option<String> = self
            .redis
            .run(|mut c| async move { cmd("GET").arg(key).query_async(&mut c).await })
            .await
            .map_err(|e| LogError(e.to_string()))?;
        Ok(value
            .and_then(|v| serde_json::from_str::<Pointer>(&v).ok())
            .map(|p| LiveTurn {
                id: p.turn,
                conversation,
                owner: p.owner,
            }))
    }

    async fn read(&self, id: Uuid, from: u64, wait: Duration) -> Result<Read, LogError> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let mut batch = Batch::new();
            let mut range = cmd("XRANGE");
            range
                .arg(self.stream(id))
                .arg(format!("0-{}", from + 1))
                .arg("+")
                .arg("COUNT")
                .arg(READ_MAX);
            batch.add(range);
            let mut exists = cmd("EXISTS");
            exists.arg(self.stream(id));
            batch.add(exists);
            let (entries, exists): (Entries, bool) = self.run(batch).await?;
            if !exists {
                return Ok(Read::Gone);
            }
            if !entries.is_empty() || tokio::time::Instant::now() + POLL > deadline {
                return Ok(Read::Entries(decode(entries)));
            }
            tokio::time::sleep(POLL).await;
        }
    }

    async fn ask_stop(&self, id: Uuid) -> Result<(), LogError> {
        let mut batch = Batch::new();
        let mut set = cmd("SET");
        set.arg(self.stop_flag(id))
            .arg(1)
            .arg("PX")
            .arg(self.lifetimes.lease.as_millis() as u64);
        batch.quiet(set);
        self.run::<()>(batch).await
    }
}

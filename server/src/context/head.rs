//! Each conversation's head in Redis: its owner, the seq of the newest message of the branch it
//! shows (its leaf, `store::thread`) and the seq its summary covers. A follow-up turn is admitted, and its cached context checked, against the head, so
//! the turn's model request waits for one Redis read instead of a database read.
//!
//! Promises:
//! - a head is a hint, never an authority over what may be written: it is used only by its own
//!   owner (another owner's, a missing or unreadable one, or none at all without Redis: the
//!   caller reads the database), a cached context is used only when it matches the head
//!   exactly, and the turn's write checks the owner again in the database, so a stale head (a
//!   conversation claimed at sign-up, deleted on another instance) never lets a turn write to a
//!   conversation that is not its caller's;
//! - a head is written after every stored turn, and a write never moves it back: one whose
//!   leaf is below the stored one is dropped (one Lua call, atomic), so turns of one
//!   conversation finishing on several instances in any order leave the newest; what moves
//!   the leaf back (showing another version, regenerating, editing) drops the head first;
//! - a head names a seq only after the database holds it, so a context matching the head holds
//!   every message up to it;
//! - heads expire with the cached contexts, [`TTL`] after the conversation's last turn.
use std::sync::Arc;

use app::types::Owner;
use uuid::Uuid;

use crate::cache::redis::RedisLayer;
use crate::cache::Cache;
use crate::metrics::Metrics;
use crate::store::Conversation;

/// How long a head stays after its conversation's last turn (as the cached contexts).
pub const TTL: std::time::Duration = std::time::Duration::from_secs(6 * 3600);

/// KEYS[1] the head, ARGV = its newest seq, the encoded head, the TTL in ms: the head is
/// written unless the stored one names a later seq. Returns 1 when written.
const SET_SCRIPT: &str = r"
local stored = redis.call('GET', KEYS[1])
if stored then
  local seq = tonumber(string.match(stored, '^%d+'))
  if seq and seq > tonumber(ARGV[1]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
";

/// What a turn needs to know of its conversation before its model request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    pub id: Uuid,
    pub owner: Owner,
    /// Seq of the newest message of the branch shown (0 before the first).
    pub leaf_seq: i64,
    /// Messages up to here are in the summary (0: none).
    pub summarized_through: i64,
}

impl From<&Conversation> for Head {
    fn from(c: &Conversation) -> Self {
        Head {
            id: c.id,
            owner: c.owner,
            leaf_seq: c.leaf_seq,
            summarized_through: c.summarized_through_seq.unwrap_or(0),
        }
    }
}

impl Head {
    /// `"{leaf_seq} {summarized_through} {u|a}:{owner id}"`: the seq first, for the script.
    fn encode(&self) -> String {
        let owner = match self.owner {
            Owner::User(id) => format!("u:{id}"),
            Owner::Anonymous(id) => format!("a:{id}"),
        };
        format!("{} {} {owner}", self.leaf_seq, self.summarized_through)
    }

    fn decode(id: Uuid, text: &str) -> Option<Self> {
        let mut parts = text.split(' ');
        let leaf_seq = parts.next()?.parse().ok()?;
        let summarized_through = parts.next()?.parse().ok()?;
        let owner = match parts.next()?.split_once(':')? {
            ("u", owner) => Owner::User(owner.parse().ok()?),
            ("a", owner) => Owner::Anonymous(owner.parse().ok()?),
            _ => return None,
        };
        Some(Head {
            id,
            owner,
            leaf_seq,
            summarized_through,
        })
    }
}

/// The heads, in the cache's Redis under its prefix (`{prefix}context-head:{id}`).
pub struct Heads {
    /// The cache's Redis; `None`: no heads, every turn reads its conversation from the database.
    redis: Option<Arc<RedisLayer>>,
    script: redis::Script,
    metrics: Arc<Metrics>,
}

impl Heads {
    pub fn new(cache: &Cache, metrics: Arc<Metrics>) -> Self {
        Self {
            redis: cache.redis().cloned(),
            script: redis::Script::new(SET_SCRIPT),
            metrics,
        }
    }

    fn key(redis: &RedisLayer, id: Uuid) -> String {
        redis.key(&format!("context-head:{id}"))
    }

    fn record(&self, result: &str) {
        self.metrics
            .record_cache("context-head", "redis", result, 1);
    }

    /// Conversation `id`'s head when it is `owner`'s; `None` when there is none, it is another
    /// owner's, or Redis cannot tell (the caller reads the database).
    pub async fn get(&self, owner: Owner, id: Uuid) -> Option<Head> {
        let redis = self.redis.as_ref()?;
        let key = Self::key(redis, id);
        let stored: Result<Option<String>, _> = redis
            .connection()
            .run(|mut c| async move { redis::Cmd::get(&key).query_async(&mut c).await })
            .await;
        let head = match stored {
            Ok(stored) => stored.and_then(|text| Head::decode(id, &text)),
            Err(e) => {
                tracing::debug!(error = %e, "conversation head unreadable");
                self.record("error");
                return None;
            }
        };
        let head = head.filter(|h| h.owner == owner);
        self.record(if head.is_some() { "hit" } else { "miss" });
        head
    }

    /// Stores `head` unless a later one is stored; a failure is logged, not raised (the
    /// next turn reads the database).
    pub async fn set(&self, head: Head) {
        let Some(redis) = &self.redis else { return };
        let mut invocation = self.script.prepare_invoke();
        invocation
            .key(Self::key(redis, head.id))
            .arg(head.leaf_seq)
            .arg(head.encode())
            .arg(TTL.as_millis() as u64);
        let written: Result<i64, _> = redis
            .connection()
            .run(|mut c| async move { invocation.invoke_async(&mut c).await })
            .await;
        if let Err(e) = written {
            tracing::debug!(error = %e, "conversation head not written");
            self.record("error");
        }
    }

    /// Drops conversation `id`'s head (deleted).
    pub async fn forget(&self, id: Uuid) {
        let Some(redis) = &self.redis else { return };
        let key = Self::key(redis, id);
        let deleted: Result<i64, _> = redis
            .connection()
            .run(|mut c| async move { redis::Cmd::del(&key).query_async(&mut c).await })
            .await;
        if let Err(e) = deleted {
            tracing::debug!(error = %e, "conversation head not deleted");
            self.record("error");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_head_reads_back_as_written() {
        for owner in [
            Owner::User(Uuid::new_v4()),
            Owner::Anonymous(Uuid::new_v4()),
        ] {
            let head = Head {
                id: Uuid::new_v4(),
                owner,
                leaf_seq: 12,
                summarized_through: 4,
            };
            assert_eq!(Head::decode(head.id, &head.encode()), Some(head));
        }
        let id = Uuid::new_v4();
        for bad in ["", "12", "12 4", "12 4 x:1", "x 4 a:0", "12 4 a:not-a-uuid"] {
            assert_eq!(Head::decode(id, bad), None, "{bad:?}");
        }
    }
}

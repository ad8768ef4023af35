//! Each conversation's prepared context in the layered cache: the messages after its summary as
//! the model sees them, with their token counts, the summary and the topics; so that a turn
//! neither re-reads nor rebuilds the whole history.
//!
//! Promises: an entry is used only when it matches the conversation's head (the newest message
//! seq and the seq the summary covers: from Redis, see [`head`](super::head), or from the
//! conversation's row), so a stale copy (another instance's turn, a write that failed) is never
//! used but rebuilt from the database; a miss is rebuilt from the database, read for the head's
//! owner only; after a turn the entry is extended with its messages rather than rebuilt, and
//! the head moved to the turn's answer; a deleted conversation's entry and head are dropped.
//! An entry is one branch (`store::thread`): the leaf and its ancestors; the summary is used
//! only when it summarizes that branch (the branch reaches the message it ends at).
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::compress::Counted;
use super::head::{Head, Heads, TTL};
use super::history;
use crate::cache::{Cache, Layered};
use crate::metrics::Metrics;
use crate::store::{thread, Conversation, Message as StoredMessage, Store, StoreError};

/// How long, and how many, this process keeps.
const LOCAL_TTL: Duration = Duration::from_secs(600);
const LOCAL_CAPACITY: usize = 512;

/// A conversation's context as of its message `leaf_seq`: the branch that ends there (a new
/// conversation's is empty).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Prepared {
    pub leaf_seq: i64,
    /// Messages up to here are in the summary (0: none).
    pub summarized_through: i64,
    pub summary: Option<String>,
    /// The conversation's stored summary is of another branch (so it is not in this context,
    /// and a summary of this branch replaces it).
    #[serde(default)]
    pub summary_elsewhere: bool,
    pub topics: Vec<String>,
    /// The messages after the summary, oldest first.
    pub messages: Vec<Counted>,
}
crate::json_codec!(Prepared);

impl Prepared {
    fn matches(&self, head: &Head) -> bool {
        self.leaf_seq == head.leaf_seq && self.summarized_through == head.summarized_through
    }

    /// Adds the next stored message of the branch (a turn's question, then its answer). A
    /// message that does not follow the leaf (another turn of the same conversation ran at the
    /// same time) makes the entry unusable, so the next turn rebuilds it from the database.
    pub fn push(&mut self, message: &StoredMessage) {
        if self.leaf_seq < 0 || message.parent_seq.unwrap_or(0) != self.leaf_seq {
            self.leaf_seq = -1;
            return;
        }
        history::push_stored(&mut self.messages, message);
        self.leaf_seq = message.seq;
    }

    /// The summary now covers the messages through `seq`: they leave the context.
    pub fn fold_through(&mut self, seq: i64, summary: String) {
        // A stored message may span several model messages (its tool rounds); its seq is on
        // the last of them.
        let folded = self
            .messages
            .iter()
            .rposition(|m| m.seq.is_some_and(|s| s <= seq))
            .map_or(0, |i| i + 1);
        self.messages.drain(..folded);
        // What is left must open with a question.
        while self
            .messages
            .first()
            .is_some_and(|m| m.message.role != crate::llm::Role::User)
        {
            self.messages.remove(0);
        }
        self.summarized_through = seq;
        self.summary = Some(summary);
    }
}

/// The head's conversation, when it is the head owner's.
async fn owned(store: &Store, head: &Head) -> Result<Conversation, StoreError> {
    store
        .get_conversation(head.owner, head.id)
        .await?
        .ok_or(StoreError::NotFound)
}

/// The context of the branch of `conversation` that ends at `leaf`, from the database: the
/// messages after the summary when the summary is of this branch (usually only those are
/// read), else the whole branch.
async fn read_branch(
    store: &Store,
    conversation: &Conversation,
    leaf: i64,
) -> Result<Prepared, StoreError> {
    let summarized = conversation.summarized_through_seq.unwrap_or(0);
    let after = store
        .list_messages_after(conversation.id, summarized)
        .await?;
    // A parent's seq is below its child's: the branch down from the summary is all in `after`.
    let branch = thread::ancestors(&after, leaf);
    let reaches_summary = match branch.last() {
        None => leaf == summarized,
        Some(oldest) => {
            let parent = after
                .iter()
                .find(|m| m.seq == *oldest)
                .and_then(|m| m.parent_seq);
            parent.unwrap_or(0) == summarized
        }
    };
    let (stored, summary) = if reaches_summary {
        (keep(after, &branch), conversation.summary.clone())
    } else {
        let all = store.list_messages(conversation.id).await?;
        let branch = thread::ancestors(&all, leaf);
        (keep(all, &branch), None)
    };
    Ok(Prepared {
        leaf_seq: leaf,
        summarized_through: if reaches_summary { summarized } else { 0 },
        summary_elsewhere: !reaches_summary && summarized > 0,
        summary,
        topics: conversation.topics.clone(),
        messages: history::to_context(&stored),
    })
}

/// The messages of `all` whose seqs are in `branch`, oldest first.
fn keep(mut all: Vec<StoredMessage>, branch: &[i64]) -> Vec<StoredMessage> {
    let wanted: std::collections::HashSet<i64> = branch.iter().copied().collect();
    all.retain(|m| wanted.contains(&m.seq));
    all
}

pub struct ContextCache {
    layer: Layered<Prepared>,
    /// What an entry must match; kept after every turn.
    heads: Heads,
    metrics: Arc<Metrics>,
}

fn key(conversation: Uuid) -> String {
    format!("context:{conversation}")
}

impl ContextCache {
    pub fn new(cache: &Cache, metrics: Arc<Metrics>) -> Self {
        Self::with_local_ttl(cache, metrics, LOCAL_TTL)
    }

    /// With contexts kept in this process for `local_ttl` (zero: read from Redis every time).
    pub fn with_local_ttl(cache: &Cache, metrics: Arc<Metrics>, local_ttl: Duration) -> Self {
        Self {
            layer: cache.layered("context", LOCAL_CAPACITY, local_ttl),
            heads: Heads::new(cache, metrics.clone()),
            metrics,
        }
    }

    /// Conversation `id`'s head when Redis has it for `owner` (see [`Heads::get`]).
    pub async fn head(&self, owner: app::types::Owner, id: Uuid) -> Option<Head> {
        self.heads.get(owner, id).await
    }

    /// The conversation's context, from the cache when it matches `head`, else rebuilt from
    /// the database (and cached): [`StoreError::NotFound`] when the conversation is gone or
    /// is not the head's owner's.
    pub async fn load(&self, store: &Store, head: &Head) -> Result<Arc<Prepared>, StoreError> {
        if let Some(hit) = self.layer.get(&key(head.id)).await {
            if hit.matches(head) {
                return Ok(hit);
            }
            self.metrics
                .record_cache("context", "validation", "stale", 1);
        }
        let conversation = owned(store, head).await?;
        let prepared = read_branch(store, &conversation, conversation.leaf_seq).await?;
        Ok(self.layer.set(&key(conversation.id), prepared, TTL).await)
    }

    /// The context of the branch of `head`'s conversation that ends at message `leaf` (an
    /// edited question or a regenerated answer follows it), from the database, not cached.
    pub async fn branch(
        &self,
        store: &Store,
        head: &Head,
        leaf: i64,
    ) -> Result<Arc<Prepared>, StoreError> {
        let conversation = owned(store, head).await?;
        Ok(Arc::new(read_branch(store, &conversation, leaf).await?))
    }

    /// After a turn: the conversation's new `head`, and its context when the turn has it (an
    /// entry that does not match the head is stored too: the next turn rebuilds it).
    pub async fn save(&self, head: Head, prepared: Option<Prepared>) {
        let context = async {
            if let Some(prepared) = prepared {
                self.layer.set(&key(head.id), prepared, TTL).await;
            }
        };
        tokio::join!(context, self.heads.set(head));
    }

    /// Drops the conversation's context and head (deleted).
    pub async fn forget(&self, conversation: Uuid) {
        let key = key(conversation);
        tokio::join!(self.layer.invalidate(&key), self.heads.forget(conversation));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Role as StoredRole;
    use serde_json::json;

    fn stored(seq: i64, role: StoredRole, text: &str, tools: bool) -> StoredMessage {
        let (calls, results) = if tools {
            (
                json!([{"id": format!("t{seq}"), "name": "fpl_player_data", "input": {}, "round": 1, "tokens": 5}]),
                json!([{"tool_use_id": format!("t{seq}"), "name": "fpl_player_data", "ok": true, "content": "data", "duration_ms": 1, "round": 1, "tokens": 20}]),
            )
        } else {
            (json!([]), json!([]))
        };
        StoredMessage {
            token_count: if tools { 35 } else { 10 },
            tool_calls: calls,
            tool_results: results,
            ..crate::testkit::message::stored(seq, (seq > 1).then_some(seq - 1), role, text)
        }
    }

    fn turns(n: i64) -> Vec<StoredMessage> {
        (1..=n)
            .flat_map(|t| {
                [
                    stored(2 * t - 1, StoredRole::User, "question", false),
                    stored(2 * t, StoredRole::Assistant, "answer", true),
                ]
            })
            .collect()
    }

    #[test]
    fn growing_a_context_equals_rebuilding_it() {
        let all = turns(3);
        let mut grown = Prepared::default();
        for m in &all {
            grown.push(m);
        }
        assert_eq!(grown.messages, history::to_context(&all));
        assert_eq!(grown.leaf_seq, 6);
        // Each answer is its tool exchange and its text; the stored count is split between them.
        assert_eq!(grown.messages.len(), 3 * 4);
        assert_eq!(
            grown.messages.iter().map(|m| m.tokens).sum::<u32>(),
            3 * (10 + 35)
        );
    }

    #[test]
    fn a_message_out_of_order_makes_the_entry_unusable() {
        let all = turns(2);
        let mut entry = Prepared::default();
        entry.push(&all[0]);
        entry.push(&all[2]); // seq 3 after 1: another turn wrote seq 2 meanwhile
        assert_eq!(entry.leaf_seq, -1);
        entry.push(&all[3]);
        assert_eq!(entry.leaf_seq, -1, "stays unusable");
    }

    #[test]
    fn folding_drops_whole_turns_with_their_tool_exchanges() {
        let mut entry = Prepared::default();
        for m in &turns(3) {
            entry.push(m);
        }
        entry.fold_through(4, "two turns".into());
        assert_eq!(entry.messages.len(), 4);
        assert_eq!(entry.messages[0].message.role, crate::llm::Role::User);
        assert_eq!(entry.messages[0].seq, Some(5));
        assert_eq!(
            (entry.summarized_through, entry.summary.as_deref()),
            (4, Some("two turns"))
        );
    }
}

//! The events of the turns being answered, kept while they run so that a page opened or
//! reloaded mid-answer, on any instance, follows the answer from its start: in Redis when it
//! is configured (every instance reads what any wrote), else in this process.
//!
//! Promises, for both logs (one test suite runs on both):
//! - a turn's entries are read back in the order they were appended, numbered from 0 (its
//!   `meta` event), from any number on; a reader waits (up to its deadline) for entries
//!   that are not written yet;
//! - [`TurnLog::running`] names the turn being answered in a conversation, with its owner,
//!   from [`TurnLog::open`] until [`TurnLog::close`] (the newest, when two run in one
//!   conversation); once closed, the entries stay readable for [`Lifetimes::keep_closed`] so
//!   that a reader who found the turn just before its end reads it to `done`;
//! - a log whose writer stopped renewing it (its instance died) is gone
//!   [`Lifetimes::lease`] after its last append: readers are told, the conversation no
//!   longer names it;
//! - a stop asked on any instance ([`TurnLog::ask_stop`]) is seen by the turn's writer in the
//!   reply of its next append;
//! - every key expires; failures are errors, never panics (the caller degrades: a turn goes
//!   on without its log).
pub mod memory;
pub mod redis;

use std::time::Duration;

use app::types::{ChatEvent, Owner};
use async_trait::async_trait;
use uuid::Uuid;

/// How often a writer renews its lease (and asks whether it was told to stop).
pub const HEARTBEAT: Duration = Duration::from_secs(1);

/// How long logs live.
#[derive(Debug, Clone, Copy)]
pub struct Lifetimes {
    /// How long a log lives after its writer's last append (the writer appends at least every
    /// [`HEARTBEAT`], with no entries when the turn is quiet).
    pub lease: Duration,
    /// How long a closed turn's entries stay readable.
    pub keep_closed: Duration,
}

impl Default for Lifetimes {
    fn default() -> Self {
        Self {
            lease: Duration::from_secs(30),
            keep_closed: Duration::from_secs(60),
        }
    }
}

/// A turn being answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LiveTurn {
    /// The answer's message id (the `message_id` of its `meta` event).
    pub id: Uuid,
    pub conversation: Uuid,
    /// Who asked: the only one who may follow or stop it.
    pub owner: Owner,
}

#[derive(Debug, thiserror::Error)]
#[error("turn log: {0}")]
pub struct LogError(pub String);

/// What a reader got.
#[derive(Debug, PartialEq)]
pub enum Read {
    /// The entries from the number asked for on (none when the deadline passed first).
    Entries(Vec<ChatEvent>),
    /// The log no longer exists (closed long ago, or its writer is gone).
    Gone,
}

#[async_trait]
pub trait TurnLog: Send + Sync + 'static {
    /// "redis" or "memory".
    fn name(&self) -> &'static str;

    /// Starts the log of `turn` with its first entries (at least one: they are numbered from
    /// 0); its conversation names it from now on.
    async fn open(&self, turn: &LiveTurn, entries: &[ChatEvent]) -> Result<(), LogError>;

    /// Appends `entries` (numbered on from `first`; none: only renews the lease). True when a
    /// stop was asked.
    async fn append(
        &self,
        turn: &LiveTurn,
        first: u64,
        entries: &[ChatEvent],
    ) -> Result<bool, LogError>;

    /// The turn has ended: its conversation no longer names it, its entries stay readable for
    /// [`Lifetimes::keep_closed`].
    async fn close(&self, turn: &LiveTurn) -> Result<(), LogError>;

    /// The turn being answered in `conversation`, if any.
    async fn running(&self, conversation: Uuid) -> Result<Option<LiveTurn>, LogError>;

    /// The entries of turn `id` numbered `from` on, waiting up to `wait` for the first of
    /// them.
    async fn read(&self, id: Uuid, from: u64, wait: Duration) -> Result<Read, LogError>;

    /// Asks the writer of turn `id` to stop it.
    async fn ask_stop(&self, id: Uuid) -> Result<(), LogError>;
}

/// `entries` with each run of `text` events made one (fewer entries to write and to read).
pub fn merge_text(entries: Vec<ChatEvent>) -> Vec<ChatEvent> {
    let mut merged: Vec<ChatEvent> = Vec::with_capacity(entries.len());
    for entry in entries {
        match (merged.last_mut(), entry) {
            (Some(ChatEvent::Text { delta }), ChatEvent::Text { delta: more }) => {
                delta.push_str(&more)
            }
            (_, entry) => merged.push(entry),
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn text(s: &str) -> ChatEvent {
        ChatEvent::Text { delta: s.into() }
    }

    fn meta(turn: &LiveTurn) -> ChatEvent {
        ChatEvent::Meta {
            conversation_id: turn.conversation,
            message_id: turn.id,
            question_id: Uuid::new_v4(),
        }
    }

    fn new_turn() -> LiveTurn {
        LiveTurn {
            id: Uuid::new_v4(),
            conversation: Uuid::new_v4(),
            owner: Owner::Anonymous(Uuid::new_v4()),
        }
    }

    const SHORT: Lifetimes = Lifetimes {
        lease: Duration::from_millis(600),
        keep_closed: Duration::from_millis(600),
    };
    const NOW: Duration = Duration::ZERO;

    /// The suite both logs must pass (made with [`SHORT`] lifetimes).
    async fn suite(log: Arc<dyn TurnLog>) {
        let turn = new_turn();
        let other = Uuid::new_v4();
        assert_eq!(log.running(turn.conversation).await.unwrap(), None);
        assert_eq!(log.read(turn.id, 0, NOW).await.unwrap(), Read::Gone);

        // Opened with its first entries: found by its conversation, readable from 0.
        let first = [meta(&turn), text("Haaland ")];
        log.open(&turn, &first).await.unwrap();
        assert_eq!(log.running(turn.conversation).await.unwrap(), Some(turn));
        assert_eq!(log.running(other).await.unwrap(), None);
        assert_eq!(
            log.read(turn.id, 0, NOW).await.unwrap(),
            Read::Entries(first.to_vec())
        );

        // A reader waiting for entry 2 gets it when it is appended.
        let reader = {
            let log = log.clone();
            tokio::spawn(async move { log.read(turn.id, 2, Duration::from_secs(5)).await })
        };
        tokio::time::sleep(Duration::from_millis(150)).await;
        let stop = log
            .append(&turn, 2, &[text("scored "), text("twice")])
            .await;
        assert!(!stop.unwrap(), "nobody asked to stop");
        assert_eq!(
            reader.await.unwrap().unwrap(),
            Read::Entries(vec![text("scored "), text("twice")])
        );
        assert_eq!(
            log.read(turn.id, 3, NOW).await.unwrap(),
            Read::Entries(vec![text("twice")])
        );
        assert_eq!(
            log.read(turn.id, 4, NOW).await.unwrap(),
            Read::Entries(vec![])
        );
        assert!(
            log.append(&turn, 2, &[text("again")]).await.is_err(),
            "an entry is written once"
        );

        // A stop asked anywhere is told to the writer.
        log.ask_stop(turn.id).await.unwrap();
        assert!(log.append(&turn, 4, &[]).await.unwrap());

        // The writer renews the lease: the log outlives it while appended to.
        for _ in 0..3 {
            tokio::time::sleep(SHORT.lease / 2).await;
            log.append(&turn, 4, &[]).await.unwrap();
        }
        assert_eq!(log.running(turn.conversation).await.unwrap(), Some(turn));

        // Closed: the conversation no longer names it, its entries stay readable a while.
        let done = ChatEvent::Done {
            stop_reason: "interrupted".into(),
        };
        log.append(&turn, 4, std::slice::from_ref(&done))
            .await
            .unwrap();
        log.close(&turn).await.unwrap();
        assert_eq!(log.running(turn.conversation).await.unwrap(), None);
        assert_eq!(
            log.read(turn.id, 4, NOW).await.unwrap(),
            Read::Entries(vec![done])
        );
        tokio::time::sleep(SHORT.keep_closed + Duration::from_millis(200)).await;
        assert_eq!(log.read(turn.id, 0, NOW).await.unwrap(), Read::Gone);

        // A writer that vanished: its log and its conversation's pointer expire.
        let lost = new_turn();
        log.open(&lost, &[meta(&lost)]).await.unwrap();
        tokio::time::sleep(SHORT.lease + Duration::from_millis(200)).await;
        assert_eq!(log.running(lost.conversation).await.unwrap(), None);
        assert_eq!(log.read(lost.id, 0, NOW).await.unwrap(), Read::Gone);
        assert!(
            log.append(&lost, 1, &[text("late")]).await.is_err()
                || log.read(lost.id, 0, NOW).await.unwrap() == Read::Gone,
            "a late append does not bring an expired log back"
        );

        // Two turns in one conversation: it names the newest; closing the older leaves it.
        let (a, mut b) = (new_turn(), new_turn());
        b.conversation = a.conversation;
        log.open(&a, &[meta(&a)]).await.unwrap();
        log.open(&b, &[meta(&b)]).await.unwrap();
        log.close(&a).await.unwrap();
        assert_eq!(log.running(a.conversation).await.unwrap(), Some(b));
    }

    #[tokio::test]
    async fn the_memory_log_keeps_the_promises() {
        suite(Arc::new(memory::MemoryLog::new(SHORT))).await;
    }

    crate::redis_tests!(the_redis_log_keeps_the_promises);

    async fn the_redis_log_keeps_the_promises(url: String) {
        let prefix = format!("test:{}:", Uuid::new_v4().simple());
        let client = crate::testkit::redis::client(&url);
        suite(Arc::new(redis::RedisLog::new(client, &prefix, SHORT))).await;
    }

    #[test]
    fn runs_of_text_become_one_entry() {
        let text = |s: &str| ChatEvent::Text { delta: s.into() };
        let done = ChatEvent::Done {
            stop_reason: "end_turn".into(),
        };
        let merged = merge_text(vec![text("a"), text("b"), done.clone(), text("c")]);
        assert_eq!(merged, vec![text("ab"), done, text("c")]);
    }
}

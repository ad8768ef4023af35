//! Retention: deleting anonymous identities that have been idle too long, with their
//! conversations, and expired sessions.
//!
//! Promises:
//! - An anonymous identity is idle since `cutoff` when it was last seen before it and none of
//!   its conversations changed since (a follow-up turn touches the conversation, not the
//!   identity). Deleting it deletes its conversations, their messages and metrics (foreign
//!   keys with `ON DELETE CASCADE`). Accounts and their conversations (including those claimed
//!   from an anonymous identity) are never touched.
//! - A batch is one transaction: its identities and their conversations are locked
//!   (PostgreSQL `FOR UPDATE`; SQLite's one writer), checked again, handed to `archive` (when
//!   given) and only then deleted, so a turn that arrives meanwhile either waits and finds the
//!   conversation gone (`not_found`) or happened first and keeps the identity; a failed archive
//!   rolls the batch back. Several instances pruning at once skip each other's locked rows.
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::store::conversations::{conversation_columns, ConversationRow};
use crate::store::messages::message_columns;
use crate::store::model::{AnonymousIdentity, Conversation, Message};
use crate::store::{on_write, BeginWrite, Db, Store, StoreError};

/// Rows deleted by pruning.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Pruned {
    pub anonymous_identities: u64,
    pub conversations: u64,
    pub messages: u64,
    pub sessions: u64,
    /// Conversations their owners deleted, purged after the undo window.
    pub deleted_conversations: u64,
}

impl Pruned {
    /// Adds another batch's counts.
    pub fn add(&mut self, other: Pruned) {
        self.anonymous_identities += other.anonymous_identities;
        self.conversations += other.conversations;
        self.messages += other.messages;
        self.sessions += other.sessions;
        self.deleted_conversations += other.deleted_conversations;
    }

    /// Each count by its metric label.
    pub fn by_kind(&self) -> [(&'static str, u64); 5] {
        [
            ("anonymous_identities", self.anonymous_identities),
            ("conversations", self.conversations),
            ("messages", self.messages),
            ("sessions", self.sessions),
            ("deleted_conversations", self.deleted_conversations),
        ]
    }
}

/// One pruned identity as archived (one JSON line): the identity row, and each of its
/// conversations with its messages in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArchivedIdentity {
    pub identity: AnonymousIdentity,
    pub conversations: Vec<ArchivedConversation>,
}

/// A conversation as archived.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArchivedConversation {
    pub conversation: Conversation,
    pub messages: Vec<Message>,
}

/// Identities idle since `$1`, oldest first, at most `$2`.
const IDLE_SQL: &str = "SELECT a.id, a.created_at, a.last_seen_at, a.claimed_by_user \
     FROM anonymous_identities a WHERE a.last_seen_at < $1 AND NOT EXISTS \
     (SELECT 1 FROM conversations c WHERE c.owner_anon_id = a.id AND c.updated_at >= $1) \
     ORDER BY a.last_seen_at LIMIT $2";

/// `($1, $2, …)` for `n` ids, the statement's only parameters.
fn id_list(n: usize) -> String {
    let marks: Vec<String> = (1..=n).map(|i| format!("${i}")).collect();
    format!("({})", marks.join(", "))
}

/// Binds every id of `$ids` in order onto `$query` (for an [`id_list`]).
macro_rules! bind_ids {
    ($query:expr, $ids:expr) => {
        $ids.iter().fold($query, |query, id| query.bind(*id))
    };
}

/// The identities of `found` still idle since `cutoff` now that their conversations (`rows`)
/// are locked (a turn between the first read and the locks made its identity active again),
/// and their conversations.
fn still_idle(
    found: Vec<AnonymousIdentity>,
    rows: Vec<ConversationRow>,
    cutoff: DateTime<Utc>,
) -> Result<(Vec<AnonymousIdentity>, Vec<Conversation>), StoreError> {
    let active: Vec<Uuid> = rows
        .iter()
        .filter(|row| row.updated_at >= cutoff)
        .filter_map(|row| row.owner_anon_id)
        .collect();
    let idle = found
        .into_iter()
        .filter(|identity| !active.contains(&identity.id))
        .collect();
    let conversations = rows
        .into_iter()
        .filter(|row| !row.owner_anon_id.is_some_and(|id| active.contains(&id)))
        .map(Conversation::try_from)
        .collect::<Result<_, _>>()?;
    Ok((idle, conversations))
}

impl Store {
    /// Deletes up to `limit` anonymous identities idle since `cutoff`, with their
    /// conversations; `archive` (when given) gets them first, and an error from it keeps them.
    /// Returns what was deleted: nothing once no idle identity is left.
    pub async fn prune_anonymous_batch<A>(
        &self,
        cutoff: DateTime<Utc>,
        limit: u32,
        archive: Option<A>,
    ) -> Result<Pruned, StoreError>
    where
        A: FnOnce(&[ArchivedIdentity]) -> std::io::Result<()>,
    {
        // PostgreSQL locks what it reads, skipping identities another pruner holds; SQLite's
        // write transaction already excludes every other writer.
        let (skip_locked, lock) = match self.db {
            Db::Postgres(_) => (" FOR UPDATE SKIP LOCKED", " FOR UPDATE"),
            Db::Sqlite(_) => ("", ""),
        };
        let idle_sql = format!("{IDLE_SQL}{skip_locked}");
        on_write!(&self.db, |pool| {
            async {
                let mut tx = pool.begin_write().await?;
                let found: Vec<AnonymousIdentity> = sqlx::query_as(&idle_sql)
                    .bind(cutoff)
                    .bind(i64::from(limit))
                    .fetch_all(&mut *tx)
                    .await?;
                if found.is_empty() {
                    return Ok(Pruned::default());
                }
                let ids = id_list(found.len());
                // Their conversations, locked, so no turn changes them from here on.
                let conversations_sql = format!(
                    concat!(
                        "SELECT ",
                        conversation_columns!(),
                        " FROM conversations WHERE owner_anon_id IN {} ORDER BY created_at{}"
                    ),
                    ids, lock
                );
                let found_ids: Vec<Uuid> = found.iter().map(|i| i.id).collect();
                let rows = bind_ids!(
                    sqlx::query_as::<_, ConversationRow>(&conversations_sql),
                    found_ids
                )
                .fetch_all(&mut *tx)
                .await?;
                let (idle, conversations) = still_idle(found, rows, cutoff)?;
                let conversation_count = conversations.len() as u64;
                if idle.is_empty() {
                    tx.commit().await?;
                    return Ok(Pruned::default());
                }
                let idle_ids: Vec<Uuid> = idle.iter().map(|i| i.id).collect();
                let ids = id_list(idle_ids.len());
                // The messages of those conversations (all of them the idle identities').
                let of_idle = format!(
                    "FROM messages WHERE conversation_id IN \
                     (SELECT id FROM conversations WHERE owner_anon_id IN {ids})"
                );
                let messages = match archive {
                    Some(archive) => {
                        let sql = format!(
                            concat!(
                                "SELECT ",
                                message_columns!(),
                                " {} ORDER BY conversation_id, seq"
                            ),
                            of_idle
                        );
                        let messages = bind_ids!(sqlx::query_as::<_, Message>(&sql), idle_ids)
                            .fetch_all(&mut *tx)
                            .await?;
                        let count = messages.len() as u64;
                        archive(&archived(&idle, conversations, messages))
                            .map_err(StoreError::Filesystem)?;
                        count
                    }
                    None => {
                        let sql = format!("SELECT count(*) {of_idle}");
                        bind_ids!(sqlx::query_scalar::<_, i64>(&sql), idle_ids)
                            .fetch_one(&mut *tx)
                            .await? as u64
                    }
                };
                let delete = format!("DELETE FROM anonymous_identities WHERE id IN {ids}");
                let deleted = bind_ids!(sqlx::query(&delete), idle_ids)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                tx.commit().await?;
                Ok::<_, StoreError>(Pruned {
                    anonymous_identities: deleted,
                    conversations: conversation_count,
                    messages,
                    ..Pruned::default()
                })
            }
            .await
        })
    }
}

/// Groups conversations (in creation order) and messages (by conversation, in seq order)
/// under their identities.
fn archived(
    identities: &[AnonymousIdentity],
    conversations: Vec<Conversation>,
    messages: Vec<Message>,
) -> Vec<ArchivedIdentity> {
    let mut out: Vec<ArchivedIdentity> = identities
        .iter()
        .map(|identity| ArchivedIdentity {
            identity: identity.clone(),
            conversations: Vec::new(),
        })
        .collect();
    let mut by_conversation: std::collections::HashMap<Uuid, Vec<Message>> =
        std::collections::HashMap::new();
    for message in messages {
        by_conversation
            .entry(message.conversation_id)
            .or_default()
            .push(message);
    }
    for conversation in conversations {
        let owner = conversation.owner.id();
        if let Some(slot) = out.iter_mut().find(|a| a.identity.id == owner) {
            slot.conversations.push(ArchivedConversation {
                messages: by_conversation.remove(&conversation.id).unwrap_or_default(),
                conversation,
            });
        }
    }
    out
}

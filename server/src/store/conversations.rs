//! Conversation rows: create, read, list, rename, delete with undo (a turn's topics and summary
//! are written with its question: `messages.rs`).
//!
//! Promises: every method that takes an [`Owner`] filters on that owner's column, so another
//! owner's conversation is indistinguishable from a missing one (`None` / `false` / absent
//! from the list); a deleted conversation is missing to every read and every new turn at once,
//! can be restored until [`Store::purge_deleted`] removes it, and purging removes its messages,
//! metrics and share link (foreign keys with `ON DELETE CASCADE`); the list is newest-first by
//! `updated_at` and uses the per-owner index; a summary only ever moves forward (an older
//! summary cannot overwrite a newer one).

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use uuid::Uuid;

use crate::store::model::{now, Conversation, ConversationSummary, Owner, Title};
use crate::store::{on_read, on_write, owner_sql, BeginWrite, Store, StoreError};

/// Columns read into [`ConversationRow`].
macro_rules! conversation_columns {
    () => {
        "id, owner_user_id, owner_anon_id, title, topics, summary, summary_token_count, \
         summarized_through_seq, last_seq, leaf_seq, created_at, updated_at"
    };
}
pub(crate) use conversation_columns;

/// The most conversations [`Store::list_conversations`] returns at once.
pub const MAX_LIST_LIMIT: u32 = 1000;

/// A `conversations` row as read, before its owner columns become an [`Owner`].
#[derive(sqlx::FromRow)]
pub(crate) struct ConversationRow {
    id: Uuid,
    owner_user_id: Option<Uuid>,
    pub(crate) owner_anon_id: Option<Uuid>,
    title: String,
    topics: Json<Vec<String>>,
    summary: Option<String>,
    summary_token_count: Option<i32>,
    summarized_through_seq: Option<i64>,
    last_seq: i64,
    leaf_seq: i64,
    created_at: DateTime<Utc>,
    pub(crate) updated_at: DateTime<Utc>,
}

impl TryFrom<ConversationRow> for Conversation {
    type Error = StoreError;

    fn try_from(row: ConversationRow) -> Result<Self, StoreError> {
        let owner = match (row.owner_user_id, row.owner_anon_id) {
            (Some(user), None) => Owner::User(user),
            (None, Some(anon)) => Owner::Anonymous(anon),
            _ => {
                return Err(StoreError::Corrupt(format!(
                    "conversation {} does not have exactly one owner",
                    row.id
                )))
            }
        };
        Ok(Conversation {
            id: row.id,
            owner,
            title: Title::parse(&row.title)?,
            topics: row.topics.0,
            summary: row.summary,
            summary_token_count: row.summary_token_count,
            summarized_through_seq: row.summarized_through_seq,
            last_seq: row.last_seq,
            leaf_seq: row.leaf_seq,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// Creates an anonymous identity or refreshes its `last_seen_at`: `$1` id, `$2` now; returns
/// whether it was created (a refreshed one was created before now).
pub(crate) const UPSERT_ANONYMOUS_SQL: &str =
    "INSERT INTO anonymous_identities (id, created_at, last_seen_at) VALUES ($1, $2, $2) \
     ON CONFLICT (id) DO UPDATE SET last_seen_at = excluded.last_seen_at \
     RETURNING created_at = last_seen_at";

/// Inserts a conversation: `$1` id, `$2` owner user, `$3` owner identity, `$4` title,
/// `$5` topics, `$6` now.
pub(crate) const INSERT_CONVERSATION_SQL: &str = "INSERT INTO conversations \
     (id, owner_user_id, owner_anon_id, title, topics, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $6)";

/// Sets the topics and, while the title is the app's, a new title (when `$3` is not null):
/// `$1` id, `$2` topics, `$3` title.
pub(crate) const SET_TOPICS_SQL: &str = "UPDATE conversations SET topics = $2, \
     title = CASE WHEN title_auto THEN COALESCE($3, title) ELSE title END WHERE id = $1";

/// Stores a summary unless one through a later seq is there (or `$5`: the stored one summarizes
/// another branch, so this one replaces it): `$1` id, `$2` text, `$3` tokens, `$4` through seq.
pub(crate) const SET_SUMMARY_SQL: &str = "UPDATE conversations \
     SET summary = $2, summary_token_count = $3, summarized_through_seq = $4 \
     WHERE id = $1 AND (summarized_through_seq IS NULL OR summarized_through_seq <= $4 OR $5)";

pub(crate) fn owner_columns(owner: Owner) -> (Option<Uuid>, Option<Uuid>) {
    match owner {
        Owner::User(id) => (Some(id), None),
        Owner::Anonymous(id) => (None, Some(id)),
    }
}

impl Store {
    /// Starts an empty conversation. An anonymous owner's identity is created (or its
    /// `last_seen_at` refreshed) in the same transaction; a user owner must exist, else
    /// [`StoreError::NotFound`].
    pub async fn create_conversation(
        &self,
        owner: Owner,
        title: &Title,
    ) -> Result<Conversation, StoreError> {
        let at = now();
        let conversation = Conversation {
            id: Uuid::new_v4(),
            owner,
            title: title.clone(),
            topics: Vec::new(),
            summary: None,
            summary_token_count: None,
            summarized_through_seq: None,
            last_seq: 0,
            leaf_seq: 0,
            created_at: at,
            updated_at: at,
        };
        let (user_id, anon_id) = owner_columns(owner);
        on_write!(&self.db, |pool| {
            async {
                let mut tx = pool.begin_write().await?;
                if let Some(anon_id) = anon_id {
                    sqlx::query(UPSERT_ANONYMOUS_SQL)
                        .bind(anon_id)
                        .bind(at)
                        .execute(&mut *tx)
                        .await?;
                }
                sqlx::query(INSERT_CONVERSATION_SQL)
                    .bind(conversation.id)
                    .bind(user_id)
                    .bind(anon_id)
                    .bind(conversation.title.as_str())
                    .bind(Json(&conversation.topics))
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await
            }
            .await
        })?;
        Ok(conversation)
    }

    /// The conversation `id` if `owner` owns it; `None` otherwise (the app answers 404).
    pub async fn get_conversation(
        &self,
        owner: Owner,
        id: Uuid,
    ) -> Result<Option<Conversation>, StoreError> {
        let sql = owner_sql!(
            owner,
            concat!(
                "SELECT ",
                conversation_columns!(),
                " FROM conversations WHERE id = $1 AND deleted_at IS NULL AND "
            ),
            " = $2"
        );
        let row = on_read!(&self.db, |pool| {
            sqlx::query_as::<_, ConversationRow>(sql)
                .bind(id)
                .bind(owner.id())
                .fetch_optional(pool)
                .await
        })?;
        row.map(Conversation::try_from).transpose()
    }

    /// The owner's conversations, most recently active first, at most `limit` (capped at
    /// [`MAX_LIST_LIMIT`]). `message_count` comes from the metrics of finished turns.
    pub async fn list_conversations(
        &self,
        owner: Owner,
        limit: u32,
    ) -> Result<Vec<ConversationSummary>, StoreError> {
        let sql = owner_sql!(
            owner,
            "SELECT c.id, c.title, c.updated_at, COALESCE(m.message_count, 0) AS message_count \
             FROM conversations c \
             LEFT JOIN conversation_metrics m ON m.conversation_id = c.id \
             WHERE c.deleted_at IS NULL AND c.",
            " = $1 ORDER BY c.updated_at DESC, c.id DESC LIMIT $2"
        );
        let limit = i64::from(limit.min(MAX_LIST_LIMIT));
        Ok(on_read!(&self.db, |pool| {
            sqlx::query_as::<_, ConversationSummary>(sql)
                .bind(owner.id())
                .bind(limit)
                .fetch_all(pool)
                .await
        })?)
    }

    /// Renames the owner's conversation; `false` when it is not the owner's (or missing). From
    /// then on the title is the user's: [`Store::set_topics`] no longer changes it.
    /// Does not change `updated_at`, so renaming does not reorder the list.
    pub async fn rename_conversation(
        &self,
        owner: Owner,
        id: Uuid,
        title: &Title,
    ) -> Result<bool, StoreError> {
        let sql = owner_sql!(
            owner,
            "UPDATE conversations SET title = $3, title_auto = false \
             WHERE id = $1 AND deleted_at IS NULL AND ",
            " = $2"
        );
        let done = on_write!(&self.db, |pool| {
            sqlx::query(sql)
                .bind(id)
                .bind(owner.id())
                .bind(title.as_str())
                .execute(pool)
                .await
                .map(|done| done.rows_affected())
        })?;
        Ok(done > 0)
    }

    /// Deletes the owner's conversation: from now on it is missing everywhere, until
    /// [`Store::restore_conversation`] brings it back or [`Store::purge_deleted`] removes it
    /// with its messages. `false` when it is not the owner's, missing or already deleted.
    pub async fn delete_conversation(&self, owner: Owner, id: Uuid) -> Result<bool, StoreError> {
        let sql = owner_sql!(
            owner,
            "UPDATE conversations SET deleted_at = $3 \
             WHERE id = $1 AND deleted_at IS NULL AND ",
            " = $2"
        );
        self.set_deleted(sql, owner, id, Some(now())).await
    }

    /// Undoes [`Store::delete_conversation`] while the conversation has not been purged;
    /// `false` when it is not the owner's, missing, purged or not deleted.
    pub async fn restore_conversation(&self, owner: Owner, id: Uuid) -> Result<bool, StoreError> {
        let sql = owner_sql!(
            owner,
            "UPDATE conversations SET deleted_at = $3 \
             WHERE id = $1 AND deleted_at IS NOT NULL AND ",
            " = $2"
        );
        self.set_deleted(sql, owner, id, None).await
    }

    async fn set_deleted(
        &self,
        sql: &'static str,
        owner: Owner,
        id: Uuid,
        at: Option<DateTime<Utc>>,
    ) -> Result<bool, StoreError> {
        let done = on_write!(&self.db, |pool| {
            sqlx::query(sql)
                .bind(id)
                .bind(owner.id())
                .bind(at)
                .execute(pool)
                .await
                .map(|done| done.rows_affected())
        })?;
        Ok(done > 0)
    }

    /// Removes for good every conversation deleted before `cutoff`, with its messages,
    /// metrics and share link; returns how many conversations went.
    pub async fn purge_deleted(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError> {
        Ok(on_write!(&self.db, |pool| {
            sqlx::query("DELETE FROM conversations WHERE deleted_at < $1")
                .bind(cutoff)
                .execute(pool)
                .await
                .map(|done| done.rows_affected())
        })?)
    }
}

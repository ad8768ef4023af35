//! Read-only share links: an unguessable token that shows a conversation, as it was when the
//! link was made, to anyone who has it.
//!
//! Promises:
//! - A token is 24 random bytes (192 bits) from `rand`'s cryptographic generator (ChaCha seeded
//!   by the operating system), written as 32
//!   base64url characters; one link per conversation, and sharing again keeps the token and
//!   moves the snapshot to the leaf of the branch shown (`store::thread`).
//! - Only the owner makes, reads or revokes a conversation's link (another owner's conversation
//!   is missing, as everywhere in the store); revoking deletes the row, so the token shows
//!   nothing from then on, and a new share makes a new token.
//! - [`Store::shared`] shows the title and the branch that ends at the snapshot's seq (later
//!   messages and other versions are not shown), nothing about the owner; a deleted conversation's link shows nothing (and goes with it when the
//!   conversation is purged).
use chrono::{DateTime, Utc};
use rand::RngCore;
use uuid::Uuid;

use crate::store::model::{now, Message, Owner};
use crate::store::{on_read, on_write, owner_sql, Store, StoreError};

/// A share link's secret: 32 base64url characters.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ShareToken(String);

impl ShareToken {
    /// Characters in a token.
    pub const LEN: usize = 32;

    /// A new random token.
    pub fn generate() -> Self {
        let mut bytes = [0u8; 24];
        rand::rng().fill_bytes(&mut bytes);
        use base64::Engine;
        Self(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
    }

    /// A token as it arrives in a URL; `None` for anything that cannot be one (looked up no
    /// further).
    pub fn parse(raw: &str) -> Option<Self> {
        let ok = raw.len() == Self::LEN
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        ok.then(|| Self(raw.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A conversation's share link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Share {
    pub token: ShareToken,
    /// The last message the link shows: the leaf of the branch shown when it was made.
    pub through_seq: i64,
    /// When the link was first made.
    pub created_at: DateTime<Utc>,
}

/// What a share link shows.
#[derive(Clone, Debug, PartialEq)]
pub struct SharedConversation {
    pub title: String,
    /// In seq order, through the snapshot.
    pub messages: Vec<Message>,
}

#[derive(sqlx::FromRow)]
struct ShareRow {
    token: String,
    through_seq: i64,
    created_at: DateTime<Utc>,
}

impl From<ShareRow> for Share {
    fn from(row: ShareRow) -> Self {
        Share {
            token: ShareToken(row.token),
            through_seq: row.through_seq,
            created_at: row.created_at,
        }
    }
}

impl Store {
    /// Makes the conversation's share link, or moves an existing one's snapshot to the newest
    /// message; `None` when the conversation is not the owner's (or missing, or deleted).
    pub async fn share_conversation(
        &self,
        owner: Owner,
        id: Uuid,
    ) -> Result<Option<Share>, StoreError> {
        // SQLite needs the WHERE in an INSERT … SELECT … ON CONFLICT (its parser would read
        // ON as a join's).
        let sql = owner_sql!(
            owner,
            "INSERT INTO shares (token, conversation_id, through_seq, created_at) \
             SELECT $3, id, leaf_seq, $4 FROM conversations \
             WHERE id = $1 AND deleted_at IS NULL AND ",
            " = $2 ON CONFLICT (conversation_id) DO UPDATE SET through_seq = excluded.through_seq \
             RETURNING token, through_seq, created_at"
        );
        let token = ShareToken::generate();
        let row = on_write!(&self.db, |pool| {
            sqlx::query_as::<_, ShareRow>(sql)
                .bind(id)
                .bind(owner.id())
                .bind(token.as_str())
                .bind(now())
                .fetch_optional(pool)
                .await
        })?;
        Ok(row.map(Share::from))
    }

    /// The conversation's share link, if it has one and is the owner's.
    pub async fn share_of(&self, owner: Owner, id: Uuid) -> Result<Option<Share>, StoreError> {
        let sql = owner_sql!(
            owner,
            "SELECT s.token, s.through_seq, s.created_at FROM shares s \
             JOIN conversations c ON c.id = s.conversation_id \
             WHERE s.conversation_id = $1 AND c.deleted_at IS NULL AND c.",
            " = $2"
        );
        let row = on_read!(&self.db, |pool| {
            sqlx::query_as::<_, ShareRow>(sql)
                .bind(id)
                .bind(owner.id())
                .fetch_optional(pool)
                .await
        })?;
        Ok(row.map(Share::from))
    }

    /// Revokes the conversation's link; `false` when it had none or is not the owner's.
    pub async fn revoke_share(&self, owner: Owner, id: Uuid) -> Result<bool, StoreError> {
        let sql = owner_sql!(
            owner,
            "DELETE FROM shares WHERE conversation_id = $1 AND conversation_id IN \
             (SELECT id FROM conversations WHERE id = $1 AND ",
            " = $2)"
        );
        let done = on_write!(&self.db, |pool| {
            sqlx::query(sql)
                .bind(id)
                .bind(owner.id())
                .execute(pool)
                .await
                .map(|done| done.rows_affected())
        })?;
        Ok(done > 0)
    }

    /// What the link `token` shows; `None` for an unknown or revoked token or a deleted
    /// conversation.
    pub async fn shared(
        &self,
        token: &ShareToken,
    ) -> Result<Option<SharedConversation>, StoreError> {
        let found = on_read!(&self.db, |pool| {
            sqlx::query_as::<_, (Uuid, String, i64)>(
                "SELECT c.id, c.title, s.through_seq FROM shares s \
                 JOIN conversations c ON c.id = s.conversation_id \
                 WHERE s.token = $1 AND c.deleted_at IS NULL",
            )
            .bind(token.as_str())
            .fetch_optional(pool)
            .await
        })?;
        let Some((id, title, through_seq)) = found else {
            return Ok(None);
        };
        let messages = self.branch_messages(id, through_seq).await?;
        Ok(Some(SharedConversation { title, messages }))
    }
}

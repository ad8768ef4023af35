//! Server-side sessions of signed-in users, in the database (used without Redis).
//!
//! Promises: a session belongs to one user and ends at `expires_at` (an expired session is
//! never returned) or when it is deleted; deleting a user deletes their sessions.
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::store::model::{now, User};
use crate::store::{on_read, on_write, Store, StoreError};

impl Store {
    pub async fn create_session(
        &self,
        id: Uuid,
        user_id: Uuid,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let created = now();
        on_write!(&self.db, |pool| {
            sqlx::query(
                "INSERT INTO sessions (id, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(id)
            .bind(user_id)
            .bind(created)
            .bind(expires_at)
            .execute(pool)
            .await
            .map(|done| done.rows_affected())
        })?;
        Ok(())
    }

    /// The user of a session that has not expired.
    pub async fn session_user(&self, id: Uuid) -> Result<Option<User>, StoreError> {
        let at = now();
        Ok(on_read!(&self.db, |pool| {
            sqlx::query_as::<_, User>(
                "SELECT u.id, u.email, u.password_hash, u.tier, u.created_at \
                 FROM sessions s JOIN users u ON u.id = s.user_id \
                 WHERE s.id = $1 AND s.expires_at > $2",
            )
            .bind(id)
            .bind(at)
            .fetch_optional(pool)
            .await
        })?)
    }

    pub async fn delete_session(&self, id: Uuid) -> Result<(), StoreError> {
        on_write!(&self.db, |pool| {
            sqlx::query("DELETE FROM sessions WHERE id = $1")
                .bind(id)
                .execute(pool)
                .await
                .map(|done| done.rows_affected())
        })?;
        Ok(())
    }

    /// Sessions that have not expired (signed-in browsers, give or take those that left).
    pub async fn count_live_sessions(&self) -> Result<i64, StoreError> {
        let at = now();
        Ok(on_read!(&self.db, |pool| {
            sqlx::query_scalar("SELECT count(*) FROM sessions WHERE expires_at > $1")
                .bind(at)
                .fetch_one(pool)
                .await
        })?)
    }

    /// Removes expired sessions; returns how many.
    pub async fn delete_expired_sessions(&self) -> Result<u64, StoreError> {
        let at = now();
        Ok(on_write!(&self.db, |pool| {
            sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
                .bind(at)
                .execute(pool)
                .await
                .map(|done| done.rows_affected())
        })?)
    }
}

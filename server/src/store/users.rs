//! Accounts and anonymous identities.
//!
//! Promises: emails are stored normalized (see [`Email`]), so lookups are case-insensitive and
//! a second account for the same address fails with [`StoreError::Conflict`]; new users get
//! [`Tier::Default`]; [`Store::claim_anonymous`] moves every conversation of an anonymous
//! identity to a user and marks the identity as claimed, in one transaction.

use uuid::Uuid;

use crate::store::model::{now, AnonymousIdentity, Email, Tier, User};
use crate::store::{on_read, on_write, BeginWrite, Store, StoreError};

/// Columns read into [`User`].
macro_rules! user_columns {
    () => {
        "id, email, password_hash, tier, created_at"
    };
}

impl Store {
    /// Records that an anonymous identity was seen now, creating it on first sight.
    pub async fn touch_anonymous(&self, id: Uuid) -> Result<(), StoreError> {
        let at = now();
        on_write!(&self.db, |pool| {
            sqlx::query(
                "INSERT INTO anonymous_identities (id, created_at, last_seen_at) \
                 VALUES ($1, $2, $2) \
                 ON CONFLICT (id) DO UPDATE SET last_seen_at = excluded.last_seen_at",
            )
            .bind(id)
            .bind(at)
            .execute(pool)
            .await
            .map(|done| done.rows_affected())
        })?;
        Ok(())
    }

    /// The anonymous identity `id`, if it was ever touched.
    pub async fn find_anonymous(&self, id: Uuid) -> Result<Option<AnonymousIdentity>, StoreError> {
        Ok(on_read!(&self.db, |pool| {
            sqlx::query_as::<_, AnonymousIdentity>(
                "SELECT id, created_at, last_seen_at, claimed_by_user \
                 FROM anonymous_identities WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(pool)
            .await
        })?)
    }

    /// Creates an account with [`Tier::Default`]. `password_hash` is stored as given (hash it
    /// before). Fails with [`StoreError::Conflict`] when the address is taken.
    pub async fn create_user(
        &self,
        email: &Email,
        password_hash: &str,
    ) -> Result<User, StoreError> {
        let user = User {
            id: Uuid::new_v4(),
            email: email.clone(),
            password_hash: password_hash.to_string(),
            tier: Tier::Default,
            created_at: now(),
        };
        let inserted = on_write!(&self.db, |pool| {
            sqlx::query(
                "INSERT INTO users (id, email, password_hash, tier, created_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(user.id)
            .bind(user.email.as_str())
            .bind(&user.password_hash)
            .bind(user.tier.as_str())
            .bind(user.created_at)
            .execute(pool)
            .await
            .map(|done| done.rows_affected())
        });
        match inserted.map_err(StoreError::from) {
            Ok(_) => Ok(user),
            Err(StoreError::Conflict(_)) => Err(StoreError::Conflict("email already registered")),
            Err(e) => Err(e),
        }
    }

    /// The account registered with `email`.
    pub async fn find_user_by_email(&self, email: &Email) -> Result<Option<User>, StoreError> {
        Ok(on_read!(&self.db, |pool| {
            sqlx::query_as::<_, User>(concat!(
                "SELECT ",
                user_columns!(),
                " FROM users WHERE email = $1"
            ))
            .bind(email.as_str())
            .fetch_optional(pool)
            .await
        })?)
    }

    /// The account `id`.
    pub async fn find_user(&self, id: Uuid) -> Result<Option<User>, StoreError> {
        Ok(on_read!(&self.db, |pool| {
            sqlx::query_as::<_, User>(concat!(
                "SELECT ",
                user_columns!(),
                " FROM users WHERE id = $1"
            ))
            .bind(id)
            .fetch_optional(pool)
            .await
        })?)
    }

    /// Sets the tier of the account registered with `email`; `false` when there is none.
    /// [`Tier::Anonymous`] is not a user tier and is rejected.
    pub async fn set_tier(&self, email: &Email, tier: Tier) -> Result<bool, StoreError> {
        if tier == Tier::Anonymous {
            return Err(StoreError::Invalid(
                "a user's tier is default or premium, not anonymous".into(),
            ));
        }
        let done = on_write!(&self.db, |pool| {
            sqlx::query("UPDATE users SET tier = $2 WHERE email = $1")
                .bind(email.as_str())
                .bind(tier.as_str())
                .execute(pool)
                .await
                .map(|done| done.rows_affected())
        })?;
        Ok(done > 0)
    }

    /// Gives every conversation of the anonymous identity `anon_id` to the user `user_id` and
    /// records the claim on the identity; returns how many conversations moved. Fails with
    /// [`StoreError::NotFound`] when the user does not exist. Claiming again moves nothing.
    pub async fn claim_anonymous(&self, anon_id: Uuid, user_id: Uuid) -> Result<u64, StoreError> {
        let moved = on_write!(&self.db, |pool| {
            async {
                let mut tx = pool.begin_write().await?;
                let user: Option<(Uuid,)> = sqlx::query_as("SELECT id FROM users WHERE id = $1")
                    .bind(user_id)
                    .fetch_optional(&mut *tx)
                    .await?;
                if user.is_none() {
                    return Err(StoreError::NotFound);
                }
                let moved = sqlx::query(
                    "UPDATE conversations SET owner_user_id = $2, owner_anon_id = NULL \
                     WHERE owner_anon_id = $1",
                )
                .bind(anon_id)
                .bind(user_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                sqlx::query("UPDATE anonymous_identities SET claimed_by_user = $2 WHERE id = $1")
                    .bind(anon_id)
                    .bind(user_id)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok::<u64, StoreError>(moved)
            }
            .await
        })?;
        tracing::debug!(%anon_id, %user_id, moved, "anonymous conversations claimed");
        Ok(moved)
    }
}

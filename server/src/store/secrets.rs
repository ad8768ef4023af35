//! Application secrets generated once and kept in the database (`app_secrets`), so that every
//! instance on the database shares them and they survive restarts (the cookie key when
//! `SESSION_SECRET` is unset).
//!
//! Promises: [`Store::secret_or_insert`] returns the same value to every caller for a name,
//! whichever instance stored it first; a stored value is never replaced.
use crate::store::model::now;
use crate::store::{on_write, Store, StoreError};

impl Store {
    /// The value stored under `name`; `candidate` is stored first when there is none (when
    /// two instances race, the first insert wins and both read it).
    pub async fn secret_or_insert(
        &self,
        name: &str,
        candidate: &str,
    ) -> Result<String, StoreError> {
        let created = now();
        on_write!(&self.db, |pool| {
            sqlx::query(
                "INSERT INTO app_secrets (name, value, created_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (name) DO NOTHING",
            )
            .bind(name)
            .bind(candidate)
            .bind(created)
            .execute(pool)
            .await
            .map(|done| done.rows_affected())
        })?;
        Ok(on_write!(&self.db, |pool| {
            sqlx::query_scalar::<_, String>("SELECT value FROM app_secrets WHERE name = $1")
                .bind(name)
                .fetch_one(pool)
                .await
        })?)
    }
}

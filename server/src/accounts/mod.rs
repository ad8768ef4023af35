//! Accounts: sign up, log in, log out, and the server-side sessions behind the cookie.
//!
//! Promises: emails and passwords are validated with messages a person can act on; passwords
//! are stored as argon2id hashes ([`password`]); a failed log-in never says whether the email
//! or the password was wrong, and takes as long either way (an unknown email is checked against
//! a dummy hash); failed log-ins are counted per (email, IP) and per IP, never per email alone,
//! so failures from one IP never lock the owner out from another, and a success clears the
//! (email, IP) count ([`crate::rate_limit::attempts`]). Sign-up does not say whether an address
//! is registered: a taken address with its right password signs its owner in, exactly as a
//! fresh sign-up answers; with a wrong password it gets the answer of a wrong log-in, after the
//! same argon2 cost as a fresh sign-up, and counts as a failed log-in; every sign-up counts
//! against its IP's sign-ups. Every log-in creates a
//! new session id (rotation), so a session id seen before log-in is useless after; sessions
//! live in Redis when it is configured (shared by every instance), else in the database, for
//! [`SESSION_DAYS`]; signing up or logging in moves the anonymous identity's conversations to
//! the account.
pub mod password;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use app::types::Tier;
use uuid::Uuid;

use crate::rate_limit::RateLimiter;
use crate::redis_conn::{RedisClient, RedisConnection};
use crate::store::{Email, Store, StoreError, User};
use password::Password;

/// How long a session lasts.
pub const SESSION_DAYS: i64 = 30;

/// Why an account action failed; the text is what the user reads.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("{0}")]
    Invalid(String),
    /// A wrong password, an unknown email on log-in, or a taken email with a wrong password on
    /// sign-up: all read the same.
    #[error("The email or the password is incorrect.")]
    WrongCredentials,
    #[error("Too many attempts. Try again in {0} s.")]
    TooManyAttempts(u64),
    #[error("Accounts are unavailable right now. Please try again shortly.")]
    Unavailable,
}

/// A user's tier as the rest of the app knows it (a stored user is never anonymous).
pub fn app_tier(tier: crate::store::Tier) -> Tier {
    match tier {
        crate::store::Tier::Premium => Tier::Premium,
        _ => Tier::Default,
    }
}

/// A signed-in session.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub user: User,
    pub session: Uuid,
}

pub struct Accounts {
    store: Store,
    redis: Option<RedisConnection>,
    prefix: String,
    limiter: Arc<RateLimiter>,
    /// A real argon2id hash to check unknown emails against (same cost as a real check).
    dummy_hash: String,
}

fn unavailable(e: impl std::fmt::Display) -> AccountError {
    tracing::error!(error = %e, "accounts: storage failed");
    AccountError::Unavailable
}

impl Accounts {
    pub async fn new(
        store: Store,
        redis: Option<RedisClient>,
        prefix: &str,
        limiter: Arc<RateLimiter>,
    ) -> Self {
        let dummy = Password::parse("not-a-real-password").expect("valid");
        Self {
            store,
            redis: redis.map(|c| RedisConnection::new(c, Duration::from_secs(2))),
            prefix: prefix.to_string(),
            limiter,
            dummy_hash: password::hash(dummy).await.unwrap_or_default(),
        }
    }

    fn email(raw: &str) -> Result<Email, AccountError> {
        Email::parse(raw).map_err(|e| match e {
            StoreError::Invalid(why) => AccountError::Invalid(format!(
                "Enter an email address like name@example.com (this one {}).",
                why.trim_start_matches("email address ")
            )),
            other => unavailable(other),
        })
    }

    async fn limit(
        &self,
        what: &str,
        email: &Email,
        ip: Option<IpAddr>,
    ) -> Result<(), AccountError> {
        let decision = self.limiter.check_attempt(what, email.as_str(), ip).await;
        if decision.allowed {
            Ok(())
        } else {
            Err(AccountError::TooManyAttempts(decision.retry_after_secs()))
        }
    }

    /// Creates an account and signs it in; `anonymous` is the caller's identity so far. A
    /// taken address signs its owner in when the password is theirs, and is a wrong log-in
    /// otherwise (see the module's promises).
    pub async fn sign_up(
        &self,
        anonymous: Option<Uuid>,
        email: &str,
        password: &str,
        ip: Option<IpAddr>,
    ) -> Result<SignedIn, AccountError> {
        let email = Self::email(email)?;
        let checked = Password::parse(password).map_err(AccountError::Invalid)?;
        self.limit("signup", &email, ip).await?;
        let existing = self
            .store
            .find_user_by_email(&email)
            .await
            .map_err(unavailable)?;
        let user = match existing {
            Some(user) => user,
            None => {
                let hash = password::hash(checked).await.map_err(unavailable)?;
                match self.store.create_user(&email, &hash).await {
                    Ok(user) => {
                        tracing::info!(user = %user.id, "account created");
                        return self.start_session(user, anonymous).await;
                    }
                    // Created meanwhile by another request: a taken address after all.
                    Err(StoreError::Conflict(_)) => self
                        .store
                        .find_user_by_email(&email)
                        .await
                        .map_err(unavailable)?
                        .ok_or(AccountError::Unavailable)?,
                    Err(e) => return Err(unavailable(e)),
                }
            }
        };
        self.sign_in(user, &email, password, anonymous, ip).await
    }

    /// Signs in with email and password.
    pub async fn log_in(
        &self,
        anonymous: Option<Uuid>,
        email: &str,
        password: &str,
        ip: Option<IpAddr>,
    ) -> Result<SignedIn, AccountError> {
        let email = Self::email(email).map_err(|_| AccountError::WrongCredentials)?;
        self.limit("login", &email, ip).await?;
        let user = self
            .store
            .find_user_by_email(&email)
            .await
            .map_err(unavailable)?;
        match user {
            Some(user) => self.sign_in(user, &email, password, anonymous, ip).await,
            None => {
                // The same argon2 cost as a real check, so that timing does not tell.
                let _ = password::verify(password.to_string(), self.dummy_hash.clone()).await;
                self.limiter.attempt_failed(email.as_str(), ip).await;
                Err(AccountError::WrongCredentials)
            }
        }
    }

    /// Checks `password` against `user`'s: a session when it matches (the failures of this
    /// email from `ip` are forgotten), a counted failure when not.
    async fn sign_in(
        &self,
        user: User,
        email: &Email,
        password: &str,
        anonymous: Option<Uuid>,
        ip: Option<IpAddr>,
    ) -> Result<SignedIn, AccountError> {
        let matches = password::verify(password.to_string(), user.password_hash.clone())
            .await
            .map_err(unavailable)?;
        if matches {
            self.limiter.attempt_succeeded(email.as_str(), ip).await;
            self.start_session(user, anonymous).await
        } else {
            self.limiter.attempt_failed(email.as_str(), ip).await;
            Err(AccountError::WrongCredentials)
        }
    }

    async fn start_session(
        &self,
        user: User,
        anonymous: Option<Uuid>,
    ) -> Result<SignedIn, AccountError> {
        if let Some(anon) = anonymous {
            // Best effort: a failure here must not lose the sign-in.
            if let Err(e) = self.store.claim_anonymous(anon, user.id).await {
                tracing::warn!(error = %e, "could not move the anonymous conversations");
            }
        }
        let session = Uuid::new_v4();
        match &self.redis {
            Some(redis) => {
                let (key, value) = (self.key(session), user.id.to_string());
                let ttl = Duration::from_secs(SESSION_DAYS as u64 * 86_400);
                redis
                    .run(|mut c| async move {
                        redis::cmd("SET")
                            .arg(&key)
                            .arg(&value)
                            .arg("PX")
                            .arg(ttl.as_millis() as u64)
                            .query_async::<()>(&mut c)
                            .await
                    })
                    .await
                    .map_err(unavailable)?;
            }
            None => {
                // Expired rows go as new ones come (an index on expires_at keeps this cheap).
                if let Err(e) = self.store.delete_expired_sessions().await {
                    tracing::debug!(error = %e, "could not delete expired sessions");
                }
                let expires = chrono::Utc::now() + chrono::Duration::days(SESSION_DAYS);
                self.store
                    .create_session(session, user.id, expires)
                    .await
                    .map_err(unavailable)?;
            }
        }
        Ok(SignedIn { user, session })
    }

    fn key(&self, session: Uuid) -> String {
        format!("{}session:{{{session}}}", self.prefix)
    }

    /// The user and tier of a live session.
    pub async fn resolve(&self, session: Uuid) -> Result<Option<(Uuid, Tier)>, AccountError> {
        let user = match &self.redis {
            Some(redis) => {
                let key = self.key(session);
                let id: Option<String> =
                    redis
                        .run(|mut c| async move {
                            redis::cmd("GET").arg(&key).query_async(&mut c).await
                        })
                        .await
                        .map_err(unavailable)?;
                match id.and_then(|id| Uuid::parse_str(&id).ok()) {
                    Some(id) => self.store.find_user(id).await.map_err(unavailable)?,
                    None => None,
                }
            }
            None => self
                .store
                .session_user(session)
                .await
                .map_err(unavailable)?,
        };
        Ok(user.map(|u| (u.id, app_tier(u.tier))))
    }

    /// Ends a session.
    pub async fn log_out(&self, session: Uuid) -> Result<(), AccountError> {
        match &self.redis {
            Some(redis) => {
                let key = self.key(session);
                redis
                    .run(|mut c| async move {
                        redis::cmd("DEL").arg(&key).query_async::<()>(&mut c).await
                    })
                    .await
                    .map_err(unavailable)
            }
            None => self
                .store
                .delete_session(session)
                .await
                .map_err(unavailable),
        }
    }
}

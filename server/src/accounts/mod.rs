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
//! live in the database for [`SESSION_DAYS`] (so every instance knows them, they survive a
//! restart, and a Redis outage does not sign anyone out: resolving one is the same single
//! primary-key read either way, so a Redis copy would add a failure mode and save nothing);
//! signing up or logging in moves the anonymous identity's conversations to the account; every
//! sign-up, log-in and log-out is counted by its result (`auth_events_total{event,result}`).
pub mod password;

use std::net::IpAddr;
use std::sync::Arc;

use app::types::Tier;
use uuid::Uuid;

use crate::metrics::Metrics;
use crate::rate_limit::RateLimiter;
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

impl AccountError {
    /// The `result` label of the attempt that failed so.
    fn label(&self) -> &'static str {
        match self {
            AccountError::Invalid(_) => "invalid",
            AccountError::WrongCredentials => "wrong_credentials",
            AccountError::TooManyAttempts(_) => "too_many_attempts",
            AccountError::Unavailable => "unavailable",
        }
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
    limiter: Arc<RateLimiter>,
    /// Where sign-ups, log-ins and log-outs are counted.
    metrics: Arc<Metrics>,
    /// A real argon2id hash to check unknown emails against (same cost as a real check).
    dummy_hash: String,
}

fn unavailable(e: impl std::fmt::Display) -> AccountError {
    tracing::error!(error = %e, "accounts: storage failed");
    AccountError::Unavailable
}

impl Accounts {
    pub async fn new(store: Store, limiter: Arc<RateLimiter>, metrics: Arc<Metrics>) -> Self {
        let dummy = Password::parse("not-a-real-password").expect("valid");
        Self {
            store,
            limiter,
            metrics,
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

    /// `result` of an `event` (`signup`, `login`, `logout`), counted.
    fn counted<T>(&self, event: &str, result: Result<T, AccountError>) -> Result<T, AccountError> {
        let label = result.as_ref().map_or_else(AccountError::label, |_| "ok");
        self.metrics.record_auth(event, label);
        result
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
        let result = async {
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
        .await;
        self.counted("signup", result)
    }

    /// Signs in with email and password.
    pub async fn log_in(
        &self,
        anonymous: Option<Uuid>,
        email: &str,
        password: &str,
        ip: Option<IpAddr>,
    ) -> Result<SignedIn, AccountError> {
        let result = async {
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
        .await;
        self.counted("login", result)
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
        // Expired rows go as new ones come (an index on expires_at keeps this cheap).
        if let Err(e) = self.store.delete_expired_sessions().await {
            tracing::debug!(error = %e, "could not delete expired sessions");
        }
        let expires = chrono::Utc::now() + chrono::Duration::days(SESSION_DAYS);
        self.store
            .create_session(session, user.id, expires)
            .await
            .map_err(unavailable)?;
        Ok(SignedIn { user, session })
    }

    /// The user and tier of a live session.
    pub async fn resolve(&self, session: Uuid) -> Result<Option<(Uuid, Tier)>, AccountError> {
        let user = self
            .store
            .session_user(session)
            .await
            .map_err(unavailable)?;
        Ok(user.map(|u| (u.id, u.tier)))
    }

    /// Ends a session.
    pub async fn log_out(&self, session: Uuid) -> Result<(), AccountError> {
        let result = self
            .store
            .delete_session(session)
            .await
            .map_err(unavailable);
        self.counted("logout", result)
    }
}

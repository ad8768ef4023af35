//! Passwords: what is accepted, and argon2id hashes of them.
//!
//! Promises: a password is 8 to 128 characters and not only spaces; hashes are argon2id in the
//! PHC string format with a random salt (argon2's recommended parameters); verification is
//! constant-time in the hash; both run on the blocking pool, off the async workers, at most
//! [`concurrent_hashes`] at once (each takes ~19 MiB and a core for tens of milliseconds): a
//! flood of sign-ups or log-ins queues, and a caller that waited [`QUEUE_TIMEOUT`] gets an
//! error (the service is unavailable) rather than a verdict.
use std::sync::LazyLock;
use std::time::Duration;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use tokio::sync::Semaphore;

pub const MIN_CHARS: usize = 8;
pub const MAX_CHARS: usize = 128;

/// A password as typed, checked against the rules.
pub struct Password(String);

impl Password {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let chars = raw.chars().count();
        if chars < MIN_CHARS {
            return Err(format!(
                "The password must have at least {MIN_CHARS} characters."
            ));
        }
        if chars > MAX_CHARS {
            return Err(format!(
                "The password must have at most {MAX_CHARS} characters."
            ));
        }
        if raw.trim().is_empty() {
            return Err("The password cannot be only spaces.".into());
        }
        Ok(Self(raw.to_string()))
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password([redacted])")
    }
}

/// How long a hash or a verification waits for its turn before the caller is told to retry.
pub const QUEUE_TIMEOUT: Duration = Duration::from_secs(10);

/// Hashes and verifications run at once: the cores, between 2 and 4.
pub fn concurrent_hashes() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .clamp(2, 4)
}

static TURNS: LazyLock<Semaphore> = LazyLock::new(|| Semaphore::new(concurrent_hashes()));

/// Runs `work` on the blocking pool once a turn is free (or fails after [`QUEUE_TIMEOUT`]).
async fn run_capped<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, String> {
    let _turn = tokio::time::timeout(QUEUE_TIMEOUT, TURNS.acquire())
        .await
        .map_err(|_| "password hashing is busy; try again shortly".to_string())?
        .map_err(|e| format!("password hashing is closed: {e}"))?;
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| format!("hashing task failed: {e}"))
}

/// The argon2id hash of `password` (PHC string).
pub async fn hash(password: Password) -> Result<String, String> {
    run_capped(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.0.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| format!("hashing failed: {e}"))
    })
    .await?
}

/// Whether `password` matches `hash`. A malformed hash never matches; an error means no
/// verdict (hashing is saturated).
pub async fn verify(password: String, hash: String) -> Result<bool, String> {
    run_capped(move || {
        PasswordHash::new(&hash)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_are_argon2id_salted_and_verify() {
        let a = hash(Password::parse("correct horse").unwrap())
            .await
            .unwrap();
        let b = hash(Password::parse("correct horse").unwrap())
            .await
            .unwrap();
        assert!(a.starts_with("$argon2id$"), "{a}");
        assert_ne!(a, b, "a random salt each time");
        assert_eq!(verify("correct horse".into(), a.clone()).await, Ok(true));
        assert_eq!(verify("correct horsf".into(), a).await, Ok(false));
        assert_eq!(verify("x".into(), "not a hash".into()).await, Ok(false));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn at_most_a_few_hashes_run_at_once() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::Arc;
        let (running, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let jobs = (0..12).map(|_| {
            let (running, most) = (running.clone(), most.clone());
            run_capped(move || {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(20));
                running.fetch_sub(1, Ordering::SeqCst);
            })
        });
        let done = futures::future::join_all(jobs).await;
        assert!(done.iter().all(Result::is_ok));
        let most = most.load(Ordering::SeqCst);
        assert!((1..=concurrent_hashes()).contains(&most), "{most} at once");
    }

    #[test]
    fn the_rules_are_clear() {
        assert!(Password::parse("short").unwrap_err().contains("at least 8"));
        assert!(Password::parse(&"x".repeat(129))
            .unwrap_err()
            .contains("at most 128"));
        assert!(Password::parse("        ").is_err());
        assert!(Password::parse("ünïcödé!").is_ok());
        assert_eq!(
            format!("{:?}", Password::parse("secret123").unwrap()),
            "Password([redacted])"
        );
    }
}

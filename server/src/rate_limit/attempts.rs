//! Log-in and sign-up limits that protect an account's owner, not whoever attacks it.
//!
//! Promises: failed log-ins (a wrong password, given to the log-in form or to the sign-up form
//! of a taken address) are counted per (email, client IP) and per client IP, for
//! [`ATTEMPT_WINDOW`] from the first failure; while either count is at its limit, attempts from
//! there are refused before any password is checked, so failures from one IP never stop the
//! right password from another. Failures are counted, not attempts. A success clears the
//! (email, IP) count, not the IP's (logging in to one's own account must not renew a guesser's
//! allowance). Every sign-up is counted per IP (each creates an account or tests a password).
//! With Redis, a check is one batch of single-key commands and so is a count (one key, one hash
//! tag per count; one round trip on a single node, one per slot at once on a cluster); without it, or while it cannot be reached, counts live in this process.
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::{network_of, Decision, RateLimiter};
use crate::redis_conn::{Batch, RedisConnection, RedisError};

/// Failed log-ins per (email, IP), and per IP, in [`ATTEMPT_WINDOW`].
pub const FAILURES_PER_EMAIL_AND_IP: u32 = 10;
pub const FAILURES_PER_IP: u32 = 50;
/// Sign-ups per IP in [`ATTEMPT_WINDOW`].
pub const SIGN_UPS_PER_IP: u32 = 20;
pub const ATTEMPT_WINDOW: Duration = Duration::from_secs(15 * 60);

/// One count and its limit.
struct Count {
    key: String,
    limit: u32,
}

/// Counts in this process: key → (count, when the window ends).
#[derive(Default)]
pub struct AttemptCounts(Mutex<HashMap<String, (u32, Instant)>>);

impl AttemptCounts {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (u32, Instant)>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The count of `key` and the milliseconds left of its window.
    fn get(&self, key: &str) -> (u32, u64) {
        match self.lock().get(key) {
            Some((n, until)) if *until > Instant::now() => {
                (*n, (*until - Instant::now()).as_millis() as u64)
            }
            _ => (0, 0),
        }
    }

    fn add(&self, key: &str) {
        let now = Instant::now();
        let mut counts = self.lock();
        if counts.len() > 10_000 {
            counts.retain(|_, (_, until)| *until > now);
        }
        let entry = counts.entry(key.to_string()).or_insert((0, now));
        if entry.1 <= now {
            *entry = (0, now + ATTEMPT_WINDOW);
        }
        entry.0 += 1;
    }

    fn forget(&self, key: &str) {
        self.lock().remove(key);
    }
}

impl RateLimiter {
    /// The counts an attempt of `what` (`login` or `signup`) for `email` from `ip` is held to.
    fn attempt_counts(&self, what: &str, email: &str, ip: Option<IpAddr>) -> Vec<Count> {
        let p = &self.prefix;
        let email = email.replace(['{', '}'], "_");
        let ip = ip.map(network_of).unwrap_or_else(|| "unknown".into());
        let mut counts = vec![
            Count {
                key: format!("{p}failed:{{login:{email}|{ip}}}"),
                limit: FAILURES_PER_EMAIL_AND_IP,
            },
            Count {
                key: format!("{p}failed:{{login-ip:{ip}}}"),
                limit: FAILURES_PER_IP,
            },
        ];
        if what == "signup" {
            counts.push(Count {
                key: format!("{p}signups:{{ip:{ip}}}"),
                limit: SIGN_UPS_PER_IP,
            });
        }
        counts
    }

    /// Whether an attempt may be tried now; a sign-up that may is counted.
    pub(super) async fn attempt_allowed(
        &self,
        what: &str,
        email: &str,
        ip: Option<IpAddr>,
    ) -> Decision {
        let counts = self.attempt_counts(what, email, ip);
        let keys: Vec<String> = counts.iter().map(|c| c.key.clone()).collect();
        let seen = self
            .on_counts(&keys, read, |k| keys.iter().map(|key| k.get(key)).collect())
            .await;
        let refused = counts
            .iter()
            .zip(seen)
            .filter(|(c, (n, _))| *n >= c.limit)
            .max_by_key(|(_, (_, left_ms))| *left_ms);
        let decision = match refused {
            Some((count, (_, left_ms))) => Decision {
                allowed: false,
                limit: count.limit,
                remaining: 0,
                reset_ms: left_ms,
                retry_after_ms: left_ms.max(1),
            },
            None => Decision {
                allowed: true,
                limit: counts[0].limit,
                remaining: 1,
                reset_ms: 0,
                retry_after_ms: 0,
            },
        };
        self.metrics.record_rate_limit(
            what,
            if decision.allowed {
                "allowed"
            } else {
                "refused"
            },
        );
        if decision.allowed && what == "signup" {
            self.count_attempt(&keys[2..]).await;
        }
        decision
    }

    /// Counts a failed log-in (a wrong password) for `email` from `ip`.
    pub async fn attempt_failed(&self, email: &str, ip: Option<IpAddr>) {
        let counts = self.attempt_counts("login", email, ip);
        let keys: Vec<String> = counts.into_iter().map(|c| c.key).collect();
        self.count_attempt(&keys).await;
    }

    /// A log-in for `email` from `ip` succeeded: its failures from there are forgotten.
    pub async fn attempt_succeeded(&self, email: &str, ip: Option<IpAddr>) {
        let counts = self.attempt_counts("login", email, ip);
        let key = counts[0].key.clone();
        self.on_counts(std::slice::from_ref(&key), forget, |k| k.forget(&key))
            .await;
    }

    async fn count_attempt(&self, keys: &[String]) {
        self.on_counts(keys, add, |k| keys.iter().for_each(|key| k.add(key)))
            .await;
    }

    /// Runs `in_redis` on `keys`, or `in_memory` without Redis or when it fails.
    async fn on_counts<'a, T, F, Fut>(
        &'a self,
        keys: &[String],
        in_redis: F,
        in_memory: impl FnOnce(&AttemptCounts) -> T,
    ) -> T
    where
        F: FnOnce(&'a RedisConnection, Vec<String>) -> Fut,
        Fut: std::future::Future<Output = Result<T, RedisError>>,
    {
        if let Some(redis) = self.redis.as_ref().filter(|_| !self.falling_back()) {
            match in_redis(redis.connection(), keys.to_vec()).await {
                Ok(v) => return v,
                Err(e) => self.fall_back(&e.to_string()),
            }
        }
        in_memory(&self.attempts)
    }
}

/// Each key's count and the milliseconds left of its window.
async fn read(redis: &RedisConnection, keys: Vec<String>) -> Result<Vec<(u32, u64)>, RedisError> {
    let mut batch = Batch::new();
    for key in &keys {
        batch
            .add(::redis::Cmd::get(key))
            .add(::redis::Cmd::pttl(key));
    }
    let out: Vec<Option<i64>> = redis.batch(batch).await?;
    Ok(out
        .chunks(2)
        .map(|pair| {
            let n = pair[0].unwrap_or(0).max(0) as u32;
            let left = pair.get(1).copied().flatten().unwrap_or(0).max(0) as u64;
            (n, left)
        })
        .collect())
}

/// Adds one to each key; a key's window starts with its first count.
async fn add(redis: &RedisConnection, keys: Vec<String>) -> Result<(), RedisError> {
    let window = ATTEMPT_WINDOW.as_millis() as u64;
    let mut batch = Batch::new();
    for key in &keys {
        let mut start = ::redis::cmd("SET");
        start.arg(key).arg(0).arg("PX").arg(window).arg("NX");
        batch.quiet(start).quiet(::redis::Cmd::incr(key, 1));
    }
    redis.batch(batch).await
}

/// Deletes each key (one DEL per key: keys of different slots cannot share one on a cluster).
async fn forget(redis: &RedisConnection, keys: Vec<String>) -> Result<(), RedisError> {
    let mut batch = Batch::new();
    for key in &keys {
        batch.quiet(::redis::Cmd::del(key));
    }
    redis.batch(batch).await
}

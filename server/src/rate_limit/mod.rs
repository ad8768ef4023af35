//! Chat rate limits by tier, shared by every instance through Redis, never off.
//!
//! Promises: a signed-in caller is limited by their tier's `RATE_LIMIT_*`; an anonymous caller
//! by the anonymous limit on their identity and, more loosely, by `RATE_LIMIT_IP` on their IP
//! (an IPv6 address counts as its /64), so that clearing cookies does not reset a limit. With
//! Redis, one decision is one atomic script call ([`redis`]); when Redis cannot be reached, the
//! in-process limiter ([`memory`]) with the same limits decides (logged and counted) for a few
//! seconds before Redis is tried again: never unlimited. A caller already refused is refused
//! again from memory until their retry time, without asking Redis. Every decision is counted
//! by tier and result. Failed log-ins are counted per (email, IP) and per IP, and sign-ups per
//! IP ([`attempts`], [`RateLimiter::check_attempt`]); each caller's daily token budgets (input +
//! output tokens per UTC day, per identity, per anonymous IP and for the deployment) are kept in
//! [`budget`]. `/mcp` requests are limited per client address ([`RateLimiter::check_mcp`]).
pub mod attempts;
pub mod budget;
pub mod gcra;
pub mod memory;
pub mod redis;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use app::backend::Viewer;
use app::types::Owner;
use app::types::Tier;

use crate::config::{RateLimit, RateLimits};
use crate::metrics::Metrics;
use attempts::AttemptCounts;
pub use budget::{Budget, BudgetScope};
pub use gcra::{Decision, Rule};
use memory::MemoryLimits;
use redis::RedisLimits;

/// How long a decision may wait for Redis before the in-process limiter decides.
const REDIS_TIMEOUT: Duration = Duration::from_millis(250);
/// How long the in-process limiter decides alone after Redis failed.
const FALLBACK_FOR: Duration = Duration::from_secs(5);

pub struct RateLimiter {
    limits: RateLimits,
    prefix: String,
    redis: Option<RedisLimits>,
    memory: MemoryLimits,
    /// Log-in failures and sign-ups counted in this process (without Redis, or while it
    /// cannot be reached).
    attempts: AttemptCounts,
    /// Callers refused lately: their key → (when, the refusal).
    refused: Mutex<HashMap<String, (Instant, Decision)>>,
    fallback_until: Mutex<Option<Instant>>,
    metrics: Arc<Metrics>,
}

impl From<RateLimit> for Rule {
    fn from(limit: RateLimit) -> Self {
        Rule {
            count: limit.requests,
            window_ms: limit.window.as_millis() as u64,
        }
    }
}

impl RateLimiter {
    /// Redis when `client` is given, else this process alone.
    pub fn new(
        limits: RateLimits,
        prefix: &str,
        client: Option<crate::redis_conn::RedisClient>,
        metrics: Arc<Metrics>,
    ) -> Self {
        metrics.record_global_budget(limits.daily_tokens.global);
        Self {
            limits,
            prefix: prefix.to_string(),
            redis: client.map(|c| RedisLimits::new(c, REDIS_TIMEOUT)),
            memory: MemoryLimits::default(),
            attempts: AttemptCounts::default(),
            refused: Mutex::new(HashMap::new()),
            fallback_until: Mutex::new(None),
            metrics,
        }
    }

    /// The limit of a tier, as users are told.
    pub fn limit_of(&self, tier: Tier) -> RateLimit {
        match tier {
            Tier::Anonymous => self.limits.anonymous,
            Tier::Default => self.limits.default,
            Tier::Premium => self.limits.premium,
        }
    }

    /// The keys and rules of one caller's decision (one hash tag for all keys).
    fn keys(&self, viewer: &Viewer) -> (Vec<String>, Vec<Rule>) {
        let p = &self.prefix;
        match (viewer.owner, viewer.ip) {
            (Owner::User(id), _) => (
                vec![format!("{p}rl:{{user:{id}}}")],
                vec![self.limit_of(viewer.tier).into()],
            ),
            (Owner::Anonymous(id), Some(ip)) => {
                let ip = network_of(ip);
                (
                    vec![
                        format!("{p}rl:{{ip:{ip}}}:anon:{id}"),
                        format!("{p}rl:{{ip:{ip}}}:ip"),
                    ],
                    vec![self.limits.anonymous.into(), self.limits.ip.into()],
                )
            }
            (Owner::Anonymous(id), None) => (
                vec![format!("{p}rl:{{anon:{id}}}")],
                vec![self.limits.anonymous.into()],
            ),
        }
    }

    /// Decides one chat request.
    pub async fn check(&self, viewer: &Viewer) -> Decision {
        let (keys, rules) = self.keys(viewer);
        self.decide(viewer.tier.as_str(), &keys, &rules).await
    }

    /// Decides whether a log-in or sign-up (`what`) for `email` from `ip` may be tried: not
    /// while the failures of that email from that IP, or of that IP, are at their limit (or,
    /// for a sign-up, the IP's sign-ups). Nothing is charged but a sign-up: failures are
    /// counted by [`RateLimiter::attempt_failed`] ([`attempts`]).
    pub async fn check_attempt(&self, what: &str, email: &str, ip: Option<IpAddr>) -> Decision {
        self.attempt_allowed(what, email, ip).await
    }

    /// Decides one `/mcp` request by its client address (`RATE_LIMIT_MCP`; an IPv6 address
    /// counts as its /64). Without an address every such caller shares one count: limited,
    /// never unlimited.
    pub async fn check_mcp(&self, ip: Option<IpAddr>) -> Decision {
        let network = ip.map_or_else(|| "unknown".to_string(), network_of);
        let key = format!("{}rl:{{mcp-ip:{network}}}", self.prefix);
        self.decide("mcp", &[key], &[self.limits.mcp.into()]).await
    }

    /// One decision for `keys` under `rules`, counted under `label`.
    async fn decide(&self, label: &str, keys: &[String], rules: &[Rule]) -> Decision {
        if let Some(refusal) = self.still_refused(&keys[0]) {
            self.metrics.record_rate_limit(label, "refused");
            return refusal;
        }
        let decision = match &self.redis {
            Some(redis) if !self.falling_back() => {
                let started = Instant::now();
                match redis.decide(keys, rules).await {
                    Ok(d) => {
                        self.metrics.record_rate_limit_redis(started.elapsed());
                        d
                    }
                    Err(e) => {
                        self.fall_back(&e.to_string());
                        self.memory.decide(keys, rules)
                    }
                }
            }
            _ => self.memory.decide(keys, rules),
        };
        let result = if decision.allowed {
            "allowed"
        } else {
            "refused"
        };
        self.metrics.record_rate_limit(label, result);
        if !decision.allowed {
            let mut refused = self.refused.lock().unwrap_or_else(|e| e.into_inner());
            if refused.len() > 10_000 {
                refused.retain(|_, (at, d)| at.elapsed().as_millis() < d.retry_after_ms as u128);
            }
            refused.insert(keys[0].clone(), (Instant::now(), decision));
        }
        decision
    }

    fn still_refused(&self, key: &str) -> Option<Decision> {
        let refused = self.refused.lock().unwrap_or_else(|e| e.into_inner());
        let (at, decision) = refused.get(key)?;
        let elapsed = at.elapsed().as_millis() as u64;
        (elapsed < decision.retry_after_ms).then(|| Decision {
            retry_after_ms: decision.retry_after_ms - elapsed,
            reset_ms: decision.reset_ms.saturating_sub(elapsed),
            ..*decision
        })
    }

    fn falling_back(&self) -> bool {
        let until = self
            .fallback_until
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        until.is_some_and(|t| Instant::now() < t)
    }

    fn fall_back(&self, why: &str) {
        let mut until = self
            .fallback_until
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        *until = Some(Instant::now() + FALLBACK_FOR);
        self.metrics.record_rate_limit_fallback();
        tracing::warn!(
            error = why,
            "rate limiter: Redis unavailable, limiting in this process for {} s",
            FALLBACK_FOR.as_secs()
        );
    }

    /// What a refused caller reads.
    pub fn message(&self, tier: Tier, decision: &Decision) -> String {
        let limit = self.limit_of(tier);
        let wait = decision.retry_after_secs();
        let per = per_window(limit.window);
        match tier {
            Tier::Anonymous => format!(
                "You have sent {} messages {per}, the limit without an account. Sign in for a \
                 higher limit, or try again in {wait} s.",
                limit.requests
            ),
            _ => format!(
                "You have sent {} messages {per}, the limit of your plan. Try again in {wait} s.",
                limit.requests
            ),
        }
    }
}

fn per_window(window: Duration) -> String {
    match window.as_secs() {
        60 => "in a minute".into(),
        3600 => "in an hour".into(),
        s => format!("in {s} seconds"),
    }
}

/// The address a limit counts: IPv4 as is, IPv6 as its /64 (one subscriber's network).
fn network_of(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

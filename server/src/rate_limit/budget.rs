//! Daily token budgets: input + output tokens per UTC day, charged to every budget a turn
//! touches, so that neither a new cookie nor a new identity brings new money.
//!
//! Promises: a turn (and the summarizer's calls for its conversation) is charged to the
//! caller's identity (per tier), to the client IP for an anonymous caller (IPv4 address, IPv6
//! /64: `TOKEN_BUDGET_IP`), and to the whole deployment (`TOKEN_BUDGET_GLOBAL`, counted even
//! when unlimited); a turn is refused when any of its budgets is spent, and the caller is shown
//! the tightest one ([`Budget`]). With Redis, reading the budgets is one round trip and so is
//! charging them (pipelines of single-key commands: each budget has its own hash tag, so Redis
//! Cluster needs no cross-slot command); without Redis, or while it cannot be reached, the
//! in-process counters decide, as the rate limits do. Counters expire an hour after their day.
use std::time::Duration;

use app::backend::Viewer;
use app::types::Owner;
use app::types::Tier;

use super::{network_of, RateLimiter};

/// Which budget a [`Budget`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BudgetScope {
    /// The caller's own (their account, or their anonymous identity), per tier.
    Identity,
    /// Every anonymous identity behind the caller's client IP.
    Ip,
    /// The whole deployment.
    Global,
}

impl BudgetScope {
    /// `identity`, `ip` or `global`, as metrics label it.
    pub fn as_str(&self) -> &'static str {
        match self {
            BudgetScope::Identity => "identity",
            BudgetScope::Ip => "ip",
            BudgetScope::Global => "global",
        }
    }
}

/// One daily token budget as it stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub scope: BudgetScope,
    pub limit: u64,
    pub used: u64,
    pub resets_in: Duration,
}

impl Budget {
    pub fn remaining(&self) -> u64 {
        self.limit.saturating_sub(self.used)
    }

    pub fn exhausted(&self) -> bool {
        self.used >= self.limit
    }
}

/// A budget of a caller: its Redis key and its limit (`None`: counted, never refused).
struct Counter {
    scope: BudgetScope,
    key: String,
    limit: Option<u64>,
}

impl RateLimiter {
    /// The budgets a caller's turns are charged to, today.
    fn counters(&self, viewer: &Viewer) -> (Vec<Counter>, String) {
        let day = chrono::Utc::now().format("%Y-%m-%d").to_string();
        let key = |subject: String| format!("{}budget:{{{subject}}}:{day}", self.prefix);
        let tokens = &self.limits.daily_tokens;
        let identity = match viewer.tier {
            Tier::Anonymous => tokens.anonymous,
            Tier::Default => tokens.default,
            Tier::Premium => tokens.premium,
        };
        let mut counters = vec![Counter {
            scope: BudgetScope::Identity,
            key: key(match viewer.owner {
                Owner::User(id) => format!("user:{id}"),
                Owner::Anonymous(id) => format!("anon:{id}"),
            }),
            limit: Some(identity),
        }];
        if let (Owner::Anonymous(_), Some(ip)) = (viewer.owner, viewer.ip) {
            counters.push(Counter {
                scope: BudgetScope::Ip,
                key: key(format!("ip:{}", network_of(ip))),
                limit: Some(tokens.ip),
            });
        }
        counters.push(Counter {
            scope: BudgetScope::Global,
            key: key("global".into()),
            limit: tokens.global,
        });
        (counters, day)
    }

    /// The caller's tightest budget today (the one with the fewest tokens left): exhausted
    /// when any of their budgets is.
    pub async fn budget(&self, viewer: &Viewer) -> Budget {
        let (counters, _) = self.counters(viewer);
        let keys: Vec<String> = counters.iter().map(|c| c.key.clone()).collect();
        let used = match &self.redis {
            Some(redis) if !self.falling_back() => match redis.used(&keys).await {
                Ok(used) => used,
                Err(e) => {
                    self.fall_back(&e.to_string());
                    keys.iter().map(|k| self.memory.used(k)).collect()
                }
            },
            _ => keys.iter().map(|k| self.memory.used(k)).collect(),
        };
        let resets_in = until_midnight_utc();
        counters
            .iter()
            .zip(used)
            .filter_map(|(c, used)| {
                c.limit.map(|limit| Budget {
                    scope: c.scope,
                    limit,
                    used,
                    resets_in,
                })
            })
            .min_by_key(|b| (b.remaining(), b.limit))
            .expect("the identity's budget is always limited")
    }

    /// Charges `tokens` (a finished turn's, or the summarizer's for the caller's
    /// conversation) to every budget of the caller.
    pub async fn spend(&self, viewer: &Viewer, tokens: u64) {
        if tokens == 0 {
            return;
        }
        self.metrics
            .record_budget_spend(viewer.tier.as_str(), tokens);
        let (counters, day) = self.counters(viewer);
        let keys: Vec<String> = counters.into_iter().map(|c| c.key).collect();
        if let Some(redis) = self.redis.as_ref().filter(|_| !self.falling_back()) {
            let ttl = until_midnight_utc() + Duration::from_secs(3_600);
            match redis.spend(&keys, tokens, ttl).await {
                Ok(()) => return,
                Err(e) => self.fall_back(&e.to_string()),
            }
        }
        for key in &keys {
            self.memory.spend(key, &day, tokens);
        }
    }

    /// What a caller refused for a spent budget reads.
    pub fn budget_message(&self, budget: &Budget) -> String {
        let hours = budget.resets_in.as_secs().div_ceil(3_600);
        let renews = format!("The budget renews at midnight UTC, in about {hours} h.");
        match budget.scope {
            BudgetScope::Identity => {
                format!("You have used today's {} tokens. {renews}", budget.limit)
            }
            BudgetScope::Ip => format!(
                "Visitors from your network have used today's {} tokens without an account. \
                 Sign in to use your own budget. {renews}",
                budget.limit
            ),
            BudgetScope::Global => format!(
                "The chat has used all of today's tokens for everyone. The service renews at \
                 midnight UTC, in about {hours} h."
            ),
        }
    }
}

fn until_midnight_utc() -> Duration {
    let now = chrono::Utc::now();
    let midnight = (now.date_naive() + chrono::Duration::days(1))
        .and_hms_opt(0, 0, 0)
        .expect("midnight exists")
        .and_utc();
    (midnight - now).to_std().unwrap_or(Duration::from_secs(1))
}

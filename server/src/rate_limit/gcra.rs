//! The generic cell rate algorithm (GCRA) for one decision over one or more limits.
//!
//! Each limit `N per window` lets requests through one every `window / N`, with a burst of N:
//! its whole state is one number per key, the theoretical arrival time (TAT) of the next
//! request. A request is allowed when it is allowed by every limit, and then every key
//! advances; a refused request changes nothing. The same arithmetic runs in Lua in Redis
//! ([`super::redis::SCRIPT`]); this is the in-process version and the reference for both.

/// One limit applied to one key: `count` requests per `window_ms`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rule {
    pub count: u32,
    pub window_ms: u64,
}

/// The outcome of one decision, as the HTTP headers need it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    /// The binding limit's N (the most restrictive one, or the one that refused).
    pub limit: u32,
    /// Requests left right now under the binding limit.
    pub remaining: u32,
    /// Milliseconds until the binding limit is whole again.
    pub reset_ms: u64,
    /// Milliseconds until a refused request would be allowed (0 when allowed).
    pub retry_after_ms: u64,
}

impl Decision {
    /// Whole seconds to wait before retrying (at least 1), for `Retry-After` and messages.
    pub fn retry_after_secs(&self) -> u64 {
        self.retry_after_ms.div_ceil(1000).max(1)
    }
}

/// Decides for `rules` given each key's stored TAT (`None`: never seen) at `now_ms`. Returns
/// the decision and, when allowed, the new TATs to store.
pub fn decide(rules: &[Rule], tats: &[Option<f64>], now_ms: f64) -> (Decision, Option<Vec<f64>>) {
    let mut new_tats = Vec::with_capacity(rules.len());
    let mut binding: Option<Decision> = None;
    for (rule, tat) in rules.iter().zip(tats) {
        let window = rule.window_ms as f64;
        let interval = window / rule.count.max(1) as f64;
        let tat = tat.unwrap_or(now_ms).max(now_ms);
        let new_tat = tat + interval;
        let allow_at = new_tat - window;
        if allow_at > now_ms {
            let refused = Decision {
                allowed: false,
                limit: rule.count,
                remaining: 0,
                reset_ms: (tat - now_ms).ceil() as u64,
                retry_after_ms: (allow_at - now_ms).ceil() as u64,
            };
            return (refused, None);
        }
        let remaining = ((window - (new_tat - now_ms)) / interval + 1e-9)
            .floor()
            .max(0.0) as u32;
        let this = Decision {
            allowed: true,
            limit: rule.count,
            remaining,
            reset_ms: (new_tat - now_ms).ceil() as u64,
            retry_after_ms: 0,
        };
        if binding.is_none_or(|b| this.remaining < b.remaining) {
            binding = Some(this);
        }
        new_tats.push(new_tat);
    }
    let decision = binding.unwrap_or(Decision {
        allowed: true,
        limit: 0,
        remaining: 0,
        reset_ms: 0,
        retry_after_ms: 0,
    });
    (decision, Some(new_tats))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEN_A_MINUTE: Rule = Rule {
        count: 10,
        window_ms: 60_000,
    };

    /// Runs `n` requests at `now` against one key; returns the decisions.
    fn burst(rules: &[Rule], tats: &mut Vec<Option<f64>>, now: f64, n: usize) -> Vec<Decision> {
        (0..n)
            .map(|_| {
                let (d, new) = decide(rules, tats, now);
                if let Some(new) = new {
                    *tats = new.into_iter().map(Some).collect();
                }
                d
            })
            .collect()
    }

    #[test]
    fn a_burst_of_n_then_one_every_window_over_n() {
        let mut tats = vec![None];
        let decisions = burst(&[TEN_A_MINUTE], &mut tats, 0.0, 11);
        let remaining: Vec<u32> = decisions[..10].iter().map(|d| d.remaining).collect();
        assert_eq!(remaining, [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
        let refused = decisions[10];
        assert!(!refused.allowed);
        assert_eq!(refused.retry_after_ms, 6_000, "one request every 6 s");
        assert_eq!(refused.reset_ms, 60_000);
        // 6 s later exactly one more goes through.
        let later = burst(&[TEN_A_MINUTE], &mut tats, 6_000.0, 2);
        assert!(later[0].allowed && !later[1].allowed);
        // A whole window later the full burst is back.
        let fresh = burst(&[TEN_A_MINUTE], &mut tats, 70_000.0, 10);
        assert!(fresh.iter().all(|d| d.allowed));
    }

    #[test]
    fn every_limit_must_allow_and_a_refusal_changes_nothing() {
        let loose = Rule {
            count: 3,
            window_ms: 60_000,
        };
        let strict = Rule {
            count: 1,
            window_ms: 60_000,
        };
        let mut tats = vec![None, None];
        let first = burst(&[loose, strict], &mut tats, 0.0, 1)[0];
        assert!(first.allowed);
        assert_eq!(
            (first.limit, first.remaining),
            (1, 0),
            "the binding limit is reported"
        );
        let before = tats.clone();
        let second = burst(&[loose, strict], &mut tats, 0.0, 1)[0];
        assert!(!second.allowed && second.limit == 1);
        assert_eq!(tats, before, "a refused request uses nothing");
    }
}

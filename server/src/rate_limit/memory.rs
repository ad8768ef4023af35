//! Rate-limit state in this process: the same GCRA, for one instance without Redis and as the
//! fallback while Redis cannot be reached.
//!
//! Promises: the same decisions as the Redis script for the same requests; keys whose limit is
//! whole again are forgotten (swept every few thousand decisions), so memory stays bounded by
//! the callers of one window.
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use super::gcra::{self, Decision, Rule};

const SWEEP_EVERY: u32 = 4_096;

pub struct MemoryLimits {
    started: Instant,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    tats: HashMap<String, f64>,
    since_sweep: u32,
    /// Token budget counters; their keys name the day, and other days are dropped.
    spent: HashMap<String, u64>,
    day: String,
}

impl Default for MemoryLimits {
    fn default() -> Self {
        Self {
            started: Instant::now(),
            state: Mutex::new(State::default()),
        }
    }
}

impl MemoryLimits {
    pub fn used(&self, key: &str) -> u64 {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.spent.get(key).copied().unwrap_or(0)
    }

    /// Adds tokens to `key` of `day` (counters of other days are forgotten).
    pub fn spend(&self, key: &str, day: &str, tokens: u64) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.day != day {
            state.day = day.to_string();
            state.spent.retain(|k, _| k.ends_with(day));
        }
        *state.spent.entry(key.to_string()).or_insert(0) += tokens;
    }

    pub fn decide(&self, keys: &[String], rules: &[Rule]) -> Decision {
        let now = self.started.elapsed().as_secs_f64() * 1000.0;
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.since_sweep += 1;
        if state.since_sweep >= SWEEP_EVERY {
            state.since_sweep = 0;
            state.tats.retain(|_, tat| *tat > now);
        }
        let tats: Vec<Option<f64>> = keys.iter().map(|k| state.tats.get(k).copied()).collect();
        let (decision, new_tats) = gcra::decide(rules, &tats, now);
        if let Some(new_tats) = new_tats {
            for (key, tat) in keys.iter().zip(new_tats) {
                state.tats.insert(key.clone(), tat);
            }
        }
        decision
    }
}

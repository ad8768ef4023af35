//! A circuit breaker for one tool backend.
//!
//! Promises: closed, it lets every call through and counts failures in a row (a success
//! resets the count); at the threshold it opens and refuses calls at once, saying when it will
//! try again; after the cool-down it is half-open and lets exactly one probe through (others
//! are still refused); the probe's success closes it, its failure opens it for another
//! cool-down. A failure is the backend failing or timing out, not an `is_error` result (bad
//! input or an unknown name means the backend works). Every change of state is counted in the
//! metrics and logged.
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use crate::metrics::Metrics;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    Closed,
    Open,
    HalfOpen,
}

impl BreakerState {
    pub fn name(self) -> &'static str {
        match self {
            BreakerState::Closed => "closed",
            BreakerState::Open => "open",
            BreakerState::HalfOpen => "half_open",
        }
    }
}

#[derive(Debug)]
enum State {
    Closed {
        failures: u32,
    },
    Open {
        until: Instant,
    },
    /// One probe is on its way.
    HalfOpen,
}

/// A call the breaker refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    /// Until the next probe may go through.
    pub retry_in: Duration,
}

/// Permission for one call; say how it went with [`Permit::record`]. A probe dropped without
/// an answer (the turn was cancelled) lets the next call probe instead.
#[must_use]
pub struct Permit<'a> {
    breaker: &'a CircuitBreaker,
    probe: bool,
    recorded: bool,
}

impl std::fmt::Debug for Permit<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Permit")
            .field("probe", &self.probe)
            .finish()
    }
}

impl Permit<'_> {
    /// How the permitted call went: `true` when the backend answered.
    pub fn record(mut self, success: bool) {
        self.recorded = true;
        self.breaker.record(self.probe, success);
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if self.probe && !self.recorded {
            let mut state = self.breaker.lock();
            if matches!(*state, State::HalfOpen) {
                *state = State::Open {
                    until: Instant::now(),
                };
            }
        }
    }
}

pub struct CircuitBreaker {
    backend: String,
    threshold: u32,
    cooldown: Duration,
    state: Mutex<State>,
    metrics: Arc<Metrics>,
}

impl CircuitBreaker {
    pub fn new(
        backend: impl Into<String>,
        threshold: u32,
        cooldown: Duration,
        metrics: Arc<Metrics>,
    ) -> Self {
        let backend = backend.into();
        metrics.record_breaker(&backend, BreakerState::Closed.name());
        Self {
            backend,
            threshold: threshold.max(1),
            cooldown,
            state: Mutex::new(State::Closed { failures: 0 }),
            metrics,
        }
    }

    pub fn state(&self) -> BreakerState {
        match *self.lock() {
            State::Closed { .. } => BreakerState::Closed,
            State::Open { .. } => BreakerState::Open,
            State::HalfOpen => BreakerState::HalfOpen,
        }
    }

    /// May a call go through now?
    pub fn admit(&self) -> Result<Permit<'_>, Refused> {
        let mut state = self.lock();
        let probe = match *state {
            State::Closed { .. } => false,
            State::Open { until } => {
                let now = Instant::now();
                if now < until {
                    return Err(Refused {
                        retry_in: until - now,
                    });
                }
                *state = State::HalfOpen;
                self.changed(BreakerState::HalfOpen);
                true
            }
            State::HalfOpen => {
                return Err(Refused {
                    retry_in: Duration::ZERO,
                })
            }
        };
        Ok(Permit {
            breaker: self,
            probe,
            recorded: false,
        })
    }

    fn record(&self, probe: bool, success: bool) {
        let mut state = self.lock();
        let next = match (&*state, success) {
            (State::Closed { .. }, true) => State::Closed { failures: 0 },
            (State::Closed { failures }, false) if failures + 1 < self.threshold => State::Closed {
                failures: failures + 1,
            },
            (State::Closed { .. }, false) => self.open(),
            // A late answer from before the breaker opened changes nothing.
            (State::Open { .. }, _) => return,
            (State::HalfOpen, _) if !probe => return,
            (State::HalfOpen, true) => {
                self.changed(BreakerState::Closed);
                State::Closed { failures: 0 }
            }
            (State::HalfOpen, false) => self.open(),
        };
        *state = next;
    }

    fn open(&self) -> State {
        self.changed(BreakerState::Open);
        State::Open {
            until: Instant::now() + self.cooldown,
        }
    }

    fn changed(&self, to: BreakerState) {
        match to {
            BreakerState::Open => tracing::warn!(
                backend = %self.backend,
                cooldown_ms = self.cooldown.as_millis() as u64,
                "tool backend failing: circuit breaker open"
            ),
            _ => tracing::info!(backend = %self.backend, state = to.name(), "circuit breaker"),
        }
        self.metrics.record_breaker(&self.backend, to.name());
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breaker(metrics: &Arc<Metrics>) -> CircuitBreaker {
        CircuitBreaker::new("fpl", 3, Duration::from_secs(10), metrics.clone())
    }

    fn fail(b: &CircuitBreaker) {
        b.admit().expect("admitted").record(false);
    }

    #[tokio::test(start_paused = true)]
    async fn opens_after_failures_in_a_row_and_refuses_fast() {
        let metrics = Arc::new(Metrics::new());
        let b = breaker(&metrics);
        fail(&b);
        fail(&b);
        b.admit().unwrap().record(true);
        fail(&b);
        fail(&b);
        assert_eq!(
            b.state(),
            BreakerState::Closed,
            "a success resets the count"
        );
        fail(&b);
        assert_eq!(b.state(), BreakerState::Open);
        let refused = b.admit().unwrap_err();
        assert_eq!(refused.retry_in, Duration::from_secs(10));
        tokio::time::advance(Duration::from_secs(4)).await;
        assert_eq!(b.admit().unwrap_err().retry_in, Duration::from_secs(6));
        let text = metrics.encode_prometheus();
        assert!(text.contains(r#"tool_breaker_transitions_total{backend="fpl",state="open"} 1"#));
        assert!(text.contains(r#"tool_breaker_state{backend="fpl"} 2"#));
    }

    #[tokio::test(start_paused = true)]
    async fn half_open_lets_one_probe_through_which_decides() {
        let metrics = Arc::new(Metrics::new());
        let b = breaker(&metrics);
        (0..3).for_each(|_| fail(&b));
        tokio::time::advance(Duration::from_secs(10)).await;
        let probe = b.admit().expect("the probe goes through");
        assert_eq!(b.state(), BreakerState::HalfOpen);
        assert!(b.admit().is_err(), "only one probe at a time");
        probe.record(false);
        assert_eq!(
            b.state(),
            BreakerState::Open,
            "a failed probe opens it again"
        );
        assert!(b.admit().is_err());

        tokio::time::advance(Duration::from_secs(10)).await;
        b.admit().unwrap().record(true);
        assert_eq!(b.state(), BreakerState::Closed);
        assert!(b.admit().is_ok());
        let text = metrics.encode_prometheus();
        assert!(
            text.contains(r#"tool_breaker_transitions_total{backend="fpl",state="half_open"} 2"#)
        );
        assert!(text.contains(r#"tool_breaker_transitions_total{backend="fpl",state="closed"} 2"#));
        assert!(text.contains(r#"tool_breaker_state{backend="fpl"} 0"#));
    }

    #[tokio::test(start_paused = true)]
    async fn late_answers_from_before_it_opened_change_nothing() {
        let metrics = Arc::new(Metrics::new());
        let b = breaker(&metrics);
        let late = b.admit().unwrap();
        let later = b.admit().unwrap();
        (0..3).for_each(|_| fail(&b));
        late.record(true);
        assert_eq!(b.state(), BreakerState::Open);
        tokio::time::advance(Duration::from_secs(10)).await;
        let probe = b.admit().unwrap();
        later.record(true);
        assert_eq!(b.state(), BreakerState::HalfOpen, "only the probe decides");
        probe.record(true);
        assert_eq!(b.state(), BreakerState::Closed);
    }

    #[tokio::test(start_paused = true)]
    async fn a_probe_dropped_unanswered_lets_the_next_call_probe() {
        let metrics = Arc::new(Metrics::new());
        let b = breaker(&metrics);
        (0..3).for_each(|_| fail(&b));
        tokio::time::advance(Duration::from_secs(10)).await;
        drop(b.admit().unwrap());
        let probe = b.admit().expect("a new probe");
        probe.record(true);
        assert_eq!(b.state(), BreakerState::Closed);
    }
}

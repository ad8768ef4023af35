//! How many chat turns run at once: per identity (`CHAT_MAX_TURNS_PER_IDENTITY`) and per
//! instance (`CHAT_MAX_CONCURRENT_TURNS`). A turn holds an upstream stream, a tool loop and
//! memory for up to minutes, so a turn over either cap is refused before it starts.
//!
//! Promises: a [`TurnPermit`] is taken without waiting, or refused with which cap is full; it
//! counts against both caps until it is dropped, on every path (an error, a panic, a turn
//! whose client went away); the per-identity counts are forgotten when they reach zero, so
//! memory is bounded by the running turns. Both caps are per instance: behind a load balancer,
//! one identity may run `per_identity` turns on each instance.
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use app::types::Owner;
use prometheus_client::metrics::gauge::Gauge;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::config::TurnConcurrency;

/// What a refused caller is told to wait: about one turn.
pub const RETRY_AFTER: Duration = Duration::from_secs(5);

/// Which cap refused a turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Full {
    /// The caller already runs their share of turns.
    Identity(u32),
    /// This instance runs as many turns as it may.
    Instance(u32),
}

type Running = Arc<Mutex<HashMap<Owner, u32>>>;

pub struct TurnSlots {
    limits: TurnConcurrency,
    /// Turns holding a permit now, as exported (`chat_turns_running`).
    gauge: Gauge,
    instance: Arc<Semaphore>,
    /// Turns running per identity (identities with none are not kept).
    running: Running,
}

/// One running turn's place under both caps, given back when dropped.
pub struct TurnPermit {
    _instance: OwnedSemaphorePermit,
    owner: Owner,
    running: Running,
    gauge: Gauge,
}

fn lock(running: &Running) -> std::sync::MutexGuard<'_, HashMap<Owner, u32>> {
    running.lock().unwrap_or_else(|e| e.into_inner())
}

impl TurnSlots {
    pub fn new(limits: TurnConcurrency, gauge: Gauge) -> Self {
        Self {
            limits,
            gauge,
            instance: Arc::new(Semaphore::new(limits.per_instance as usize)),
            running: Arc::default(),
        }
    }

    /// Waits until no turn runs, and from then on refuses every turn (shutting down); false
    /// when `deadline` passed first.
    pub async fn close(&self, deadline: Duration) -> bool {
        let all = self.limits.per_instance;
        match tokio::time::timeout(deadline, self.instance.acquire_many(all)).await {
            Ok(Ok(permits)) => {
                permits.forget();
                self.instance.close();
                true
            }
            _ => false,
        }
    }

    /// A place for one turn of `owner`, or which cap is full.
    pub fn try_acquire(&self, owner: Owner) -> Result<TurnPermit, Full> {
        let mut running = lock(&self.running);
        let mine = running.get(&owner).copied().unwrap_or(0);
        if mine >= self.limits.per_identity {
            return Err(Full::Identity(self.limits.per_identity));
        }
        let instance = self
            .instance
            .clone()
            .try_acquire_owned()
            .map_err(|_| Full::Instance(self.limits.per_instance))?;
        running.insert(owner, mine + 1);
        self.gauge.inc();
        Ok(TurnPermit {
            _instance: instance,
            owner,
            running: self.running.clone(),
            gauge: self.gauge.clone(),
        })
    }
}

impl Drop for TurnPermit {
    fn drop(&mut self) {
        self.gauge.dec();
        let mut running = lock(&self.running);
        if let Some(n) = running.get_mut(&self.owner) {
            *n -= 1;
            if *n == 0 {
                running.remove(&self.owner);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[test]
    fn permits_count_until_dropped() {
        let gauge = Gauge::default();
        let slots = TurnSlots::new(
            TurnConcurrency {
                per_identity: 2,
                per_instance: 3,
                drain: Duration::from_secs(1),
            },
            gauge.clone(),
        );
        let (a, b) = (
            Owner::Anonymous(Uuid::new_v4()),
            Owner::Anonymous(Uuid::new_v4()),
        );
        let first = slots.try_acquire(a).unwrap();
        let _second = slots.try_acquire(a).unwrap();
        assert_eq!(slots.try_acquire(a).err(), Some(Full::Identity(2)));
        let _third = slots.try_acquire(b).unwrap();
        assert_eq!(slots.try_acquire(b).err(), Some(Full::Instance(3)));
        drop(first);
        let _again = slots.try_acquire(a).unwrap();
        assert_eq!(lock(&slots.running).len(), 2);
        assert_eq!(gauge.get(), 3, "the gauge counts the permits held");
    }
}

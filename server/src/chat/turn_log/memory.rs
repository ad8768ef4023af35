//! The turn log in this process (no `REDIS_URL`: one instance only). Expired logs are dropped
//! by the next call, so memory holds the running turns and those closed in the last
//! [`Lifetimes::keep_closed`].
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use app::types::ChatEvent;
use async_trait::async_trait;
use tokio::sync::watch;
use uuid::Uuid;

use super::{Lifetimes, LiveTurn, LogError, Read, TurnLog};

#[derive(Default)]
pub struct MemoryLog {
    lifetimes: Lifetimes,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Every live log, by turn id.
    logs: HashMap<Uuid, Log>,
    /// The turn being answered in each conversation.
    running: HashMap<Uuid, LiveTurn>,
}

struct Log {
    entries: Vec<ChatEvent>,
    /// Whether a stop was asked (told to the writer at its next append).
    stop: bool,
    expires: Instant,
    /// How many entries there are, for readers waiting for more.
    count: watch::Sender<u64>,
}

impl MemoryLog {
    pub fn new(lifetimes: Lifetimes) -> Self {
        Self {
            lifetimes,
            state: Mutex::default(),
        }
    }

    /// The state without the expired logs.
    fn live(&self) -> std::sync::MutexGuard<'_, State> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        state.logs.retain(|_, log| log.expires > now);
        let State { logs, running } = &mut *state;
        running.retain(|_, turn| logs.contains_key(&turn.id));
        state
    }
}

fn missing(id: Uuid) -> LogError {
    LogError(format!("no log of turn {id}"))
}

#[async_trait]
impl TurnLog for MemoryLog {
    fn name(&self) -> &'static str {
        "memory"
    }

    async fn open(&self, turn: &LiveTurn, entries: &[ChatEvent]) -> Result<(), LogError> {
        let mut state = self.live();
        let log = Log {
            entries: entries.to_vec(),
            stop: false,
            expires: Instant::now() + self.lifetimes.lease,
            count: watch::Sender::new(entries.len() as u64),
        };
        state.logs.insert(turn.id, log);
        state.running.insert(turn.conversation, *turn);
        Ok(())
    }

    async fn append(
        &self,
        turn: &LiveTurn,
        first: u64,
        entries: &[ChatEvent],
    ) -> Result<bool, LogError> {
        let mut state = self.live();
        let log = state
            .logs
            .get_mut(&turn.id)
            .ok_or_else(|| missing(turn.id))?;
        if log.entries.len() as u64 != first {
            return Err(LogError(format!(
                "turn {}: entry {first} appended after {}",
                turn.id,
                log.entries.len()
            )));
        }
        log.entries.extend_from_slice(entries);
        log.expires = Instant::now() + self.lifetimes.lease;
        log.count.send_replace(log.entries.len() as u64);
        Ok(log.stop)
    }

    async fn close(&self, turn: &LiveTurn) -> Result<(), LogError> {
        let mut state = self.live();
        if let Some(log) = state.logs.get_mut(&turn.id) {
            log.expires = Instant::now() + self.lifetimes.keep_closed;
        }
        if state.running.get(&turn.conversation) == Some(turn) {
            state.running.remove(&turn.conversation);
        }
        Ok(())
    }

    async fn running(&self, conversation: Uuid) -> Result<Option<LiveTurn>, LogError> {
        Ok(self.live().running.get(&conversation).copied())
    }

    async fn read(&self, id: Uuid, from: u64, wait: Duration) -> Result<Read, LogError> {
        let mut count = {
            let state = self.live();
            let Some(log) = state.logs.get(&id) else {
                return Ok(Read::Gone);
            };
            log.count.subscribe()
        };
        // Wakes when an entry numbered `from` exists, the log is dropped, or the time is up.
        let _ = tokio::time::timeout(wait, count.wait_for(|n| *n > from)).await;
        let state = self.live();
        Ok(match state.logs.get(&id) {
            None => Read::Gone,
            Some(log) => Read::Entries(
                log.entries
                    .get(from as usize..)
                    .map(<[ChatEvent]>::to_vec)
                    .unwrap_or_default(),
            ),
        })
    }

    async fn ask_stop(&self, id: Uuid) -> Result<(), LogError> {
        let mut state = self.live();
        let log = state.logs.get_mut(&id).ok_or_else(|| missing(id))?;
        log.stop = true;
        Ok(())
    }
}

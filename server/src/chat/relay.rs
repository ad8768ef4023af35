//! Between a running turn and who reads it: the client that asked (while it reads) and the
//! turn's log (that any page, on any instance, may follow: [`turn_log`](super::turn_log)).
//!
//! Promises: every event of the turn reaches the client and the log, in order, and the log is
//! open before the client gets the first (so a client that has `meta` can follow the turn
//! from another page, on any instance, unless the log failed); a client that
//! went away, or whose buffer stayed full for [`CLIENT_PATIENCE`], is let go and the turn goes
//! on; the log is written at most every [`FLUSH_EVERY`] (text pieces merged), at once for the
//! turn's first events and its `done`, and renewed every [`HEARTBEAT`] while the turn is quiet;
//! a stop asked through the log cancels the turn; the log (and the client) end with `done`
//! even when the turn ended without one (it panicked); a log that fails is given up for the
//! rest of the turn (one warning): the turn and its client go on without it.
use std::sync::Arc;
use std::time::Duration;

use app::types::{ChatEvent, ErrorCode};
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use super::turn_log::{merge_text, LiveTurn, TurnLog, HEARTBEAT};

/// How long a client whose buffer is full may take to read before it is let go (it can follow
/// the turn again from its log).
pub const CLIENT_PATIENCE: Duration = Duration::from_secs(2);
/// How long events wait to be written to the log together.
pub const FLUSH_EVERY: Duration = Duration::from_millis(50);

pub struct Relay {
    pub log: Arc<dyn TurnLog>,
    pub turn: LiveTurn,
    /// Cancelled when a stop is asked through the log.
    pub stop: CancellationToken,
}

/// The log's side of the relay.
struct Writer {
    relay: Relay,
    /// Events not written yet.
    pending: Vec<ChatEvent>,
    /// The number of the next entry; `None` before the log is opened.
    next: Option<u64>,
    /// False once the log failed: it is not written again.
    working: bool,
}

impl Relay {
    /// Relays the turn's `events` until the turn drops its sender.
    pub async fn run(self, mut events: mpsc::Receiver<ChatEvent>, client: mpsc::Sender<ChatEvent>) {
        let mut client = Some(client);
        let mut writer = Writer {
            relay: self,
            pending: Vec::new(),
            next: None,
            working: true,
        };
        let mut heartbeat = tokio::time::interval(HEARTBEAT);
        heartbeat.set_missed_tick_behavior(MissedTickBehavior::Delay);
        heartbeat.reset();
        // What the turn put in before it started (`meta`, `context`) opens the log before the
        // client gets it: a client that has `meta` can follow the turn from another page.
        let mut first = Vec::new();
        while let Ok(event) = events.try_recv() {
            first.push(event);
        }
        writer.pending.clone_from(&first);
        writer.flush().await;
        for event in first {
            forward(event, &mut client).await;
        }
        let mut due = None::<Instant>;
        let mut ended = false;
        loop {
            let flush = async {
                match due {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                biased;
                event = events.recv() => {
                    let Some(event) = event else { break };
                    ended = matches!(event, ChatEvent::Done { .. });
                    writer.take(event, &mut client).await;
                    if ended {
                        break;
                    }
                    due.get_or_insert_with(|| Instant::now() + FLUSH_EVERY);
                    continue;
                }
                () = flush => {}
                _ = heartbeat.tick() => {}
            }
            due = None;
            writer.flush().await;
        }
        if !ended {
            // The turn ended without `done` (it panicked): readers are told.
            let message = "The answer could not be finished. Please try again.".to_string();
            for event in [
                ChatEvent::Error {
                    code: ErrorCode::Internal,
                    message,
                },
                ChatEvent::Done {
                    stop_reason: "error".into(),
                },
            ] {
                writer.take(event, &mut client).await;
            }
        }
        writer.flush().await;
        writer.close().await;
    }
}

/// Sends `event` to the client, letting it go when it is gone or too slow.
async fn forward(event: ChatEvent, client: &mut Option<mpsc::Sender<ChatEvent>>) {
    let Some(tx) = client else { return };
    let kept = match tx.try_send(event) {
        Ok(()) => true,
        Err(TrySendError::Full(event)) => matches!(
            tokio::time::timeout(CLIENT_PATIENCE, tx.send(event)).await,
            Ok(Ok(()))
        ),
        Err(TrySendError::Closed(_)) => false,
    };
    if !kept {
        *client = None;
    }
}

impl Writer {
    /// Sends `event` to the client and keeps it for the log.
    async fn take(&mut self, event: ChatEvent, client: &mut Option<mpsc::Sender<ChatEvent>>) {
        if self.working {
            self.pending.push(event.clone());
        }
        forward(event, client).await;
    }

    /// Writes what is pending (nothing: renews the lease), and stops the turn when asked.
    async fn flush(&mut self) {
        if !self.working {
            return;
        }
        let entries = merge_text(std::mem::take(&mut self.pending));
        let relay = &self.relay;
        let written = match self.next {
            None if entries.is_empty() => return,
            None => relay.log.open(&relay.turn, &entries).await.map(|()| false),
            Some(first) => relay.log.append(&relay.turn, first, &entries).await,
        };
        match written {
            Ok(stop) => {
                self.next = Some(self.next.unwrap_or(0) + entries.len() as u64);
                if stop {
                    relay.stop.cancel();
                }
            }
            Err(e) => {
                self.working = false;
                tracing::warn!(error = %e, log = relay.log.name(), "turn log unavailable: this answer cannot be followed from another page");
            }
        }
    }

    async fn close(&self) {
        if self.working && self.next.is_some() {
            if let Err(e) = self.relay.log.close(&self.relay.turn).await {
                tracing::warn!(error = %e, "turn log not closed (it expires on its own)");
            }
        }
    }
}

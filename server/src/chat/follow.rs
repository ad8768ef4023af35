//! Following and stopping a running turn from any page, on any instance
//! (`GET /api/chat/{id}/stream`, `POST /api/chat/{id}/stop`), through the turn log.
//!
//! Promises: only the turn's owner may follow or stop it (anyone else is told there is none,
//! as for a conversation that does not exist); a follower gets the turn's events from the
//! number it asks for, then each as it is written, and its stream ends after `done`, or with
//! an `internal` error and `done` when the log is gone (the instance writing it died) or
//! unreadable for [`GIVE_UP_AFTER`] reads in a row; a follower stops reading when its client
//! goes away; followers are capped per identity and per instance like turns ([`caps`]); a
//! stop on the instance running the turn is immediate, elsewhere it reaches the turn with its
//! next heartbeat (at most [`HEARTBEAT`](super::turn_log::HEARTBEAT) later).
use std::time::Duration;

use app::backend::Viewer;
use app::types::{ChatEvent, ErrorCode, Owner};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::turn_log::{LiveTurn, Read};
use super::turn_slots::{Full, TurnPermit};
use super::{ChatError, ChatService, EVENT_BUFFER};
use crate::config::TurnConcurrency;

/// How long one read waits for new entries (the SSE keep-alive covers the silence).
const READ_WAIT: Duration = Duration::from_secs(10);
/// Failed reads in a row after which a follower is told the answer cannot be followed.
const GIVE_UP_AFTER: u32 = 5;

/// The caps on followers: four pages per running turn an identity may have, four per turn
/// an instance may run.
pub fn caps(turns: TurnConcurrency) -> TurnConcurrency {
    TurnConcurrency {
        per_identity: turns.per_identity.saturating_mul(4),
        per_instance: turns.per_instance.saturating_mul(4),
        ..turns
    }
}

/// A turn being followed: its answer's id and its events, each with its number.
pub struct Following {
    pub message_id: Uuid,
    pub events: mpsc::Receiver<(u64, ChatEvent)>,
}

/// A running turn's stop, known to this instance until the guard is dropped.
pub(super) struct Registered {
    service: ChatService,
    turn: Uuid,
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.service.live().remove(&self.turn);
    }
}

impl ChatService {
    pub(super) fn live(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::HashMap<Uuid, CancellationToken>> {
        self.inner.live.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Makes `stop` the stop of turn `id` on this instance, while the guard lives.
    pub(super) fn register(&self, id: Uuid, stop: CancellationToken) -> Registered {
        self.live().insert(id, stop);
        Registered {
            service: self.clone(),
            turn: id,
        }
    }

    /// The turn of `owner`'s being answered in `conversation` (none when the log cannot be
    /// read: the page then shows what is stored).
    pub async fn answering(&self, owner: Owner, conversation: Uuid) -> Option<LiveTurn> {
        match self.inner.log.running(conversation).await {
            Ok(turn) => turn.filter(|t| t.owner == owner),
            Err(e) => {
                tracing::warn!(error = %e, "turn log unreadable: running answers are not shown");
                None
            }
        }
    }

    /// Follows the turn being answered in the caller's `conversation`, from event `from` on.
    pub async fn follow(
        &self,
        viewer: Viewer,
        conversation: Uuid,
        from: u64,
    ) -> Result<Following, ChatError> {
        let permit = self
            .inner
            .followers
            .try_acquire(viewer.owner)
            .map_err(|full| match full {
                Full::Identity(n) => ChatError::TooManyFollowers(n),
                Full::Instance(n) => ChatError::Busy(n),
            })?;
        let turn = self
            .answering(viewer.owner, conversation)
            .await
            .ok_or(ChatError::NotAnswering)?;
        let (tx, events) = mpsc::channel(EVENT_BUFFER);
        tokio::spawn(self.clone().read_log(turn.id, from, tx, permit));
        Ok(Following {
            message_id: turn.id,
            events,
        })
    }

    /// Stops the turn being answered in the caller's `conversation`.
    pub async fn stop(&self, viewer: Viewer, conversation: Uuid) -> Result<(), ChatError> {
        let turn = self
            .answering(viewer.owner, conversation)
            .await
            .ok_or(ChatError::NotAnswering)?;
        let here = self.live().get(&turn.id).cloned();
        match here {
            Some(stop) => stop.cancel(),
            None => self.inner.log.ask_stop(turn.id).await.map_err(|e| {
                tracing::warn!(error = %e, "stop not passed on");
                ChatError::NotAnswering
            })?,
        }
        Ok(())
    }

    /// Sends turn `id`'s entries from `from` on to `tx` until `done`, the log is gone, or
    /// nobody reads.
    async fn read_log(
        self,
        id: Uuid,
        mut from: u64,
        tx: mpsc::Sender<(u64, ChatEvent)>,
        _permit: TurnPermit,
    ) {
        let log = &self.inner.log;
        let mut failures = 0;
        loop {
            let read = tokio::select! {
                read = log.read(id, from, READ_WAIT) => read,
                () = tx.closed() => return,
            };
            let entries = match read {
                Ok(Read::Entries(entries)) => entries,
                Ok(Read::Gone) => return lost(&tx, from, "The server writing this answer stopped before it ended. Reload the page to see what was saved.").await,
                Err(e) => {
                    failures += 1;
                    tracing::warn!(error = %e, failures, "turn log unreadable");
                    if failures >= GIVE_UP_AFTER {
                        return lost(&tx, from, "This answer cannot be followed right now. Reload the page in a moment.").await;
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
            };
            failures = 0;
            for entry in entries {
                let done = matches!(entry, ChatEvent::Done { .. });
                if tx.send((from, entry)).await.is_err() || done {
                    return;
                }
                from += 1;
            }
        }
    }
}

/// Ends a follower's stream with an `internal` error (`message`) and `done`.
async fn lost(tx: &mpsc::Sender<(u64, ChatEvent)>, from: u64, message: &str) {
    let error = ChatEvent::Error {
        code: ErrorCode::Internal,
        message: message.into(),
    };
    let done = ChatEvent::Done {
        stop_reason: "error".into(),
    };
    for (n, event) in (from..).zip([error, done]) {
        if tx.send((n, event)).await.is_err() {
            return;
        }
    }
}

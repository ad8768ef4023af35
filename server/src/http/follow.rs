//! `GET /api/chat/{id}/stream` and `POST /api/chat/{id}/stop`: a page opened or reloaded
//! while an answer is being written follows it (from any instance), and can stop it
//! ([`crate::chat::follow`]).
//!
//! Promises: the stream has the turn's events as `POST /api/chat` sent them (text pieces
//! written together may arrive as one `text` event), each with its number as the SSE `id`,
//! from the first (or after the `Last-Event-ID` a reconnecting client sends) to `done`; a
//! conversation with no answer of the caller's being written, or that is not the caller's, is
//! a 404 JSON error; a stop is `204 No Content`.
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use futures::StreamExt;
use tokio_stream::wrappers::ReceiverStream;
use uuid::Uuid;

use app::backend::Viewer;

use super::chat::{event_stream, refusal};
use super::AppState;
use crate::chat::ChatError;

pub async fn stream(
    State(state): State<AppState>,
    Extension(viewer): Extension<Viewer>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Ok(id) = Uuid::parse_str(&id) else {
        return refusal(ChatError::NotAnswering);
    };
    // A reconnecting EventSource says the last event it has.
    let from = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or(0, |last| last + 1);
    match state.chat.follow(viewer, id, from).await {
        Ok(following) => {
            let events = ReceiverStream::new(following.events).map(|(n, event)| {
                axum::response::sse::Event::default()
                    .id(n.to_string())
                    .event(event.name())
                    .data(event.data())
            });
            event_stream(events)
        }
        Err(e) => refusal(e),
    }
}

pub async fn stop(
    State(state): State<AppState>,
    Extension(viewer): Extension<Viewer>,
    Path(id): Path<String>,
) -> Response {
    let Ok(id) = Uuid::parse_str(&id) else {
        return refusal(ChatError::NotAnswering);
    };
    match state.chat.stop(viewer, id).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => refusal(e),
    }
}

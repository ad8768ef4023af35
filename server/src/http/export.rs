//! `GET /api/conversations/{id}/export?format=markdown|json`: the caller's conversation as a
//! file to download.
//!
//! Promises: only the caller's own (not deleted) conversation is exported, anything else is a
//! 404 like a missing one; Markdown has every message of the branch shown (`store::thread`;
//! not the other versions) in order with each tool call's input
//! and result in fenced blocks; JSON has the same with typed fields (role, status, times,
//! tool calls with input, outcome, duration and result text), for programs. Both are sent as
//! attachments named after the title, never cached.
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use app::backend::Viewer;
use app::types::{ErrorCode, ToolCallView};

use super::chat::error_response;
use super::AppState;
use crate::pages::tool_views;
use crate::store::{Conversation, Message};

/// The export's file format.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Markdown,
    Json,
}

#[derive(Debug, Deserialize)]
pub struct ExportQuery {
    format: Format,
}

/// The JSON export (`format=json`).
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct Exported {
    pub id: Uuid,
    pub title: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub exported_at: chrono::DateTime<chrono::Utc>,
    pub messages: Vec<ExportedMessage>,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct ExportedMessage {
    pub role: String,
    pub content: String,
    /// `complete`, `interrupted` or `error`.
    pub status: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub model: Option<String>,
    pub tool_calls: Vec<ToolCallView>,
}

pub async fn handler(
    State(state): State<AppState>,
    Extension(viewer): Extension<Viewer>,
    Path(id): Path<String>,
    Query(query): Query<ExportQuery>,
) -> Response {
    let not_found = || {
        error_response(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            "No such conversation.",
        )
    };
    let Ok(id) = Uuid::parse_str(&id) else {
        return not_found();
    };
    let read = async {
        let Some(conversation) = state.store.get_conversation(viewer.owner, id).await? else {
            return Ok(None);
        };
        // The branch shown, as the page shows it (other versions are not exported).
        let messages = state
            .store
            .branch_messages(id, conversation.leaf_seq)
            .await?;
        Ok::<_, crate::store::StoreError>(Some((conversation, messages)))
    };
    let (conversation, messages) = match read.await {
        Ok(Some(found)) => found,
        Ok(None) => return not_found(),
        Err(e) => {
            tracing::error!(error = %e, "export: store failure");
            return error_response(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::Internal,
                "The service is unavailable right now. Please try again shortly.",
            );
        }
    };
    let (body, mime, extension) = match query.format {
        Format::Markdown => (
            markdown(&conversation, &messages),
            "text/markdown; charset=utf-8",
            "md",
        ),
        Format::Json => (
            serde_json::to_string_pretty(&exported(&conversation, messages)).unwrap_or_default(),
            "application/json",
            "json",
        ),
    };
    let disposition = format!(
        "attachment; filename=\"{}.{extension}\"",
        file_stem(conversation.title.as_str())
    );
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

/// `fpl-chat-` and the title's ASCII letters and digits, dashed: safe in any file system and
/// in a quoted header value.
fn file_stem(title: &str) -> String {
    let words: Vec<String> = deunicode::deunicode(title)
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(8)
        .map(str::to_ascii_lowercase)
        .collect();
    format!("fpl-chat-{}", words.join("-"))
        .trim_end_matches('-')
        .to_string()
}

fn exported(conversation: &Conversation, messages: Vec<Message>) -> Exported {
    Exported {
        id: conversation.id,
        title: conversation.title.as_str().to_string(),
        created_at: conversation.created_at,
        exported_at: chrono::Utc::now(),
        messages: messages
            .into_iter()
            .map(|m| ExportedMessage {
                tool_calls: tool_views(&m),
                role: m.role.as_str().to_string(),
                status: m.status.as_str().to_string(),
                created_at: m.created_at,
                model: m.model,
                content: m.content,
            })
            .collect(),
    }
}

/// The conversation as a Markdown document.
pub fn markdown(conversation: &Conversation, messages: &[Message]) -> String {
    let mut out = format!(
        "# {}\n\n_Exported from FPL Chat on {}._\n\n",
        conversation.title.as_str(),
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC")
    );
    for m in messages {
        let who = if m.role.as_str() == "user" {
            "You"
        } else {
            "FPL Chat"
        };
        out.push_str(&format!("## {who}\n\n"));
        for tool in tool_views(m) {
            let outcome = match tool.ok {
                Some(true) => "ok",
                Some(false) => "failed",
                None => "not finished",
            };
            out.push_str(&format!(
                "<details><summary>Tool <code>{}</code> ({outcome})</summary>\n\n",
                tool.name
            ));
            out.push_str(&fenced(
                "json",
                &serde_json::to_string_pretty(&tool.input).unwrap_or_default(),
            ));
            if let Some(text) = &tool.text {
                out.push_str(&fenced("text", text));
            }
            out.push_str("</details>\n\n");
        }
        out.push_str(m.content.trim_end());
        out.push_str("\n\n");
        match m.status.as_str() {
            "interrupted" => out.push_str("_(stopped before the end)_\n\n"),
            "error" => out.push_str("_(the answer failed)_\n\n"),
            _ => {}
        }
    }
    out
}

/// `text` in a fence longer than any run of backticks inside it.
fn fenced(lang: &str, text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    format!("{fence}{lang}\n{}\n{fence}\n\n", text.trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_plain_ascii() {
        assert_eq!(
            file_stem("Haaland or Salah? ⚽"),
            "fpl-chat-haaland-or-salah-soccer"
        );
        assert_eq!(file_stem("\"; rm -rf /"), "fpl-chat-rm-rf");
        assert_eq!(file_stem("Ødegaard"), "fpl-chat-odegaard");
        assert_eq!(file_stem("???"), "fpl-chat");
    }

    #[test]
    fn fences_outlast_the_backticks_inside() {
        assert_eq!(fenced("text", "a"), "```text\na\n```\n\n");
        assert_eq!(fenced("text", "x ```` y"), "`````text\nx ```` y\n`````\n\n");
    }
}

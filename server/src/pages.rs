//! What the UI's server functions can do ([`app::backend::Backend`]), on the store and the
//! chat service. Every call is scoped to the viewer: another owner's conversation is `None`
//! (the page answers 404) and is never renamed or deleted.
use async_trait::async_trait;
use uuid::Uuid;

use app::backend::{Backend, BackendError, Viewer};
use app::types::{
    ConversationSummary, ConversationView, MessageStatus, MessageView, ToolCallView, UserMessage,
};

use crate::chat::tool_loop::{ToolCallRecord, ToolResultRecord};
use crate::chat::{store_owner, ChatError, ChatService};
use crate::store::{self, Store, Title};

/// How many conversations the list shows.
const LIST_LIMIT: u32 = 100;

pub struct PagesBackend {
    pub store: Store,
    pub chat: ChatService,
}

fn unavailable(e: impl std::fmt::Display) -> BackendError {
    tracing::error!(error = %e, "store failure in a server function");
    BackendError::new("The service is unavailable right now. Please try again shortly.")
}

#[async_trait]
impl Backend for PagesBackend {
    async fn list_conversations(
        &self,
        viewer: Viewer,
    ) -> Result<Vec<ConversationSummary>, BackendError> {
        let rows = self
            .store
            .list_conversations(store_owner(viewer.owner), LIST_LIMIT)
            .await
            .map_err(unavailable)?;
        Ok(rows
            .into_iter()
            .map(|c| ConversationSummary {
                id: c.id,
                title: c.title.as_str().to_string(),
                updated_at: c.updated_at,
                message_count: c.message_count,
            })
            .collect())
    }

    async fn conversation(
        &self,
        viewer: Viewer,
        id: Uuid,
    ) -> Result<Option<ConversationView>, BackendError> {
        let Some(conversation) = self
            .store
            .get_conversation(store_owner(viewer.owner), id)
            .await
            .map_err(unavailable)?
        else {
            return Ok(None);
        };
        let messages = self.store.list_messages(id).await.map_err(unavailable)?;
        Ok(Some(ConversationView {
            id,
            title: conversation.title.as_str().to_string(),
            messages: messages.into_iter().map(message_view).collect(),
        }))
    }

    async fn rename_conversation(
        &self,
        viewer: Viewer,
        id: Uuid,
        title: String,
    ) -> Result<bool, BackendError> {
        let title = Title::parse(&title).map_err(|e| BackendError::new(e.to_string()))?;
        self.store
            .rename_conversation(store_owner(viewer.owner), id, &title)
            .await
            .map_err(unavailable)
    }

    async fn delete_conversation(&self, viewer: Viewer, id: Uuid) -> Result<bool, BackendError> {
        self.store
            .delete_conversation(store_owner(viewer.owner), id)
            .await
            .map_err(unavailable)
    }

    async fn send_message(
        &self,
        viewer: Viewer,
        conversation_id: Option<Uuid>,
        message: UserMessage,
    ) -> Result<Uuid, BackendError> {
        self.chat
            .run_to_end(viewer, conversation_id, message.as_str())
            .await
            .map_err(|e| match e {
                ChatError::InvalidInput(m) => BackendError::new(m),
                ChatError::NotFound => BackendError::new("No such conversation."),
                ChatError::RateLimited { message, .. } => BackendError::new(message),
                ChatError::Internal(e) => unavailable(e),
            })
    }
}

/// A stored message as the page shows it: tool calls joined with their results.
fn message_view(m: store::Message) -> MessageView {
    let calls: Vec<ToolCallRecord> = serde_json::from_value(m.tool_calls).unwrap_or_default();
    let results: Vec<ToolResultRecord> = serde_json::from_value(m.tool_results).unwrap_or_default();
    let tools = calls
        .into_iter()
        .map(|call| {
            let result = results.iter().find(|r| r.tool_use_id == call.id);
            ToolCallView {
                ok: Some(result.is_some_and(|r| r.ok)),
                duration_ms: result.map(|r| r.duration_ms),
                id: call.id,
                name: call.name,
                input: call.input,
            }
        })
        .collect();
    let status = match m.status {
        store::MessageStatus::Complete => MessageStatus::Complete,
        store::MessageStatus::Interrupted => MessageStatus::Interrupted,
        store::MessageStatus::Error => MessageStatus::Error,
    };
    let error = match (status, m.error_code.as_deref()) {
        (MessageStatus::Error, Some("tool_depth_exceeded")) => None, // the text says so
        (MessageStatus::Error, _) => {
            Some("The assistant could not finish this answer.".to_string())
        }
        _ => None,
    };
    MessageView {
        id: m.id,
        role: m.role.as_str().to_string(),
        content: m.content,
        tools,
        status,
        error,
    }
}

//! What the UI's server functions can do ([`app::backend::Backend`]), on the store and the
//! chat service. Every call is scoped to the viewer: another owner's conversation is `None`
//! (the page answers 404) and is never renamed or deleted.
use async_trait::async_trait;
use serde::Deserialize;
use uuid::Uuid;

use std::sync::Arc;

use app::backend::{Backend, BackendError, SignedIn, Viewer};
use app::types::{
    AccountView, Ask, ConversationSummary, ConversationView, MessageStatus, MessageView, Owner,
    SearchHitView, ShareView, ToolCallView,
};

use crate::accounts::{self, AccountError, Accounts};
use crate::chat::ChatService;
use crate::http::cookies::{set_cookie, CookieIdentity, CookieKeys};
use crate::llm::{ToolCallRecord, ToolResultRecord};
use crate::store::{self, thread, SearchQuery, ShareToken, Store, StoreError, Title};

/// How many conversations the list shows.
const LIST_LIMIT: u32 = 100;

pub struct PagesBackend {
    /// Where the answers' FPL data comes from, as the page names it.
    pub data_source: String,
    pub store: Store,
    pub chat: ChatService,
    pub accounts: Arc<Accounts>,
    pub cookie_keys: CookieKeys,
}

impl PagesBackend {
    /// The account and the session cookie of a sign-up or log-in.
    fn signed_in(&self, viewer: &Viewer, signed_in: accounts::SignedIn) -> SignedIn {
        let session = CookieIdentity::Session(signed_in.session);
        SignedIn {
            account: account_view(&signed_in.user),
            set_cookie: set_cookie(session, &self.cookie_keys, viewer.https),
        }
    }
}

fn account_failure(e: AccountError) -> BackendError {
    let status = match &e {
        AccountError::Invalid(_) => 400,
        AccountError::WrongCredentials => 401,
        AccountError::TooManyAttempts(_) => 429,
        AccountError::Unavailable => 503,
    };
    let mut error = BackendError::with_status(status, e.to_string());
    if let AccountError::TooManyAttempts(wait) = e {
        error.retry_after = Some(wait);
    }
    error
}

fn account_view(user: &store::User) -> AccountView {
    AccountView {
        email: user.email.as_str().to_string(),
        tier: user.tier,
    }
}

fn anonymous_of(viewer: &Viewer) -> Option<Uuid> {
    match viewer.owner {
        Owner::Anonymous(id) => Some(id),
        Owner::User(_) => None,
    }
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
        self.store
            .list_conversations(viewer.owner, LIST_LIMIT)
            .await
            .map_err(unavailable)
    }

    async fn conversation(
        &self,
        viewer: Viewer,
        id: Uuid,
    ) -> Result<Option<ConversationView>, BackendError> {
        // Asked before the messages are read: an answer stored meanwhile is among them.
        let answering = self.chat.answering(viewer.owner, id).await;
        let Some(conversation) = self
            .store
            .get_conversation(viewer.owner, id)
            .await
            .map_err(unavailable)?
        else {
            return Ok(None);
        };
        let messages = self.store.list_messages(id).await.map_err(unavailable)?;
        let answering = answering
            .map(|turn| turn.id)
            .filter(|turn| !messages.iter().any(|m| m.id == *turn));
        let branch = thread::branch(&messages, conversation.leaf_seq);
        Ok(Some(ConversationView {
            id,
            answering,
            title: conversation.title.as_str().to_string(),
            messages: branch
                .into_iter()
                .map(|(m, versions)| MessageView {
                    versions,
                    ..message_view(m)
                })
                .collect(),
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
            .rename_conversation(viewer.owner, id, &title)
            .await
            .map_err(unavailable)
    }

    async fn delete_conversation(&self, viewer: Viewer, id: Uuid) -> Result<bool, BackendError> {
        let deleted = self
            .store
            .delete_conversation(viewer.owner, id)
            .await
            .map_err(unavailable)?;
        if deleted {
            self.chat.forget(id).await;
        }
        Ok(deleted)
    }

    async fn restore_conversation(&self, viewer: Viewer, id: Uuid) -> Result<bool, BackendError> {
        self.store
            .restore_conversation(viewer.owner, id)
            .await
            .map_err(unavailable)
    }

    async fn search(
        &self,
        viewer: Viewer,
        query: String,
    ) -> Result<Vec<SearchHitView>, BackendError> {
        let query = SearchQuery::parse(&query).map_err(|e| match e {
            StoreError::Invalid(why) => BackendError::new(why),
            other => unavailable(other),
        })?;
        self.store
            .search(viewer.owner, &query)
            .await
            .map_err(unavailable)
    }

    async fn share(
        &self,
        viewer: Viewer,
        id: Uuid,
        create: bool,
    ) -> Result<Option<ShareView>, BackendError> {
        let share = if create {
            self.store.share_conversation(viewer.owner, id).await
        } else {
            self.store.share_of(viewer.owner, id).await
        };
        let Some(share) = share.map_err(unavailable)? else {
            return Ok(None);
        };
        let shown = self.store.branch_messages(id, share.through_seq).await;
        Ok(Some(ShareView {
            path: format!("/s/{}", share.token.as_str()),
            messages: shown.map_err(unavailable)?.len() as i64,
        }))
    }

    async fn show_version(
        &self,
        viewer: Viewer,
        id: Uuid,
        message: Uuid,
    ) -> Result<bool, BackendError> {
        let shown = self
            .store
            .show_version(viewer.owner, id, message)
            .await
            .map_err(unavailable)?;
        if shown {
            // The branch shown moved back: the cached context is of another branch.
            self.chat.forget(id).await;
        }
        Ok(shown)
    }

    async fn revoke_share(&self, viewer: Viewer, id: Uuid) -> Result<bool, BackendError> {
        self.store
            .revoke_share(viewer.owner, id)
            .await
            .map_err(unavailable)
    }

    async fn shared(&self, token: String) -> Result<Option<ConversationView>, BackendError> {
        let Some(token) = ShareToken::parse(&token) else {
            return Ok(None);
        };
        let Some(shared) = self.store.shared(&token).await.map_err(unavailable)? else {
            return Ok(None);
        };
        Ok(Some(ConversationView {
            // Not the conversation's id: nothing on a shared page names it.
            id: Uuid::nil(),
            title: shared.title,
            messages: shared.messages.iter().map(message_view).collect(),
            answering: None,
        }))
    }

    async fn send_message(
        &self,
        viewer: Viewer,
        conversation_id: Option<Uuid>,
        ask: Ask,
    ) -> Result<Uuid, BackendError> {
        self.chat
            .run_to_end(viewer, conversation_id, ask)
            .await
            .map_err(|e| {
                let mut error = BackendError::with_status(e.status(), e.to_string());
                error.retry_after = e.retry_after_secs();
                error
            })
    }

    async fn sign_up(
        &self,
        viewer: Viewer,
        email: String,
        password: String,
    ) -> Result<SignedIn, BackendError> {
        let signed_in = self
            .accounts
            .sign_up(anonymous_of(&viewer), &email, &password, viewer.ip)
            .await
            .map_err(account_failure)?;
        Ok(self.signed_in(&viewer, signed_in))
    }

    async fn log_in(
        &self,
        viewer: Viewer,
        email: String,
        password: String,
    ) -> Result<SignedIn, BackendError> {
        let signed_in = self
            .accounts
            .log_in(anonymous_of(&viewer), &email, &password, viewer.ip)
            .await
            .map_err(account_failure)?;
        if let Some(old) = viewer.session {
            // Rotation: the session of an earlier log-in ends.
            let _ = self.accounts.log_out(old).await;
        }
        Ok(self.signed_in(&viewer, signed_in))
    }

    async fn log_out(&self, viewer: Viewer) -> Result<String, BackendError> {
        if let Some(session) = viewer.session {
            self.accounts
                .log_out(session)
                .await
                .map_err(account_failure)?;
        }
        let anonymous = CookieIdentity::Anonymous(Uuid::new_v4());
        Ok(set_cookie(anonymous, &self.cookie_keys, viewer.https))
    }

    fn data_source(&self) -> String {
        self.data_source.clone()
    }

    async fn account(&self, viewer: Viewer) -> Result<Option<AccountView>, BackendError> {
        let Owner::User(id) = viewer.owner else {
            return Ok(None);
        };
        let user = self.store.find_user(id).await.map_err(unavailable)?;
        Ok(user.as_ref().map(account_view))
    }
}

/// A stored message's tool calls joined with their results.
pub(crate) fn tool_views(m: &store::Message) -> Vec<ToolCallView> {
    // Read from the stored JSON in place (no copy of it first), and each result's text and
    // picture moved into its card: a long conversation's page carries megabytes of them.
    let calls = Vec::<ToolCallRecord>::deserialize(&m.tool_calls).unwrap_or_default();
    let mut results = Vec::<ToolResultRecord>::deserialize(&m.tool_results).unwrap_or_default();
    calls
        .into_iter()
        .map(|call| {
            let result = results
                .iter()
                .position(|r| r.tool_use_id == call.id)
                .map(|i| results.swap_remove(i));
            let (ok, duration_ms, text, visual) = match result {
                Some(r) => (r.ok, Some(r.duration_ms), Some(r.content), r.visual),
                None => (false, None, None, None),
            };
            ToolCallView {
                ok: Some(ok),
                duration_ms,
                text,
                visual,
                id: call.id,
                name: call.name,
                input: call.input,
            }
        })
        .collect()
}

/// A stored message as the page shows it: tool calls joined with their results.
fn message_view(m: &store::Message) -> MessageView {
    let tools = tool_views(m);
    let status = m.status;
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
        content: m.content.clone(),
        tools,
        status,
        error,
        versions: None,
    }
}

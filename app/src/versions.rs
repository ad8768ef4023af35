//! What can be done to a message of the conversation: edit a question and send it again,
//! answer a question again (regenerate), and page through a message's versions ("‹ 2 / 3 ›").
//!
//! Each is a plain form, so it works before hydration (edit and regenerate post to
//! `send_message`, the pager to `show_version`, and the server sends the browser back to the
//! conversation); once hydrated, the page takes the submit and streams the new answer instead.
use leptos::prelude::*;
use uuid::Uuid;

use crate::types::Versions;

/// A new version of the conversation that the page streams: a question edited, or answered
/// again.
#[derive(Debug, Clone, PartialEq)]
pub enum Branch {
    Edit { of: Uuid, text: String },
    Regenerate { of: Uuid, text: String },
}

impl Branch {
    /// The question the new version replaces or answers again (shown from there on).
    pub fn of(&self) -> Uuid {
        match self {
            Branch::Edit { of, .. } | Branch::Regenerate { of, .. } => *of,
        }
    }
}

/// What a message's actions tell the page.
#[derive(Clone, Copy)]
pub struct Actions {
    /// The conversation on screen.
    pub conversation: Uuid,
    /// Starts a new version (streamed).
    pub branch: Callback<Branch>,
    /// Another version is shown now: the page loads the conversation again.
    pub shown: Callback<()>,
    /// An answer is streaming or the rate limit is counting down: nothing can be sent.
    pub blocked: Signal<bool>,
}

/// "Edit" under a question: opens a box with the question to change and send again.
#[component]
pub fn EditQuestion(actions: Actions, question: Uuid, text: String) -> impl IntoView {
    let details = NodeRef::<leptos::html::Details>::new();
    let draft = RwSignal::new(text.clone());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let text = draft.get_untracked();
        if text.trim().is_empty() || actions.blocked.get_untracked() {
            return;
        }
        if let Some(d) = details.get_untracked() {
            let _ = d.remove_attribute("open");
        }
        actions.branch.run(Branch::Edit { of: question, text });
    };
    view! {
        <details class="edit-question" node_ref=details>
            <summary class="btn-small">"Edit"</summary>
            <form method="post" action="/api/chat/send" on:submit=submit>
                <input type="hidden" name="conversation_id" value=actions.conversation.to_string()/>
                <input type="hidden" name="edit" value=question.to_string()/>
                <label class="sr-only" for=format!("edit-{question}")>"Edited question"</label>
                <textarea
                    id=format!("edit-{question}")
                    name="message"
                    rows="3"
                    maxlength="8000"
                    required
                    class="edit-input"
                    prop:value=move || draft.get()
                    on:input=move |ev| draft.set(event_target_value(&ev))
                >{text}</textarea>
                <div class="edit-buttons">
                    <button type="submit" class="edit-send"
                        disabled=move || actions.blocked.get()>"Send"</button>
                </div>
            </form>
        </details>
    }
}

/// "Regenerate" under the last answer: answers its question again; the old answer stays as an
/// earlier version.
#[component]
pub fn Regenerate(actions: Actions, question: Uuid, text: String) -> impl IntoView {
    let text = StoredValue::new(text);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !actions.blocked.get_untracked() {
            actions.branch.run(Branch::Regenerate {
                of: question,
                text: text.get_value(),
            });
        }
    };
    view! {
        <form method="post" action="/api/chat/send" class="inline" on:submit=submit>
            <input type="hidden" name="conversation_id" value=actions.conversation.to_string()/>
            <input type="hidden" name="regenerate" value=question.to_string()/>
            <button type="submit" class="regenerate btn-small" disabled=move || actions.blocked.get()>
                "↻ Regenerate"
            </button>
        </form>
    }
}

/// "‹ 2 / 3 ›": the message's place among its versions, and buttons to the one before and
/// after.
#[component]
pub fn VersionPager(actions: Actions, versions: Versions) -> impl IntoView {
    let show = ServerAction::<crate::chat::ShowVersion>::new();
    Effect::new(move |_| {
        if let Some(Ok(true)) = show.value().get() {
            actions.shown.run(());
        }
    });
    let step = move |target: Option<Uuid>, label: &'static str, glyph: &'static str| {
        view! {
            <ActionForm action=show attr:class="inline">
                <input type="hidden" name="conversation_id" value=actions.conversation.to_string()/>
                <input type="hidden" name="message_id" value=target.map(|t| t.to_string()).unwrap_or_default()/>
                <button type="submit" class="btn-small" aria-label=label
                    disabled=move || target.is_none() || actions.blocked.get() || show.pending().get()>
                    {glyph}
                </button>
            </ActionForm>
        }
    };
    view! {
        <span class="version-pager">
            {step(versions.previous, "Previous version", "‹")}
            <span class="version-number">
                <span class="sr-only">"Version "</span>
                {format!("{} / {}", versions.number, versions.count)}
            </span>
            {step(versions.next, "Next version", "›")}
        </span>
    }
}

//! How one message looks: the user's text, or the assistant's sanitized Markdown with a card
//! for each tool it ran (running / done / failed, with its duration, its picture when the
//! server made one, and its raw input and answer one click away).
use leptos::prelude::*;

use crate::markdown;
use crate::types::{MessageStatus, MessageView, ToolCallView};

/// The bubble's outer classes: (row, bubble). Short class names of style/tailwind.css (one
/// per repeated element: a long conversation's page carries each of them hundreds of times).
fn frame(is_user: bool) -> (&'static str, &'static str) {
    if is_user {
        ("flex justify-end", "bubble-user")
    } else {
        ("flex justify-start", "bubble-assistant")
    }
}

/// A message bubble that changes: a streaming answer (or the question above it) re-renders in
/// place as its signals change. A stored message is a [`StoredBubble`].
#[component]
pub fn MessageBubble(
    #[prop(into)] role: String,
    #[prop(into)] content: Signal<String>,
    #[prop(into)] tools: Signal<Vec<ToolCallView>>,
    #[prop(into)] status: Signal<MessageStatus>,
    #[prop(into, optional)] error: Signal<Option<String>>,
    #[prop(into, optional)] streaming: Signal<bool>,
) -> impl IntoView {
    let is_user = role == "user";
    let (row, bubble) = frame(is_user);
    let body = move || {
        if is_user {
            view! { <div class="user-text">{content.get()}</div> }.into_any()
        } else {
            view! { <Answer content/> }.into_any()
        }
    };
    let copy_answer = move || {
        (!is_user && !streaming.get() && content.with(|c| !c.is_empty())).then(|| {
            view! { <CopyButton text=content label="Copy answer" class="copy-answer mt-2"/> }
        })
    };
    view! {
        <div class=row data-role=role.clone() data-streaming=move || streaming.get().to_string()>
            <div class=bubble>
                <Show when=move || tools.with(|t| !t.is_empty())>
                    <div class="mb-2 flex flex-col gap-1">
                        <For
                            each=move || tools.get()
                            key=|t| (t.id.clone(), t.ok, t.duration_ms, t.visual.is_some())
                            children=|t| view! { <ToolCard tool=t/> }
                        />
                    </div>
                </Show>
                {body}
                {copy_answer}
                <Show when=move || status.get() == MessageStatus::Interrupted>
                    {stopped_note()}
                </Show>
                {move || error.get().map(error_note)}
            </div>
        </div>
    }
}

/// A stored message's bubble: what [`MessageBubble`] shows for a finished message, drawn once
/// from its values (no signal, memo or keyed list per row: a long conversation's page has
/// hundreds of rows, and the conversation is drawn again as a whole when it changes).
#[component]
pub fn StoredBubble(message: MessageView) -> impl IntoView {
    let MessageView {
        role,
        content,
        tools,
        status,
        error,
        ..
    } = message;
    let is_user = role == "user";
    let (row, bubble) = frame(is_user);
    let tools = (!tools.is_empty()).then(|| {
        let cards = tools
            .into_iter()
            .map(|tool| view! { <ToolCard tool/> })
            .collect_view();
        view! { <div class="mb-2 flex flex-col gap-1">{cards}</div> }
    });
    let copy_answer = (!is_user && !content.is_empty()).then(|| {
        let text = Signal::stored(content.clone());
        view! { <CopyButton text label="Copy answer" class="copy-answer mt-2"/> }
    });
    let body = if is_user {
        view! { <div class="user-text">{content}</div> }.into_any()
    } else {
        let blocks = markdown::blocks(&content)
            .into_iter()
            .map(block)
            .collect_view();
        view! { <div class="prose-chat">{blocks}</div> }.into_any()
    };
    view! {
        <div class=row data-role=role data-streaming="false">
            <div class=bubble>
                {tools}
                {body}
                {copy_answer}
                {(status == MessageStatus::Interrupted).then(stopped_note)}
                {error.map(error_note)}
            </div>
        </div>
    }
}

/// "Stopped." under an answer the user (or a lost connection) interrupted.
fn stopped_note() -> impl IntoView {
    view! { <p class="note-stopped" data-status="interrupted">"Stopped."</p> }
}

/// Why a turn failed, under its answer.
fn error_note(text: String) -> impl IntoView {
    view! { <p class="note-error" role="alert" data-status="error">{text}</p> }
}

/// An answer's Markdown, block by block ([`markdown::blocks`]): while it streams only the last
/// block is rendered again.
#[component]
fn Answer(content: Signal<String>) -> impl IntoView {
    let blocks = Memo::new(move |_| content.with(|c| markdown::blocks(c)));
    view! {
        <div class="prose-chat">
            <For
                each=move || blocks.get().into_iter().enumerate()
                key=|block| block.clone()
                children=|(_, text)| block(text)
            />
        </div>
    }
}

/// One Markdown block, rendered; code and tables get their own copy button.
fn block(text: String) -> impl IntoView {
    let html = markdown::render(&text);
    let copy = markdown::is_copyable(&text).then(|| {
        let source = Signal::stored(text);
        view! { <CopyButton text=source label="Copy" class="copy-block"/> }
    });
    view! {
        <div class="md-block">
            <div inner_html=html></div>
            {copy}
        </div>
    }
}

/// A button that copies `text` (Markdown) and says so for two seconds.
#[component]
fn CopyButton(text: Signal<String>, label: &'static str, class: &'static str) -> impl IntoView {
    let copied = RwSignal::new(false);
    view! {
        <button
            type="button"
            class=format!("{class} btn-copy")
            on:click=move |_| {
                crate::clipboard::copy(&text.get_untracked());
                copied.set(true);
                let _ = set_timeout(move || copied.set(false), std::time::Duration::from_secs(2));
            }
        >
            {move || if copied.get() { "Copied" } else { label }}
        </button>
    }
}

/// One tool call: its name, its input, and whether it is running, done or failed; its
/// picture (made by the server, see `ToolCallView::visual`) below it, and the raw input and
/// answer one click away.
#[component]
pub fn ToolCard(tool: ToolCallView) -> impl IntoView {
    // The card's colours follow `data-state` (style/tailwind.css).
    let (state, label) = match tool.ok {
        None => ("running", "running…".to_string()),
        Some(true) => ("done", format!("{} ms", tool.duration_ms.unwrap_or(0))),
        Some(false) => (
            "failed",
            format!("failed · {} ms", tool.duration_ms.unwrap_or(0)),
        ),
    };
    let args = summarize_input(&tool.input);
    // A failed call says why on the card itself (the text is the tool's error).
    let failure = (tool.ok == Some(false)).then(|| {
        let why = tool
            .text
            .clone()
            .filter(|t| !t.trim().is_empty())
            .unwrap_or_else(|| "The tool gave no reason.".into());
        view! { <p class="tool-error">{why}</p> }
    });
    let result = tool.text.clone().map(|t| {
        view! {
            <p class="tool-heading">"Result"</p>
            <pre class="tool-result">{t}</pre>
        }
    });
    let visual = tool.visual.clone().map(|html| {
        view! { <div class="tool-visual" data-tool=tool.name.clone() inner_html=html></div> }
    });
    view! {
        <div class="tool-card-wrap">
            <details
                class="tool-card"
                data-tool=tool.name.clone()
                data-state=state
            >
                <summary>
                    <span class="tool-name">{tool.name.clone()}</span>
                    <span class="tool-args">{args}</span>
                    <span class="tool-state">{label}</span>
                </summary>
                <p class="tool-heading">"Input"</p>
                <pre class="tool-input">
                    {serde_json::to_string_pretty(&tool.input).unwrap_or_default()}
                </pre>
                {result}
            </details>
            {failure}
            {visual}
        </div>
    }
}

/// "playerQuery: Haaland, includeHistory: true" — the input on one short line.
fn summarize_input(input: &serde_json::Value) -> String {
    let Some(map) = input.as_object() else {
        return String::new();
    };
    let line = map
        .iter()
        .map(|(k, v)| match v {
            serde_json::Value::String(s) => format!("{k}: {s}"),
            other => format!("{k}: {other}"),
        })
        .collect::<Vec<_>>()
        .join(", ");
    if line.chars().count() > 80 {
        format!("{}…", line.chars().take(80).collect::<String>())
    } else {
        line
    }
}

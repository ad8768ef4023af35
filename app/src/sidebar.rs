//! The conversation list: titles, newest first, "New chat", rename, delete and export, with the
//! server functions behind them. Only the caller's own conversations are ever listed or touched.
use leptos::prelude::*;
use uuid::Uuid;

use crate::types::ConversationSummary;

#[server(endpoint = "conversations/list")]
pub async fn list_conversations() -> Result<Vec<ConversationSummary>, ServerFnError> {
    let (backend, viewer) = crate::backend::current().await?;
    backend
        .list_conversations(viewer)
        .await
        .map_err(|e| ServerFnError::new(e.message))
}

#[server(endpoint = "conversations/rename")]
pub async fn rename_conversation(id: Uuid, title: String) -> Result<bool, ServerFnError> {
    let (backend, viewer) = crate::backend::current().await?;
    backend
        .rename_conversation(viewer, id, title)
        .await
        .map_err(|e| ServerFnError::new(e.message))
}

#[server(endpoint = "conversations/delete")]
pub async fn delete_conversation(id: Uuid) -> Result<bool, ServerFnError> {
    let (backend, viewer) = crate::backend::current().await?;
    let deleted = backend
        .delete_conversation(viewer, id)
        .await
        .map_err(|e| ServerFnError::new(e.message))?;
    // A form post without JavaScript lands back on a fresh chat.
    leptos_axum::redirect("/");
    Ok(deleted)
}

/// The conversation as Markdown, for download.
#[server(endpoint = "conversations/export")]
pub async fn export_conversation(id: Uuid) -> Result<String, ServerFnError> {
    let (backend, viewer) = crate::backend::current().await?;
    let conversation = backend
        .conversation(viewer, id)
        .await
        .map_err(|e| ServerFnError::new(e.message))?
        .ok_or_else(|| ServerFnError::new("conversation not found"))?;
    let mut out = format!("# {}\n\n", conversation.title);
    for m in conversation.messages {
        let who = if m.role == "user" { "You" } else { "FPL Chat" };
        out.push_str(&format!("**{who}:**\n\n{}\n\n", m.content));
        for t in m.tools {
            out.push_str(&format!("> tool `{}` {}\n\n", t.name, t.input));
        }
    }
    Ok(out)
}

/// The shared list resource; `refresh()` after a turn, a rename or a delete.
#[derive(Clone, Copy)]
pub struct Conversations {
    version: RwSignal<u32>,
    pub list: Resource<Result<Vec<ConversationSummary>, ServerFnError>>,
}

impl Conversations {
    pub fn provide() {
        let version = RwSignal::new(0);
        let list = Resource::new(move || version.get(), |_| list_conversations());
        provide_context(Conversations { version, list });
    }

    pub fn get() -> Self {
        expect_context::<Conversations>()
    }

    pub fn refresh(&self) {
        self.version.update(|v| *v += 1);
    }
}

#[component]
pub fn Sidebar(#[prop(into)] current: Signal<Option<Uuid>>, open: RwSignal<bool>) -> impl IntoView {
    let conversations = Conversations::get();
    view! {
        <aside
            id="sidebar"
            class=move || {
                format!(
                    "{} fixed inset-y-0 left-0 z-20 w-72 flex-col border-r border-slate-200 bg-slate-50 dark:border-slate-800 dark:bg-slate-900 md:static md:flex",
                    if open.get() { "flex" } else { "hidden" },
                )
            }
        >
            <div class="flex items-center justify-between p-3">
                <a href="/" class="text-lg font-semibold text-emerald-700 dark:text-emerald-400">"FPL Chat"</a>
                <button
                    type="button"
                    class="rounded p-1 text-slate-500 md:hidden"
                    aria-label="Close the conversation list"
                    on:click=move |_| open.set(false)
                >
                    "✕"
                </button>
            </div>
            <a
                href="/"
                id="new-chat"
                class="mx-3 mb-2 rounded-lg border border-slate-300 px-3 py-2 text-center text-sm hover:bg-white dark:border-slate-700 dark:hover:bg-slate-800"
            >
                "+ New chat"
            </a>
            <nav class="flex-1 overflow-y-auto px-2 pb-4" aria-label="Conversations">
                <Transition fallback=|| view! { <p class="p-2 text-sm text-slate-500">"Loading…"</p> }>
                    {move || {
                        conversations
                            .list
                            .get()
                            .map(|result| match result {
                                Ok(list) if list.is_empty() => {
                                    view! { <p class="p-2 text-sm text-slate-500">"No conversations yet."</p> }
                                        .into_any()
                                }
                                Ok(list) => {
                                    view! {
                                        <ul id="conversation-list" class="flex flex-col gap-0.5">
                                            {list
                                                .into_iter()
                                                .map(|c| view! { <ConversationItem summary=c current/> })
                                                .collect_view()}
                                        </ul>
                                    }
                                        .into_any()
                                }
                                Err(e) => {
                                    view! { <p class="p-2 text-sm text-red-600">{e.to_string()}</p> }.into_any()
                                }
                            })
                    }}
                </Transition>
            </nav>
            <crate::account::AccountPanel/>
        </aside>
    }
}

#[component]
fn ConversationItem(summary: ConversationSummary, current: Signal<Option<Uuid>>) -> impl IntoView {
    let id = summary.id;
    let conversations = Conversations::get();
    let delete = ServerAction::<DeleteConversation>::new();
    let navigate = leptos_router::hooks::use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(_)) = delete.value().get() {
            conversations.refresh();
            if current.get_untracked() == Some(id) {
                navigate("/", Default::default());
            }
        }
    });
    let active = move || current.get() == Some(id);
    view! {
        <li
            class=move || {
                format!(
                    "group flex items-center rounded-md text-sm {}",
                    if active() { "bg-slate-200 dark:bg-slate-800" } else { "hover:bg-slate-100 dark:hover:bg-slate-800/60" },
                )
            }
            data-conversation=id.to_string()
        >
            <a href=format!("/c/{id}") class="flex-1 truncate px-2 py-2" title=summary.title.clone()>
                {summary.title.clone()}
            </a>
            <ActionForm action=delete attr:class="opacity-60 group-hover:opacity-100">
                <input type="hidden" name="id" value=id.to_string()/>
                <button
                    type="submit"
                    class="px-2 text-slate-500 hover:text-red-600"
                    title="Delete this conversation"
                    aria-label=format!("Delete {}", summary.title)
                >
                    "×"
                </button>
            </ActionForm>
        </li>
    }
}

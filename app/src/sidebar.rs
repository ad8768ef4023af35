//! The conversation list: titles, newest first, "New chat", search, rename in place, and delete
//! with undo, with the server functions behind them. Only the caller's own conversations are
//! ever listed, found or touched.
use leptos::prelude::*;
use uuid::Uuid;

use crate::account::server_message;
use crate::types::{ConversationSummary, SearchHitView};

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
        .map_err(crate::backend::failed)
}

#[server(endpoint = "conversations/delete")]
pub async fn delete_conversation(id: Uuid) -> Result<bool, ServerFnError> {
    let (backend, viewer) = crate::backend::current().await?;
    let deleted = backend
        .delete_conversation(viewer, id)
        .await
        .map_err(|e| ServerFnError::new(e.message))?;
    // A form post without JavaScript lands back on a fresh chat.
    crate::backend::redirect_form_post("/");
    Ok(deleted)
}

#[server(endpoint = "conversations/restore")]
pub async fn restore_conversation(id: Uuid) -> Result<bool, ServerFnError> {
    let (backend, viewer) = crate::backend::current().await?;
    backend
        .restore_conversation(viewer, id)
        .await
        .map_err(crate::backend::failed)
}

/// The caller's conversations whose titles or messages have the words of `query`.
#[server(endpoint = "conversations/search")]
pub async fn search_conversations(query: String) -> Result<Vec<SearchHitView>, ServerFnError> {
    let (backend, viewer) = crate::backend::current().await?;
    backend
        .search(viewer, query)
        .await
        .map_err(crate::backend::failed)
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

/// A conversation deleted a moment ago, which "Undo" brings back.
#[derive(Clone, Debug, PartialEq)]
struct Deleted {
    id: Uuid,
    title: String,
    /// It was the conversation on screen: undo goes back to it.
    was_open: bool,
}

/// How long the "Undo" offer stays on screen (the server keeps a deleted conversation for ten
/// minutes).
const UNDO_SHOWN_MS: u64 = 10_000;

#[component]
pub fn Sidebar(#[prop(into)] current: Signal<Option<Uuid>>, open: RwSignal<bool>) -> impl IntoView {
    let conversations = Conversations::get();
    let query = RwSignal::new(String::new());
    let deleted = RwSignal::new(None::<Deleted>);
    view! {
        <div
            id="sidebar-backdrop"
            class=move || format!("fixed inset-0 z-10 bg-slate-900/40 md:hidden {}", if open.get() { "" } else { "hidden" })
            aria-hidden="true"
            on:click=move |_| open.set(false)
        ></div>
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
                <a href="/" class="text-lg font-semibold text-emerald-800 dark:text-emerald-400">"FPL Chat"</a>
                <button
                    type="button"
                    id="close-sidebar"
                    class="rounded p-1 text-slate-600 md:hidden dark:text-slate-300"
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
                title="New chat (Ctrl+Shift+O)"
            >
                "+ New chat"
            </a>
            <SearchBox query/>
            <nav class="flex-1 overflow-y-auto px-2 pb-4" aria-label="Conversations">
                <Show
                    when=move || !query.with(|q| q.trim().is_empty())
                    fallback=move || view! {
                        <Transition fallback=|| view! { <p class="p-2 text-sm text-slate-600 dark:text-slate-400">"Loading…"</p> }>
                            {move || {
                                conversations
                                    .list
                                    .get()
                                    .map(|result| match result {
                                        Ok(list) if list.is_empty() => {
                                            view! { <p class="p-2 text-sm text-slate-600 dark:text-slate-400">"No conversations yet."</p> }
                                                .into_any()
                                        }
                                        Ok(list) => {
                                            view! {
                                                <ul id="conversation-list" class="flex flex-col gap-0.5">
                                                    {list
                                                        .into_iter()
                                                        .map(|c| view! { <ConversationItem summary=c current deleted/> })
                                                        .collect_view()}
                                                </ul>
                                            }
                                                .into_any()
                                        }
                                        Err(e) => {
                                            view! { <p class="p-2 text-sm text-red-700 dark:text-red-400">{e.to_string()}</p> }.into_any()
                                        }
                                    })
                            }}
                        </Transition>
                    }
                >
                    <SearchResults query/>
                </Show>
            </nav>
            <UndoDelete deleted/>
            <crate::account::AccountPanel/>
        </aside>
    }
}

/// The search field; `query` follows what is typed (Esc clears it).
#[component]
fn SearchBox(query: RwSignal<String>) -> impl IntoView {
    view! {
        <form role="search" class="mx-3 mb-2" on:submit=|ev| ev.prevent_default()>
            <label for="search" class="sr-only">"Search conversations"</label>
            <input
                id="search"
                type="search"
                maxlength="200"
                placeholder="Search conversations (Ctrl+K)"
                autocomplete="off"
                class="w-full rounded-lg border border-slate-300 bg-white px-3 py-1.5 text-sm focus:border-emerald-600 focus:outline-none dark:border-slate-700 dark:bg-slate-950"
                prop:value=move || query.get()
                on:input=move |ev| query.set(event_target_value(&ev))
                on:keydown=move |ev| {
                    if ev.key() == "Escape" && !query.with_untracked(String::is_empty) {
                        ev.stop_propagation();
                        query.set(String::new());
                    }
                }
            />
        </form>
    }
}

/// What matches the query: each conversation with the words in context. Asks the server a
/// quarter of a second after the typing stops.
#[component]
fn SearchResults(query: RwSignal<String>) -> impl IntoView {
    let settled = RwSignal::new(query.get_untracked());
    let pending = StoredValue::new_local(None::<TimeoutHandle>);
    Effect::new(move |_| {
        let q = query.get();
        pending.update_value(|p| {
            if let Some(h) = p.take() {
                h.clear();
            }
        });
        let handle = set_timeout(
            move || settled.set(q),
            std::time::Duration::from_millis(250),
        );
        pending.set_value(handle.ok());
    });
    let results = Resource::new(
        move || settled.get(),
        |q| async move {
            if q.trim().is_empty() {
                Ok(Vec::new())
            } else {
                search_conversations(q).await
            }
        },
    );
    view! {
        <Transition fallback=|| view! { <p class="p-2 text-sm text-slate-600 dark:text-slate-400">"Searching…"</p> }>
            {move || results.get().map(|found| match found {
                Ok(hits) if hits.is_empty() => view! {
                    <p id="search-empty" class="p-2 text-sm text-slate-600 dark:text-slate-400">
                        {format!("No conversation matches “{}”.", settled.get_untracked().trim())}
                    </p>
                }.into_any(),
                Ok(hits) => view! {
                    <ul id="search-results" class="flex flex-col gap-0.5" aria-label="Search results">
                        {hits.into_iter().map(|h| view! { <SearchHit hit=h/> }).collect_view()}
                    </ul>
                }.into_any(),
                Err(e) => view! {
                    <p class="p-2 text-sm text-red-700 dark:text-red-400" role="alert">{server_message(e)}</p>
                }.into_any(),
            })}
        </Transition>
    }
}

#[component]
fn SearchHit(hit: SearchHitView) -> impl IntoView {
    view! {
        <li data-conversation=hit.id.to_string()>
            <a href=format!("/c/{}", hit.id) class="block rounded-md px-2 py-1.5 text-sm hover:bg-slate-100 dark:hover:bg-slate-800/60">
                <span class="block truncate font-medium">{hit.title}</span>
                {hit.snippet.map(|s| view! {
                    <span class="search-snippet line-clamp-2 text-xs text-slate-600 dark:text-slate-400">{s}</span>
                })}
            </a>
        </li>
    }
}

/// "Deleted “…” · Undo" for a few seconds after a delete.
#[component]
fn UndoDelete(deleted: RwSignal<Option<Deleted>>) -> impl IntoView {
    let conversations = Conversations::get();
    let navigate = leptos_router::hooks::use_navigate();
    // Each delete restarts the clock; only the newest one is offered.
    Effect::new(move |_| {
        if let Some(shown) = deleted.get() {
            let _ = set_timeout(
                move || {
                    if deleted.get_untracked().as_ref() == Some(&shown) {
                        deleted.set(None);
                    }
                },
                std::time::Duration::from_millis(UNDO_SHOWN_MS),
            );
        }
    });
    let undo = Action::new(move |d: &Deleted| {
        let d = d.clone();
        let navigate = navigate.clone();
        async move {
            if let Ok(true) = restore_conversation(d.id).await {
                deleted.set(None);
                conversations.refresh();
                if d.was_open {
                    navigate(&format!("/c/{}", d.id), Default::default());
                }
            }
        }
    });
    view! {
        <div role="status" aria-live="polite" class="px-3">
            {move || deleted.get().map(|d| view! {
                <div id="undo-delete" class="mb-2 flex items-center gap-2 rounded-lg bg-slate-800 px-3 py-2 text-sm text-white dark:bg-slate-200 dark:text-slate-900">
                    <span class="flex-1 truncate">{format!("Deleted “{}”", d.title)}</span>
                    <button type="button" id="undo" class="font-semibold underline"
                        on:click=move |_| { undo.dispatch(d.clone()); }>"Undo"</button>
                </div>
            })}
        </div>
    }
}

#[component]
fn ConversationItem(
    summary: ConversationSummary,
    current: Signal<Option<Uuid>>,
    deleted: RwSignal<Option<Deleted>>,
) -> impl IntoView {
    let id = summary.id;
    let conversations = Conversations::get();
    let delete = ServerAction::<DeleteConversation>::new();
    let navigate = leptos_router::hooks::use_navigate();
    let title = RwSignal::new(summary.title.clone());
    let editing = RwSignal::new(false);
    Effect::new(move |_| {
        if let Some(Ok(true)) = delete.value().get() {
            let was_open = current.get_untracked() == Some(id);
            deleted.set(Some(Deleted {
                id,
                title: title.get_untracked(),
                was_open,
            }));
            conversations.refresh();
            if was_open {
                navigate("/", Default::default());
            }
        }
    });
    let rename = Action::new(move |new: &String| {
        let new = new.clone();
        async move {
            if let Ok(true) = rename_conversation(id, new.clone()).await {
                conversations.refresh();
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
            <Show
                when=move || editing.get()
                fallback=move || view! {
                    <a href=format!("/c/{id}") class="flex-1 truncate px-2 py-2"
                        aria-current=move || active().then_some("page")
                        title=move || title.get()>
                        {move || title.get()}
                    </a>
                }
            >
                <RenameField title editing on_save=move |new: String| {
                    title.set(new.clone());
                    rename.dispatch(new);
                }/>
            </Show>
            <button
                type="button"
                class="rename px-1.5 text-slate-600 opacity-70 hover:text-emerald-700 group-hover:opacity-100 dark:text-slate-400"
                title="Rename"
                aria-label=move || format!("Rename {}", title.get())
                on:click=move |_| editing.set(true)
            >
                "✎"
            </button>
            <ActionForm action=delete attr:class="flex">
                <input type="hidden" name="id" value=id.to_string()/>
                <button
                    type="submit"
                    class="delete px-2 text-slate-600 opacity-70 hover:text-red-700 group-hover:opacity-100 dark:text-slate-400"
                    title="Delete"
                    aria-label=move || format!("Delete {}", title.get())
                >
                    "×"
                </button>
            </ActionForm>
        </li>
    }
}

/// The title as an input: Enter or leaving the field saves, Esc cancels.
#[component]
fn RenameField(
    title: RwSignal<String>,
    editing: RwSignal<bool>,
    on_save: impl Fn(String) + Clone + 'static,
) -> impl IntoView {
    let input = NodeRef::<leptos::html::Input>::new();
    Effect::new(move |_| {
        if let Some(el) = input.get() {
            let _ = el.focus();
            el.select();
        }
    });
    let finish = move |save: bool| {
        if !editing.get_untracked() {
            return;
        }
        editing.set(false);
        let new = input
            .get_untracked()
            .map(|el| el.value().trim().to_string())
            .unwrap_or_default();
        if save && !new.is_empty() && new != title.get_untracked() {
            on_save(new);
        }
    };
    let on_blur = finish.clone();
    view! {
        <input
            node_ref=input
            class="rename-input mx-1 my-1 min-w-0 flex-1 rounded border border-emerald-600 bg-white px-1.5 py-1 text-sm dark:bg-slate-950"
            aria-label="Conversation title"
            maxlength="120"
            value=title.get_untracked()
            on:keydown=move |ev| match ev.key().as_str() {
                "Enter" => {
                    ev.prevent_default();
                    finish(true);
                }
                "Escape" => {
                    ev.stop_propagation();
                    finish(false);
                }
                _ => {}
            }
            on:blur=move |_| on_blur(true)
        />
    }
}

//! The chat page: the conversation's messages (rendered on the server), the composer, and the
//! streaming of new answers. Before hydration the composer is a plain form that posts to
//! [`send_message`], which runs the whole turn on the server and redirects to the
//! conversation; once hydrated, answers stream in over `POST /api/chat` with a card per tool
//! call and a stop button.
use leptos::prelude::*;
use leptos_router::hooks::use_location;
use uuid::Uuid;

use crate::deferred::Deferred;
use crate::follow::Follow;
use crate::message::{MessageBubble, StoredBubble};
use crate::share::ConversationMenu;
use crate::sidebar::{Conversations, Sidebar};
use crate::theme::ThemeToggle;
use crate::types::{ChatRequest, ConversationView, MessageStatus, MessageView, ToolCallView};
use crate::versions::{Actions, Branch, EditQuestion, Regenerate, VersionPager};

/// One conversation, when it is the caller's (`None` otherwise: the page answers 404).
#[server(endpoint = "conversations/get")]
pub async fn get_conversation(id: Uuid) -> Result<Option<ConversationView>, ServerFnError> {
    let (backend, viewer) = crate::backend::current().await?;
    backend
        .conversation(viewer, id)
        .await
        .map_err(|e| ServerFnError::new(e.message))
}

/// Where the answers' FPL data comes from, for the composer's footer.
#[server(endpoint = "about/data-source")]
pub async fn data_source() -> Result<String, ServerFnError> {
    let (backend, _) = crate::backend::current().await?;
    Ok(backend.data_source())
}

/// The composer's form post when the page is not hydrated (and an edited question's, or a
/// regenerate button's): runs one whole turn on the server, then redirects to the
/// conversation page, which shows the answer.
#[server(endpoint = "chat/send")]
pub async fn send_message(
    #[server(default)] message: String,
    conversation_id: Option<String>,
    edit: Option<String>,
    regenerate: Option<String>,
) -> Result<(), ServerFnError> {
    use crate::backend::{failed, BackendError};
    let (conversation_id, edit, regenerate) = (
        form_uuid(conversation_id)?,
        form_uuid(edit)?,
        form_uuid(regenerate)?,
    );
    let ask = crate::types::Ask::parse(&message, conversation_id, edit, regenerate)
        .map_err(|e| failed(BackendError::with_status(e.status(), e.to_string())))?;
    let (backend, viewer) = crate::backend::current().await?;
    let id = backend
        .send_message(viewer, conversation_id, ask)
        .await
        .map_err(failed)?;
    leptos_axum::redirect(&format!("/c/{id}"), false);
    Ok(())
}

/// Shows another version of a message (the "‹ 2 / 3 ›" buttons); a form post without
/// JavaScript is sent back to the conversation.
#[server(endpoint = "conversations/version")]
pub async fn show_version(conversation_id: Uuid, message_id: Uuid) -> Result<bool, ServerFnError> {
    let (backend, viewer) = crate::backend::current().await?;
    let shown = backend
        .show_version(viewer, conversation_id, message_id)
        .await
        .map_err(crate::backend::failed)?;
    crate::backend::redirect_form_post(&format!("/c/{conversation_id}"));
    Ok(shown)
}

/// An optional id from a form field ("" is none).
#[cfg(feature = "ssr")]
fn form_uuid(raw: Option<String>) -> Result<Option<Uuid>, ServerFnError> {
    match raw.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(raw) => Uuid::parse_str(raw)
            .map(Some)
            .map_err(|_| ServerFnError::new("an id in the form is not a UUID")),
    }
}

/// A turn on this page: the question and the answer as it streams in.
#[derive(Clone, Copy)]
struct Turn {
    question: StoredValue<String>,
    /// Followed from its log (the page was opened mid-answer): its question is among the
    /// loaded messages, not shown again.
    followed: bool,
    /// The turn's conversation, once the `meta` event said it (where "Stop" is sent).
    conversation: RwSignal<Option<Uuid>>,
    /// "Stop" was pressed (sent as soon as the conversation is known).
    stop_asked: RwSignal<bool>,
    /// The stored question's id, once the `meta` event said it.
    question_id: RwSignal<Option<Uuid>>,
    answer: RwSignal<String>,
    tools: RwSignal<Vec<ToolCallView>>,
    status: RwSignal<MessageStatus>,
    error: RwSignal<Option<String>>,
    streaming: RwSignal<bool>,
}

impl Turn {
    fn new(question: String, followed: bool) -> Self {
        Self {
            question: StoredValue::new(question),
            followed,
            conversation: RwSignal::new(None),
            stop_asked: RwSignal::new(false),
            question_id: RwSignal::new(None),
            answer: RwSignal::new(String::new()),
            tools: RwSignal::new(Vec::new()),
            status: RwSignal::new(MessageStatus::Complete),
            error: RwSignal::new(None),
            streaming: RwSignal::new(true),
        }
    }
}

/// A question shortened for the header, until the stored title is loaded.
fn short_title(question: &str) -> String {
    let line = question.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() <= 60 {
        line
    } else {
        format!("{}…", line.chars().take(59).collect::<String>())
    }
}

/// The conversation id in the URL (`/c/{id}`), if any.
fn id_from_path(path: &str) -> Option<Uuid> {
    path.strip_prefix("/c/")
        .and_then(|rest| Uuid::parse_str(rest.trim_end_matches('/')).ok())
}

#[component]
pub fn ChatPage() -> impl IntoView {
    let location = use_location();
    let route_id = Memo::new(move |_| id_from_path(&location.pathname.get()));
    // What is loaded from the server. It follows the URL, except when this page itself moved
    // the URL to the conversation a turn just created: the turn on screen is newer than
    // what the server would return (a stopped answer is stored a moment after the stop).
    let load_key = RwSignal::new(route_id.get_untracked());
    let own_navigation = StoredValue::new(None::<Uuid>);
    Effect::new(move |_| {
        let id = route_id.get();
        let own = own_navigation.get_value();
        own_navigation.set_value(None);
        if own.is_some() && own == id {
            return;
        }
        if load_key.get_untracked() != id {
            load_key.set(id);
        }
    });
    let conversation = Resource::new(
        move || load_key.get(),
        |id| async move {
            match id {
                Some(id) => get_conversation(id).await,
                None => Ok(None),
            }
        },
    );
    // Here rather than in `App`: a shared page (`/s/…`) has no conversation list to load.
    Conversations::provide();
    let conversations = Conversations::get();
    let source = Resource::new(|| (), |_| data_source());
    let sidebar_open = RwSignal::new(false);
    let turns = RwSignal::new(Vec::<Turn>::new());
    // An edited or regenerated question: the loaded messages are shown up to it (the new
    // version streams below them) until the conversation is loaded again.
    let cut = RwSignal::new(None::<Uuid>);
    let draft = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    // The view follows new text while the reader is at the bottom of the messages.
    let messages_ref = NodeRef::<leptos::html::Section>::new();
    let content_ref = NodeRef::<leptos::html::Div>::new();
    let follow = Follow::new(messages_ref, content_ref);
    // Seconds until the rate limit lets the next question through (counts down to 0).
    let cooldown = RwSignal::new(0u64);
    // Today's token budget after the last turn, (remaining, limit), when the server said.
    let budget = RwSignal::new(None::<(u64, u64)>);
    // The conversation's context as the server last sent it: (tokens, limit, compressed).
    let context = RwSignal::new(None::<(u64, u64, bool)>);
    #[cfg(feature = "hydrate")]
    let abort = StoredValue::new_local(None::<AbortHandle>);
    #[cfg(feature = "hydrate")]
    let navigate = StoredValue::new_local(leptos_router::hooks::use_navigate());

    #[cfg(not(feature = "hydrate"))]
    let _ = (conversations, own_navigation);

    let page = StoredValue::new(Owner::current().unwrap_or_default());
    let composer = NodeRef::<leptos::html::Textarea>::new();
    // Loads the conversation on screen again (one this page started is not loaded yet).
    let reload = Callback::new(move |_| {
        let id = route_id.get_untracked();
        if load_key.get_untracked() == id {
            conversation.refetch();
        } else {
            load_key.set(id);
        }
    });
    // Starts a turn on screen and on the server: a question (`request.message`), an edited
    // question or a regenerated answer; or follows the answer being written (`request` none).
    let launch = move |question: String, request: Option<ChatRequest>| {
        // The turn's signals belong to the page, not to whatever was clicked (a suggested
        // question's button goes away as the turn starts, and would take them with it).
        let followed = request.is_none();
        let turn = page.with_value(|page| page.with(|| Turn::new(question, followed)));
        follow.restart();
        turns.update(|t| t.push(turn));
        busy.set(true);
        #[cfg(feature = "hydrate")]
        let call = match &request {
            Some(request) => Some(crate::stream::Call::Ask(request)),
            None => load_key.get_untracked().map(crate::stream::Call::Follow),
        };
        #[cfg(feature = "hydrate")]
        let Some(call) = call
        else {
            return;
        };
        #[cfg(feature = "hydrate")]
        start_turn(
            turn,
            call,
            Gate {
                busy,
                cooldown,
                budget,
                context,
            },
            abort,
            Refresh {
                conversations,
                conversation: reload,
            },
            move |id: Uuid| {
                own_navigation.set_value(Some(id));
                navigate.with_value(|n| {
                    n(
                        &format!("/c/{id}"),
                        leptos_router::NavigateOptions {
                            replace: true,
                            scroll: false,
                            ..Default::default()
                        },
                    )
                })
            },
        );
        #[cfg(not(feature = "hydrate"))]
        let _ = request;
    };
    let send = move || {
        let text = draft.get_untracked();
        if busy.get_untracked() || cooldown.get_untracked() > 0 || text.trim().is_empty() {
            return;
        }
        draft.set(String::new());
        if let Some(el) = composer.get_untracked() {
            let _ = el.focus();
        }
        let request = ChatRequest {
            message: text.clone(),
            conversation_id: route_id.get_untracked(),
            ..Default::default()
        };
        launch(text.trim().to_string(), Some(request));
    };
    // A new version of a question or answer: what followed the question leaves the screen
    // and the new version streams in its place.
    let branch = Callback::new(move |branch: Branch| {
        if busy.get_untracked() || cooldown.get_untracked() > 0 {
            return;
        }
        let of = branch.of();
        let streamed = turns.with_untracked(|t| {
            t.iter()
                .position(|turn| turn.question_id.get_untracked() == Some(of))
        });
        match streamed {
            Some(i) => turns.update(|t| t.truncate(i)),
            None => {
                turns.set(Vec::new());
                cut.set(Some(of));
            }
        }
        let mut request = ChatRequest {
            conversation_id: route_id.get_untracked(),
            ..Default::default()
        };
        let question = match branch {
            Branch::Edit { of, text } => {
                request.edit = Some(of);
                request.message = text.clone();
                text.trim().to_string()
            }
            Branch::Regenerate { of, text } => {
                request.regenerate = Some(of);
                text
            }
        };
        launch(question, Some(request));
    });
    // The message actions of the conversation on screen.
    let blocked = Signal::derive(move || busy.get() || cooldown.get() != 0);
    let actions = move || {
        route_id.get().map(|conversation| Actions {
            conversation,
            branch,
            shown: reload,
            blocked,
        })
    };
    // The conversation loaded for the URL replaces the turns streamed on this page (they are
    // in it now); an answer still being written in it is followed.
    Effect::new(move |_| {
        let (loaded, answering) = match conversation.get() {
            Some(Ok(Some(c))) => (Some(c.id), c.answering.is_some()),
            Some(Ok(None)) => (None, false),
            _ => return,
        };
        if loaded == load_key.get_untracked() {
            turns.set(Vec::new());
            cut.set(None);
            if answering && !busy.get_untracked() {
                launch(String::new(), None);
            }
        }
    });
    // A suggested question from the empty page, sent as if typed.
    let ask = Callback::new(move |question: String| {
        draft.set(question);
        send();
    });
    let focus_composer = move || {
        if let Some(el) = composer.get_untracked() {
            let _ = el.focus();
        }
    };
    // "Stop" asks the server, which ends the answer wherever it is written (and so the
    // stream); before the conversation is known, as soon as it is.
    let stop = move || {
        let streaming = turns.with_untracked(|t| t.last().copied());
        if let Some(turn) = streaming.filter(|t| t.streaming.get_untracked()) {
            turn.stop_asked.set(true);
            if let Some(conversation) = turn.conversation.get_untracked() {
                #[cfg(feature = "hydrate")]
                ask_stop(conversation, abort);
                #[cfg(not(feature = "hydrate"))]
                let _ = conversation;
            }
        }
        focus_composer();
    };
    // A turn that failed gives its question back to the composer (unless something new was
    // typed meanwhile), so nothing is lost; "Retry" sends it again.
    Effect::new(move |_| {
        let failed = turns.with(|t| {
            t.last()
                .filter(|t| !t.streaming.get() && t.error.get().is_some())
                .map(|t| t.question.get_value())
        });
        if let Some(question) = failed {
            if draft.with_untracked(String::is_empty) {
                draft.set(question);
            }
        }
    });
    // After moving to another conversation the focus goes to its title (screen readers
    // announce where they are); not on the first load.
    let title_ref = NodeRef::<leptos::html::H1>::new();
    Effect::new(move |first: Option<()>| {
        location.pathname.track();
        if first.is_some() && !busy.get_untracked() {
            if let Some(h1) = title_ref.get_untracked() {
                let _ = h1.focus();
            }
        }
    });
    // The phone's conversation list closes when the page moves to another conversation.
    Effect::new(move |_| {
        location.pathname.track();
        sidebar_open.set(false);
    });
    keyboard_shortcuts(sidebar_open, busy, stop);

    let title = move || {
        // `with`, not `get`: the title alone, without a copy of every message.
        conversation
            .with(|r| r.as_ref()?.as_ref().ok()?.as_ref().map(|c| c.title.clone()))
            .or_else(|| {
                turns.with(|t| t.first().map(|t| t.question.with_value(|q| short_title(q))))
            })
            .unwrap_or_else(|| "New chat".into())
    };

    view! {
        <Sidebar current=Signal::derive(move || route_id.get()) open=sidebar_open/>
        <main class="flex min-w-0 flex-1 flex-col">
            <header class="flex items-center gap-2 border-b border-slate-200 px-3 py-2 dark:border-slate-800">
                <button
                    type="button"
                    id="menu"
                    class="rounded-md p-2 text-slate-600 dark:text-slate-400 md:hidden"
                    aria-label="Show conversations"
                    on:click=move |_| sidebar_open.update(|o| *o = !*o)
                >
                    "☰"
                </button>
                <Transition fallback=|| ()>
                    <h1 id="conversation-title" node_ref=title_ref tabindex="-1" class="flex-1 truncate font-medium focus:outline-none">{title}</h1>
                </Transition>
                {move || route_id.get().map(|id| view! { <ConversationMenu id/> })}
                <ThemeToggle/>
            </header>
            <section node_ref=messages_ref id="messages" class="relative flex-1 overflow-y-auto px-3 py-4 sm:px-6"
                aria-label="Messages" on:scroll=move |_| follow.scrolled()>
                <div node_ref=content_ref class="mx-auto flex max-w-3xl flex-col gap-4">
                    <Transition fallback=|| view! { <p class="text-slate-600 dark:text-slate-400">"Loading…"</p> }>
                        {move || {
                            conversation
                                .get()
                                .map(|result| {
                                    let shown = Shown {
                                        welcome: turns.with(Vec::is_empty),
                                        cut: cut.get(),
                                        last: turns.with(Vec::is_empty),
                                        actions: actions(),
                                    };
                                    let key = load_key.get();
                                    Deferred::new(move || render_history(key, result, shown, ask))
                                })
                        }}
                    </Transition>
                    <For
                        each=move || turns.get().into_iter().enumerate()
                        // A new version of turn `i` (regenerated, edited) takes its place: its
                        // own signals tell it apart, so it is drawn anew and streams.
                        key=|(i, turn)| (*i, turn.answer)
                        children=move |(i, turn)| {
                            // Once the turn is over, its question can be edited and (the last
                            // one) answered again.
                            let finished = move || {
                                turn.question_id
                                    .get()
                                    .filter(|_| !turn.streaming.get())
                                    .zip(actions())
                            };
                            let edit = move || finished().filter(|_| !turn.followed).map(|(id, actions)| view! {
                                <EditQuestion actions question=id text=turn.question.get_value()/>
                            });
                            let regenerate = move || {
                                let last = turns.with(|t| t.len() == i + 1);
                                finished().filter(|_| last).map(|(id, actions)| view! {
                                    <div class="-mt-3 flex justify-start">
                                        <Regenerate actions question=id text=turn.question.get_value()/>
                                    </div>
                                })
                            };
                            let question = (!turn.followed).then(|| view! {
                                <MessageBubble
                                    role="user"
                                    content=Signal::derive(move || turn.question.get_value())
                                    tools=Signal::derive(Vec::new)
                                    status=Signal::derive(|| MessageStatus::Complete)
                                />
                            });
                            view! {
                                {question}
                                {edit}
                                <MessageBubble
                                    role="assistant"
                                    content=turn.answer
                                    tools=turn.tools
                                    status=turn.status
                                    error=turn.error
                                    streaming=turn.streaming
                                />
                                {regenerate}
                                <Show when=move || turn.error.get().is_some() && !turn.streaming.get()>
                                    <div class="-mt-2 flex justify-start">
                                        <button type="button"
                                            class="retry rounded-md border border-slate-300 px-3 py-1 text-sm text-slate-700 hover:bg-slate-100 disabled:opacity-50 dark:border-slate-600 dark:text-slate-200 dark:hover:bg-slate-800"
                                            disabled=move || busy.get() || cooldown.get() != 0
                                            on:click=move |_| ask.run(turn.question.get_value())>
                                            "Retry"
                                        </button>
                                    </div>
                                </Show>
                            }
                        }
                    />
                </div>
                <Show when=move || !follow.at_bottom.get()>
                    <button type="button" id="jump-to-latest"
                        class="sticky bottom-2 left-full mr-2 block rounded-full bg-slate-800 px-3 py-1.5 text-sm text-white shadow-lg hover:bg-slate-900 dark:bg-slate-200 dark:text-slate-900"
                        on:click=move |_| follow.jump()>
                        "↓ Jump to latest"
                    </button>
                </Show>
            </section>
            <p id="answer-status" class="sr-only" role="status" aria-live="polite">
                {move || turns.with(|t| t.last().map(|t| answer_status(*t))).unwrap_or_default()}
            </p>
            <form
                id="composer"
                method="post"
                action="/api/chat/send"
                class="border-t border-slate-200 p-3 dark:border-slate-800"
                on:submit=move |ev| {
                    ev.prevent_default();
                    send();
                }
            >
                <div class="mx-auto flex max-w-3xl items-end gap-2">
                    <input
                        type="hidden"
                        name="conversation_id"
                        value=move || route_id.get().map(|id| id.to_string()).unwrap_or_default()
                    />
                    <textarea
                        node_ref=composer
                        id="message-input"
                        name="message"
                        rows="2"
                        maxlength="8000"
                        required
                        placeholder="Ask about players, teams, fixtures, gameweeks…"
                        aria-label="Your question"
                        disabled=move || cooldown.get() != 0
                        class="min-h-[3rem] flex-1 resize-none rounded-xl border border-slate-300 bg-white px-3 py-2 focus:border-emerald-500 focus:outline-none dark:border-slate-700 dark:bg-slate-900"
                        prop:value=move || draft.get()
                        on:input=move |ev| draft.set(event_target_value(&ev))
                        on:keydown=move |ev| {
                            if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
                                ev.prevent_default();
                                send();
                            }
                        }
                    ></textarea>
                    <Show
                        when=move || busy.get()
                        fallback=move || {
                            view! {
                                <button
                                    type="submit"
                                    id="send"
                                    disabled=move || cooldown.get() != 0
                                    class="rounded-xl bg-emerald-700 px-4 py-3 font-medium text-white hover:bg-emerald-800 disabled:opacity-50"
                                >
                                    "Send"
                                </button>
                            }
                        }
                    >
                        <button
                            type="button"
                            id="stop"
                            class="rounded-xl bg-slate-700 px-4 py-3 font-medium text-white hover:bg-slate-800"
                            on:click=move |_| stop()
                        >
                            "Stop"
                        </button>
                    </Show>
                </div>
                <Show when=move || cooldown.get() != 0>
                    <p id="cooldown" role="status" class="mx-auto mt-1 max-w-3xl text-sm text-amber-700 dark:text-amber-400">
                        {move || format!("Rate limit reached: you can ask again in {} s.", cooldown.get())}
                    </p>
                </Show>
                <Show when=move || context.get().is_some()>
                    <div id="context-meter" class="mx-auto mt-1 flex max-w-3xl items-center gap-2 text-xs text-slate-600 dark:text-slate-400"
                        title="How much of this conversation's token budget the model sees">
                        <div class="h-1.5 w-24 overflow-hidden rounded bg-slate-200 dark:bg-slate-700">
                            <div class="h-full bg-emerald-500"
                                style=move || {
                                    let (tokens, limit, _) = context.get().unwrap_or((0, 1, false));
                                    format!("width: {}%", (tokens * 100 / limit.max(1)).min(100))
                                }></div>
                        </div>
                        <span data-tokens=move || context.get().map(|c| c.0).unwrap_or(0)>
                            {move || {
                                let (tokens, limit, _) = context.get().unwrap_or_default();
                                format!("context {} / {} tokens", thousands(tokens), thousands(limit))
                            }}
                        </span>
                        <Show when=move || context.get().is_some_and(|c| c.2)>
                            <span id="context-compressed">
                                "· older turns were summarized for the model; the whole conversation stays here"
                            </span>
                        </Show>
                    </div>
                </Show>
                <Show when=move || budget.get().is_some_and(|(left, limit)| left * 5 < limit)>
                    <p id="budget-low" role="status" class="mx-auto mt-1 max-w-3xl text-sm text-amber-700 dark:text-amber-400">
                        {move || {
                            let (left, limit) = budget.get().unwrap_or_default();
                            format!("Today's token budget is running low: {left} of {limit} tokens left (renews at midnight UTC).")
                        }}
                    </p>
                </Show>
                <p id="composer-help" class="mx-auto mt-1 max-w-3xl text-xs text-slate-600 dark:text-slate-400">
                    "Enter sends, Shift+Enter starts a new line, Esc stops an answer. "
                    <Suspense fallback=|| ()>
                        <span id="data-source">
                            {move || source.get().and_then(Result::ok).map(|s| format!("Data: {s}."))}
                        </span>
                    </Suspense>
                </p>
            </form>
        </main>
    }
}

/// What the status region announces about the newest answer (a screen reader hears this,
/// not the answer's text again and again).
fn answer_status(turn: Turn) -> String {
    if let Some(error) = turn.error.get() {
        return format!("The answer failed: {error}");
    }
    match (turn.streaming.get(), turn.status.get()) {
        (true, _) => "Answering…".into(),
        (false, MessageStatus::Interrupted) => "Answer stopped.".into(),
        (false, _) => "Answer complete.".into(),
    }
}

/// The page's keys: Esc stops an answer, else closes the phone's conversation list;
/// Ctrl+K (⌘K) searches the conversations; Ctrl+Shift+O (⌘⇧O) starts a new chat;
/// Shift+Esc puts the cursor in the composer.
fn keyboard_shortcuts(
    sidebar_open: RwSignal<bool>,
    busy: RwSignal<bool>,
    stop: impl Fn() + 'static,
) {
    #[cfg(feature = "hydrate")]
    {
        let navigate = leptos_router::hooks::use_navigate();
        let focus = |id: &str| {
            if let Some(el) = document().get_element_by_id(id) {
                use wasm_bindgen::JsCast;
                if let Ok(el) = el.dyn_into::<web_sys::HtmlElement>() {
                    let _ = el.focus();
                }
            }
        };
        let handle = window_event_listener(leptos::ev::keydown, move |ev| {
            let command = ev.ctrl_key() || ev.meta_key();
            match ev.key().as_str() {
                "Escape" if ev.shift_key() => {
                    ev.prevent_default();
                    focus("message-input");
                }
                "Escape" if busy.get_untracked() => stop(),
                "Escape" => sidebar_open.set(false),
                "k" | "K" if command && !ev.shift_key() => {
                    ev.prevent_default();
                    sidebar_open.set(true);
                    // At once where the list is visible, so that fast typing lands in the
                    // search; again once it is shown (on a phone it was hidden).
                    focus("search");
                    let _ = request_animation_frame(move || focus("search"));
                }
                "o" | "O" if command && ev.shift_key() => {
                    ev.prevent_default();
                    navigate("/", Default::default());
                    let _ = request_animation_frame(move || focus("message-input"));
                }
                _ => {}
            }
        });
        on_cleanup(move || handle.remove());
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (sidebar_open, busy, stop);
}

/// The questions offered on an empty chat (one click sends one).
const SUGGESTIONS: [&str; 4] = [
    "How is Haaland doing?",
    "Who has the easiest fixtures for the next five gameweeks?",
    "Show the league table",
    "Who should I captain this gameweek?",
];

/// How the loaded messages are shown.
struct Shown {
    /// The page has no turn of its own: an empty chat shows the suggested questions.
    welcome: bool,
    /// Shown up to this message (an edited or regenerated question; see `ChatPage`).
    cut: Option<Uuid>,
    /// The loaded messages end the conversation on screen (the last answer may be redone).
    last: bool,
    /// The message actions (none before the conversation exists).
    actions: Option<Actions>,
}

/// The stored messages of the conversation in the URL, or a 404 when it is not the caller's.
fn render_history(
    load_key: Option<Uuid>,
    result: Result<Option<ConversationView>, ServerFnError>,
    shown: Shown,
    ask: Callback<String>,
) -> AnyView {
    match (load_key, result) {
        (None, _) if !shown.welcome => ().into_any(),
        (None, _) => view! {
            <div id="welcome" class="py-10 text-center text-slate-600 dark:text-slate-400">
                <p class="text-lg font-medium text-slate-700 dark:text-slate-300">"Ask about Fantasy Premier League"</p>
                <ul class="mx-auto mt-4 flex max-w-xl flex-wrap justify-center gap-2 text-sm" aria-label="Suggested questions">
                    {SUGGESTIONS.iter().map(|q| view! {
                        <li>
                            <button type="button" class="suggestion rounded-full border border-slate-300 px-3 py-1.5 text-slate-700 hover:border-emerald-600 hover:bg-emerald-50 dark:border-slate-700 dark:text-slate-200 dark:hover:bg-slate-800"
                                on:click=move |_| ask.run(q.to_string())>{*q}</button>
                        </li>
                    }).collect_view()}
                </ul>
            </div>
        }
        .into_any(),
        (Some(_), Ok(Some(c))) => {
            // Without JavaScript the page cannot follow an answer being written: it says so.
            let pending = (c.answering.is_some() && shown.last).then(|| view! {
                <p id="answer-pending" role="status" class="self-start rounded-2xl bg-slate-100 px-4 py-3 text-slate-700 dark:bg-slate-800 dark:text-slate-300">
                    "The answer is being written… Reload the page to see it."
                </p>
            });
            let messages: Vec<MessageView> = c
                .messages
                .into_iter()
                .take_while(|m| Some(m.id) != shown.cut)
                .collect();
            let count = messages.len();
            let mut question = None::<(Uuid, String)>;
            let bubbles = messages
                .into_iter()
                .enumerate()
                .map(|(i, m)| {
                    let is_user = m.role == "user";
                    let asked = question.take();
                    if is_user {
                        question = Some((m.id, m.content.clone()));
                    }
                    let last = shown.last && i + 1 == count;
                    let actions = shown.actions.map(|actions| {
                        message_actions(actions, &m, is_user, asked.filter(|_| last))
                    });
                    view! { <StoredBubble message=m/>{actions} }
                })
                .collect_view();
            view! { {bubbles}{pending} }.into_any()
        }
        (Some(_), Ok(None)) => {
            #[cfg(feature = "ssr")]
            if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
                response.set_status(axum::http::StatusCode::NOT_FOUND);
            }
            view! {
                <div id="not-found" class="py-10 text-center">
                    <p class="text-lg font-medium">"Conversation not found"</p>
                    <a class="text-emerald-700 underline dark:text-emerald-400" href="/">"Start a new chat"</a>
                </div>
            }
            .into_any()
        }
        (Some(_), Err(e)) => view! { <p class="text-red-700 dark:text-red-400" role="alert">{e.to_string()}</p> }.into_any(),
    }
}

/// The row under a loaded message: its versions, "Edit" under a question, "Regenerate" under
/// the last answer (`asked`: its question).
fn message_actions(
    actions: Actions,
    m: &MessageView,
    is_user: bool,
    asked: Option<(Uuid, String)>,
) -> impl IntoView {
    let pager = m
        .versions
        .map(|versions| view! { <VersionPager actions versions/> });
    let edit =
        is_user.then(|| view! { <EditQuestion actions question=m.id text=m.content.clone()/> });
    let regenerate = asked.map(|(question, text)| view! { <Regenerate actions question text/> });
    if pager.is_none() && edit.is_none() && regenerate.is_none() {
        return None;
    }
    let row = if is_user {
        "-mt-3 flex flex-col items-end"
    } else {
        "-mt-3 flex items-center gap-1"
    };
    Some(view! { <div class=row>{pager}{edit}{regenerate}</div> })
}

/// What keeps the composer from sending: an answer streaming, or a rate-limit wait.
#[cfg(feature = "hydrate")]
#[derive(Clone, Copy)]
struct Gate {
    busy: RwSignal<bool>,
    cooldown: RwSignal<u64>,
    budget: RwSignal<Option<(u64, u64)>>,
    context: RwSignal<Option<(u64, u64, bool)>>,
}

/// Counts `cooldown` down from `seconds` to 0, one step a second.
#[cfg(feature = "hydrate")]
fn count_down(cooldown: RwSignal<u64>, seconds: u64) {
    cooldown.set(seconds.max(1));
    let handle = std::rc::Rc::new(std::cell::Cell::new(None::<IntervalHandle>));
    let own = handle.clone();
    let started = set_interval(
        move || {
            let left = cooldown.get_untracked().saturating_sub(1);
            cooldown.set(left);
            if left == 0 {
                if let Some(h) = own.take() {
                    h.clear();
                }
            }
        },
        std::time::Duration::from_secs(1),
    );
    handle.set(started.ok());
}

/// 12345 → "12.3k".
fn thousands(n: u64) -> String {
    if n < 1_000 {
        n.to_string()
    } else {
        format!("{:.1}k", n as f64 / 1_000.0)
    }
}

/// What is loaded again after a turn: the conversation list, and the conversation (after a new
/// version).
#[cfg(feature = "hydrate")]
#[derive(Clone, Copy)]
struct Refresh {
    conversations: Conversations,
    conversation: Callback<()>,
}

/// The abort handle of the answer streaming now.
#[cfg(feature = "hydrate")]
#[derive(Clone)]
struct AbortHandle(crate::stream::Abort);

/// Asks the server to stop the answer in `conversation`; aborts the stream when it could not.
#[cfg(feature = "hydrate")]
fn ask_stop(conversation: Uuid, abort: StoredValue<Option<AbortHandle>, LocalStorage>) {
    leptos::task::spawn_local(async move {
        if !crate::stream::stop(conversation).await {
            abort.with_value(|a| {
                if let Some(a) = a {
                    a.0.abort();
                }
            });
        }
    });
}

#[cfg(feature = "hydrate")]
fn start_turn(
    turn: Turn,
    call: crate::stream::Call<'_>,
    gate: Gate,
    abort: StoredValue<Option<AbortHandle>, LocalStorage>,
    refresh: Refresh,
    show_conversation: impl Fn(Uuid) + 'static,
) {
    let Gate {
        busy,
        cooldown,
        budget,
        context,
    } = gate;
    let spent = std::rc::Rc::new(std::cell::Cell::new(0u64));
    let spent_in = spent.clone();
    use crate::stream::Call;
    use crate::types::ChatEvent;
    let (new_conversation, reload_after) = match &call {
        Call::Ask(request) => (
            request.conversation_id.is_none(),
            // A new version is stored (a stopped one a moment later): the loaded
            // conversation shows it with its versions.
            request.edit.is_some() || request.regenerate.is_some(),
        ),
        // The stored answer replaces the followed one (or shows, when it had ended already).
        Call::Follow(_) => (false, true),
    };
    let on_event = move |event: ChatEvent| match event {
        ChatEvent::Meta {
            conversation_id,
            question_id,
            ..
        } => {
            turn.question_id.set(Some(question_id));
            turn.conversation.set(Some(conversation_id));
            if turn.stop_asked.get_untracked() {
                ask_stop(conversation_id, abort);
            }
            // The address names the conversation as soon as it exists, so that a reload or a
            // shared address during the answer opens it.
            if new_conversation {
                show_conversation(conversation_id);
            }
        }
        ChatEvent::Text { delta } => turn.answer.update(|a| a.push_str(&delta)),
        ChatEvent::ToolCall { id, name, input } => turn.tools.update(|t| {
            t.push(ToolCallView {
                id,
                name,
                input,
                ok: None,
                duration_ms: None,
                text: None,
                visual: None,
            })
        }),
        ChatEvent::ToolResult {
            id,
            ok,
            duration_ms,
            text,
            visual,
            ..
        } => turn.tools.update(|t| {
            if let Some(card) = t.iter_mut().find(|c| c.id == id) {
                card.ok = Some(ok);
                card.duration_ms = Some(duration_ms);
                card.text = text;
                card.visual = visual;
            }
        }),
        // A followed answer that ended before the page asked: the stored one is loaded.
        ChatEvent::Error {
            code: crate::types::ErrorCode::NotFound,
            ..
        } if turn.followed => {}
        ChatEvent::Error { message, .. } => turn.error.set(Some(message)),
        ChatEvent::Done { stop_reason } => {
            if stop_reason == "interrupted" {
                turn.status.set(MessageStatus::Interrupted);
            }
        }
        ChatEvent::Usage {
            input_tokens,
            output_tokens,
        } => spent_in.set(input_tokens + output_tokens),
        ChatEvent::Context {
            tokens,
            limit,
            compressed,
        } => context.set(Some((tokens, limit, compressed))),
    };
    match crate::stream::start(call, on_event) {
        Ok((handle, finished)) => {
            abort.set_value(Some(AbortHandle(handle)));
            leptos::task::spawn_local(async move {
                let limits = finished.await;
                if let Some(wait) = limits.retry_after {
                    count_down(cooldown, wait);
                }
                if let Some((remaining, limit)) = limits.budget {
                    budget.set(Some((remaining.saturating_sub(spent.get()), limit)));
                }
                let aborted = abort.with_value(|a| a.as_ref().is_some_and(|a| a.0.aborted()));
                if aborted {
                    turn.status.set(MessageStatus::Interrupted);
                }
                abort.set_value(None);
                turn.streaming.set(false);
                busy.set(false);
                refresh.conversations.refresh();
                if reload_after && !aborted {
                    refresh.conversation.run(());
                }
            });
        }
        Err(_) => {
            turn.error
                .set(Some("Your browser could not start the request.".into()));
            turn.streaming.set(false);
            busy.set(false);
        }
    }
}

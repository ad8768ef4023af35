//! Sharing and exporting a conversation: the header's "Share" dialog (make, copy, update and
//! revoke a read-only link) and "Export" menu (Markdown or JSON, from
//! `GET /api/conversations/{id}/export`), and the read-only page a link opens (`/s/{token}`),
//! with the server functions behind them.
//!
//! A shared page shows the conversation's title and messages as they were when the link was
//! made, and nothing else: no conversation list, no account, no composer. It is not indexed by
//! search engines and not cached.
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use uuid::Uuid;

use crate::deferred::Deferred;
use crate::message::StoredBubble;
use crate::types::{ConversationView, ShareView};

/// The conversation's share link: made (or moved to the newest message) when `create`,
/// else the existing one, if any.
#[server(endpoint = "conversations/share")]
pub async fn share_conversation(
    id: Uuid,
    create: bool,
) -> Result<Option<ShareView>, ServerFnError> {
    let (backend, viewer) = crate::backend::current().await?;
    backend
        .share(viewer, id, create)
        .await
        .map_err(crate::backend::failed)
}

#[server(endpoint = "conversations/unshare")]
pub async fn revoke_share(id: Uuid) -> Result<bool, ServerFnError> {
    let (backend, viewer) = crate::backend::current().await?;
    backend
        .revoke_share(viewer, id)
        .await
        .map_err(crate::backend::failed)
}

/// What the share link `token` shows.
#[server(endpoint = "shared/get")]
pub async fn get_shared(token: String) -> Result<Option<ConversationView>, ServerFnError> {
    let (backend, _) = crate::backend::current().await?;
    backend.shared(token).await.map_err(crate::backend::failed)
}

/// "Share" and "Export" for the conversation on screen.
#[component]
pub fn ConversationMenu(id: Uuid) -> impl IntoView {
    let open = RwSignal::new(false);
    // The export menu closes once a format is chosen (the download goes on).
    let menu = NodeRef::<leptos::html::Details>::new();
    let close_menu = move |_| {
        if let Some(menu) = menu.get_untracked() {
            let _ = menu.remove_attribute("open");
        }
    };
    let button = "rounded-md px-2 py-1 text-sm text-slate-700 hover:bg-slate-100 dark:text-slate-300 dark:hover:bg-slate-800";
    view! {
        <details id="export-menu" class="relative" node_ref=menu>
            <summary class=format!("{button} cursor-pointer list-none")>"Export"</summary>
            <div on:click=close_menu class="absolute right-0 z-30 mt-1 flex w-44 flex-col rounded-lg border border-slate-200 bg-white py-1 text-sm shadow-lg dark:border-slate-700 dark:bg-slate-900">
                <a id="export-markdown" class="px-3 py-1.5 hover:bg-slate-100 dark:hover:bg-slate-800" download
                    href=format!("/api/conversations/{id}/export?format=markdown")>"Markdown (.md)"</a>
                <a id="export-json" class="px-3 py-1.5 hover:bg-slate-100 dark:hover:bg-slate-800" download
                    href=format!("/api/conversations/{id}/export?format=json")>"JSON, with tool calls"</a>
            </div>
        </details>
        <button type="button" id="share" class=button aria-haspopup="dialog"
            aria-expanded=move || open.get().to_string()
            on:click=move |_| open.update(|o| *o = !*o)>
            "Share"
        </button>
        <Show when=move || open.get()>
            <ShareDialog id open/>
        </Show>
    }
}

/// The link, if there is one, with copy / update / revoke; else a button that makes one.
#[component]
fn ShareDialog(id: Uuid, open: RwSignal<bool>) -> impl IntoView {
    let version = RwSignal::new(0u32);
    let share = Resource::new(
        move || version.get(),
        move |_| share_conversation(id, false),
    );
    let copied = RwSignal::new(false);
    let act = Action::new(move |make: &bool| {
        let make = *make;
        async move {
            let done = if make {
                share_conversation(id, true).await.map(|_| ())
            } else {
                revoke_share(id).await.map(|_| ())
            };
            copied.set(false);
            version.update(|v| *v += 1);
            done
        }
    });
    let full_url = |path: &str| {
        #[cfg(feature = "hydrate")]
        if let Ok(origin) = window().location().origin() {
            return format!("{origin}{path}");
        }
        path.to_string()
    };
    view! {
        <div id="share-dialog" role="dialog" aria-label="Share this conversation"
            class="absolute right-2 top-12 z-30 w-[min(26rem,calc(100vw-1rem))] rounded-xl border border-slate-200 bg-white p-4 text-sm shadow-xl dark:border-slate-700 dark:bg-slate-900"
            on:keydown=move |ev| if ev.key() == "Escape" { ev.stop_propagation(); open.set(false); }>
            <div class="mb-2 flex items-center justify-between">
                <h2 class="font-semibold">"Share a read-only link"</h2>
                <button type="button" aria-label="Close" class="px-1 text-slate-600 dark:text-slate-300" on:click=move |_| open.set(false)>"✕"</button>
            </div>
            <p class="mb-3 text-slate-600 dark:text-slate-400">
                "Anyone with the link can read this conversation as it is now. Later messages, your account and your other conversations stay private."
            </p>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || share.get().map(|found| match found {
                    Ok(Some(link)) => {
                        let url = full_url(&link.path);
                        let copy_url = url.clone();
                        view! {
                            <label for="share-url" class="mb-1 block font-medium">"Link"</label>
                            <div class="flex gap-2">
                                <input id="share-url" readonly value=url
                                    class="min-w-0 flex-1 rounded border border-slate-300 bg-slate-50 px-2 py-1 font-mono text-xs dark:border-slate-600 dark:bg-slate-950"/>
                                <button type="button" id="copy-share" class="rounded bg-emerald-700 px-3 py-1 font-medium text-white hover:bg-emerald-800"
                                    on:click=move |_| { crate::clipboard::copy(&copy_url); copied.set(true); }>
                                    {move || if copied.get() { "Copied" } else { "Copy" }}
                                </button>
                            </div>
                            <p class="mt-1 text-xs text-slate-600 dark:text-slate-400" data-shared-messages=link.messages>
                                {format!("Shows the first {} messages.", link.messages)}
                            </p>
                            <div class="mt-3 flex gap-2">
                                <button type="button" id="update-share" class="rounded border border-slate-300 px-3 py-1 dark:border-slate-600"
                                    on:click=move |_| { act.dispatch(true); }>"Update to the latest message"</button>
                                <button type="button" id="revoke-share" class="rounded border border-red-300 px-3 py-1 text-red-700 dark:border-red-800 dark:text-red-400"
                                    on:click=move |_| { act.dispatch(false); }>"Revoke link"</button>
                            </div>
                        }.into_any()
                    }
                    Ok(None) => view! {
                        <button type="button" id="create-share" class="rounded bg-emerald-700 px-3 py-1.5 font-medium text-white hover:bg-emerald-800"
                            on:click=move |_| { act.dispatch(true); }>"Create link"</button>
                    }.into_any(),
                    Err(e) => view! { <p role="alert" class="text-red-700 dark:text-red-400">{e.to_string()}</p> }.into_any(),
                })}
            </Transition>
        </div>
    }
}

/// `/s/{token}`: a shared conversation, read-only.
#[component]
pub fn SharedPage() -> impl IntoView {
    let params = use_params_map();
    let shared = Resource::new(
        move || params.read().get("token").unwrap_or_default(),
        get_shared,
    );
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        use axum::http::{header, HeaderName, HeaderValue};
        response.insert_header(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response.insert_header(
            HeaderName::from_static("x-robots-tag"),
            HeaderValue::from_static("noindex, nofollow"),
        );
    }
    view! {
        <main id="shared" class="flex min-w-0 flex-1 flex-col overflow-y-auto">
            <header class="flex items-center gap-3 border-b border-slate-200 px-4 py-2 dark:border-slate-800">
                <a href="/" class="font-semibold text-emerald-800 dark:text-emerald-400">"FPL Chat"</a>
                <span class="text-sm text-slate-600 dark:text-slate-400">"Shared conversation · read-only"</span>
                <span class="flex-1"></span>
                <crate::theme::ThemeToggle/>
            </header>
            <div class="mx-auto flex w-full max-w-3xl flex-col gap-4 px-3 py-4 sm:px-6">
                <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                    {move || shared.get().map(|found| match found {
                        // Drawn once (crate::deferred): a shared conversation can be long.
                        Ok(Some(c)) => Deferred::new(move || view! {
                            <h1 id="shared-title" class="text-xl font-semibold">{c.title}</h1>
                            {c.messages.into_iter().map(|message| view! { <StoredBubble message/> }).collect_view()}
                        }).into_any(),
                        Ok(None) => {
                            #[cfg(feature = "ssr")]
                            if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
                                response.set_status(axum::http::StatusCode::NOT_FOUND);
                            }
                            view! {
                                <div id="not-found" class="py-10 text-center">
                                    <p class="text-lg font-medium">"This link does not exist or was revoked."</p>
                                </div>
                            }.into_any()
                        }
                        Err(e) => view! { <p role="alert">{e.to_string()}</p> }.into_any(),
                    })}
                </Suspense>
                <p class="py-6 text-center">
                    <a href="/" class="rounded-lg bg-emerald-700 px-4 py-2 font-medium text-white hover:bg-emerald-800">"Start your own chat"</a>
                </p>
            </div>
        </main>
    }
}

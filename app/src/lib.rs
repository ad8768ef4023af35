//! FPL Chat's UI crate: the components, the routes and the server functions, and the types
//! that cross the wire between the hydrated WASM chat and the axum server.
//!
//! The page is rendered on the server and works before (or without) WASM: the composer is a
//! plain form posting to a server function. Once hydrated, answers stream in over
//! `POST /api/chat` (see [`stream`]).
#![recursion_limit = "512"]

pub mod account;
#[cfg(feature = "ssr")]
pub mod backend;
pub mod chat;
pub mod clipboard;
pub mod deferred;
pub mod follow;
pub mod markdown;
pub mod message;
pub mod share;
pub mod sidebar;
#[cfg(feature = "hydrate")]
mod stream;
pub mod theme;
pub mod types;
pub mod versions;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, HashedStylesheet, Meta, MetaTags, Title};
use leptos_router::{
    components::{ParentRoute, Route, Router, Routes},
    path, SsrMode,
};

use chat::ChatPage;
use share::SharedPage;

/// The HTML document around the app.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover"/>
                <meta name="theme-color" content="#047857"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <link rel="apple-touch-icon" href="/apple-touch-icon.png"/>
                <link rel="manifest" href="/manifest.webmanifest"/>
                <theme::ThemeScript/>
                <AutoReload options=options.clone()/>
                // The stylesheet by its content-hashed name (`hash-files`).
                <HashedStylesheet options=options.clone() id="leptos"/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body class="bg-white text-slate-900 dark:bg-slate-950 dark:text-slate-100 antialiased">
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    let hydrated = RwSignal::new(false);
    // Effects never run during server rendering: this attribute proves hydration happened.
    Effect::new(move |_| hydrated.set(true));

    view! {
        <Title text="FPL Chat"/>
        <Meta name="description" content="Ask about Fantasy Premier League players, teams, fixtures and gameweeks."/>
        <Router>
            <div
                id="app"
                class="flex h-dvh overflow-hidden"
                data-hydrated=move || if hydrated.get() { "true" } else { "false" }
            >
                // One parent route, so that moving from `/` to `/c/{id}` after a first answer
                // keeps the page (and the answer on it) instead of mounting a new one.
                <Routes fallback=|| view! { <NotFound/> }>
                    <ParentRoute path=path!("") view=ChatPage ssr=SsrMode::Async>
                        <Route path=path!("") view=|| ()/>
                        <Route path=path!("c/:id") view=|| ()/>
                    </ParentRoute>
                    <Route path=path!("s/:token") view=SharedPage ssr=SsrMode::Async/>
                </Routes>
            </div>
        </Router>
    }
}

#[component]
fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::NOT_FOUND);
    }
    view! {
        <main class="m-auto p-8 text-center">
            <h1 class="text-2xl font-semibold">"Page not found"</h1>
            <a class="text-emerald-700 underline dark:text-emerald-400" href="/">"Start a new chat"</a>
        </main>
    }
}

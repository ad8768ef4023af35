//! Dark and light themes: the choice is kept in `localStorage` and applied as the `dark` class
//! on `<html>` by a tiny inline script before first paint (no flash); without a stored choice
//! the system preference decides.
use leptos::prelude::*;

const THEME_SCRIPT: &str = r#"(function(){try{var t=localStorage.getItem('theme');if(t==='dark'||(!t&&matchMedia('(prefers-color-scheme: dark)').matches)){document.documentElement.classList.add('dark')}}catch(e){}})();"#;

#[component]
pub fn ThemeScript() -> impl IntoView {
    // The nonce of the page's Content-Security-Policy (server rendering only).
    view! { <script nonce=leptos::nonce::use_nonce()>{THEME_SCRIPT}</script> }
}

/// A button that flips the theme (needs WASM; before hydration it does nothing).
#[component]
pub fn ThemeToggle() -> impl IntoView {
    let toggle = move |_| {
        #[cfg(feature = "hydrate")]
        {
            let Some(root) = document().document_element() else {
                return;
            };
            let dark = root.class_list().toggle("dark").unwrap_or(false);
            if let Ok(Some(storage)) = window().local_storage() {
                let _ = storage.set_item("theme", if dark { "dark" } else { "light" });
            }
        }
    };
    view! {
        <button
            type="button"
            id="theme-toggle"
            title="Switch between dark and light"
            aria-label="Switch between dark and light theme"
            class="rounded-md p-2 text-slate-600 dark:text-slate-400 hover:bg-slate-100 dark:hover:bg-slate-800"
            on:click=toggle
        >
            <span class="dark:hidden">"☾"</span>
            <span class="hidden dark:inline">"☀"</span>
        </button>
    }
}

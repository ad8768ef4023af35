#![recursion_limit = "512"]
//! The browser entry point: hydrates the server-rendered page with the `app` components.
//! Everything else lives in `app`; this crate only starts hydration.

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}

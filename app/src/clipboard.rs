//! Copying text to the clipboard (the asynchronous Clipboard API; the page is served from a
//! secure context: HTTPS, or the loopback in development). Does nothing on the server.

/// Puts `text` on the clipboard; a refusal (no permission, no focus) is ignored: the text
/// stays on screen to copy by hand.
pub fn copy(text: &str) {
    #[cfg(feature = "hydrate")]
    if let Some(window) = web_sys::window() {
        let _ = window.navigator().clipboard().write_text(text);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = text;
}

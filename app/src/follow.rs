//! The messages' view follows the newest text while the reader is at the bottom: [`Follow`].
//!
//! Promises:
//! - While the reader is at the bottom (within [`FOLLOW_GAP`]), every change of the messages'
//!   height keeps the view at the bottom: streamed text, tool cards, an answer's buttons, a
//!   conversation loaded again after a turn; content that shrank (a regenerated or edited
//!   answer starts again from nothing) moves the view to the new bottom, and is not taken for
//!   the reader scrolling up.
//! - A reader who scrolled up keeps their place (also when the height changes before their
//!   scroll event arrives), and is offered "Jump to latest" ([`Follow::at_bottom`] false).
//! - A turn the reader starts, and "Jump to latest", follow again.
//!
//! The height is watched with a `ResizeObserver` on the messages' content (once a frame at
//! most), not after each streamed piece: what grows the page is not only the turn's text.
use leptos::html::{Div, Section};
use leptos::prelude::*;

/// How near the bottom of the messages (in pixels) the reader counts as at the bottom.
pub const FOLLOW_GAP: i32 = 48;

/// The view's following state, shared by the page's handlers. Cheap to copy.
#[derive(Clone, Copy)]
pub struct Follow {
    /// The scrolling messages section.
    section: NodeRef<Section>,
    /// The reader is at the bottom: the view follows; false shows "Jump to latest".
    pub at_bottom: RwSignal<bool>,
    /// Where the view was last put at the bottom (`i32::MAX` once the reader left it): a
    /// position above it means the reader moved up, even before their scroll event arrives.
    followed_to: StoredValue<i32>,
}

impl Follow {
    /// Follows in `section`, watching `content` (what scrolls in it) change size.
    pub fn new(section: NodeRef<Section>, content: NodeRef<Div>) -> Self {
        let follow = Self {
            section,
            at_bottom: RwSignal::new(true),
            followed_to: StoredValue::new(0),
        };
        follow.watch(content);
        follow
    }

    /// Follows again from wherever the view is (a turn starts).
    pub fn restart(self) {
        self.set(true, 0);
    }

    /// Whether the view follows, and from where (a scroll event comes many times a second:
    /// "Jump to latest" is told only of a change).
    fn set(self, following: bool, from: i32) {
        if self.at_bottom.get_untracked() != following {
            self.at_bottom.set(following);
        }
        self.followed_to.set_value(from);
    }

    /// Puts the view at the bottom and follows ("Jump to latest").
    pub fn jump(self) {
        self.at_bottom.set(true);
        self.to_bottom();
    }

    fn to_bottom(self) {
        if let Some(section) = self.section.get_untracked() {
            section.set_scroll_top(section.scroll_height());
            self.followed_to.set_value(section.scroll_top());
        }
    }

    /// Above where the view was put, and away from the bottom.
    fn moved_up(self, section: &leptos::web_sys::HtmlElement) -> bool {
        section.scroll_top() + 4 < self.followed_to.get_value() && gap_below(section) >= FOLLOW_GAP
    }

    /// The messages' height changed.
    pub fn resized(self) {
        let Some(section) = self.section.get_untracked() else {
            return;
        };
        if self.moved_up(&section) {
            self.set(false, i32::MAX);
        } else if self.at_bottom.get_untracked() {
            self.to_bottom();
        }
    }

    /// The section scrolled (the reader, or the view put at the bottom).
    pub fn scrolled(self) {
        let Some(section) = self.section.get_untracked() else {
            return;
        };
        if gap_below(&section) < FOLLOW_GAP {
            self.set(true, section.scroll_top());
        } else if self.moved_up(&section) {
            self.set(false, i32::MAX);
        }
        // Else the content grew below a view that follows: `resized` puts it at the bottom.
    }

    /// Calls [`Follow::resized`] whenever `content` changes size, while the page lives.
    fn watch(self, content: NodeRef<Div>) {
        #[cfg(feature = "hydrate")]
        {
            use leptos::wasm_bindgen::{closure::Closure, JsCast};
            use leptos::web_sys::ResizeObserver;
            // The observer and its callback, which must live as long as it observes.
            let observer = StoredValue::new_local(None::<(ResizeObserver, Closure<dyn FnMut()>)>);
            let stop = move || {
                observer.try_update_value(|o| {
                    if let Some((watching, _)) = o.take() {
                        watching.disconnect();
                    }
                });
            };
            Effect::new(move |_| {
                let Some(element) = content.get() else { return };
                stop();
                let callback = Closure::<dyn FnMut()>::new(move || self.resized());
                if let Ok(watching) = ResizeObserver::new(callback.as_ref().unchecked_ref()) {
                    watching.observe(&element);
                    observer.set_value(Some((watching, callback)));
                }
            });
            on_cleanup(stop);
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = content;
    }
}

/// The messages' height below what is on screen.
fn gap_below(section: &leptos::web_sys::HtmlElement) -> i32 {
    section.scroll_height() - section.scroll_top() - section.client_height()
}

//! A view drawn only when it is put on the page: [`Deferred`].
//!
//! Inside a `<Suspense>` or `<Transition>` the server calls a child closure up to three times
//! before it renders it: once to find the resources it reads, once more when they have loaded
//! (to find resources read behind them; that view is walked and dropped), and once to resolve
//! and render it. A loaded conversation's 200 messages were drawn twice and walked twice,
//! which was about half of its first render (`cargo bench -p fpl-chat --bench first_render`).
//! Wrapped in a `Deferred`, the closure returns a cheap thunk each time, and the messages are
//! drawn once, when the page is written (or hydrated, or updated in the browser).
//!
//! Promises:
//! - Renders, hydrates and updates exactly as the view its thunk returns.
//! - Only for views that read no resource and hold no `Suspense` or `Suspend`: those would
//!   not be waited for (the server skips the walks that find them). Read the data outside,
//!   in the closure, and move it into the thunk.
//! - The thunk runs once, under the owner that renders it (the same `<Suspense>` that called
//!   the closure), so contexts such as the response options are there.
use leptos::tachys::html::attribute::{any_attribute::AnyAttribute, Attribute};
use leptos::tachys::hydration::Cursor;
use leptos::tachys::ssr::StreamBuilder;
use leptos::tachys::view::{
    add_attr::AddAnyAttr, Position, PositionState, Render, RenderFlags, RenderHtml,
};

/// A view that is drawn (its thunk called) when it is rendered, not before.
pub struct Deferred<F>(
    /// Draws the view.
    F,
);

impl<F, V> Deferred<F>
where
    F: FnOnce() -> V + Send + 'static,
    V: RenderHtml,
{
    pub fn new(draw: F) -> Self {
        Deferred(draw)
    }
}

impl<F, V> Render for Deferred<F>
where
    F: FnOnce() -> V,
    V: Render,
{
    type State = V::State;

    fn build(self) -> Self::State {
        (self.0)().build()
    }

    fn rebuild(self, state: &mut Self::State) {
        (self.0)().rebuild(state)
    }
}

impl<F, V> AddAnyAttr for Deferred<F>
where
    F: FnOnce() -> V + Send + 'static,
    V: RenderHtml,
{
    /// An attribute added from outside is added to the drawn view (drawn then).
    type Output<SomeNewAttr: Attribute> = V::Output<SomeNewAttr>;

    fn add_any_attr<NewAttr: Attribute>(self, attr: NewAttr) -> Self::Output<NewAttr>
    where
        Self::Output<NewAttr>: RenderHtml,
    {
        (self.0)().add_any_attr(attr)
    }
}

impl<F, V> RenderHtml for Deferred<F>
where
    F: FnOnce() -> V + Send + 'static,
    V: RenderHtml,
{
    type AsyncOutput = Self;
    type Owned = Self;

    const MIN_LENGTH: usize = V::MIN_LENGTH;

    /// Nothing to find: see the module's promises.
    fn dry_resolve(&mut self) {}

    /// Already resolved: see the module's promises.
    async fn resolve(self) -> Self::AsyncOutput {
        self
    }

    fn to_html_with_buf(
        self,
        buf: &mut String,
        position: &mut Position,
        flags: RenderFlags,
        extra_attrs: Vec<AnyAttribute>,
    ) {
        (self.0)().to_html_with_buf(buf, position, flags, extra_attrs)
    }

    fn to_html_async_with_buf<const OUT_OF_ORDER: bool>(
        self,
        buf: &mut StreamBuilder,
        position: &mut Position,
        flags: RenderFlags,
        extra_attrs: Vec<AnyAttribute>,
    ) where
        Self: Sized,
    {
        (self.0)().to_html_async_with_buf::<OUT_OF_ORDER>(buf, position, flags, extra_attrs)
    }

    fn hydrate<const FROM_SERVER: bool>(
        self,
        cursor: &Cursor,
        position: &PositionState,
    ) -> Self::State {
        (self.0)().hydrate::<FROM_SERVER>(cursor, position)
    }

    async fn hydrate_async(self, cursor: &Cursor, position: &PositionState) -> Self::State {
        (self.0)().hydrate_async(cursor, position).await
    }

    fn into_owned(self) -> Self::Owned {
        self
    }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use std::future::Future;
    use std::pin::pin;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::{Context, Poll, Waker};

    use leptos::prelude::*;

    use super::*;

    /// A bubble-like view whose drawing is counted.
    fn counted(drawn: &Arc<AtomicUsize>) -> Deferred<impl FnOnce() -> AnyView + Send + 'static> {
        let drawn = Arc::clone(drawn);
        Deferred::new(move || {
            drawn.fetch_add(1, Ordering::SeqCst);
            view! { <div class="bubble-user" data-role="user">"How is Haaland doing?"</div> }
                .into_any()
        })
    }

    #[test]
    fn the_walks_before_rendering_do_not_draw_and_rendering_draws_once() {
        let drawn = Arc::new(AtomicUsize::new(0));
        let mut deferred = counted(&drawn);
        deferred.dry_resolve();
        let resolving = pin!(deferred.resolve());
        let Poll::Ready(resolved) = resolving.poll(&mut Context::from_waker(Waker::noop())) else {
            panic!("a deferred view has nothing to wait for");
        };
        assert_eq!(
            drawn.load(Ordering::SeqCst),
            0,
            "drawn before it was rendered"
        );
        let html = resolved.to_html();
        assert_eq!(drawn.load(Ordering::SeqCst), 1);
        assert_eq!(
            html,
            view! { <div class="bubble-user" data-role="user">"How is Haaland doing?"</div> }
                .to_html(),
            "the same HTML as the view drawn directly"
        );
    }
}

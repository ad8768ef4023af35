//! The server's cache of rendered Markdown blocks. A stored conversation's page renders the
//! same answers again on every load, and the second layer (ammonia: an HTML parse and a
//! serialization per block) was most of a long conversation's server render time
//! (`cargo bench -p fpl-chat --bench first_render`).
//!
//! Promises:
//! - Returns exactly what rendering would: the key is the block's whole text, not a hash of
//!   it (a collision would show one user another's answer), and the value depends on nothing
//!   else.
//! - Bounded: keys and values, with a fixed overhead counted per entry, stay under the budget
//!   (32 MiB for the process); the least recently used blocks go first, and a block over
//!   64 KiB is rendered but not kept.
//! - Shared by every request; the lock is held for a lookup or an insert, never while a
//!   block is rendered (two requests may render the same new block once each).
use std::sync::{Arc, LazyLock, Mutex};

use hashlink::LruCache;

/// The process's cache, used by [`super::render`].
pub(super) static RENDERED: LazyLock<Rendered> = LazyLock::new(|| Rendered::new(32 << 20));

/// A block longer than this is rendered every time: a cache of a few huge blocks would keep
/// the many ordinary ones out.
const LARGEST: usize = 64 << 10;

/// What an entry costs beyond its text (the map's node and two `Arc` headers, rounded up), so
/// that many tiny blocks cannot hold far more memory than the budget says.
const OVERHEAD: usize = 128;

/// Rendered blocks by their Markdown, least recently used first.
pub(super) struct Rendered {
    /// The blocks and the bytes they hold (keys and values), under one lock.
    inner: Mutex<Inner>,
    /// The most bytes `inner` may hold.
    budget: usize,
}

struct Inner {
    /// Markdown block → its HTML.
    blocks: LruCache<Arc<str>, Arc<str>>,
    /// The lengths of every key and value in `blocks`, plus [`OVERHEAD`] for each.
    bytes: usize,
}

impl Rendered {
    pub(super) fn new(budget: usize) -> Self {
        Rendered {
            inner: Mutex::new(Inner {
                blocks: LruCache::new_unbounded(),
                bytes: 0,
            }),
            budget,
        }
    }

    /// The HTML of `markdown`, from the cache or from `render` (then kept).
    pub(super) fn get_or_render(
        &self,
        markdown: &str,
        render: impl FnOnce(&str) -> String,
    ) -> String {
        if let Some(html) = self.lock().blocks.get(markdown) {
            return html.to_string();
        }
        let html = render(markdown);
        let size = markdown.len() + html.len() + OVERHEAD;
        if markdown.len() <= LARGEST && size <= self.budget {
            let mut inner = self.lock();
            if let Some(old) = inner.blocks.insert(markdown.into(), html.as_str().into()) {
                inner.bytes -= markdown.len() + old.len() + OVERHEAD;
            }
            inner.bytes += size;
            while inner.bytes > self.budget {
                match inner.blocks.remove_lru() {
                    Some((key, value)) => inner.bytes -= key.len() + value.len() + OVERHEAD,
                    None => break,
                }
            }
        }
        html
    }

    /// A poisoned lock only means a panic elsewhere mid-insert; the map is still a valid map.
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    #[cfg(test)]
    fn held(&self) -> (usize, usize) {
        let inner = self.lock();
        (inner.blocks.len(), inner.bytes)
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::Rendered;

    #[test]
    fn a_block_is_rendered_once_and_served_from_the_cache_after() {
        let cache = Rendered::new(1 << 20);
        let calls = Cell::new(0);
        let render = |md: &str| {
            calls.set(calls.get() + 1);
            format!("<p>{md}</p>")
        };
        assert_eq!(cache.get_or_render("a", render), "<p>a</p>");
        assert_eq!(cache.get_or_render("a", render), "<p>a</p>");
        assert_eq!(cache.get_or_render("b", render), "<p>b</p>");
        assert_eq!(calls.get(), 2);
    }

    #[test]
    fn the_least_recently_used_blocks_go_when_the_budget_is_full() {
        // Each entry holds 1 + 9 bytes ("x" and "<p>x</p>!") and the overhead: four fit.
        let budget = 4 * (10 + super::OVERHEAD);
        let cache = Rendered::new(budget);
        let render = |md: &str| format!("<p>{md}</p>!");
        for md in ["a", "b", "c", "d"] {
            cache.get_or_render(md, render);
        }
        assert_eq!(cache.held(), (4, budget));
        cache.get_or_render("a", |_| unreachable!("a is cached"));
        cache.get_or_render("e", render);
        assert_eq!(cache.held(), (4, budget));
        // "b" was the least recently used: it is rendered again; "a" is still there.
        let again = Cell::new(false);
        cache.get_or_render("b", |md| {
            again.set(true);
            render(md)
        });
        assert!(again.get());
        cache.get_or_render("a", |_| unreachable!("a was used recently"));
    }

    #[test]
    fn a_huge_block_is_rendered_but_not_kept() {
        let cache = Rendered::new(1 << 30);
        let huge = "x".repeat(super::LARGEST + 1);
        assert_eq!(
            cache.get_or_render(&huge, |md| md.len().to_string()),
            huge.len().to_string()
        );
        assert_eq!(cache.held(), (0, 0));
    }
}

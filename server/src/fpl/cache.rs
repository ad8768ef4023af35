//! In-memory TTL cache with single-flight loading.
//!
//! Promises: a fresh entry is returned without calling the loader; concurrent misses for
//! the same key run the loader once and all receive its result; an entry older than the
//! TTL is loaded again; a failed load is not cached (the next caller tries again).

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::OnceCell;

type Slot<V> = Arc<OnceCell<(Instant, Arc<V>)>>;

/// A keyed cache of `Arc<V>` values that expire after `ttl`.
pub struct TtlCache<K, V> {
    ttl: Duration,
    slots: Mutex<HashMap<K, Slot<V>>>,
}

impl<K: Eq + Hash + Clone, V> TtlCache<K, V> {
    /// An empty cache whose entries live for `ttl`.
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            slots: Mutex::new(HashMap::new()),
        }
    }

    /// The time entries live.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// The cached value for `key`, or the result of `load` (run once for concurrent callers).
    pub async fn get_or_load<E, F, Fut>(&self, key: K, load: F) -> Result<Arc<V>, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, E>>,
    {
        let slot = {
            let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
            let entry = slots.entry(key).or_default();
            let stale = entry.get().is_some_and(|(at, _)| at.elapsed() >= self.ttl);
            if stale {
                *entry = Arc::new(OnceCell::new());
            }
            entry.clone()
        };
        let (_, value) = slot
            .get_or_try_init(|| async { load().await.map(|v| (Instant::now(), Arc::new(v))) })
            .await?;
        Ok(value.clone())
    }

    /// Drops every entry.
    pub fn clear(&self) {
        self.slots.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn concurrent_misses_load_once() {
        let cache = Arc::new(TtlCache::<u32, String>::new(Duration::from_secs(60)));
        let calls = Arc::new(AtomicUsize::new(0));
        let mut handles = Vec::new();
        for _ in 0..16 {
            let cache = cache.clone();
            let calls = calls.clone();
            handles.push(tokio::spawn(async move {
                cache
                    .get_or_load(1, || async {
                        calls.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(30)).await;
                        Ok::<_, ()>("v".to_string())
                    })
                    .await
            }));
        }
        for h in handles {
            assert_eq!(h.await.unwrap().unwrap().as_str(), "v");
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn expired_entries_reload_and_errors_are_not_cached() {
        let cache = TtlCache::<u32, u32>::new(Duration::from_millis(20));
        let calls = AtomicUsize::new(0);
        let load = || async { Ok::<_, ()>(calls.fetch_add(1, Ordering::SeqCst) as u32) };
        assert_eq!(*cache.get_or_load(1, load).await.unwrap(), 0);
        assert_eq!(*cache.get_or_load(1, load).await.unwrap(), 0);
        tokio::time::sleep(Duration::from_millis(30)).await;
        assert_eq!(*cache.get_or_load(1, load).await.unwrap(), 1);

        let failed: Result<Arc<u32>, &str> = cache.get_or_load(2, || async { Err("down") }).await;
        assert!(failed.is_err());
        assert_eq!(
            *cache
                .get_or_load(2, || async { Ok::<_, &str>(7) })
                .await
                .unwrap(),
            7
        );
    }
}

//! The in-process layer: a bounded map of shared values that expire.
//!
//! Promises: an entry is never returned after its expiry; removing by prefix removes exactly
//! the keys that start with it (an ordered map, so it costs the matching keys, not the whole
//! map); at capacity, expired entries go first, then the one that would expire soonest.
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

struct Entry<T> {
    expires: Instant,
    value: Arc<T>,
}

pub struct MemoryLayer<T> {
    capacity: usize,
    entries: Mutex<BTreeMap<String, Entry<T>>>,
}

impl<T> MemoryLayer<T> {
    /// An empty layer holding at most `capacity` entries (at least one).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            entries: Mutex::new(BTreeMap::new()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, Entry<T>>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The value of `key` if it has not expired.
    pub fn get(&self, key: &str) -> Option<Arc<T>> {
        let mut entries = self.lock();
        match entries.get(key) {
            Some(e) if e.expires > Instant::now() => Some(e.value.clone()),
            Some(_) => {
                entries.remove(key);
                None
            }
            None => None,
        }
    }

    /// Keeps `value` under `key` until `expires`.
    pub fn insert(&self, key: &str, value: Arc<T>, expires: Instant) {
        let now = Instant::now();
        if expires <= now {
            self.remove(key);
            return;
        }
        let mut entries = self.lock();
        if entries.len() >= self.capacity && !entries.contains_key(key) {
            entries.retain(|_, e| e.expires > now);
            if entries.len() >= self.capacity {
                let soonest = entries
                    .iter()
                    .min_by_key(|(_, e)| e.expires)
                    .map(|(k, _)| k.clone());
                if let Some(k) = soonest {
                    entries.remove(&k);
                }
            }
        }
        entries.insert(key.to_string(), Entry { expires, value });
    }

    /// Drops `key`; true if it was there.
    pub fn remove(&self, key: &str) -> bool {
        self.lock().remove(key).is_some()
    }

    /// Drops every key that starts with `prefix`; how many there were.
    pub fn remove_prefix(&self, prefix: &str) -> usize {
        let mut entries = self.lock();
        let keys: Vec<String> = entries
            .range(prefix.to_string()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, _)| k.clone())
            .collect();
        for k in &keys {
            entries.remove(k);
        }
        keys.len()
    }

    /// Entries held (some may have expired and not been swept yet).
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn later(secs: u64) -> Instant {
        Instant::now() + Duration::from_secs(secs)
    }

    #[test]
    fn prefix_removal_takes_exactly_the_matching_keys() {
        let m = MemoryLayer::new(10);
        for k in ["fpl:a", "fpl:b:1", "fpl:b:2", "fpm:x", "context:1"] {
            m.insert(k, Arc::new(k.to_string()), later(60));
        }
        assert_eq!(m.remove_prefix("fpl:b:"), 2);
        assert!(m.get("fpl:b:1").is_none() && m.get("fpl:a").is_some());
        assert_eq!(m.remove_prefix("fpl:"), 1);
        assert!(m.get("fpm:x").is_some() && m.get("context:1").is_some());
    }

    #[test]
    fn at_capacity_the_soonest_to_expire_goes_first() {
        let m = MemoryLayer::new(2);
        m.insert("long", Arc::new(1), later(600));
        m.insert("short", Arc::new(2), later(5));
        m.insert("new", Arc::new(3), later(60));
        assert_eq!(m.len(), 2);
        assert!(m.get("short").is_none());
        assert!(m.get("long").is_some() && m.get("new").is_some());
    }

    #[test]
    fn expired_entries_are_never_returned() {
        let m = MemoryLayer::new(4);
        m.insert("k", Arc::new(1), Instant::now() + Duration::from_millis(5));
        std::thread::sleep(Duration::from_millis(10));
        assert!(m.get("k").is_none());
        assert!(m.is_empty());
    }
}

//! A tenant's bounded key-value store for plugins (counters for rate or bot logic). Keys
//! expire by TTL; the store refuses new keys when full rather than evicting another's data.

use parking_lot::Mutex;
use std::collections::HashMap;

/// Most keys one tenant may hold.
pub const MAX_KEYS: usize = 10_000;
/// Longest key, in bytes.
pub const MAX_KEY_BYTES: usize = 256;
/// Longest value, in bytes.
pub const MAX_VALUE_BYTES: usize = 4096;

#[derive(Debug)]
struct Entry {
    value: String,
    expires_ms: Option<u64>,
}

/// One tenant's store.
#[derive(Debug, Default)]
pub struct KvStore {
    entries: Mutex<HashMap<String, Entry>>,
}

fn live(e: &Entry, now_ms: u64) -> bool {
    e.expires_ms.is_none_or(|t| t > now_ms)
}

impl KvStore {
    /// The value of `key`, if set and not expired.
    pub fn get(&self, key: &str, now_ms: u64) -> Option<String> {
        let map = self.entries.lock();
        map.get(key)
            .filter(|e| live(e, now_ms))
            .map(|e| e.value.clone())
    }

    /// Sets `key` (ttl 0: no expiry).
    pub fn set(&self, key: &str, value: String, ttl_ms: u64, now_ms: u64) -> Result<(), String> {
        if key.is_empty() || key.len() > MAX_KEY_BYTES {
            return Err(format!("keys must be 1-{MAX_KEY_BYTES} bytes"));
        }
        if value.len() > MAX_VALUE_BYTES {
            return Err(format!("values may be at most {MAX_VALUE_BYTES} bytes"));
        }
        let mut map = self.entries.lock();
        if !map.contains_key(key) && map.len() >= MAX_KEYS {
            map.retain(|_, e| live(e, now_ms));
            if map.len() >= MAX_KEYS {
                return Err(format!("the store is full ({MAX_KEYS} keys)"));
            }
        }
        let expires_ms = (ttl_ms > 0).then(|| now_ms.saturating_add(ttl_ms));
        map.insert(key.to_string(), Entry { value, expires_ms });
        Ok(())
    }

    /// Adds `delta` to the integer at `key` (missing or expired counts as 0).
    pub fn incr(&self, key: &str, delta: i64, ttl_ms: u64, now_ms: u64) -> Result<i64, String> {
        let current = match self.get(key, now_ms) {
            None => 0,
            Some(v) => v
                .parse::<i64>()
                .map_err(|_| format!("`{key}` does not hold an integer"))?,
        };
        let next = current.saturating_add(delta);
        self.set(key, next.to_string(), ttl_ms, now_ms)?;
        Ok(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_expire_and_counters_count() {
        let kv = KvStore::default();
        kv.set("a", "1".into(), 100, 1000).expect("set");
        assert_eq!(kv.get("a", 1050).as_deref(), Some("1"));
        assert_eq!(kv.get("a", 1100), None);
        assert_eq!(kv.incr("n", 2, 0, 0), Ok(2));
        assert_eq!(kv.incr("n", 3, 0, 0), Ok(5));
        kv.set("s", "x".into(), 0, 0).expect("set");
        assert!(kv.incr("s", 1, 0, 0).is_err());
    }

    #[test]
    fn the_store_is_bounded() {
        let kv = KvStore::default();
        for i in 0..MAX_KEYS {
            kv.set(&format!("k{i}"), String::new(), 0, 0).expect("fits");
        }
        assert!(kv.set("one-more", String::new(), 0, 0).is_err());
        assert!(kv.set("k1", "overwrite".into(), 0, 0).is_ok());
        assert!(kv
            .set(&"x".repeat(MAX_KEY_BYTES + 1), String::new(), 0, 0)
            .is_err());
        assert!(kv
            .set("big", "v".repeat(MAX_VALUE_BYTES + 1), 0, 0)
            .is_err());
    }
}

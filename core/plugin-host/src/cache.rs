//! Compiled components, kept by digest so a warm call never recompiles.
//! Least recently used entries go first once the cache is full.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::Loaded;

pub struct ComponentCache {
    capacity: usize,
    entries: Mutex<Entries>,
}

#[derive(Default)]
struct Entries {
    clock: u64,
    by_digest: HashMap<String, (u64, Loaded)>,
}

impl ComponentCache {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            entries: Mutex::new(Entries::default()),
        }
    }

    pub fn get(&self, sha256: &str) -> Option<Loaded> {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.clock += 1;
        let now = entries.clock;
        let (used, loaded) = entries.by_digest.get_mut(sha256)?;
        *used = now;
        Some(loaded.clone())
    }

    pub fn insert(&self, sha256: &str, loaded: Loaded) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.by_digest.len() >= self.capacity
            && !entries.by_digest.contains_key(sha256)
            && let Some(oldest) = entries
                .by_digest
                .iter()
                .min_by_key(|(_, (used, _))| *used)
                .map(|(digest, _)| digest.clone())
        {
            entries.by_digest.remove(&oldest);
        }
        entries.clock += 1;
        let now = entries.clock;
        entries.by_digest.insert(sha256.to_owned(), (now, loaded));
    }

    pub fn remove(&self, sha256: &str) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.by_digest.remove(sha256);
    }

    pub fn len(&self) -> usize {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.by_digest.len()
    }
}

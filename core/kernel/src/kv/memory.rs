//! The in-process store: one replica only, nothing survives a restart.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;

use super::{Counter, KeyValueStore, KvError};

#[derive(Debug)]
struct Entry {
    value: String,
    expires_at: Option<Instant>,
}

impl Entry {
    fn live(&self, now: Instant) -> bool {
        self.expires_at.is_none_or(|at| at > now)
    }
}

/// A map behind a mutex; expired entries are dropped when touched and swept
/// every few thousand writes so the map cannot grow without bound.
#[derive(Debug, Default)]
pub struct MemoryStore {
    entries: Mutex<(HashMap<String, Entry>, u64)>,
}

const SWEEP_EVERY: u64 = 4096;

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn with<T>(
        &self,
        f: impl FnOnce(&mut HashMap<String, Entry>, Instant) -> T,
    ) -> Result<T, KvError> {
        let mut guard = self
            .entries
            .lock()
            .map_err(|_| KvError::Unavailable("in-process store poisoned".into()))?;
        let now = Instant::now();
        let (map, writes) = &mut *guard;
        *writes += 1;
        if *writes % SWEEP_EVERY == 0 {
            map.retain(|_, e| e.live(now));
        }
        Ok(f(map, now))
    }
}

fn live<'a>(map: &'a HashMap<String, Entry>, key: &str, now: Instant) -> Option<&'a Entry> {
    map.get(key).filter(|e| e.live(now))
}

#[async_trait]
impl KeyValueStore for MemoryStore {
    fn kind(&self) -> &'static str {
        "memory"
    }

    async fn get(&self, key: &str) -> Result<Option<String>, KvError> {
        self.with(|map, now| live(map, key, now).map(|e| e.value.clone()))
    }

    async fn set(&self, key: &str, value: &str, ttl: Option<Duration>) -> Result<(), KvError> {
        self.with(|map, now| {
            map.insert(
                key.to_owned(),
                Entry {
                    value: value.to_owned(),
                    expires_at: ttl.map(|t| now + t),
                },
            );
        })
    }

    async fn set_if_absent(&self, key: &str, value: &str, ttl: Duration) -> Result<bool, KvError> {
        self.with(|map, now| {
            if live(map, key, now).is_some() {
                return false;
            }
            map.insert(
                key.to_owned(),
                Entry {
                    value: value.to_owned(),
                    expires_at: Some(now + ttl),
                },
            );
            true
        })
    }

    async fn exists(&self, key: &str) -> Result<bool, KvError> {
        self.with(|map, now| live(map, key, now).is_some())
    }

    async fn delete(&self, key: &str) -> Result<bool, KvError> {
        self.with(|map, now| map.remove(key).is_some_and(|e| e.live(now)))
    }

    async fn delete_if_equals(&self, key: &str, expected: &str) -> Result<bool, KvError> {
        self.with(|map, now| {
            if live(map, key, now).is_some_and(|e| e.value == expected) {
                map.remove(key);
                true
            } else {
                false
            }
        })
    }

    async fn increment(&self, key: &str, window: Duration) -> Result<Counter, KvError> {
        self.with(|map, now| {
            let fresh = || Entry {
                value: "0".into(),
                expires_at: Some(now + window),
            };
            let entry = map.entry(key.to_owned()).or_insert_with(fresh);
            if !entry.live(now) {
                *entry = fresh();
            }
            let value = entry.value.parse::<u64>().unwrap_or(0) + 1;
            entry.value = value.to_string();
            let resets_in = entry
                .expires_at
                .map_or(window, |at| at.saturating_duration_since(now));
            Counter { value, resets_in }
        })
    }

    async fn counter(&self, key: &str) -> Result<Option<Counter>, KvError> {
        self.with(|map, now| {
            live(map, key, now).map(|e| Counter {
                value: e.value.parse().unwrap_or(0),
                resets_in: e
                    .expires_at
                    .map_or(Duration::ZERO, |at| at.saturating_duration_since(now)),
            })
        })
    }

    async fn ping(&self) -> Result<(), KvError> {
        self.with(|_, _| ())
    }
}

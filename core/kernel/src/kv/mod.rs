//! Key-value store: login throttle counters and short-lived locks (job ticks,
//! the ATT&CK sync, roster changes). Nothing here must outlive a restart, so
//! backups leave it out; sign-outs live in the database. Redis when
//! `redis.url` is set, an in-process map otherwise; both pass the same
//! contract tests. Keys are namespaced by the store, not by callers.

mod memory;
mod redis_store;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

pub use memory::MemoryStore;
pub use redis_store::RedisStore;

#[derive(Debug, thiserror::Error)]
pub enum KvError {
    #[error("key-value store unavailable: {0}")]
    Unavailable(String),
}

impl From<redis::RedisError> for KvError {
    fn from(error: redis::RedisError) -> Self {
        Self::Unavailable(error.to_string())
    }
}

/// A counter after an increment: its value and how long until it resets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counter {
    pub value: u64,
    pub resets_in: Duration,
}

#[async_trait]
pub trait KeyValueStore: Send + Sync + 'static {
    /// Which implementation this is (`memory` or `redis`), for readiness output.
    fn kind(&self) -> &'static str;

    async fn get(&self, key: &str) -> Result<Option<String>, KvError>;

    /// Sets `key`; with a TTL the key disappears after it.
    async fn set(&self, key: &str, value: &str, ttl: Option<Duration>) -> Result<(), KvError>;

    /// Sets `key` only when absent; true when this call set it (a lock).
    async fn set_if_absent(&self, key: &str, value: &str, ttl: Duration) -> Result<bool, KvError>;

    async fn exists(&self, key: &str) -> Result<bool, KvError>;

    /// Deletes `key`; true when it existed.
    async fn delete(&self, key: &str) -> Result<bool, KvError>;

    /// Deletes `key` only while it holds `expected`: frees a lock without
    /// freeing someone else's after ours expired. True when it deleted.
    async fn delete_if_equals(&self, key: &str, expected: &str) -> Result<bool, KvError>;

    /// Adds one to a counter, starting a `window` on the first increment.
    async fn increment(&self, key: &str, window: Duration) -> Result<Counter, KvError>;

    /// The current value of a counter set by [`KeyValueStore::increment`].
    async fn counter(&self, key: &str) -> Result<Option<Counter>, KvError>;

    async fn ping(&self) -> Result<(), KvError>;
}

pub type SharedKv = Arc<dyn KeyValueStore>;

/// Redis when a URL is given, otherwise the in-process store.
pub async fn connect(redis_url: Option<&str>, prefix: &str) -> Result<SharedKv, KvError> {
    Ok(match redis_url {
        Some(url) => Arc::new(RedisStore::connect(url, prefix).await?),
        None => Arc::new(MemoryStore::new()),
    })
}

//! Login throttling per username and per client address, in the key-value
//! store so that every replica counts the same failures. After
//! `login_slowdown_after` failures each answer is delayed; after
//! `login_max_failures` within the window logins are refused with 429.

use std::time::Duration;

use crate::config::AuthSettings;
use crate::kv::{KeyValueStore, KvError};

pub struct LoginThrottle<'a> {
    kv: &'a dyn KeyValueStore,
    settings: &'a AuthSettings,
}

/// Refused: retry after this many seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter(pub u64);

/// The username as the login lookup sees it (trimmed, case-folded, bounded),
/// so `" Admin"` and `"admin"` share one counter.
fn keys(username: &str, address: &str) -> [String; 2] {
    let user: String = username.trim().to_lowercase().chars().take(64).collect();
    [
        format!("login:fail:user:{user}"),
        format!("login:fail:addr:{address}"),
    ]
}

impl<'a> LoginThrottle<'a> {
    pub fn new(kv: &'a dyn KeyValueStore, settings: &'a AuthSettings) -> Self {
        Self { kv, settings }
    }

    fn window(&self) -> Duration {
        Duration::from_secs(u64::from(self.settings.login_window_seconds))
    }

    /// Refuses when either counter has reached the limit.
    pub async fn check(
        &self,
        username: &str,
        address: &str,
    ) -> Result<Result<(), RetryAfter>, KvError> {
        for key in keys(username, address) {
            if let Some(counter) = self.kv.counter(&key).await?
                && counter.value >= u64::from(self.settings.login_max_failures)
            {
                return Ok(Err(RetryAfter(counter.resets_in.as_secs().max(1))));
            }
        }
        Ok(Ok(()))
    }

    /// Counts a failure and returns how long to delay the answer.
    pub async fn record_failure(&self, username: &str, address: &str) -> Result<Duration, KvError> {
        let mut worst = 0;
        for key in keys(username, address) {
            worst = worst.max(self.kv.increment(&key, self.window()).await?.value);
        }
        let over = worst.saturating_sub(u64::from(self.settings.login_slowdown_after));
        Ok(Duration::from_millis((over * 250).min(2000)))
    }

    /// A successful login clears its own counters: the username's and its
    /// client address's (with trusted proxies, the forwarded client's).
    pub async fn record_success(&self, username: &str, address: &str) -> Result<(), KvError> {
        for key in keys(username, address) {
            self.kv.delete(&key).await?;
        }
        Ok(())
    }
}

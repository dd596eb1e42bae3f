//! Redis: what every replica shares (blacklist, throttling, job locks).

use std::time::Duration;

use async_trait::async_trait;
use redis::AsyncCommands;
use redis::aio::ConnectionManager;

use super::{Counter, KeyValueStore, KvError};

/// INCR and start the window on the first hit, atomically, then report the TTL.
const INCREMENT_SCRIPT: &str = r"
local value = redis.call('INCR', KEYS[1])
if value == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {value, ttl}
";

/// DEL only while the value is still ours.
const DELETE_IF_EQUALS_SCRIPT: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
";

#[derive(Clone)]
pub struct RedisStore {
    conn: ConnectionManager,
    prefix: String,
    increment: redis::Script,
    delete_if_equals: redis::Script,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    pub async fn connect(url: &str, prefix: &str) -> Result<Self, KvError> {
        let client = redis::Client::open(url)?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(5)))
            .set_response_timeout(Some(Duration::from_secs(5)))
            .set_number_of_retries(2);
        let conn = ConnectionManager::new_with_config(client, config).await?;
        Ok(Self {
            conn,
            prefix: format!("{prefix}:"),
            increment: redis::Script::new(INCREMENT_SCRIPT),
            delete_if_equals: redis::Script::new(DELETE_IF_EQUALS_SCRIPT),
        })
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}

#[async_trait]
impl KeyValueStore for RedisStore {
    fn kind(&self) -> &'static str {
        "redis"
    }

    async fn get(&self, key: &str) -> Result<Option<String>, KvError> {
        Ok(self.conn.clone().get(self.key(key)).await?)
    }

    async fn set(&self, key: &str, value: &str, ttl: Option<Duration>) -> Result<(), KvError> {
        let mut conn = self.conn.clone();
        match ttl {
            Some(ttl) => {
                conn.pset_ex::<_, _, ()>(self.key(key), value, millis(ttl))
                    .await?
            }
            None => conn.set::<_, _, ()>(self.key(key), value).await?,
        }
        Ok(())
    }

    async fn set_if_absent(&self, key: &str, value: &str, ttl: Duration) -> Result<bool, KvError> {
        let reply: Option<String> = redis::cmd("SET")
            .arg(self.key(key))
            .arg(value)
            .arg("NX")
            .arg("PX")
            .arg(millis(ttl))
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(reply.is_some())
    }

    async fn exists(&self, key: &str) -> Result<bool, KvError> {
        Ok(self.conn.clone().exists(self.key(key)).await?)
    }

    async fn delete(&self, key: &str) -> Result<bool, KvError> {
        let removed: u64 = self.conn.clone().del(self.key(key)).await?;
        Ok(removed > 0)
    }

    async fn delete_if_equals(&self, key: &str, expected: &str) -> Result<bool, KvError> {
        let deleted: u64 = self
            .delete_if_equals
            .key(self.key(key))
            .arg(expected)
            .invoke_async(&mut self.conn.clone())
            .await?;
        Ok(deleted > 0)
    }

    async fn increment(&self, key: &str, window: Duration) -> Result<Counter, KvError> {
        let (value, ttl_ms): (u64, i64) = self
            .increment
            .key(self.key(key))
            .arg(millis(window))
            .invoke_async(&mut self.conn.clone())
            .await?;
        Ok(Counter {
            value,
            resets_in: Duration::from_millis(u64::try_from(ttl_ms).unwrap_or(0)),
        })
    }

    async fn counter(&self, key: &str) -> Result<Option<Counter>, KvError> {
        let mut conn = self.conn.clone();
        let (value, ttl_ms): (Option<u64>, i64) = redis::pipe()
            .get(self.key(key))
            .cmd("PTTL")
            .arg(self.key(key))
            .query_async(&mut conn)
            .await?;
        Ok(value.map(|value| Counter {
            value,
            resets_in: Duration::from_millis(u64::try_from(ttl_ms).unwrap_or(0)),
        }))
    }

    async fn ping(&self) -> Result<(), KvError> {
        let _: String = redis::cmd("PING")
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(())
    }
}

//! Signed-out session tokens. The database (`kernel_revoked_token`) is the
//! record, so a revocation survives a Redis restart or a restore; the
//! key-value store only caches positive answers. Rows are pruned once the
//! token would have expired anyway.

use std::time::Duration;

use crate::db::{Conn, Db};
use crate::kv::SharedKv;
use crate::time::{self, Timestamp};

/// The revocation list of session tokens, by `jti`.
#[derive(Clone)]
pub struct Revocations {
    db: Db,
    kv: SharedKv,
}

/// The cache entry of a revoked session.
fn cache_key(jti: &str) -> String {
    format!("auth:revoked:{jti}")
}

impl Revocations {
    pub fn new(db: Db, kv: SharedKv) -> Self {
        Self { db, kv }
    }

    /// Records the revocation of `jti`, whose token expires at `expires_at`
    /// (seconds since the epoch), inside the caller's transaction. Revoking
    /// twice is harmless. Call [`Revocations::cache`] after the commit.
    pub async fn revoke_in(
        &self,
        conn: &mut Conn,
        jti: &str,
        expires_at: i64,
        now: Timestamp,
    ) -> Result<(), sqlx::Error> {
        let expires = chrono::DateTime::from_timestamp(expires_at, 0).unwrap_or(now);
        sqlx::query(
            "INSERT INTO kernel_revoked_token (jti, expires_at, revoked_at) VALUES ($1, $2, $3)
             ON CONFLICT (jti) DO NOTHING",
        )
        .bind(jti)
        .bind(time::to_db(expires))
        .bind(time::to_db(now))
        .execute(conn)
        .await?;
        Ok(())
    }

    /// Caches a committed revocation until the token expires. A failure is
    /// logged only: the database already refuses the token.
    pub async fn cache(&self, jti: &str, expires_at: i64) {
        let remaining = (expires_at - chrono::Utc::now().timestamp()).max(1);
        let ttl = Duration::from_secs(u64::try_from(remaining).unwrap_or(1));
        if let Err(error) = self.kv.set(&cache_key(jti), "1", Some(ttl)).await {
            tracing::warn!(%error, "cannot cache a revocation; the database keeps it");
        }
    }

    /// Whether `jti` was revoked: the cache first, then the database (so an
    /// emptied or unreachable cache never lets a revoked token through).
    pub async fn is_revoked(&self, jti: &str) -> Result<bool, sqlx::Error> {
        match self.kv.exists(&cache_key(jti)).await {
            Ok(true) => return Ok(true),
            Ok(false) => {}
            Err(error) => {
                tracing::warn!(%error, "revocation cache unavailable; asking the database")
            }
        }
        let found: Option<String> =
            sqlx::query_scalar("SELECT expires_at FROM kernel_revoked_token WHERE jti = $1")
                .bind(jti)
                .fetch_optional(self.db.pool())
                .await?;
        Ok(found.is_some())
    }

    /// Deletes the revocations of tokens that expired before `now`; returns
    /// how many.
    pub async fn prune(&self, now: Timestamp) -> Result<u64, sqlx::Error> {
        let done = sqlx::query("DELETE FROM kernel_revoked_token WHERE expires_at < $1")
            .bind(time::to_db(now))
            .execute(self.db.pool())
            .await?;
        Ok(done.rows_affected())
    }
}

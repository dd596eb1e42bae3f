//! Signed-out session tokens. The database (`kernel_revoked_token`) is the
//! record, so a revocation survives a Redis restart or a restore. It is not
//! cached in the key-value store: a cache could only hold revoked tokens, so
//! every live session, the common case, would pay a Redis round trip before
//! the database lookup it needs anyway. Rows are pruned once the token would
//! have expired anyway.

use crate::db::{Conn, Db};
use crate::time::{self, Timestamp};

/// The revocation list of session tokens, by `jti`.
#[derive(Clone)]
pub struct Revocations {
    db: Db,
}

impl Revocations {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Records the revocation of `jti`, whose token expires at `expires_at`
    /// (seconds since the epoch), inside the caller's transaction. Revoking
    /// twice is harmless.
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

    /// Whether `jti` was revoked (one primary-key lookup).
    pub async fn is_revoked(&self, jti: &str) -> Result<bool, sqlx::Error> {
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

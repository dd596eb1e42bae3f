//! The audit log: who did what, when, to what, with before/after detail.
//! A change and its event are one unit of work: services write the event
//! with [`AuditLog::record_in`] inside the change's transaction, so a
//! committed change always has its event. The system module lists the log.

use serde_json::Value;
use sqlx::Row;

use crate::db::{Conn, Db};
use crate::time::{self, Clock, Timestamp};

/// One event to record.
#[derive(Debug, Clone, Default)]
pub struct AuditEntry {
    pub actor_id: Option<String>,
    pub actor_name: Option<String>,
    /// Dotted verb, e.g. `auth.login`, `user.update`.
    pub action: String,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    /// Before/after or other context; never secrets.
    pub detail: Value,
    pub address: Option<String>,
}

#[derive(Debug, Clone)]
pub struct AuditEvent {
    pub id: String,
    pub at: Timestamp,
    pub entry: AuditEntry,
}

#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub actor: Option<String>,
    /// Exact action or a prefix ending in `.` (`auth.`).
    pub action: Option<String>,
    pub since: Option<Timestamp>,
    pub until: Option<Timestamp>,
    /// Events about one object (`test`, its id); both or neither.
    pub target: Option<(String, String)>,
}

/// The filter of [`AuditLog::list`], shared by its count and page queries.
macro_rules! audit_condition {
    () => {
        "($1 IS NULL OR actor_name = $1 OR actor_id = $1)
         AND ($2 IS NULL OR action LIKE $2 ESCAPE '\\')
         AND ($3 IS NULL OR at >= $3)
         AND ($4 IS NULL OR at < $4)
         AND ($5 IS NULL OR (target_type = $5 AND target_id = $6))"
    };
}

impl AuditEntry {
    /// An event about `target` (kind, id) by `actor` (user id and name;
    /// `None` for the server itself).
    pub fn about(
        actor: Option<(&str, &str)>,
        action: &str,
        target: (&str, &str),
        detail: Value,
    ) -> Self {
        Self {
            actor_id: actor.map(|(id, _)| id.to_owned()),
            actor_name: Some(actor.map_or("system", |(_, name)| name).to_owned()),
            action: action.into(),
            target_type: Some(target.0.into()),
            target_id: Some(target.1.into()),
            detail,
            address: None,
        }
    }
}

#[derive(Clone, Debug)]
pub struct AuditLog {
    db: Db,
    clock: Clock,
}

impl AuditLog {
    pub fn new(db: Db, clock: Clock) -> Self {
        Self { db, clock }
    }

    /// Records an event about `target` inside the caller's transaction
    /// (`&mut *tx`): if the event cannot be written, the change fails too.
    pub async fn record_about_in(
        &self,
        conn: &mut Conn,
        actor: Option<(&str, &str)>,
        action: &str,
        target: (&str, &str),
        detail: Value,
    ) -> Result<(), sqlx::Error> {
        self.record_in(conn, AuditEntry::about(actor, action, target, detail))
            .await
    }

    /// Records an event that goes with no stored change (a sign-in, a
    /// refused attempt) on its own connection.
    pub async fn record(&self, entry: AuditEntry) -> Result<(), sqlx::Error> {
        let mut conn = self.db.pool().acquire().await?;
        self.record_in(&mut conn, entry).await
    }

    /// Records `entry` through `conn`, a transaction or a connection.
    pub async fn record_in(&self, conn: &mut Conn, entry: AuditEntry) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO kernel_audit_event (id, at, actor_id, actor_name, action, target_type, target_id, detail, address)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(time::to_db(self.clock.now()))
        .bind(entry.actor_id)
        .bind(entry.actor_name)
        .bind(entry.action)
        .bind(entry.target_type)
        .bind(entry.target_id)
        .bind(entry.detail.to_string())
        .bind(entry.address)
        .execute(conn)
        .await?;
        Ok(())
    }

    /// Newest first; returns the page and the total matching count.
    pub async fn list(
        &self,
        filter: &AuditFilter,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<AuditEvent>, i64), sqlx::Error> {
        // `_` and `%` in an action are literal; only a trailing `.` asks for a prefix.
        let action_pattern = filter.action.as_ref().map(|a| {
            let escaped = crate::db::escape_like(a);
            if a.ends_with('.') {
                format!("{escaped}%")
            } else {
                escaped
            }
        });
        let since = filter.since.map(time::to_db);
        let until = filter.until.map(time::to_db);
        let (target_type, target_id) = filter.target.clone().unzip();
        let total: i64 = sqlx::query_scalar(concat!(
            "SELECT COUNT(*) FROM kernel_audit_event WHERE ",
            audit_condition!()
        ))
        .bind(&filter.actor)
        .bind(&action_pattern)
        .bind(&since)
        .bind(&until)
        .bind(&target_type)
        .bind(&target_id)
        .fetch_one(self.db.pool())
        .await?;
        let rows = sqlx::query(concat!(
            "SELECT id, at, actor_id, actor_name, action, target_type, target_id, detail, address
             FROM kernel_audit_event WHERE ",
            audit_condition!(),
            " ORDER BY at DESC, id DESC LIMIT $7 OFFSET $8"
        ))
        .bind(&filter.actor)
        .bind(&action_pattern)
        .bind(&since)
        .bind(&until)
        .bind(&target_type)
        .bind(&target_id)
        .bind(limit)
        .bind(offset)
        .fetch_all(self.db.pool())
        .await?;
        let events = rows
            .into_iter()
            .map(decode_event)
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
        Ok((events, total))
    }

    /// Events with one of `actions`, oldest first, from `since` on and after
    /// the event `after` (its time and id, a keyset position), at most
    /// `limit`: how a module follows the log to derive its own records.
    pub async fn oldest_after(
        &self,
        actions: &[&str],
        since: Timestamp,
        after: Option<(Timestamp, &str)>,
        limit: i64,
    ) -> Result<Vec<AuditEvent>, sqlx::Error> {
        let (after_at, after_id) = after.map_or((None, None), |(at, id)| {
            (Some(time::to_db(at)), Some(id.to_owned()))
        });
        // Only numbers are formatted into the statement; every value is bound.
        let sql = format!(
            "SELECT id, at, actor_id, actor_name, action, target_type, target_id, detail, address
             FROM kernel_audit_event
             WHERE at >= $1 AND ($2 IS NULL OR at > $2 OR (at = $2 AND id > $3))
               AND action IN ({})
             ORDER BY at, id LIMIT $4",
            crate::db::placeholders(5, actions.len())
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(time::to_db(since))
            .bind(after_at)
            .bind(after_id)
            .bind(limit);
        for action in actions {
            query = query.bind(*action);
        }
        query
            .fetch_all(self.db.pool())
            .await?
            .into_iter()
            .map(decode_event)
            .collect()
    }

    /// Deletes events older than `cutoff`; returns how many.
    pub async fn delete_before(&self, cutoff: Timestamp) -> Result<u64, sqlx::Error> {
        let done = sqlx::query("DELETE FROM kernel_audit_event WHERE at < $1")
            .bind(time::to_db(cutoff))
            .execute(self.db.pool())
            .await?;
        Ok(done.rows_affected())
    }
}

fn decode_event(row: sqlx::any::AnyRow) -> Result<AuditEvent, sqlx::Error> {
    let at: String = row.try_get("at")?;
    let detail: String = row.try_get("detail")?;
    Ok(AuditEvent {
        id: row.try_get("id")?,
        at: crate::db::decode_time(&at)?,
        entry: AuditEntry {
            actor_id: row.try_get("actor_id")?,
            actor_name: row.try_get("actor_name")?,
            action: row.try_get("action")?,
            target_type: row.try_get("target_type")?,
            target_id: row.try_get("target_id")?,
            detail: serde_json::from_str(&detail).unwrap_or(Value::Null),
            address: row.try_get("address")?,
        },
    })
}

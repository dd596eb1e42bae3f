//! SQL for registered plugins.

use aegis_core::concurrency::Actor;
use aegis_core::db::{Conn, Db, decode_opt_time, decode_time, flag};
use aegis_core::plugins::PluginKind;
use aegis_core::time::{self, Timestamp};

use crate::model::{CallHealth, Plugin, PluginFilter};

const COLUMNS: &str = "id, kind, plugin_key, name, description, interface_version, sha256,
    size_bytes, storage_key, file_name, config_schema, media_type, file_extension, config,
    enabled, disabled_reason, calls, failures, consecutive_failures, last_error_code,
    last_error, last_error_at, version, created_at, created_by, updated_at, updated_by";

#[derive(sqlx::FromRow)]
struct PluginRow {
    id: String,
    kind: String,
    plugin_key: String,
    name: String,
    description: String,
    interface_version: String,
    sha256: String,
    size_bytes: i64,
    storage_key: String,
    file_name: Option<String>,
    config_schema: String,
    media_type: Option<String>,
    file_extension: Option<String>,
    config: String,
    enabled: i64,
    disabled_reason: Option<String>,
    calls: i64,
    failures: i64,
    consecutive_failures: i64,
    last_error_code: Option<String>,
    last_error: Option<String>,
    last_error_at: Option<String>,
    version: i64,
    created_at: String,
    created_by: String,
    updated_at: String,
    updated_by: String,
}

fn json(text: &str) -> Result<serde_json::Value, sqlx::Error> {
    serde_json::from_str(text).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

impl TryFrom<PluginRow> for Plugin {
    type Error = sqlx::Error;

    fn try_from(r: PluginRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            kind: PluginKind::parse(&r.kind)
                .ok_or_else(|| sqlx::Error::Decode(format!("unknown kind `{}`", r.kind).into()))?,
            config_schema: json(&r.config_schema)?,
            config: json(&r.config)?,
            health: CallHealth {
                calls: r.calls,
                failures: r.failures,
                consecutive_failures: r.consecutive_failures,
                last_error_code: r.last_error_code,
                last_error: r.last_error,
                last_error_at: decode_opt_time(r.last_error_at.as_deref())?,
            },
            created_at: decode_time(&r.created_at)?,
            updated_at: decode_time(&r.updated_at)?,
            id: r.id,
            key: r.plugin_key,
            name: r.name,
            description: r.description,
            interface_version: r.interface_version,
            sha256: r.sha256,
            size_bytes: r.size_bytes,
            storage_key: r.storage_key,
            file_name: r.file_name,
            media_type: r.media_type,
            file_extension: r.file_extension,
            enabled: r.enabled != 0,
            disabled_reason: r.disabled_reason,
            version: r.version,
            created_by: r.created_by,
            updated_by: r.updated_by,
        })
    }
}

#[derive(Clone, Debug)]
pub struct PluginRepo {
    db: Db,
}

impl PluginRepo {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    pub async fn insert(&self, conn: &mut Conn, p: &Plugin) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO plugins_plugin (id, kind, plugin_key, name, description, interface_version,
                sha256, size_bytes, storage_key, file_name, config_schema, media_type, file_extension,
                config, enabled, version, created_at, created_by, updated_at, updated_by)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, 1, $16, $17, $16, $17)",
        )
        .bind(&p.id)
        .bind(p.kind.as_str())
        .bind(&p.key)
        .bind(&p.name)
        .bind(&p.description)
        .bind(&p.interface_version)
        .bind(&p.sha256)
        .bind(p.size_bytes)
        .bind(&p.storage_key)
        .bind(&p.file_name)
        .bind(p.config_schema.to_string())
        .bind(&p.media_type)
        .bind(&p.file_extension)
        .bind(p.config.to_string())
        .bind(flag(p.enabled))
        .bind(time::to_db(p.created_at))
        .bind(&p.created_by)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    pub async fn get(&self, id: &str) -> Result<Option<Plugin>, sqlx::Error> {
        let sql = format!("SELECT {COLUMNS} FROM plugins_plugin WHERE id = $1");
        let row: Option<PluginRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(self.db.pool())
            .await?;
        row.map(TryInto::try_into).transpose()
    }

    /// Whether a registered plugin's component is stored at `storage_key`.
    pub async fn key_in_use(&self, storage_key: &str) -> Result<bool, sqlx::Error> {
        let found: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM plugins_plugin WHERE storage_key = $1")
                .bind(storage_key)
                .fetch_one(self.db.pool())
                .await?;
        Ok(found > 0)
    }

    /// The registered plugin holding these bytes, or this kind and key.
    pub async fn find_clash(
        &self,
        sha256: &str,
        kind: PluginKind,
        key: &str,
    ) -> Result<Option<Plugin>, sqlx::Error> {
        let sql = format!(
            "SELECT {COLUMNS} FROM plugins_plugin
             WHERE sha256 = $1 OR (kind = $2 AND plugin_key = $3) LIMIT 1"
        );
        let row: Option<PluginRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(sha256)
            .bind(kind.as_str())
            .bind(key)
            .fetch_optional(self.db.pool())
            .await?;
        row.map(TryInto::try_into).transpose()
    }

    pub async fn list(
        &self,
        filter: &PluginFilter,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<Plugin>, i64), sqlx::Error> {
        const CONDITION: &str = "($1 IS NULL OR kind = $1) AND ($2 IS NULL OR enabled = $2)";
        let kind = filter.kind.map(PluginKind::as_str);
        let enabled = filter.enabled.map(flag);
        let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM plugins_plugin WHERE {CONDITION}"
        )))
        .bind(kind)
        .bind(enabled)
        .fetch_one(self.db.pool())
        .await?;
        let rows: Vec<PluginRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM plugins_plugin WHERE {CONDITION}
             ORDER BY kind, name, id LIMIT $3 OFFSET $4"
        )))
        .bind(kind)
        .bind(enabled)
        .bind(limit)
        .bind(offset)
        .fetch_all(self.db.pool())
        .await?;
        let items = rows
            .into_iter()
            .map(TryInto::try_into)
            .collect::<Result<_, _>>()?;
        Ok((items, total))
    }

    /// Switches a plugin on or off at `expected_version`; switching it on
    /// clears the failure streak. False when the version moved on.
    pub async fn set_enabled(
        &self,
        conn: &mut Conn,
        id: &str,
        expected_version: i64,
        enabled: bool,
        reason: Option<&str>,
        actor: &Actor,
    ) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE plugins_plugin SET enabled = $3, disabled_reason = $4,
                consecutive_failures = CASE WHEN $3 = 1 THEN 0 ELSE consecutive_failures END,
                version = version + 1, updated_at = $5, updated_by = $6
             WHERE id = $1 AND version = $2",
        )
        .bind(id)
        .bind(expected_version)
        .bind(flag(enabled))
        .bind(reason)
        .bind(time::to_db(actor.at))
        .bind(&actor.username)
        .execute(&mut *conn)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn set_config(
        &self,
        conn: &mut Conn,
        id: &str,
        expected_version: i64,
        config: &serde_json::Value,
        actor: &Actor,
    ) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE plugins_plugin SET config = $3, version = version + 1, updated_at = $4,
                updated_by = $5
             WHERE id = $1 AND version = $2",
        )
        .bind(id)
        .bind(expected_version)
        .bind(config.to_string())
        .bind(time::to_db(actor.at))
        .bind(&actor.username)
        .execute(&mut *conn)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn delete(&self, conn: &mut Conn, id: &str) -> Result<bool, sqlx::Error> {
        let done = sqlx::query("DELETE FROM plugins_plugin WHERE id = $1")
            .bind(id)
            .execute(&mut *conn)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Counts a call. A failure that `counts` extends the run of failures,
    /// and past `disable_after` in a row switches the plugin off in the
    /// same statement, so concurrent calls cannot race past the limit;
    /// true when this call did that.
    pub async fn record_call(
        &self,
        conn: &mut Conn,
        id: &str,
        failure: Option<(&str, &str)>,
        counts: bool,
        disable_after: i64,
        at: Timestamp,
    ) -> Result<bool, sqlx::Error> {
        let disable_after = if counts { disable_after } else { 0 };
        let step = i64::from(counts);
        let Some((code, message)) = failure else {
            sqlx::query(
                "UPDATE plugins_plugin SET calls = calls + 1, consecutive_failures = 0 WHERE id = $1",
            )
            .bind(id)
            .execute(&mut *conn)
            .await?;
            return Ok(false);
        };
        let disabled: Option<i64> = sqlx::query_scalar(
            "UPDATE plugins_plugin SET calls = calls + 1, failures = failures + 1,
                consecutive_failures = consecutive_failures + $7,
                last_error_code = $2, last_error = $3, last_error_at = $4,
                enabled = CASE WHEN $5 > 0 AND consecutive_failures + 1 >= $5 THEN 0 ELSE enabled END,
                disabled_reason = CASE WHEN $5 > 0 AND consecutive_failures + 1 >= $5 AND enabled = 1
                    THEN $6 ELSE disabled_reason END,
                version = CASE WHEN $5 > 0 AND consecutive_failures + 1 >= $5 AND enabled = 1
                    THEN version + 1 ELSE version END
             WHERE id = $1
             RETURNING CASE WHEN disabled_reason = $6 AND enabled = 0 THEN 1 ELSE 0 END",
        )
        .bind(id)
        .bind(code)
        .bind(message)
        .bind(time::to_db(at))
        .bind(disable_after)
        .bind(auto_disable_reason(at))
        .bind(step)
        .fetch_optional(&mut *conn)
        .await?;
        Ok(disabled == Some(1))
    }
}

/// Unique per instant, so `record_call` can tell that this call disabled it.
fn auto_disable_reason(at: Timestamp) -> String {
    format!(
        "disabled automatically after repeated failures ({})",
        time::to_db(at)
    )
}

//! Registering, configuring and calling plugins. The host behind the
//! kernel's ports does the WebAssembly; this service keeps the registry,
//! the stored components, the audit trail and each plugin's call health.

use std::sync::Arc;

use aegis_core::Kernel;
use aegis_core::auth::Principal;
use aegis_core::db::Conn;
use aegis_core::error::FieldError;
use aegis_core::plugins::{
    EvaluationInput, Finding, PluginDescription, PluginFault, PluginHost, PluginKind, ReportData,
};
use aegis_core::text::truncate;
use serde_json::{Map, Value, json};

use crate::error::PluginsError;
use crate::model::{CallHealth, Plugin, PluginFilter, storage_key};
use crate::repo::PluginRepo;
use aegis_core::concurrency::Actor;

/// Longest error text kept on a plugin's record.
const MAX_ERROR_TEXT: usize = 2_000;

#[derive(Clone)]
pub struct PluginService {
    kernel: Kernel,
    repo: PluginRepo,
    host: Arc<dyn PluginHost>,
    /// The `[plugins]` section, read once: settings do not change while
    /// the server runs.
    settings: aegis_core::plugins::PluginSettings,
}

/// An upload: the component and what the uploader says it is.
pub struct Upload {
    pub kind: PluginKind,
    pub file_name: Option<String>,
    pub bytes: Vec<u8>,
}

impl PluginService {
    pub fn new(kernel: Kernel, host: Arc<dyn PluginHost>) -> Self {
        Self {
            repo: PluginRepo::new(kernel.db.clone()),
            settings: kernel
                .settings
                .section::<aegis_core::plugins::PluginSettings>(),
            kernel,
            host,
        }
    }

    /// Validates a component and registers it, enabled, with the defaults
    /// of its schema as configuration. Nothing is registered when any step
    /// fails, and the stored component is removed (or, storage refusing,
    /// swept later by `plugin_orphan_sweep`); the host keeps the compiled
    /// component only once the row is committed.
    pub async fn upload(&self, who: &Principal, upload: Upload) -> Result<Plugin, PluginsError> {
        let size_bytes = i64::try_from(upload.bytes.len()).unwrap_or(i64::MAX);
        let inspected = self
            .host
            .inspect(upload.bytes.clone(), Some(upload.kind))
            .await
            .map_err(PluginsError::Refused)?;
        let description = inspected.description.clone();
        check_description(&description)?;
        if let Some(clash) = self
            .repo
            .find_clash(&inspected.sha256, description.kind, &description.id)
            .await?
        {
            return Err(if clash.sha256 == inspected.sha256 {
                PluginsError::Conflict(
                    "plugin_already_registered",
                    format!("this component is already registered as {}", clash.id),
                )
            } else {
                PluginsError::Conflict(
                    "plugin_key_taken",
                    format!(
                        "a {} plugin with id `{}` is registered ({}); delete it first",
                        description.kind.as_str(),
                        description.id,
                        clash.id
                    ),
                )
            });
        }
        let at = self.kernel.clock.now();
        let plugin = Plugin {
            id: uuid::Uuid::now_v7().to_string(),
            kind: description.kind,
            key: description.id,
            name: description.name,
            description: description.description,
            interface_version: description.interface_version,
            storage_key: storage_key(&inspected.sha256),
            sha256: inspected.sha256.clone(),
            size_bytes,
            file_name: upload.file_name,
            config: defaults(&description.config_schema),
            config_schema: description.config_schema,
            media_type: description.media_type,
            file_extension: description.file_extension,
            enabled: true,
            disabled_reason: None,
            health: CallHealth::default(),
            version: 1,
            created_at: at,
            created_by: who.username.clone(),
            updated_at: at,
            updated_by: who.username.clone(),
        };
        self.kernel
            .storage
            .put(&plugin.storage_key, upload.bytes)
            .await?;
        if let Err(error) = self.register(who, &plugin).await {
            // The object is keyed by digest: when the same component was
            // registered concurrently, the winner's row points at it.
            let shared = matches!(
                self.repo.find_clash(&plugin.sha256, plugin.kind, &plugin.key).await,
                Ok(Some(other)) if other.sha256 == plugin.sha256
            );
            if !shared {
                self.remove_object(&plugin).await;
            }
            return Err(if aegis_core::db::is_unique_violation(&error) {
                PluginsError::Conflict(
                    "plugin_already_registered",
                    "registered concurrently".into(),
                )
            } else {
                error.into()
            });
        }
        self.host.admit(&inspected);
        Ok(plugin)
    }

    /// The row and its audit event, one unit of work.
    async fn register(&self, who: &Principal, plugin: &Plugin) -> Result<(), sqlx::Error> {
        let mut tx = self.kernel.db.begin().await?;
        self.repo.insert(&mut tx, plugin).await?;
        audit(
            &self.kernel,
            &mut tx,
            Some(who),
            "plugin.upload",
            &plugin.id,
            json!({
                "kind": plugin.kind.as_str(), "key": plugin.key, "name": plugin.name,
                "sha256": plugin.sha256, "size_bytes": plugin.size_bytes,
                "interface_version": plugin.interface_version,
            }),
        )
        .await?;
        tx.commit().await
    }

    /// Removes a stored component that has no row (or no longer one).
    async fn remove_object(&self, plugin: &Plugin) {
        if let Err(e) = self.kernel.storage.delete(&plugin.storage_key).await {
            tracing::warn!(key = %plugin.storage_key, error = %e, "cannot remove a plugin component; plugin_orphan_sweep will");
        }
    }

    /// The largest component accepted, in bytes.
    pub fn max_bytes(&self) -> u64 {
        self.settings.max_bytes
    }

    pub async fn get(&self, id: &str) -> Result<Plugin, PluginsError> {
        self.repo.get(id).await?.ok_or(PluginsError::NotFound)
    }

    pub async fn list(
        &self,
        filter: &PluginFilter,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<Plugin>, i64), PluginsError> {
        Ok(self.repo.list(filter, limit, offset).await?)
    }

    pub async fn set_enabled(
        &self,
        who: &Principal,
        id: &str,
        expected: Option<i64>,
        enabled: bool,
    ) -> Result<Plugin, PluginsError> {
        let current = self.get(id).await?;
        let expected = expected.unwrap_or(current.version);
        let actor = self.actor(who);
        let mut tx = self.kernel.db.begin().await?;
        if !self
            .repo
            .set_enabled(&mut tx, id, expected, enabled, None, &actor)
            .await?
        {
            drop(tx);
            return Err(self.stale(id, expected).await);
        }
        let action = if enabled {
            "plugin.enable"
        } else {
            "plugin.disable"
        };
        audit(
            &self.kernel,
            &mut tx,
            Some(who),
            action,
            id,
            json!({ "key": current.key }),
        )
        .await?;
        tx.commit().await?;
        self.get(id).await
    }

    /// Replaces the configuration after checking it against the plugin's schema.
    pub async fn set_config(
        &self,
        who: &Principal,
        id: &str,
        expected: Option<i64>,
        config: Value,
    ) -> Result<Plugin, PluginsError> {
        let current = self.get(id).await?;
        validate_config(&current.config_schema, &config)?;
        let expected = expected.unwrap_or(current.version);
        let mut tx = self.kernel.db.begin().await?;
        if !self
            .repo
            .set_config(&mut tx, id, expected, &config, &self.actor(who))
            .await?
        {
            drop(tx);
            return Err(self.stale(id, expected).await);
        }
        // Values may be secrets (a token for a webhook): the audit names keys only.
        audit(
            &self.kernel,
            &mut tx,
            Some(who),
            "plugin.configure",
            id,
            json!({ "keys": changed_keys(&current.config, &config) }),
        )
        .await?;
        tx.commit().await?;
        self.get(id).await
    }

    pub async fn delete(&self, who: &Principal, id: &str) -> Result<(), PluginsError> {
        let plugin = self.get(id).await?;
        let mut tx = self.kernel.db.begin().await?;
        if !self.repo.delete(&mut tx, id).await? {
            return Err(PluginsError::NotFound);
        }
        audit(
            &self.kernel,
            &mut tx,
            Some(who),
            "plugin.delete",
            id,
            json!({ "key": plugin.key, "sha256": plugin.sha256 }),
        )
        .await?;
        tx.commit().await?;
        // Gone for good: drop the compiled component and the stored bytes.
        self.host.forget(&plugin.sha256);
        self.remove_object(&plugin).await;
        Ok(())
    }

    /// Runs an enabled alert-rule plugin and records the outcome on it.
    pub async fn evaluate(
        &self,
        id: &str,
        params: &Value,
        input: &EvaluationInput,
    ) -> Result<Vec<Finding>, PluginsError> {
        let plugin = self.callable(id, PluginKind::AlertRule).await?;
        let outcome = self
            .host
            .evaluate(&plugin.reference(), &params.to_string(), input)
            .await;
        self.record(&plugin, outcome).await
    }

    /// Runs an enabled report-format plugin and records the outcome on it.
    pub async fn render(&self, id: &str, data: &ReportData) -> Result<Vec<u8>, PluginsError> {
        let plugin = self.callable(id, PluginKind::ReportFormat).await?;
        let outcome = self.host.render(&plugin.reference(), data).await;
        self.record(&plugin, outcome).await
    }

    async fn callable(&self, id: &str, kind: PluginKind) -> Result<Plugin, PluginsError> {
        let plugin = self.get(id).await?;
        if plugin.kind != kind {
            return Err(PluginsError::NotFound);
        }
        if !plugin.enabled {
            return Err(PluginsError::Disabled);
        }
        Ok(plugin)
    }

    async fn record<T>(
        &self,
        plugin: &Plugin,
        outcome: Result<T, PluginFault>,
    ) -> Result<T, PluginsError> {
        let fault = match outcome {
            Ok(value) => {
                let mut conn = self.kernel.db.pool().acquire().await?;
                self.repo
                    .record_call(
                        &mut conn,
                        &plugin.id,
                        None,
                        true,
                        0,
                        self.kernel.clock.now(),
                    )
                    .await?;
                return Ok(value);
            }
            Err(fault) => fault,
        };
        let text = truncate(&fault.to_string(), MAX_ERROR_TEXT).to_owned();
        tracing::warn!(plugin = %plugin.name, code = fault.code(), error = %text, "plugin call failed");
        if !matches!(fault, PluginFault::Unavailable(_)) {
            let limit = i64::from(self.settings.max_consecutive_failures);
            let counts = fault.counts_against_plugin();
            let at = self.kernel.clock.now();
            // The switch-off and its audit event commit together.
            let mut tx = self.kernel.db.begin().await?;
            let disabled = self
                .repo
                .record_call(
                    &mut tx,
                    &plugin.id,
                    Some((fault.code(), &text)),
                    counts,
                    limit,
                    at,
                )
                .await?;
            if disabled {
                audit(
                    &self.kernel,
                    &mut tx,
                    None,
                    "plugin.auto_disable",
                    &plugin.id,
                    json!({ "key": plugin.key, "failures_in_a_row": limit, "last_error": fault.code() }),
                )
                .await?;
            }
            tx.commit().await?;
            if disabled {
                tracing::warn!(plugin = %plugin.name, "plugin disabled after {limit} failures in a row");
            }
        }
        Err(PluginsError::Call(fault))
    }

    async fn stale(&self, id: &str, expected: i64) -> PluginsError {
        match self.repo.get(id).await {
            Ok(Some(now)) => PluginsError::StaleVersion {
                expected,
                current: now.version,
            },
            Ok(None) => PluginsError::NotFound,
            Err(e) => e.into(),
        }
    }

    fn actor(&self, who: &Principal) -> Actor {
        self.kernel.actor(who)
    }
}

/// Records an event about a plugin inside the change's transaction.
async fn audit(
    kernel: &Kernel,
    conn: &mut Conn,
    who: Option<&Principal>,
    action: &str,
    id: &str,
    detail: Value,
) -> Result<(), sqlx::Error> {
    let actor = who.map(|p| (p.user_id.as_str(), p.username.as_str()));
    kernel
        .audit
        .record_about_in(conn, actor, action, ("plugin", id), detail)
        .await
}

/// Ids become keys and names are shown: hold them to a plain shape.
fn check_description(d: &PluginDescription) -> Result<(), PluginsError> {
    let key_ok = (1..=64).contains(&d.id.len())
        && d.id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !d.id.starts_with('-');
    if !key_ok {
        return Err(PluginsError::BadDescription(format!(
            "the plugin's id `{}` must be 1 to 64 lowercase letters, digits and dashes",
            truncate(&d.id, 80)
        )));
    }
    if d.name.trim().is_empty() || d.name.len() > 200 || d.description.len() > 4_000 {
        return Err(PluginsError::BadDescription(
            "the plugin's name must be 1 to 200 bytes and its description at most 4000".into(),
        ));
    }
    if let (Some(media), Some(extension)) = (&d.media_type, &d.file_extension) {
        let media_ok = media.len() <= 100
            && media.split('/').count() == 2
            && !media.contains(char::is_whitespace);
        let ext_ok = (1..=16).contains(&extension.len())
            && extension.bytes().all(|b| b.is_ascii_alphanumeric());
        if !media_ok || !ext_ok {
            return Err(PluginsError::BadDescription(
                "the format's media type or file extension is malformed".into(),
            ));
        }
    }
    jsonschema::validator_for(&d.config_schema).map_err(|e| {
        PluginsError::BadDescription(format!(
            "the plugin's config-schema is not a JSON Schema: {e}"
        ))
    })?;
    Ok(())
}

/// A configuration of the schema's top-level defaults.
fn defaults(schema: &Value) -> Value {
    let mut config = Map::new();
    if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
        for (key, property) in properties {
            if let Some(default) = property.get("default") {
                config.insert(key.clone(), default.clone());
            }
        }
    }
    Value::Object(config)
}

/// Checks `config` against `schema`; every violation becomes a field error
/// named by its JSON pointer.
pub fn validate_config(schema: &Value, config: &Value) -> Result<(), PluginsError> {
    if !config.is_object() {
        return Err(PluginsError::InvalidConfig(vec![FieldError::new(
            "config",
            "must be a JSON object",
        )]));
    }
    let validator = jsonschema::validator_for(schema).map_err(|e| {
        PluginsError::BadDescription(format!("the plugin's config-schema is not usable: {e}"))
    })?;
    let errors: Vec<FieldError> = validator
        .iter_errors(config)
        .take(20)
        .map(|e| {
            let pointer = e.instance_path().to_string();
            FieldError::new(format!("config{pointer}"), e.to_string())
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(PluginsError::InvalidConfig(errors))
    }
}

fn changed_keys(before: &Value, after: &Value) -> Vec<String> {
    let empty = Map::new();
    let (b, a) = (
        before.as_object().unwrap_or(&empty),
        after.as_object().unwrap_or(&empty),
    );
    let mut keys: Vec<String> = b
        .keys()
        .chain(a.keys())
        .filter(|k| b.get(*k) != a.get(*k))
        .cloned()
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

//! Typed settings from figment layers: struct defaults < `config/default.toml` <
//! `config/{AEGIS_ENV}.toml` < `AEGIS_*_FILE` secrets < `AEGIS_*` variables
//! (`__` separates nested keys). A bad value is one line naming the key.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

use crate::secret::{Secret, lenient_opt_string, lenient_string};

/// Environment variable prefix of every setting.
pub const ENV_PREFIX: &str = "AEGIS_";
/// Variables that steer loading itself and are not settings.
const LOADER_VARIABLES: [&str; 1] = ["CONFIG_DIR"];
/// The shortest `AEGIS_SECRET_KEY` production accepts.
pub const MIN_SECRET_KEY_LEN: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    #[default]
    Development,
    Production,
}

impl Environment {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Development => "development",
            Self::Production => "production",
        }
    }
}

/// Every setting of an Aegis process.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub env: Environment,
    /// Folder for the SQLite file, local storage and the generated secret key.
    pub data_dir: PathBuf,
    /// Signs tokens. Production refuses to start without a strong one;
    /// development generates one and keeps it in the data directory.
    pub secret_key: Option<Secret>,
    pub http: HttpSettings,
    pub database: DatabaseSettings,
    pub redis: RedisSettings,
    pub storage: StorageSettings,
    pub admin: AdminSettings,
    pub auth: AuthSettings,
    pub log: LogSettings,
    pub audit: AuditSettings,
    pub mitre: MitreSettings,
    pub evidence: EvidenceSettings,
    pub plugins: PluginSettings,
    pub alerts: AlertSettings,
    pub coverage: CoverageSettings,
    /// Cron overrides per job id; an empty string disables the job.
    pub jobs: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct HttpSettings {
    #[serde(deserialize_with = "lenient_string")]
    pub host: String,
    pub port: u16,
    /// Origins allowed by CORS in production (development allows any).
    pub cors_origins: Vec<String>,
    /// Swagger UI and ReDoc; unset means on in development, off in production.
    pub docs: Option<bool>,
    /// Largest request body outside of uploads.
    pub max_body_bytes: usize,
    /// The built dashboard (`npm run build` in `frontend/`); served at `/`
    /// when it holds an `index.html`.
    pub frontend_dir: PathBuf,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct DatabaseSettings {
    /// `sqlite://path` or `postgres://...`; unset means `<data_dir>/aegis.db`.
    #[serde(deserialize_with = "lenient_opt_string")]
    pub url: Option<String>,
    pub max_connections: u32,
    /// Run migrations at start-up; unset means on in development only.
    pub migrate_on_start: Option<bool>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct RedisSettings {
    /// Unset: the in-process key-value store (one replica only).
    #[serde(deserialize_with = "lenient_opt_string")]
    pub url: Option<String>,
    /// Namespace of every key, so several installations can share one Redis.
    #[serde(deserialize_with = "lenient_string")]
    pub key_prefix: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum StorageBackend {
    #[default]
    Fs,
    S3,
    /// In memory, for tests only.
    Memory,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct StorageSettings {
    pub backend: StorageBackend,
    /// Root folder for `fs`; unset means `<data_dir>/storage`.
    pub fs_root: Option<PathBuf>,
    pub s3: S3Settings,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct S3Settings {
    #[serde(deserialize_with = "lenient_opt_string")]
    pub endpoint: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub bucket: String,
    #[serde(deserialize_with = "lenient_string")]
    pub region: String,
    /// Folder inside the bucket that holds every Aegis object.
    #[serde(deserialize_with = "lenient_string")]
    pub root: String,
    pub access_key_id: Option<Secret>,
    pub secret_access_key: Option<Secret>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct AdminSettings {
    #[serde(deserialize_with = "lenient_string")]
    pub username: String,
    /// First-run admin password; unset means a generated one printed once.
    pub password: Option<Secret>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum CookieSecure {
    /// Secure in production, not in development.
    #[default]
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct AuthSettings {
    pub token_ttl_minutes: u32,
    pub cookie_secure: CookieSecure,
    /// Failed logins (per username and per address) before each answer is slowed.
    pub login_slowdown_after: u32,
    /// Failed logins within the window before logins are refused with 429.
    pub login_max_failures: u32,
    pub login_window_seconds: u32,
    pub min_password_length: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// JSON in production, human-readable text in development.
    #[default]
    Auto,
    Json,
    Text,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct LogSettings {
    /// A tracing filter such as `info` or `aegis=debug,sqlx=warn`; `RUST_LOG` wins.
    #[serde(deserialize_with = "lenient_string")]
    pub level: String,
    pub format: LogFormat,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct AuditSettings {
    /// Audit events older than this are deleted by the `audit_retention` job.
    pub retention_days: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            env: Environment::Development,
            data_dir: PathBuf::from("data"),
            secret_key: None,
            http: HttpSettings::default(),
            database: DatabaseSettings::default(),
            redis: RedisSettings::default(),
            storage: StorageSettings::default(),
            admin: AdminSettings::default(),
            auth: AuthSettings::default(),
            log: LogSettings::default(),
            audit: AuditSettings::default(),
            mitre: MitreSettings::default(),
            evidence: EvidenceSettings::default(),
            plugins: PluginSettings::default(),
            alerts: AlertSettings::default(),
            coverage: CoverageSettings::default(),
            jobs: BTreeMap::new(),
        }
    }
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 8000,
            cors_origins: Vec::new(),
            docs: None,
            max_body_bytes: 1024 * 1024,
            frontend_dir: PathBuf::from("frontend/dist"),
        }
    }
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            url: None,
            max_connections: 10,
            migrate_on_start: None,
        }
    }
}

impl Default for RedisSettings {
    fn default() -> Self {
        Self {
            url: None,
            key_prefix: "aegis".into(),
        }
    }
}

impl Default for StorageSettings {
    fn default() -> Self {
        Self {
            backend: StorageBackend::Fs,
            fs_root: None,
            s3: S3Settings::default(),
        }
    }
}

impl Default for S3Settings {
    fn default() -> Self {
        Self {
            endpoint: None,
            bucket: "aegis".into(),
            region: "us-east-1".into(),
            root: "/".into(),
            access_key_id: None,
            secret_access_key: None,
        }
    }
}

impl Default for AdminSettings {
    fn default() -> Self {
        Self {
            username: "admin".into(),
            password: None,
        }
    }
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            token_ttl_minutes: 12 * 60,
            cookie_secure: CookieSecure::Auto,
            login_slowdown_after: 3,
            login_max_failures: 10,
            login_window_seconds: 15 * 60,
            min_password_length: 10,
        }
    }
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            level: "info".into(),
            format: LogFormat::Auto,
        }
    }
}

/// Where the ATT&CK catalog comes from.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct MitreSettings {
    /// The Enterprise bundle: an http(s) URL, a `file://` URL or a path (gzip is read too).
    #[serde(deserialize_with = "lenient_string")]
    pub source: String,
    /// Further domains' bundles (mobile, ics), same forms as `source`.
    pub extra_sources: Vec<String>,
    /// Largest bundle accepted, in bytes (the Enterprise bundle is about 50 MB).
    pub max_bundle_bytes: usize,
    pub timeout_seconds: u64,
}

impl Default for MitreSettings {
    fn default() -> Self {
        Self {
            source: "https://raw.githubusercontent.com/mitre-attack/attack-stix-data/master/enterprise-attack/enterprise-attack.json".into(),
            extra_sources: Vec::new(),
            max_bundle_bytes: 256 * 1024 * 1024,
            timeout_seconds: 120,
        }
    }
}

/// Files attached to tests as evidence.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct EvidenceSettings {
    /// Largest evidence file, in bytes.
    pub max_bytes: u64,
    /// Media types accepted, as the upload declares them (parameters ignored).
    pub allowed_media_types: Vec<String>,
    /// Objects without a database row are removed by `evidence_orphan_sweep`
    /// once older than this, so uploads in progress are left alone.
    pub orphan_grace_minutes: u32,
}

impl Default for EvidenceSettings {
    fn default() -> Self {
        let types = [
            "text/plain",
            "text/csv",
            "application/json",
            "application/xml",
            "application/pdf",
            "application/zip",
            "application/gzip",
            "application/x-7z-compressed",
            "application/vnd.tcpdump.pcap",
            "application/x-pcapng",
            "application/octet-stream",
            "image/png",
            "image/jpeg",
            "image/gif",
            "image/webp",
            "video/mp4",
        ];
        Self {
            max_bytes: 256 * 1024 * 1024,
            allowed_media_types: types.iter().map(|t| (*t).to_owned()).collect(),
            orphan_grace_minutes: 60,
        }
    }
}

/// Coverage snapshots.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct CoverageSettings {
    /// `snapshot_retention` deletes snapshots older than this (never the newest).
    pub snapshot_retention_days: u32,
}

impl Default for CoverageSettings {
    fn default() -> Self {
        Self {
            snapshot_retention_days: 365,
        }
    }
}

/// Alert rules.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct AlertSettings {
    /// Lets webhooks reach loopback, private, link-local and other
    /// non-public addresses. Off: a rule's webhook could otherwise probe
    /// the server's own network (or a cloud metadata endpoint).
    pub webhook_allow_private_networks: bool,
}

/// WebAssembly plugins: what an upload may weigh and what one call may use.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct PluginSettings {
    /// Largest component accepted, in bytes.
    pub max_bytes: u64,
    /// Wall-clock deadline of one call.
    pub call_timeout_ms: u64,
    /// Linear memory one call may grow to, in bytes.
    pub memory_limit_bytes: u64,
    /// Instructions (fuel units) one call may spend; unset means only the deadline bounds it.
    pub fuel: Option<u64>,
    /// Largest rendered report, in bytes.
    pub max_output_bytes: u64,
    /// Most findings one evaluation may return.
    pub max_findings: u32,
    /// A plugin failing this many calls in a row is disabled; 0 never disables.
    pub max_consecutive_failures: u32,
    /// Compiled components kept in memory.
    pub cache_entries: u32,
    /// Plugin calls running at once; more wait their turn.
    pub max_concurrent_calls: u32,
}

impl Default for PluginSettings {
    fn default() -> Self {
        Self {
            max_bytes: 16 * 1024 * 1024,
            call_timeout_ms: 2_000,
            memory_limit_bytes: 64 * 1024 * 1024,
            fuel: None,
            max_output_bytes: 32 * 1024 * 1024,
            max_findings: 1_000,
            max_consecutive_failures: 5,
            cache_entries: 64,
            max_concurrent_calls: 4,
        }
    }
}

/// Room for multipart boundaries and small form fields around an upload.
const MULTIPART_OVERHEAD_BYTES: u64 = 1024 * 1024;

impl Settings {
    /// The body limit of multipart uploads: the largest upload any module
    /// accepts plus framing; each upload handler enforces its own limit too.
    pub fn upload_body_limit(&self) -> u64 {
        self.evidence
            .max_bytes
            .max(self.plugins.max_bytes)
            .max(self.http.max_body_bytes as u64)
            .saturating_add(MULTIPART_OVERHEAD_BYTES)
    }
}

impl Default for AuditSettings {
    fn default() -> Self {
        Self {
            retention_days: 365,
        }
    }
}

/// A setting that cannot be used; the message names the key and fits on one line.
#[derive(Debug, thiserror::Error)]
#[error("configuration error: {0}")]
pub struct ConfigError(pub String);

/// Settings plus what the loader noticed, to be logged once tracing runs.
#[derive(Debug)]
pub struct Loaded {
    pub settings: Settings,
    pub warnings: Vec<String>,
}

impl Settings {
    /// Loads every layer from `config_dir` and the process environment.
    pub fn load(config_dir: &Path) -> Result<Loaded, ConfigError> {
        let vars: Vec<(String, String)> = std::env::vars().collect();
        Self::load_from(config_dir, &vars)
    }

    /// [`Settings::load`] with the environment given explicitly (tests).
    pub fn load_from(config_dir: &Path, vars: &[(String, String)]) -> Result<Loaded, ConfigError> {
        let env_name = vars
            .iter()
            .find(|(k, _)| k == "AEGIS_ENV")
            .map(|(_, v)| v.trim().to_ascii_lowercase())
            .unwrap_or_else(|| "development".into());
        if env_name != "development" && env_name != "production" {
            return Err(ConfigError(format!(
                "AEGIS_ENV: expected `development` or `production`, found `{env_name}`"
            )));
        }

        let mut figment = Figment::from(Serialized::defaults(Settings::default()))
            .merge(Toml::file(config_dir.join("default.toml")))
            .merge(Toml::file(config_dir.join(format!("{env_name}.toml"))));

        let mut env_keys = Vec::new();
        for (name, value) in vars {
            let Some(rest) = name.strip_prefix(ENV_PREFIX) else {
                continue;
            };
            if LOADER_VARIABLES.contains(&rest) {
                continue;
            }
            match rest.strip_suffix("_FILE") {
                Some(target) => {
                    let content = std::fs::read_to_string(value)
                        .map_err(|e| ConfigError(format!("{name}: cannot read `{value}`: {e}")))?;
                    let key = env_key_path(target);
                    figment = figment.merge(Serialized::default(&key, content.trim().to_owned()));
                    env_keys.push((name.clone(), key));
                }
                None => env_keys.push((name.clone(), env_key_path(rest))),
            }
        }
        // Variables are merged from `vars`, not read by figment's `Env`, so tests
        // can load settings without touching the process environment.
        for (name, value) in vars {
            if let Some(rest) = name.strip_prefix(ENV_PREFIX)
                && !rest.ends_with("_FILE")
                && !LOADER_VARIABLES.contains(&rest)
            {
                figment = figment.merge(Serialized::default(
                    &env_key_path(rest),
                    parse_env_value(value),
                ));
            }
        }

        let settings: Settings = figment.extract().map_err(|e| ConfigError(one_line(&e)))?;
        settings.validate()?;
        let warnings = unknown_keys(&env_keys);
        Ok(Loaded { settings, warnings })
    }

    /// Checks what types alone cannot.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, why: String| Err(ConfigError(format!("{key}: {why}")));
        if let Some(url) = &self.database.url
            && !(url.starts_with("sqlite:")
                || url.starts_with("postgres://")
                || url.starts_with("postgresql://"))
        {
            return bad(
                "AEGIS_DATABASE__URL",
                "expected a `sqlite://...` or `postgres://...` URL".into(),
            );
        }
        if let Some(url) = &self.redis.url
            && !(url.starts_with("redis://") || url.starts_with("rediss://"))
        {
            return bad(
                "AEGIS_REDIS__URL",
                "expected a `redis://...` or `rediss://...` URL".into(),
            );
        }
        if self.storage.backend == StorageBackend::S3 && self.storage.s3.bucket.trim().is_empty() {
            return bad(
                "AEGIS_STORAGE__S3__BUCKET",
                "required when the storage backend is s3".into(),
            );
        }
        if self.evidence.max_bytes == 0 {
            return bad("AEGIS_EVIDENCE__MAX_BYTES", "must be positive".into());
        }
        if let Some(bad_type) = self.evidence.allowed_media_types.iter().find(|t| {
            t.split_once('/')
                .is_none_or(|(a, b)| a.is_empty() || b.is_empty())
        }) {
            return bad(
                "AEGIS_EVIDENCE__ALLOWED_MEDIA_TYPES",
                format!("`{bad_type}` is not a media type (type/subtype)"),
            );
        }
        if self.auth.token_ttl_minutes == 0 || self.auth.token_ttl_minutes > 30 * 24 * 60 {
            return bad(
                "AEGIS_AUTH__TOKEN_TTL_MINUTES",
                "expected 1 to 43200 minutes".into(),
            );
        }
        if self.auth.login_max_failures == 0 || self.auth.login_window_seconds == 0 {
            return bad(
                "AEGIS_AUTH__LOGIN_MAX_FAILURES",
                "the login limit and window must be positive".into(),
            );
        }
        if self.database.max_connections == 0 {
            return bad(
                "AEGIS_DATABASE__MAX_CONNECTIONS",
                "must be at least 1".into(),
            );
        }
        if self.admin.username.trim().is_empty() {
            return bad("AEGIS_ADMIN__USERNAME", "must not be empty".into());
        }
        if self.env == Environment::Production {
            match &self.secret_key {
                None => return bad("AEGIS_SECRET_KEY", "required in production".into()),
                Some(key) if !is_strong_secret(key.expose()) => {
                    return bad(
                        "AEGIS_SECRET_KEY",
                        format!(
                            "too weak for production: use at least {MIN_SECRET_KEY_LEN} random characters"
                        ),
                    );
                }
                Some(_) => {}
            }
        }
        Ok(())
    }

    pub fn database_url(&self) -> String {
        match &self.database.url {
            Some(url) => url.clone(),
            None => format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("aegis.db").display()
            ),
        }
    }

    pub fn docs_enabled(&self) -> bool {
        self.http
            .docs
            .unwrap_or(self.env == Environment::Development)
    }

    pub fn migrate_on_start(&self) -> bool {
        self.database
            .migrate_on_start
            .unwrap_or(self.env == Environment::Development)
    }

    pub fn cookie_secure(&self) -> bool {
        match self.auth.cookie_secure {
            CookieSecure::Auto => self.env == Environment::Production,
            CookieSecure::Always => true,
            CookieSecure::Never => false,
        }
    }

    pub fn json_logs(&self) -> bool {
        match self.log.format {
            LogFormat::Auto => self.env == Environment::Production,
            LogFormat::Json => true,
            LogFormat::Text => false,
        }
    }

    /// The effective settings as TOML, secrets redacted (`aegis config`).
    pub fn to_redacted_toml(&self) -> String {
        let mut value = serde_json::to_value(self).unwrap_or_default();
        for section in ["database", "redis"] {
            if let Some(url) = value.pointer_mut(&format!("/{section}/url"))
                && let Some(text) = url.as_str()
            {
                *url = serde_json::Value::String(redact_url_password(text));
            }
        }
        toml_lines(&value)
    }
}

/// `postgres://user:pw@host/db` → `postgres://user:[redacted]@host/db`.
pub fn redact_url_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((credentials, host)) = rest.rsplit_once('@') else {
        return url.to_owned();
    };
    match credentials.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:[redacted]@{host}"),
        None => url.to_owned(),
    }
}

/// Long enough, and not one character repeated or a well-known placeholder.
pub fn is_strong_secret(key: &str) -> bool {
    let distinct: std::collections::BTreeSet<char> = key.chars().collect();
    let lower = key.to_ascii_lowercase();
    key.len() >= MIN_SECRET_KEY_LEN
        && distinct.len() >= 8
        && !["change", "secret", "password", "example"]
            .iter()
            .any(|w| lower.contains(w))
}

fn env_key_path(rest: &str) -> String {
    rest.split("__")
        .map(str::to_ascii_lowercase)
        .collect::<Vec<_>>()
        .join(".")
}

/// Environment values are typed like figment's own `Env` does: numbers,
/// booleans and `[a, b]` arrays; everything else is a string.
fn parse_env_value(raw: &str) -> figment::value::Value {
    match raw.parse::<figment::value::Value>() {
        Ok(value) => value,
        Err(never) => match never {},
    }
}

fn one_line(error: &figment::Error) -> String {
    let mut text = error.to_string().replace('\n', " ");
    if let Some(first) = error.clone().into_iter().next()
        && let Some(path) = first.path.last()
    {
        let var = format!("{ENV_PREFIX}{}", first.path.join("__").to_ascii_uppercase());
        text = format!("{var} ({path}): {}", first.kind);
    }
    text
}

/// `AEGIS_*` variables that match no setting: probably a typo worth a warning.
fn unknown_keys(env_keys: &[(String, String)]) -> Vec<String> {
    let known = serde_json::to_value(Settings::default()).unwrap_or_default();
    env_keys
        .iter()
        .filter(|(_, key)| !key_is_known(&known, key))
        .map(|(var, _)| format!("unknown setting {var} is ignored"))
        .collect()
}

fn key_is_known(known: &serde_json::Value, key: &str) -> bool {
    let mut node = known;
    for (depth, part) in key.split('.').enumerate() {
        if depth == 1 && key.starts_with("jobs.") {
            return true;
        }
        match node.get(part) {
            Some(next) => node = next,
            None => return false,
        }
    }
    true
}

fn toml_lines(value: &serde_json::Value) -> String {
    fn scalar(v: &serde_json::Value) -> String {
        match v {
            serde_json::Value::Null => "# unset".into(),
            other => other.to_string(),
        }
    }
    fn walk(prefix: &str, value: &serde_json::Value, out: &mut String) {
        let serde_json::Value::Object(map) = value else {
            return;
        };
        let mut tables = Vec::new();
        for (k, v) in map {
            if v.is_object() {
                tables.push((k, v));
            } else if v.is_null() {
                out.push_str(&format!("# {k} = (unset)\n"));
            } else {
                out.push_str(&format!("{k} = {}\n", scalar(v)));
            }
        }
        for (k, v) in tables {
            let name = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            out.push_str(&format!("\n[{name}]\n"));
            walk(&name, v, out);
        }
    }
    let mut out = String::new();
    walk("", value, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(vars: &[(&str, &str)]) -> Result<Loaded, ConfigError> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::load_from(Path::new("/nonexistent"), &vars)
    }

    #[test]
    fn defaults_are_the_embedded_installation() {
        let s = load(&[]).unwrap().settings;
        assert_eq!(s.http.port, 8000);
        assert_eq!(s.http.host, "127.0.0.1");
        assert!(s.database_url().starts_with("sqlite://"));
        assert!(s.redis.url.is_none());
        assert_eq!(s.storage.backend, StorageBackend::Fs);
        assert!(s.docs_enabled());
        assert!(!s.cookie_secure());
    }

    #[test]
    fn environment_variables_override_nested_keys() {
        let s = load(&[
            ("AEGIS_HTTP__PORT", "9001"),
            ("AEGIS_DATA_DIR", "/tmp/x"),
            ("AEGIS_STORAGE__BACKEND", "s3"),
            ("AEGIS_STORAGE__S3__BUCKET", "evidence"),
            ("AEGIS_ADMIN__PASSWORD", "12345678901"),
            ("AEGIS_AUTH__TOKEN_TTL_MINUTES", "30"),
        ])
        .unwrap()
        .settings;
        assert_eq!(s.http.port, 9001);
        assert_eq!(s.data_dir, PathBuf::from("/tmp/x"));
        assert_eq!(s.storage.backend, StorageBackend::S3);
        assert_eq!(s.storage.s3.bucket, "evidence");
        assert_eq!(s.admin.password.unwrap().expose(), "12345678901");
        assert_eq!(s.auth.token_ttl_minutes, 30);
    }

    #[test]
    fn a_bad_value_is_one_line_naming_the_key() {
        let err = load(&[("AEGIS_HTTP__PORT", "eighty")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("AEGIS_HTTP__PORT"), "{err}");
        assert!(!err.contains('\n'));
        let err = load(&[("AEGIS_DATABASE__URL", "mysql://x")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("AEGIS_DATABASE__URL"), "{err}");
        let err = load(&[("AEGIS_ENV", "staging")]).unwrap_err().to_string();
        assert!(err.contains("AEGIS_ENV"), "{err}");
        let err = load(&[("AEGIS_STORAGE__BACKEND", "ftp")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("AEGIS_STORAGE__BACKEND"), "{err}");
    }

    #[test]
    fn production_needs_a_strong_secret_key() {
        let err = load(&[("AEGIS_ENV", "production")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("AEGIS_SECRET_KEY"), "{err}");
        let err = load(&[
            ("AEGIS_ENV", "production"),
            ("AEGIS_SECRET_KEY", "changeme"),
        ])
        .unwrap_err()
        .to_string();
        assert!(err.contains("too weak"), "{err}");
        let s = load(&[
            ("AEGIS_ENV", "production"),
            ("AEGIS_SECRET_KEY", "q8Zr3vN1xL0pT6yW2bK9mF4hJ7cD5sA0"),
        ])
        .unwrap()
        .settings;
        assert!(s.cookie_secure());
        assert!(!s.docs_enabled());
        assert!(s.json_logs());
    }

    #[test]
    fn secrets_are_redacted_and_typos_warned() {
        let loaded = load(&[
            ("AEGIS_SECRET_KEY", "super-hidden-value"),
            ("AEGIS_HTTP__PROT", "1"),
            (
                "AEGIS_DATABASE__URL",
                "postgres://aegis:db-hidden-pw@db/aegis",
            ),
            ("AEGIS_REDIS__URL", "redis://:redis-hidden-pw@cache:6379"),
        ])
        .unwrap();
        let shown = loaded.settings.to_redacted_toml();
        assert!(!shown.contains("super-hidden-value"));
        assert!(
            !shown.contains("db-hidden-pw") && !shown.contains("redis-hidden-pw"),
            "{shown}"
        );
        assert!(
            shown.contains("postgres://aegis:[redacted]@db/aegis"),
            "{shown}"
        );
        assert!(shown.contains("[redacted]"));
        assert!(format!("{:?}", loaded.settings).contains("[redacted]"));
        assert_eq!(loaded.warnings.len(), 1, "{:?}", loaded.warnings);
        assert!(loaded.warnings[0].contains("AEGIS_HTTP__PROT"));
    }

    #[test]
    fn file_variables_read_secrets() {
        let path = std::env::temp_dir().join(format!("aegis-secret-{}", uuid::Uuid::new_v4()));
        std::fs::write(&path, "from-a-file\n").unwrap();
        let s = load(&[("AEGIS_ADMIN__PASSWORD_FILE", path.to_str().unwrap())])
            .unwrap()
            .settings;
        assert_eq!(s.admin.password.unwrap().expose(), "from-a-file");
        std::fs::remove_file(path).ok();
    }
}

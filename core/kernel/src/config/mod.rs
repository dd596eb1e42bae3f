//! Typed settings from figment layers: struct defaults < `config/default.toml` <
//! `config/{AEGIS_ENV}.toml` < `AEGIS_*_FILE` secrets < `AEGIS_*` variables
//! (`__` separates nested keys). A bad value is one line naming the key.
//!
//! [`Settings`] holds the infrastructure only (http, database, redis, storage,
//! admin, auth, log, jobs). Every other table (`[evidence]`, `[mitre]`, …)
//! belongs to a module, which defines its type and reads it through
//! [`Settings::section`]; the kernel keeps those tables as layered values
//! and knows none of them (see `sections.rs`).

mod auth;
mod database;
mod http;
mod load;
mod log;
mod sections;
mod show;
mod storage;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::secret::Secret;

pub use auth::{
    AdminSettings, AuthSettings, CookieSecure, MIN_SECRET_KEY_LEN, PASSWORD_LENGTHS,
    is_strong_secret,
};
pub use database::{DatabaseSettings, RedisSettings};
pub use http::HttpSettings;
pub use load::{ENV_PREFIX, Loaded};
pub use log::{LogFormat, LogSettings};
pub use sections::{Section, SectionSpec, Sections, check_unique_sections};
pub use show::redact_url_password;
pub use storage::{S3Settings, StorageBackend, StorageSettings};

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

/// The infrastructure settings of an Aegis process, plus the modules' own
/// sections as layered values.
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
    /// Cron overrides per job id; an empty string disables the job.
    pub jobs: BTreeMap<String, String>,
    /// Every other table, as the layers left it; modules read theirs with
    /// [`Settings::section`].
    #[serde(skip)]
    pub sections: Sections,
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
            jobs: BTreeMap::new(),
            sections: Sections::default(),
        }
    }
}

/// A setting that cannot be used; the message names the key and fits on one line.
#[derive(Debug, thiserror::Error)]
#[error("configuration error: {0}")]
pub struct ConfigError(pub String);

/// An hour: a timeout past it protects nothing, and the bound keeps deadline
/// arithmetic far from overflow.
const MAX_HTTP_TIMEOUT_SECONDS: u64 = 3600;

/// Beyond any open-file limit a process is likely to get.
const MAX_HTTP_CONNECTIONS: usize = 1_000_000;

/// Room for multipart boundaries and small form fields around an upload.
const MULTIPART_OVERHEAD_BYTES: u64 = 1024 * 1024;

impl Settings {
    /// The body limit of multipart uploads: `largest_upload` (the largest any
    /// module accepts, which the composition knows) plus framing; each upload
    /// handler enforces its own limit too.
    pub fn upload_body_limit(&self, largest_upload: u64) -> u64 {
        largest_upload
            .max(self.http.max_body_bytes as u64)
            .saturating_add(MULTIPART_OVERHEAD_BYTES)
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
        if !PASSWORD_LENGTHS.contains(&self.auth.min_password_length) {
            return bad(
                "AEGIS_AUTH__MIN_PASSWORD_LENGTH",
                format!(
                    "expected {} to {} characters",
                    PASSWORD_LENGTHS.start(),
                    PASSWORD_LENGTHS.end()
                ),
            );
        }
        if self.database.max_connections == 0 {
            return bad(
                "AEGIS_DATABASE__MAX_CONNECTIONS",
                "must be at least 1".into(),
            );
        }
        for (key, seconds) in [
            (
                "AEGIS_HTTP__HEADER_READ_TIMEOUT_SECONDS",
                self.http.header_read_timeout_seconds,
            ),
            (
                "AEGIS_HTTP__IDLE_TIMEOUT_SECONDS",
                self.http.idle_timeout_seconds,
            ),
            (
                "AEGIS_HTTP__BODY_READ_TIMEOUT_SECONDS",
                self.http.body_read_timeout_seconds,
            ),
        ] {
            if !(1..=MAX_HTTP_TIMEOUT_SECONDS).contains(&seconds) {
                return bad(
                    key,
                    format!("expected 1 to {MAX_HTTP_TIMEOUT_SECONDS} seconds"),
                );
            }
        }
        if !(1..=MAX_HTTP_CONNECTIONS).contains(&self.http.max_connections) {
            return bad(
                "AEGIS_HTTP__MAX_CONNECTIONS",
                format!("expected 1 to {MAX_HTTP_CONNECTIONS}"),
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
}

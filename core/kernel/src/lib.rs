//! aegis-core, the kernel: config, persistence, key-value store, storage,
//! scheduler, leases, auth, audit, backup and restore, module registry and
//! the HTTP error type. It knows no feature: modules depend on it, never the
//! other way round.
#![forbid(unsafe_code)]

pub mod audit;
pub mod auth;
pub mod backup;
pub mod concurrency;
pub mod config;
pub mod db;
pub mod download;
pub mod error;
pub mod form;
pub mod http;
pub mod kv;
pub mod lease;
pub mod module;
pub mod nullable;
pub mod pagination;
pub mod plugins;
pub mod scheduler;
pub mod secret;
pub mod storage;
#[cfg(feature = "testing")]
pub mod testing;
pub mod text;
pub mod time;

use std::sync::Arc;

use anyhow::Context;

pub use error::{ApiError, ApiResult};

use crate::audit::AuditLog;
use crate::auth::{Revocations, TokenService};
use crate::config::Settings;
use crate::db::Db;
use crate::kv::SharedKv;
use crate::lease::Leases;
use crate::secret::Secret;
use crate::storage::Storage;
use crate::time::Clock;

/// Everything a module needs, cheap to clone.
#[derive(Clone)]
pub struct Kernel {
    pub settings: Arc<Settings>,
    pub db: Db,
    pub kv: SharedKv,
    pub storage: Storage,
    pub tokens: TokenService,
    /// Signed-out session tokens, kept in the database.
    pub revocations: Revocations,
    pub audit: AuditLog,
    /// The time every service reads; tests move it instead of sleeping.
    pub clock: Clock,
    /// This process's name on the leases of long work it runs, and their heartbeats.
    pub leases: Leases,
}

impl Kernel {
    /// Who makes a change now: the signed-in user at the kernel clock's time.
    pub fn actor(&self, who: &auth::Principal) -> concurrency::Actor {
        concurrency::Actor {
            user_id: who.user_id.clone(),
            username: who.username.clone(),
            at: self.clock.now(),
        }
    }

    /// Connects every backend the settings name.
    pub async fn connect(settings: Settings) -> anyhow::Result<Self> {
        let secret = resolve_secret_key(&settings)?;
        let db = Db::connect_with(
            &settings.database_url(),
            settings.database.max_connections,
            std::time::Duration::from_millis(settings.database.acquire_timeout_ms.max(1)),
        )
        .await
        .context("cannot open the database (AEGIS_DATABASE__URL)")?;
        let kv = kv::connect(settings.redis.url.as_deref(), &settings.redis.key_prefix)
            .await
            .context("cannot reach Redis (AEGIS_REDIS__URL)")?;
        let storage =
            Storage::from_settings(&settings.storage, &settings.data_dir).context("storage")?;
        let clock = Clock::system();
        Ok(Self {
            tokens: TokenService::new(&secret, settings.auth.token_ttl_minutes, clock.clone())
                .context("AEGIS_SECRET_KEY")?,
            audit: AuditLog::new(db.clone(), clock.clone()),
            revocations: Revocations::new(db.clone()),
            leases: Leases::new(clock.clone()),
            clock,
            settings: Arc::new(settings),
            db,
            kv,
            storage,
        })
    }
}

/// The configured key, or in development one generated once and kept in
/// `<data_dir>/secret.key` (mode 0600) so sessions survive restarts.
pub fn resolve_secret_key(settings: &Settings) -> anyhow::Result<Secret> {
    if let Some(key) = &settings.secret_key {
        return Ok(key.clone());
    }
    if settings.env == config::Environment::Production {
        anyhow::bail!("AEGIS_SECRET_KEY: required in production");
    }
    let path = settings.data_dir.join("secret.key");
    if let Ok(existing) = std::fs::read_to_string(&path)
        && !existing.trim().is_empty()
    {
        return Ok(Secret::new(existing.trim()));
    }
    std::fs::create_dir_all(&settings.data_dir).with_context(|| {
        format!(
            "cannot create the data directory {}",
            settings.data_dir.display()
        )
    })?;
    let key = auth::token::random_secret(48);
    write_private(&path, &key).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(Secret::new(key))
}

fn write_private(path: &std::path::Path, content: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(content.as_bytes())
}

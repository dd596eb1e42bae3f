//! Fresh backends for one test, on either stack, for the server's HTTP tests
//! and for a module's own service and repository tests alike (feature
//! `testing`, a dev-dependency only). Each test gets its own SQLite file or
//! PostgreSQL database, key prefix and storage root. In CI (`CI=true`) a
//! missing service fails the test; elsewhere the shared-stack variant is
//! reported as skipped on stderr.

use crate::Kernel;
use crate::config::{Settings, StorageBackend};
use crate::secret::Secret;

pub const ADMIN_PASSWORD: &str = "admin-password-for-tests";
pub const SECRET_KEY: &str = "test-secret-key-0123456789-abcdefghijklmnop";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stack {
    /// SQLite, in-process key-value store, local folder.
    Embedded,
    /// PostgreSQL, Redis, S3.
    Shared,
}

/// Generates one `#[tokio::test]` per stack for each `async fn(Stack)` named
/// (in modules `embedded` and `shared`).
#[macro_export]
macro_rules! stack_tests {
    ($($name:ident),+ $(,)?) => {
        mod embedded {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name($crate::testing::Stack::Embedded).await }) +
        }
        mod shared {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name($crate::testing::Stack::Shared).await }) +
        }
    };
}

fn var(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// A missing service: a failure in CI, a skip (said on stderr) elsewhere.
#[allow(clippy::panic)]
pub fn missing<T>(what: &str, error: &dyn std::fmt::Display) -> Option<T> {
    if in_ci() {
        panic!("{what} is required in CI but unavailable: {error}");
    }
    eprintln!("SKIPPED: {what} unavailable ({error}); run scripts/test-services.sh");
    None
}

/// A folder removed when the test ends.
pub struct TempDir(pub std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The settings of fresh backends for one test, and their folder.
pub struct TestBackends {
    pub settings: Settings,
    pub dir: TempDir,
}

impl TestBackends {
    /// Fresh backends of `stack`, or `None` (outside CI) when a service of
    /// the shared stack is down.
    pub async fn new(stack: Stack) -> Option<Self> {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let dir = std::env::temp_dir().join(format!("aegis-test-{id}"));
        if let Err(e) = std::fs::create_dir_all(&dir) {
            return missing("a temporary folder", &e);
        }
        let dir = TempDir(dir);
        let mut settings = Settings {
            data_dir: dir.0.clone(),
            secret_key: Some(Secret::new(SECRET_KEY)),
            ..Settings::default()
        };
        settings.admin.password = Some(Secret::new(ADMIN_PASSWORD));
        settings.database.migrate_on_start = Some(true);
        settings.database.max_connections = 5;
        settings.redis.key_prefix = format!("aegis-test-{id}");
        if stack == Stack::Shared {
            settings.database.url = Some(postgres_database(&format!("aegis_test_{id}")).await?);

            let redis_url = var("AEGIS_TEST_REDIS_URL", "redis://127.0.0.1:6379");
            if let Err(e) = crate::kv::RedisStore::connect(&redis_url, "probe").await {
                return missing("Redis", &e);
            }
            settings.redis.url = Some(redis_url);

            let endpoint = var("AEGIS_TEST_S3_ENDPOINT", "http://127.0.0.1:9100");
            settings.storage.backend = StorageBackend::S3;
            settings.storage.s3.endpoint = Some(endpoint.clone());
            settings.storage.s3.bucket = "aegis-test".into();
            settings.storage.s3.root = format!("/{id}/");
            settings.storage.s3.access_key_id = Some(Secret::new("test"));
            settings.storage.s3.secret_access_key = Some(Secret::new("test"));
            let storage = match crate::storage::Storage::from_settings(&settings.storage, &dir.0) {
                Ok(storage) => storage,
                Err(e) => return missing(&format!("S3 at {endpoint}"), &e),
            };
            if let Err(e) = storage.ping().await {
                return missing(&format!("S3 at {endpoint}"), &e);
            }
        }
        Some(Self { settings, dir })
    }

    /// A kernel on these backends with every migration applied: what a
    /// module's service and repository tests run on, without HTTP.
    #[allow(clippy::expect_used)]
    pub async fn kernel(&self) -> Kernel {
        let kernel = Kernel::connect(self.settings.clone())
            .await
            .expect("kernel connects");
        kernel.db.migrate().await.expect("migrations apply");
        kernel
    }
}

/// Creates the PostgreSQL database `name` beside `AEGIS_TEST_POSTGRES_URL`
/// and returns its URL.
pub async fn postgres_database(name: &str) -> Option<String> {
    use sqlx::Connection;
    let base = var(
        "AEGIS_TEST_POSTGRES_URL",
        "postgres://postgres@127.0.0.1:5432/postgres",
    );
    sqlx::any::install_default_drivers();
    let mut conn = match sqlx::AnyConnection::connect(&base).await {
        Ok(conn) => conn,
        Err(e) => return missing("PostgreSQL", &e),
    };
    if let Err(e) = sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
    {
        return missing("a fresh PostgreSQL database", &e);
    }
    let (prefix, _) = base.rsplit_once('/').unwrap_or((&base, ""));
    Some(format!("{prefix}/{name}"))
}

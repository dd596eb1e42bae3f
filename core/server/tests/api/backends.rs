//! Contract tests of the kernel's backends: the same assertions for the
//! in-process store and Redis, the local folder and S3, SQLite and PostgreSQL.

use std::time::Duration;

use aegis_core::kv::{self, SharedKv};
use aegis_core::storage::{Storage, StorageError};

use crate::helpers::{Stack, TestEnv};
use crate::{shared_only_tests, stack_tests};

async fn store(env: &TestEnv) -> SharedKv {
    kv::connect(
        env.settings.redis.url.as_deref(),
        &env.settings.redis.key_prefix,
    )
    .await
    .unwrap()
}

async fn key_value_contract(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let kv = store(&env).await;
    assert_eq!(
        kv.kind(),
        if stack == Stack::Shared {
            "redis"
        } else {
            "memory"
        }
    );
    kv.ping().await.unwrap();

    assert_eq!(kv.get("a").await.unwrap(), None);
    kv.set("a", "1", None).await.unwrap();
    assert_eq!(kv.get("a").await.unwrap().as_deref(), Some("1"));
    assert!(kv.exists("a").await.unwrap());
    assert!(kv.delete("a").await.unwrap());
    assert!(!kv.delete("a").await.unwrap());

    kv.set("short", "x", Some(Duration::from_millis(150)))
        .await
        .unwrap();
    assert!(kv.exists("short").await.unwrap());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!kv.exists("short").await.unwrap(), "TTL expires keys");

    assert!(
        kv.set_if_absent("lock", "me", Duration::from_secs(5))
            .await
            .unwrap()
    );
    assert!(
        !kv.set_if_absent("lock", "you", Duration::from_secs(5))
            .await
            .unwrap()
    );
    assert_eq!(kv.get("lock").await.unwrap().as_deref(), Some("me"));
    assert!(
        !kv.delete_if_equals("lock", "you").await.unwrap(),
        "only the holder frees a lock"
    );
    assert!(kv.delete_if_equals("lock", "me").await.unwrap());
    assert!(!kv.exists("lock").await.unwrap());

    assert_eq!(kv.counter("hits").await.unwrap(), None);
    let first = kv.increment("hits", Duration::from_secs(60)).await.unwrap();
    let second = kv.increment("hits", Duration::from_secs(60)).await.unwrap();
    assert_eq!((first.value, second.value), (1, 2));
    assert!(
        second.resets_in <= Duration::from_secs(60) && second.resets_in > Duration::from_secs(50)
    );
    assert_eq!(kv.counter("hits").await.unwrap().unwrap().value, 2);
    kv.increment("window", Duration::from_millis(150))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        kv.increment("window", Duration::from_secs(60))
            .await
            .unwrap()
            .value,
        1,
        "a window restarts after it ends"
    );
}

/// Shared stack only: separate in-process stores share nothing anyway.
async fn key_value_stores_are_namespaced(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let url = env.settings.redis.url.as_deref();
    let a = kv::connect(url, &format!("{}-a", env.settings.redis.key_prefix))
        .await
        .unwrap();
    let b = kv::connect(url, &format!("{}-b", env.settings.redis.key_prefix))
        .await
        .unwrap();
    a.set("k", "a", Some(Duration::from_secs(30)))
        .await
        .unwrap();
    assert_eq!(b.get("k").await.unwrap(), None);
}

async fn storage_contract(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let storage = Storage::from_settings(&env.settings.storage, &env.settings.data_dir).unwrap();
    storage.ping().await.unwrap();
    let key = "evidence/2026/report.bin";
    assert!(!storage.exists(key).await.unwrap());
    let bytes: Vec<u8> = (0..=255u8).cycle().take(300_000).collect();
    storage.put(key, bytes.clone()).await.unwrap();
    assert!(storage.exists(key).await.unwrap());
    assert_eq!(storage.get(key).await.unwrap(), bytes);
    storage.delete(key).await.unwrap();
    assert!(matches!(
        storage.get(key).await,
        Err(StorageError::NotFound(_))
    ));
    storage.delete(key).await.unwrap();
}

#[tokio::test]
async fn memory_storage_for_unit_tests() {
    let storage = Storage::memory();
    storage.put("a", b"hello".to_vec()).await.unwrap();
    assert_eq!(storage.get("a").await.unwrap(), b"hello");
}

async fn migrations_apply_and_rerun_cleanly(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let kernel = aegis_core::Kernel::connect(env.settings.clone())
        .await
        .unwrap();
    kernel.db.migrate().await.unwrap();
    kernel.db.migrate().await.unwrap();
    let applied: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations")
        .fetch_one(kernel.db.pool())
        .await
        .unwrap();
    assert_eq!(
        applied as usize,
        kernel.db.backend().migrator().iter().count()
    );
}

/// Both backends must hold the same ordered migration versions.
#[test]
fn migration_folders_hold_the_same_versions() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations");
    let names = |dir: &str| {
        let mut v: Vec<String> = std::fs::read_dir(root.join(dir))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".sql"))
            .collect();
        v.sort();
        v
    };
    let (sqlite, postgres) = (names("sqlite"), names("postgres"));
    assert!(!sqlite.is_empty());
    assert_eq!(sqlite, postgres);
    for name in &sqlite {
        let (version, rest) = name.split_once('_').unwrap();
        assert!(
            version.len() == 14 && version.chars().all(|c| c.is_ascii_digit()),
            "{name}: <UTC timestamp>_<module>_<what>.sql"
        );
        assert!(rest.contains('_'), "{name}: the module prefix is missing");
    }
}

stack_tests!(
    key_value_contract,
    storage_contract,
    migrations_apply_and_rerun_cleanly
);
shared_only_tests!(key_value_stores_are_namespaced);

//! Dependencies going down: with PostgreSQL unreachable, requests fail fast
//! with a 503, `Retry-After` and a stable code rather than hanging and
//! answering 500, and the server recovers on its own once it is back; with
//! S3 lost mid-upload, the answer says what may remain and the sweep clears
//! it. The outage is real: the server reaches the service through a TCP
//! relay that the test cuts, which breaks every open connection and refuses
//! new ones.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::helpers::{Reply, Stack, TestEnv};
use crate::shared_only_tests;

/// A TCP relay to `target` that can be cut and restored, at once or once
/// a number of bytes from client to server went through (mid-request).
struct Relay {
    address: SocketAddr,
    /// True while cut: open links close, new ones are refused.
    cut: watch::Sender<bool>,
    /// Client-to-server bytes still let through before the relay cuts itself.
    budget: Arc<AtomicU64>,
}

impl Relay {
    async fn start(target: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (cut, _) = watch::channel(false);
        let budget = Arc::new(AtomicU64::new(u64::MAX));
        let (cut_flag, left) = (cut.clone(), budget.clone());
        tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                if *cut_flag.borrow() {
                    drop(inbound);
                    continue;
                }
                let (target, cut, left) = (target.clone(), cut_flag.clone(), left.clone());
                let mut cut_seen = cut.subscribe();
                tokio::spawn(async move {
                    let Ok(outbound) = TcpStream::connect(&target).await else {
                        return;
                    };
                    // Dropping both streams, whichever branch ends first, closes the link.
                    tokio::select! {
                        _ = link(inbound, outbound, &left, &cut) => {}
                        _ = cut_seen.wait_for(|cut| *cut) => {}
                    }
                });
            }
        });
        Self {
            address,
            cut,
            budget,
        }
    }

    /// Breaks every open connection and refuses new ones.
    async fn cut(&self) {
        self.cut.send_replace(true);
    }

    /// Cuts the relay once `bytes` more went from clients to the server.
    fn cut_after(&self, bytes: u64) {
        self.budget.store(bytes, Ordering::SeqCst);
    }

    fn restore(&self) {
        self.budget.store(u64::MAX, Ordering::SeqCst);
        self.cut.send_replace(false);
    }
}

/// Copies both ways, counting client-to-server bytes against `left`; the
/// copy that would overdraw it cuts the relay instead.
async fn link(
    inbound: TcpStream,
    outbound: TcpStream,
    left: &AtomicU64,
    cut: &watch::Sender<bool>,
) {
    let (mut from_client, mut to_client) = inbound.into_split();
    let (mut from_server, mut to_server) = outbound.into_split();
    let up = async {
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            let n = from_client.read(&mut buffer).await?;
            if n == 0 {
                return to_server.shutdown().await;
            }
            let granted = left.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |l| {
                l.checked_sub(n as u64)
            });
            if granted.is_err() {
                cut.send_replace(true);
                return Ok(());
            }
            to_server.write_all(&buffer[..n]).await?;
        }
    };
    let down = tokio::io::copy(&mut from_server, &mut to_client);
    let _: (std::io::Result<()>, std::io::Result<u64>) = tokio::join!(up, down);
}

fn assert_unavailable(reply: &Reply, code: &str) {
    assert_eq!(reply.status, 503, "{:?}", reply.body);
    assert_eq!(reply.body["code"], code, "{:?}", reply.body);
    let retry: u64 = reply
        .headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After on a 503");
    assert!(retry >= 1);
}

async fn a_database_outage_answers_503_and_recovers_without_a_restart(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let url = env.settings.database.url.clone().expect("a PostgreSQL URL");
    // postgres://user@host:port/name: relay host:port.
    let (head, rest) = url.split_once('@').expect("user@host");
    let (server, name) = rest.split_once('/').expect("host/name");
    let relay = Relay::start(server.to_owned()).await;
    let relayed = format!("{head}@{}/{name}", relay.address);
    let app = env
        .spawn_with(|s| {
            s.database.url = Some(relayed);
            s.database.acquire_timeout_ms = 2000;
        })
        .await;
    let admin = app.admin_token().await;
    assert_eq!(app.get("/api/v1/tests", &admin).await.status, 200);

    relay.cut().await;
    assert_unavailable(
        &app.get("/api/v1/tests", &admin).await,
        "database_unavailable",
    );
    assert_unavailable(
        &app.post(
            "/api/v1/campaigns",
            &admin,
            json!({ "name": "during the outage" }),
        )
        .await,
        "database_unavailable",
    );
    let login = app.login("admin", crate::helpers::ADMIN_PASSWORD).await;
    assert_eq!(login.status, 503, "{:?}", login.body);

    relay.restore();
    // The pool replaces its broken connections by itself: no restart.
    let mut recovered = None;
    for _ in 0..50 {
        let reply = app.get("/api/v1/campaigns", &admin).await;
        if reply.status == 200 {
            recovered = Some(reply);
            break;
        }
        assert_unavailable(&reply, "database_unavailable");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let listed = recovered.expect("the server recovers once PostgreSQL is back");
    assert_eq!(
        listed.body["total"], 0,
        "the change refused during the outage was not made: {:?}",
        listed.body
    );
}

/// Without Redis, what needs it says so and the rest keeps working: a
/// signed-in session is still verified (revocations live in the database)
/// and reads answer, while a login, which Redis throttles across replicas,
/// answers 503 `key_value_unavailable` rather than 500.
async fn a_redis_outage_keeps_sessions_working_and_refuses_logins_with_503(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let url = env.settings.redis.url.clone().expect("a Redis URL");
    let server = url.trim_start_matches("redis://").trim_end_matches('/');
    let relay = Relay::start(server.to_owned()).await;
    let relayed = format!("redis://{}", relay.address);
    let app = env.spawn_with(|s| s.redis.url = Some(relayed)).await;
    let admin = app.admin_token().await;

    relay.cut().await;
    let listed = app.get("/api/v1/tests", &admin).await;
    assert_eq!(listed.status, 200, "{:?}", listed.body);
    let login = app.login("admin", crate::helpers::ADMIN_PASSWORD).await;
    assert_unavailable(&login, "key_value_unavailable");

    relay.restore();
    let mut signed_in = false;
    for _ in 0..50 {
        let login = app.login("admin", crate::helpers::ADMIN_PASSWORD).await;
        if login.status == 200 {
            signed_in = true;
            break;
        }
        assert_unavailable(&login, "key_value_unavailable");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(signed_in, "logins work again once Redis is back");
}

/// S3 lost in the middle of a multipart evidence upload: the answer is a
/// 503 that says what may remain instead of "nothing was saved", no row is
/// written, and once S3 is back the sweep aborts the unfinished upload S3
/// kept (the abort sent during the outage could not reach it), leaving no
/// object and no upload behind.
async fn an_s3_outage_mid_upload_is_answered_truthfully_and_swept_later(stack: Stack) {
    use crate::test_cases::{MINI, load_catalog, test_in_state};
    use crate::test_evidence::{bytes, rows, upload};
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let endpoint = env
        .settings
        .storage
        .s3
        .endpoint
        .clone()
        .expect("an S3 endpoint");
    let server = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let relay = Relay::start(server.to_owned()).await;
    let app = env
        .spawn_with(|s| {
            s.storage.s3.endpoint = Some(format!("http://{}", relay.address));
            // The scheduled sweep stays off: the test runs it, on its own clock.
            s.jobs.insert("evidence_orphan_sweep".into(), String::new());
        })
        .await;
    load_catalog(&app, &crate::helpers::shared_data(MINI)).await;
    let admin = app.admin_token().await;
    let test = test_in_state(&app, &admin, "draft").await;
    let id = test["id"].as_str().unwrap();

    // 20 MB goes up as 8 MiB parts; S3 is lost one MiB into the second part.
    relay.cut_after(9 * 1024 * 1024);
    let reply = upload(
        &app,
        &admin,
        id,
        "memory.dmp",
        "application/octet-stream",
        bytes(20_000_000, 9),
    )
    .await;
    assert_unavailable(&reply, "storage_unavailable");
    let detail = reply.body["detail"].as_str().unwrap();
    assert!(
        !detail.contains("nothing was saved") && detail.contains("evidence_orphan_sweep"),
        "the answer says what may remain: {detail}"
    );
    assert_eq!(rows(&app).await, 0);

    relay.restore();
    let storage = &app.kernel.storage;
    // The client may first try a connection the cut closed: wait for an answer.
    let mut back = false;
    for _ in 0..50 {
        if storage.ping().await.is_ok() {
            back = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(back, "S3 answers again through the relay");
    let left = storage.pending_uploads("evidence/").await.unwrap();
    assert_eq!(
        left.len(),
        1,
        "the outage left the upload unfinished: {left:?}"
    );
    assert!(
        crate::helpers::stored_objects(&app, "evidence/")
            .await
            .is_empty()
    );

    // Within the grace the upload might still be running: it stays.
    let grace = chrono::Duration::minutes(60);
    let early = aegis_mod_test_cases::evidence::sweep_orphans(&app.kernel, grace)
        .await
        .unwrap();
    assert_eq!(early.uploads, 0);
    app.kernel.clock.advance(chrono::Duration::minutes(61));
    let swept = aegis_mod_test_cases::evidence::sweep_orphans(&app.kernel, grace)
        .await
        .unwrap();
    assert_eq!((swept.objects, swept.uploads), (0, 1));
    assert_eq!(
        storage.pending_uploads("evidence/").await.unwrap(),
        Vec::new()
    );
    assert!(
        crate::helpers::stored_objects(&app, "evidence/")
            .await
            .is_empty()
    );

    // Storage works again: the same file uploads whole.
    let again = upload(
        &app,
        &admin,
        id,
        "memory.dmp",
        "application/octet-stream",
        bytes(20_000_000, 9),
    )
    .await;
    assert_eq!(again.status, 201, "{:?}", again.body);
}

/// A restart or an administrator ending a session is the server's doing,
/// not the statement's: the request answers 503 `database_unavailable`
/// (found by the fault drill as a 500 during a PostgreSQL restart).
async fn a_session_the_database_server_ends_is_unavailable_not_an_error(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let app = env.spawn().await;
    let mut doomed = app.kernel.db.pool().acquire().await.unwrap();
    let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut *doomed)
        .await
        .unwrap();
    let ended: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)")
        .bind(pid)
        .fetch_one(app.kernel.db.pool())
        .await
        .unwrap();
    assert!(ended);
    let error = sqlx::query("SELECT 1")
        .execute(&mut *doomed)
        .await
        .expect_err("the session was ended");
    assert!(aegis_core::db::is_unavailable(&error), "{error:?}");
    assert!(
        matches!(
            aegis_core::ApiError::database("the drill's statement", &error),
            aegis_core::ApiError::Unavailable(..)
        ),
        "{error:?}"
    );
}

shared_only_tests!(
    a_session_the_database_server_ends_is_unavailable_not_an_error,
    a_database_outage_answers_503_and_recovers_without_a_restart,
    a_redis_outage_keeps_sessions_working_and_refuses_logins_with_503,
    an_s3_outage_mid_upload_is_answered_truthfully_and_swept_later
);

//! Dependencies going down: with PostgreSQL unreachable, requests fail fast
//! with a 503, `Retry-After` and a stable code rather than hanging and
//! answering 500, and the server recovers on its own once it is back. The
//! outage is real: the server reaches PostgreSQL through a TCP relay that
//! the test cuts, which breaks every open connection and refuses new ones.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::json;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Mutex;
use tokio::task::JoinHandle;

use crate::helpers::{Reply, Stack, TestEnv};
use crate::shared_only_tests;

/// A TCP relay to `target` that can be cut and restored.
struct Relay {
    address: SocketAddr,
    cut: Arc<AtomicBool>,
    links: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Relay {
    async fn start(target: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let cut = Arc::new(AtomicBool::new(false));
        let links: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let (cut_flag, open_links) = (cut.clone(), links.clone());
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if cut_flag.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let target = target.clone();
                let link = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                open_links.lock().await.push(link);
            }
        });
        Self {
            address,
            cut,
            links,
        }
    }

    /// Breaks every open connection and refuses new ones.
    async fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        for link in self.links.lock().await.drain(..) {
            link.abort();
        }
    }

    fn restore(&self) {
        self.cut.store(false, Ordering::SeqCst);
    }
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
    a_redis_outage_keeps_sessions_working_and_refuses_logins_with_503
);

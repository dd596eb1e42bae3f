//! `TestEnv` makes fresh backends for one test; `spawn` starts an app on them
//! (twice for replicas that share them). In CI (`CI=true`) a missing service
//! fails the test; elsewhere the shared-stack variant is skipped with a note.

use std::time::Duration;

use aegis_core::Kernel;
use aegis_core::config::Settings;
use serde_json::{Value, json};

use aegis_core::testing::TestBackends;
pub use aegis_core::testing::{ADMIN_PASSWORD, SECRET_KEY, Stack};

/// Generates one `#[tokio::test]` per stack for each `async fn(Stack)` named.
#[macro_export]
macro_rules! stack_tests {
    ($($name:ident),+ $(,)?) => {
        mod embedded {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name($crate::helpers::Stack::Embedded).await }) +
        }
        mod shared {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name($crate::helpers::Stack::Shared).await }) +
        }
    };
}

/// Generates one `#[tokio::test]` on the shared stack only for each
/// `async fn(Stack)` named: for stories that mean nothing on the embedded
/// stack (Redis namespaces, replicas). No embedded variant exists, so none
/// returns early and counts as passed. Its module is `shared_only`, so it
/// sits beside `stack_tests!` in one file.
#[macro_export]
macro_rules! shared_only_tests {
    ($($name:ident),+ $(,)?) => {
        mod shared_only {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name($crate::helpers::Stack::Shared).await }) +
        }
    };
}

/// Fresh backends for one test (the kernel's [`TestBackends`]) and the apps
/// started on them.
pub struct TestEnv {
    pub settings: Settings,
    _backends: TestBackends,
}

impl TestEnv {
    /// `None` (a skip, said on stderr) only outside CI when a shared service
    /// is down; with `CI=true` the kernel's [`TestBackends`] fails instead.
    pub async fn new(stack: Stack) -> Option<Self> {
        let backends = TestBackends::new(stack).await?;
        Some(Self {
            settings: backends.settings.clone(),
            _backends: backends,
        })
    }

    pub async fn spawn(&self) -> TestApp {
        self.spawn_with(|_| {}).await
    }

    pub async fn spawn_with(&self, tweak: impl FnOnce(&mut Settings)) -> TestApp {
        // Server warnings and errors go to the test's output, shown when it fails.
        let _ = tracing_subscriber::fmt()
            .with_env_filter("warn")
            .with_test_writer()
            .try_init();
        let mut settings = self.settings.clone();
        // A test starts from the catalog it syncs, not the built-in release.
        settings.update_section(|m: &mut aegis_mod_techniques::MitreSettings| {
            m.bundled_on_first_start = false
        });
        tweak(&mut settings);
        let kernel = Kernel::connect(settings).await.expect("kernel connects");
        let app = aegis::build(kernel.clone()).await.expect("app builds");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = format!("http://{}", listener.local_addr().expect("address"));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(aegis::run_with_listener(app, listener, async move {
            let _ = stopped.await;
        }));
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client");
        TestApp {
            address,
            client,
            kernel,
            _stop: stop,
        }
    }
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub kernel: Kernel,
    _stop: tokio::sync::oneshot::Sender<()>,
}

pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// Any request with an optional bearer token and JSON body.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut request = self.client.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        Self::reply(request.send().await.expect("request sent")).await
    }

    pub async fn reply(response: reqwest::Response) -> Reply {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Reply {
            status,
            headers,
            body,
        }
    }

    /// A request to build on (headers, multipart), signed in with `token`.
    pub fn request(&self, method: &str, path: &str, token: &str) -> reqwest::RequestBuilder {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        self.client
            .request(method, self.url(path))
            .bearer_auth(token)
    }

    pub async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        Self::reply(request.send().await.expect("request sent")).await
    }

    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.call("GET", path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Reply {
        self.call("POST", path, Some(token), Some(body)).await
    }

    pub async fn login(&self, username: &str, password: &str) -> Reply {
        self.call(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({ "username": username, "password": password })),
        )
        .await
    }

    /// A bearer token for `username`, which must sign in.
    pub async fn token(&self, username: &str, password: &str) -> String {
        let reply = self.login(username, password).await;
        assert_eq!(reply.status, 200, "login of {username}: {:?}", reply.body);
        reply.body["access_token"]
            .as_str()
            .expect("token")
            .to_owned()
    }

    pub async fn admin_token(&self) -> String {
        self.token("admin", ADMIN_PASSWORD).await
    }

    /// Creates a user with `role` and returns (id, token).
    pub async fn user_with_role(
        &self,
        admin: &str,
        username: &str,
        role: &str,
    ) -> (String, String) {
        let password = format!("{username}-password");
        let reply = self
            .post(
                "/api/v1/users",
                admin,
                json!({ "username": username, "role": role, "password": password }),
            )
            .await;
        assert_eq!(reply.status, 201, "{:?}", reply.body);
        let id = reply.body["id"].as_str().expect("id").to_owned();
        (id, self.token(username, &password).await)
    }
}

/// A file of the shared test data (`../shared/data` beside the project, or
/// `AEGIS_SHARED_DATA`).
pub fn shared_data(relative: &str) -> String {
    let root = std::env::var("AEGIS_SHARED_DATA")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data").into());
    let path = format!("{root}/{relative}");
    assert!(
        std::path::Path::new(&path).exists(),
        "test data {path} is missing; set AEGIS_SHARED_DATA"
    );
    path
}

/// The objects stored under `prefix` (`evidence/`, `plugins/`), by key.
pub async fn stored_objects(app: &TestApp, prefix: &str) -> Vec<String> {
    let entries = app
        .kernel
        .storage
        .operator()
        .list_with(prefix)
        .recursive(true)
        .await
        .unwrap_or_default();
    entries
        .into_iter()
        .filter(|e| e.metadata().is_file())
        .map(|e| e.path().to_owned())
        .collect()
}

/// A lease's time, as the kernel clock counts it.
pub fn lease_ttl() -> chrono::Duration {
    chrono::Duration::from_std(aegis_core::lease::LEASE_TTL).expect("a short lease")
}

/// Waits until the heartbeat of the work on row `id` of `table` has renewed
/// its lease past `app`'s clock (after the test advanced it).
pub async fn lease_renewed(app: &TestApp, table: &str, id: &str) {
    let sql = format!("SELECT lease_expires_at FROM {table} WHERE id = $1");
    for _ in 0..200 {
        let expires: Option<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.clone()))
            .bind(id)
            .fetch_one(app.kernel.db.pool())
            .await
            .expect("the work's row");
        let now = aegis_core::time::to_db(app.kernel.clock.now());
        if expires.is_some_and(|expires| expires > now) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the heartbeat of {table} {id} did not renew its lease");
}

/// Runs job `id` of `app` now, as a scheduled tick would; whether it succeeded.
pub async fn run_job_now(app: &TestApp, id: &str) -> bool {
    let jobs = aegis::modules::compose(&app.kernel).expect("composes").jobs;
    let job = jobs.get(id).expect("the job is registered");
    aegis_core::scheduler::run_job(&app.kernel, &job.spec).await
}

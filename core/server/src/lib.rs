//! The Aegis server: builds the kernel, composes the modules (see `modules.rs`)
//! and serves them. `build` and `run_with_listener` let tests bind port 0.
#![forbid(unsafe_code)]

pub mod cli;
mod http;
pub mod modules;
mod serve;
pub mod telemetry;

use std::time::Duration;

use aegis_core::Kernel;
use aegis_core::auth::AuthContext;
use aegis_core::scheduler::JobRegistry;
use anyhow::Context;
use poem::{EndpointExt, IntoEndpoint};

/// A kernel on in-memory backends only, the settings otherwise as given: for
/// commands that compose the modules without touching the configured
/// database, Redis or storage (`aegis openapi`, `aegis plugin validate`).
pub async fn offline_kernel(mut settings: aegis_core::config::Settings) -> anyhow::Result<Kernel> {
    settings.database.url = Some("sqlite::memory:".into());
    settings.redis.url = None;
    settings.storage.backend = aegis_core::config::StorageBackend::Memory;
    settings.secret_key = Some(aegis_core::secret::Secret::new(
        "offline-kernel-only-0123456789abcdef",
    ));
    Kernel::connect(settings).await
}

/// The OpenAPI document of every module's API, as JSON, built without
/// touching any real backend (for `aegis openapi` and the client generator).
pub async fn openapi_document(settings: aegis_core::config::Settings) -> anyhow::Result<String> {
    let kernel = offline_kernel(settings).await?;
    let composition = modules::compose(&kernel)?;
    Ok(http::document(&http::openapi(composition.apis)))
}

/// A built application, ready to serve.
pub struct App {
    pub kernel: Kernel,
    pub jobs: JobRegistry,
    endpoint: poem::endpoint::BoxEndpoint<'static>,
}

/// Connects the backends, migrates when configured, runs module start-up and
/// builds the HTTP endpoint.
pub async fn build(kernel: Kernel) -> anyhow::Result<App> {
    if kernel.settings.migrate_on_start() {
        kernel.db.migrate().await.context("migrations failed")?;
    }
    let composition = modules::compose(&kernel)?;
    for module in &composition.modules {
        module
            .start(&kernel)
            .await
            .with_context(|| format!("module `{}` failed to start", module.id()))?;
    }
    let auth = AuthContext {
        tokens: kernel.tokens.clone(),
        revocations: kernel.revocations.clone(),
        identity: composition.identity,
    };
    let endpoint = http::endpoint(
        &kernel.settings,
        composition.apis,
        auth,
        composition.largest_upload,
    );
    Ok(App {
        kernel,
        jobs: composition.jobs,
        endpoint: endpoint.into_endpoint().map_to_response().boxed(),
    })
}

impl App {
    pub fn endpoint(&self) -> &poem::endpoint::BoxEndpoint<'static> {
        &self.endpoint
    }
}

/// Serves until `shutdown` resolves, with the scheduler running alongside;
/// open connections then have ten seconds to finish.
pub async fn run_with_listener(
    app: App,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    let address = listener.local_addr()?;
    let mut scheduler = app.jobs.start(app.kernel.clone()).await?;
    tracing::info!(%address, "Aegis is listening");
    let limits = serve::Limits::new(&app.kernel.settings.http);
    let served = serve::serve(
        listener,
        app.endpoint,
        limits,
        shutdown,
        Duration::from_secs(10),
    )
    .await;
    if let Err(error) = scheduler.shutdown().await {
        tracing::warn!(%error, "scheduler did not stop cleanly");
    }
    app.kernel.db.close().await;
    served.context("HTTP server failed")
}

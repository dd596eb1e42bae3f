//! Plugins: the registry of uploaded WebAssembly components (alert-rule kinds
//! and report formats), their configuration, and calls to them with each
//! plugin's health recorded. The WebAssembly itself runs behind the kernel's
//! plugin ports; this module never sees wasmtime.
#![forbid(unsafe_code)]

pub mod api;
pub mod error;
pub mod model;
pub mod repo;
pub mod service;
pub mod sweep;

use std::sync::Arc;

use aegis_core::Kernel;
use aegis_core::backup::ObjectColumn;
use aegis_core::module::Module;
use aegis_core::plugins::PluginHost;
use aegis_core::scheduler::JobSpec;

pub use api::PluginsApi;
pub use error::PluginsError;
pub use service::PluginService;

pub struct PluginsModule {
    service: PluginService,
}

impl PluginsModule {
    pub fn new(kernel: &Kernel, host: Arc<dyn PluginHost>) -> Self {
        Self {
            service: PluginService::new(kernel.clone(), host),
        }
    }

    pub fn service(&self) -> &PluginService {
        &self.service
    }

    pub fn api(&self) -> PluginsApi {
        PluginsApi {
            service: self.service.clone(),
        }
    }
}

#[async_trait::async_trait]
impl Module for PluginsModule {
    fn id(&self) -> &'static str {
        "plugins"
    }

    fn object_columns(&self) -> Vec<ObjectColumn> {
        vec![ObjectColumn {
            table: "plugins_plugin",
            key: "storage_key",
            sha256: Some("sha256"),
            size: Some("size_bytes"),
        }]
    }

    fn jobs(&self) -> Vec<JobSpec> {
        vec![JobSpec::new(
            "plugin_orphan_sweep",
            "0 37 * * * *",
            "Removes stored components that no plugin row points at (an upload cut off between storing and registering)",
            plugin_orphan_sweep,
        )]
    }
}

async fn plugin_orphan_sweep(kernel: Kernel) -> anyhow::Result<String> {
    let grace = chrono::Duration::minutes(sweep::ORPHAN_GRACE_MINUTES);
    let swept = sweep::sweep_orphans(&kernel, grace).await?;
    Ok(format!("plugins: {swept}"))
}

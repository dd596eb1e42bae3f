//! aegis-plugin-host: runs WebAssembly plugin components for Aegis. The only
//! crate that links wasmtime; it implements the kernel's plugin ports
//! (`aegis_core::plugins`), so modules never see it. Every call runs in a
//! fresh store with a deadline, a memory cap and no ambient capability.
#![forbid(unsafe_code)]

mod cache;
mod sandbox;
mod v0_1;
mod world;

use std::sync::Arc;

use aegis_core::plugins::PluginSettings;
use aegis_core::plugins::{
    AlertRuleEngine, Compiled, EvaluationInput, Finding, Inspected, PluginFault, PluginInspector,
    PluginKind, PluginRef, Rejection, ReportData, ReportRenderer,
};
use aegis_core::storage::Storage;
use async_trait::async_trait;
use wasmtime::component::Component;

pub use sandbox::Limits;
pub use world::SUPPORTED_VERSIONS;

use crate::cache::ComponentCache;
use crate::sandbox::Sandbox;

/// Longest title and message a finding may carry, in bytes.
const MAX_TITLE: usize = 500;
const MAX_MESSAGE: usize = 20_000;
/// Most technique or test ids one finding may name, and the longest id.
const MAX_FINDING_IDS: usize = 10_000;
const MAX_ID: usize = 200;

fn has_control(text: &str) -> bool {
    text.chars().any(char::is_control)
}

/// Text from a plugin made safe to store and show: control characters
/// (NUL included, which PostgreSQL refuses) become spaces, line breaks
/// survive when `lines`, and the text is cut to `max` bytes.
pub(crate) fn clean(text: &str, max: usize, lines: bool) -> String {
    aegis_core::text::truncate(text, max)
        .chars()
        .map(|c| {
            if c.is_control() && !(lines && c == '\n') {
                ' '
            } else {
                c
            }
        })
        .collect()
}

/// A compiled, identified and linked component.
#[derive(Clone)]
pub struct Loaded {
    prepared: v0_1::Prepared,
}

/// The wasmtime implementation of the plugin ports.
#[derive(Clone)]
pub struct WasmHost {
    inner: Arc<Inner>,
}

struct Inner {
    sandbox: Sandbox,
    /// Calls running at once: each may use the memory cap and a core.
    calls: tokio::sync::Semaphore,
    storage: Storage,
    cache: ComponentCache,
    max_output_bytes: usize,
    max_findings: usize,
}

impl WasmHost {
    /// A host loading registered components from `storage`.
    pub fn new(settings: &PluginSettings, storage: Storage) -> anyhow::Result<Self> {
        Ok(Self {
            inner: Arc::new(Inner {
                sandbox: Sandbox::new(Limits::from_settings(settings))?,
                calls: tokio::sync::Semaphore::new(settings.max_concurrent_calls.max(1) as usize),
                storage,
                cache: ComponentCache::new(settings.cache_entries as usize),
                max_output_bytes: usize::try_from(settings.max_output_bytes).unwrap_or(usize::MAX),
                max_findings: settings.max_findings as usize,
            }),
        })
    }

    /// Compiled components currently cached.
    pub fn cached(&self) -> usize {
        self.inner.cache.len()
    }

    /// The compiled component for `plugin`: from the cache, or fetched from
    /// storage, checked against its registered digest and compiled.
    async fn load(&self, plugin: &PluginRef) -> Result<Loaded, PluginFault> {
        if let Some(loaded) = self.inner.cache.get(&plugin.sha256) {
            return Ok(loaded);
        }
        let bytes = self
            .inner
            .storage
            .get(&plugin.storage_key)
            .await
            .map_err(|e| PluginFault::Unavailable(e.to_string()))?;
        let actual = sha256_hex(&bytes);
        if actual != plugin.sha256 {
            return Err(PluginFault::Rejected(Rejection::HashMismatch {
                expected: plugin.sha256.clone(),
                actual,
            }));
        }
        let inner = self.inner.clone();
        let declared = plugin.kind;
        let loaded = self
            .inner
            .blocking(move || inner.compile(&bytes, Some(declared)))
            .await?;
        self.inner.cache.insert(&plugin.sha256, loaded.clone());
        Ok(loaded)
    }
}

impl Inner {
    fn compile(&self, bytes: &[u8], declared: Option<PluginKind>) -> Result<Loaded, PluginFault> {
        let engine = &self.sandbox.engine;
        let component = Component::from_binary(engine, bytes)
            .map_err(|e| PluginFault::Rejected(Rejection::NotAComponent(format!("{e:#}"))))?;
        let (kind, version) = world::identify(engine, &component, declared)?;
        let prepared = match version.as_str() {
            v0_1::VERSION => v0_1::prepare(&self.sandbox, &component, kind),
            other => {
                return Err(PluginFault::Rejected(Rejection::UnsupportedVersion(
                    other.to_owned(),
                )));
            }
        }
        .map_err(|e| PluginFault::Rejected(Rejection::NotAComponent(format!("{e:#}"))))?;
        Ok(Loaded { prepared })
    }

    fn check_findings(&self, findings: &[Finding]) -> Result<(), PluginFault> {
        if findings.len() > self.max_findings {
            return Err(invalid(format!(
                "{} findings, more than the {} allowed",
                findings.len(),
                self.max_findings
            )));
        }
        for finding in findings {
            if finding.title.trim().is_empty()
                || finding.title.len() > MAX_TITLE
                || has_control(&finding.title)
            {
                return Err(invalid(format!(
                    "a finding's title must be 1 to {MAX_TITLE} bytes of text without control characters"
                )));
            }
            if finding.message.len() > MAX_MESSAGE
                || finding
                    .message
                    .chars()
                    .any(|c| c.is_control() && c != '\n' && c != '\t')
            {
                return Err(invalid(format!(
                    "a finding's message must be at most {MAX_MESSAGE} bytes, without control characters but line breaks and tabs"
                )));
            }
            if finding.technique_ids.len() > MAX_FINDING_IDS
                || finding.test_ids.len() > MAX_FINDING_IDS
            {
                return Err(invalid(format!(
                    "a finding names more than {MAX_FINDING_IDS} ids"
                )));
            }
            let bad_id = |id: &String| id.is_empty() || id.len() > MAX_ID || has_control(id);
            if finding
                .technique_ids
                .iter()
                .chain(&finding.test_ids)
                .any(bad_id)
            {
                return Err(invalid(format!(
                    "ids must be 1 to {MAX_ID} bytes without control characters"
                )));
            }
        }
        Ok(())
    }
}

fn invalid(text: String) -> PluginFault {
    PluginFault::InvalidOutput(text)
}

/// Lowercase hex SHA-256, the form digests are registered in.
pub use aegis_core::download::sha256_hex;

impl Inner {
    /// Compiling and calling are CPU-bound and synchronous: they run off the
    /// async workers, at most `plugins.max_concurrent_calls` at once.
    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T, PluginFault> + Send + 'static,
    ) -> Result<T, PluginFault> {
        let _permit = self
            .calls
            .acquire()
            .await
            .map_err(|_| PluginFault::Unavailable("the plugin host is shutting down".into()))?;
        tokio::task::spawn_blocking(work).await.unwrap_or_else(|e| {
            Err(PluginFault::Trapped(format!(
                "the call panicked in the host: {e}"
            )))
        })
    }
}

#[async_trait]
impl PluginInspector for WasmHost {
    async fn inspect(
        &self,
        component: Vec<u8>,
        declared: Option<PluginKind>,
    ) -> Result<Inspected, PluginFault> {
        let sha256 = sha256_hex(&component);
        let inner = self.inner.clone();
        let name = format!("upload {}", &sha256[..12]);
        let (description, loaded) = self
            .inner
            .clone()
            .blocking(move || {
                let loaded = inner.compile(&component, declared)?;
                let description = v0_1::describe(&inner.sandbox, &loaded.prepared, &name)?;
                Ok((description, loaded))
            })
            .await?;
        // Not cached here: only a registration that commits is admitted.
        Ok(Inspected {
            sha256,
            description,
            compiled: Compiled::new(loaded),
        })
    }

    fn admit(&self, inspected: &Inspected) {
        if let Some(loaded) = inspected.compiled.get::<Loaded>() {
            self.inner.cache.insert(&inspected.sha256, loaded.clone());
        }
    }

    fn forget(&self, sha256: &str) {
        self.inner.cache.remove(sha256);
    }
}

#[async_trait]
impl AlertRuleEngine for WasmHost {
    async fn evaluate(
        &self,
        plugin: &PluginRef,
        params: &str,
        input: &EvaluationInput,
    ) -> Result<Vec<Finding>, PluginFault> {
        let loaded = self.load(plugin).await?;
        let input = v0_1::evaluation_input(input);
        let (inner, plugin, params) = (self.inner.clone(), plugin.clone(), params.to_owned());
        self.inner
            .blocking(move || {
                let findings =
                    v0_1::evaluate(&inner.sandbox, &loaded.prepared, &plugin, &params, &input)?;
                inner.check_findings(&findings)?;
                Ok(findings)
            })
            .await
    }
}

#[async_trait]
impl ReportRenderer for WasmHost {
    async fn render(&self, plugin: &PluginRef, data: &ReportData) -> Result<Vec<u8>, PluginFault> {
        let loaded = self.load(plugin).await?;
        let data = v0_1::report_data(data);
        let (inner, plugin) = (self.inner.clone(), plugin.clone());
        self.inner
            .blocking(move || {
                let bytes = v0_1::render(&inner.sandbox, &loaded.prepared, &plugin, &data)?;
                if bytes.is_empty() || bytes.len() > inner.max_output_bytes {
                    return Err(invalid(format!(
                        "{} bytes rendered; a report must be 1 to {} bytes",
                        bytes.len(),
                        inner.max_output_bytes
                    )));
                }
                Ok(bytes)
            })
            .await
    }
}

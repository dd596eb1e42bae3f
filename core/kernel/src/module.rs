//! The module registry: what a feature module offers beyond its API type
//! (poem-openapi APIs are not object-safe, so the server composes those in a tuple).

use async_trait::async_trait;

use crate::Kernel;
use crate::backup::ObjectColumn;
use crate::scheduler::JobSpec;

#[async_trait]
pub trait Module: Send + Sync + 'static {
    /// Unique, snake_case; duplicates are refused at start-up.
    fn id(&self) -> &'static str;

    /// Background jobs this module declares.
    fn jobs(&self) -> Vec<JobSpec> {
        Vec::new()
    }

    /// The columns of this module's tables that hold storage keys, so a
    /// backup copies the objects its rows name (and checks them against the
    /// row's checksum and size where the row keeps them).
    fn object_columns(&self) -> Vec<ObjectColumn> {
        Vec::new()
    }

    /// Runs once after migrations, before the server listens.
    async fn start(&self, _kernel: &Kernel) -> anyhow::Result<()> {
        Ok(())
    }
}

/// Refuses two modules with one id.
pub fn check_unique_ids(modules: &[Box<dyn Module>]) -> anyhow::Result<()> {
    let mut seen = std::collections::BTreeSet::new();
    for module in modules {
        if !seen.insert(module.id()) {
            anyhow::bail!("two modules share the id `{}`", module.id());
        }
    }
    Ok(())
}

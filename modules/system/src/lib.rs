//! System: liveness and readiness, the scheduler status, the audit log API and
//! the audit retention job. Depends on the kernel only.
#![forbid(unsafe_code)]

pub mod api;
pub mod jobs;
pub mod settings;

use aegis_core::module::Module;
use aegis_core::scheduler::JobSpec;
use async_trait::async_trait;

pub use api::{HealthApi, SystemApi};
pub use settings::AuditSettings;

pub struct SystemModule;

#[async_trait]
impl Module for SystemModule {
    fn id(&self) -> &'static str {
        "system"
    }

    fn jobs(&self) -> Vec<JobSpec> {
        vec![JobSpec::new(
            "audit_retention",
            "0 30 3 * * *",
            "Deletes audit events older than audit.retention_days",
            jobs::audit_retention,
        )]
    }
}

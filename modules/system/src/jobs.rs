//! Job bodies: plain async functions of the kernel that tests call directly.

use aegis_core::Kernel;

/// Deletes audit events past the retention window.
pub async fn audit_retention(kernel: Kernel) -> anyhow::Result<String> {
    let days = i64::from(
        kernel
            .settings
            .try_section::<crate::AuditSettings>()?
            .retention_days,
    );
    let cutoff = kernel.clock.now() - chrono::Duration::days(days);
    let deleted = kernel.audit.delete_before(cutoff).await?;
    Ok(format!(
        "deleted {deleted} audit events older than {days} days"
    ))
}

//! The users module's background jobs: plain async functions the scheduler
//! runs and tests call directly.

use aegis_core::Kernel;

/// Deletes revocations of session tokens that have expired anyway: an
/// expired token is refused on its own.
pub async fn revoked_token_prune(kernel: Kernel) -> anyhow::Result<String> {
    let pruned = kernel.revocations.prune(kernel.clock.now()).await?;
    Ok(format!("pruned {pruned} expired revocations"))
}

//! The `plugin_orphan_sweep` job: components in storage that no plugin row
//! points at. An upload stores the component before its row is committed,
//! so a failure between the two (storage answering too late, a crash, a
//! refused row whose cleanup could not reach storage) leaves one behind.

use aegis_core::Kernel;
use aegis_core::storage::Swept;

use crate::error::PluginsError;
use crate::repo::PluginRepo;

/// Objects under this prefix are components: `plugins/{sha256}.wasm`.
pub const PREFIX: &str = "plugins/";
/// An upload stores its component seconds before its row; anything older
/// without a row is left over.
pub const ORPHAN_GRACE_MINUTES: i64 = 60;

/// Removes components older than `grace` that no plugin row points at,
/// and unfinished multipart uploads under `plugins/`.
pub async fn sweep_orphans(
    kernel: &Kernel,
    grace: chrono::Duration,
) -> Result<Swept, PluginsError> {
    let cutoff = kernel.clock.now() - grace;
    let repo = PluginRepo::new(kernel.db.clone());
    let mut swept = Swept::default();
    for object in kernel.storage.objects(PREFIX).await? {
        if !is_component_key(&object.key) {
            tracing::warn!(
                key = object.key,
                "an object under plugins/ that Aegis did not name; left alone"
            );
            continue;
        }
        if object.modified.is_none_or(|at| at >= cutoff) || repo.key_in_use(&object.key).await? {
            continue;
        }
        // The same component uploaded again since the listing rewrote it
        // (keys are digests): then it is not ours to remove.
        let rewritten = kernel
            .storage
            .operator()
            .stat(&object.key)
            .await
            .ok()
            .and_then(|m| m.last_modified())
            .map(|t| aegis_core::time::Timestamp::from(std::time::SystemTime::from(t)))
            .is_some_and(|at| at >= cutoff);
        if rewritten {
            continue;
        }
        kernel.storage.delete(&object.key).await?;
        tracing::info!(key = object.key, "removed a plugin component without a row");
        swept.objects += 1;
    }
    // Components are written whole (one request), so S3 never holds an
    // unfinished upload of one unless something else began it; S3's own
    // initiation time dates those.
    swept.uploads = kernel
        .storage
        .abort_stale_uploads(PREFIX, cutoff, |upload| upload.initiated)
        .await?;
    Ok(swept)
}

/// `plugins/` followed by a lowercase SHA-256 and `.wasm`, as Aegis names them.
fn is_component_key(key: &str) -> bool {
    key.strip_prefix(PREFIX)
        .and_then(|name| name.strip_suffix(".wasm"))
        .is_some_and(|digest| {
            digest.len() == 64
                && digest
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_names_aegis_gives_are_swept() {
        let digest = "a".repeat(64);
        assert!(is_component_key(&format!("plugins/{digest}.wasm")));
        assert!(!is_component_key(&format!("plugins/{digest}.wat")));
        assert!(!is_component_key("plugins/readme.txt"));
        assert!(!is_component_key(&format!(
            "plugins/{}.wasm",
            "A".repeat(64)
        )));
    }
}

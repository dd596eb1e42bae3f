//! The `report_orphan_sweep` job: report files in storage that no report
//! points at. A generation stores its file before the row says so, and a
//! deletion removes the row before the file, so a failure or a storage
//! outage between the two leaves a file behind.

use aegis_core::Kernel;
use aegis_core::storage::Swept;

use crate::error::ReportsError;
use crate::repo::ReportRepo;

/// Objects under this prefix are report files: `reports/{report_id}.{extension}`.
pub const PREFIX: &str = "reports/";
/// A file is stored moments before its report is marked ready; anything
/// older that no report claims is left over.
pub const ORPHAN_GRACE_MINUTES: i64 = 60;

/// Removes report files older than `grace` that no report claims (a ready
/// report pointing at it, or one still queued or running), and unfinished
/// multipart uploads under `reports/`.
pub async fn sweep_orphans(
    kernel: &Kernel,
    grace: chrono::Duration,
) -> Result<Swept, ReportsError> {
    let cutoff = kernel.clock.now() - grace;
    let repo = ReportRepo::new(kernel.db.clone());
    let mut swept = Swept::default();
    for object in kernel.storage.objects(PREFIX).await? {
        let Some(report_id) = report_id(&object.key) else {
            tracing::warn!(
                key = object.key,
                "an object under reports/ that Aegis did not name; left alone"
            );
            continue;
        };
        if object.modified.is_none_or(|at| at >= cutoff)
            || repo.claims_file(report_id, &object.key).await?
        {
            continue;
        }
        kernel.storage.delete(&object.key).await?;
        tracing::info!(
            key = object.key,
            "removed a report file no report points at"
        );
        swept.objects += 1;
    }
    // Files are written whole (one request), so S3 never holds an
    // unfinished upload of one unless something else began it; S3's own
    // initiation time dates those.
    swept.uploads = kernel
        .storage
        .abort_stale_uploads(PREFIX, cutoff, |upload| upload.initiated)
        .await?;
    Ok(swept)
}

/// The report a key Aegis named belongs to: `reports/{uuid}.{extension}`.
fn report_id(key: &str) -> Option<&str> {
    let (id, _extension) = key.strip_prefix(PREFIX)?.split_once('.')?;
    uuid::Uuid::parse_str(id).ok().map(|_| id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_names_aegis_gives_are_swept() {
        let id = "019ad3e4-5a8b-7c3d-9e2f-0a1b2c3d4e5f";
        assert_eq!(report_id(&format!("reports/{id}.pdf")), Some(id));
        assert_eq!(report_id(&format!("reports/{id}.tar.gz")), Some(id));
        assert_eq!(report_id("reports/notes.txt"), None);
        assert_eq!(report_id(&format!("reports/{id}")), None);
    }
}

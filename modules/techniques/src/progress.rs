//! Where a running sync stands, for every replica to show: the sync reports
//! its stage and counts here, and a small task copies the latest to the
//! key-value store (Redis across replicas), at most a few times a second,
//! with a TTL so a crashed run's entry goes by itself.

use std::time::Duration;

use aegis_core::kv::SharedKv;
use tokio::sync::watch;

use crate::model::SyncProgress;
use crate::service::Progress;

/// Long enough to outlast any pause between two reports of a live sync.
const PROGRESS_TTL: Duration = Duration::from_secs(600);

/// The pause between two writes: progress is for people to watch.
const WRITE_EVERY: Duration = Duration::from_millis(250);

fn key(run_id: &str) -> String {
    format!("mitre_sync_progress:{run_id}")
}

/// The progress of one run while it runs; dropped, it stops publishing and
/// removes the entry.
pub struct ProgressBoard<'a> {
    latest: watch::Sender<Option<SyncProgress>>,
    also: Progress<'a>,
}

impl<'a> ProgressBoard<'a> {
    /// Publishes run `run_id`'s progress; `also` hears every report too (a
    /// terminal's progress bar).
    pub fn start(kv: SharedKv, run_id: &str, also: Progress<'a>) -> Self {
        let (latest, mut changes) = watch::channel(None::<SyncProgress>);
        let key = key(run_id);
        tokio::spawn(async move {
            while changes.changed().await.is_ok() {
                let progress = changes.borrow_and_update().clone();
                if let Some(json) = progress.and_then(|p| serde_json::to_string(&p).ok())
                    && let Err(error) = kv.set(&key, &json, Some(PROGRESS_TTL)).await
                {
                    tracing::debug!(%error, "cannot publish the ATT&CK sync's progress");
                }
                tokio::time::sleep(WRITE_EVERY).await;
            }
            let _ = kv.delete(&key).await;
        });
        Self { latest, also }
    }

    pub fn report(&self, stage: &str, done: usize, total: usize) {
        (self.also)(stage, done, total);
        self.latest.send_replace(Some(SyncProgress {
            stage: stage.to_owned(),
            done: done as u64,
            total: total as u64,
        }));
    }

    /// What run `run_id` last published, if it runs.
    pub async fn read(kv: &SharedKv, run_id: &str) -> Option<SyncProgress> {
        let json = kv.get(&key(run_id)).await.ok()??;
        serde_json::from_str(&json).ok()
    }
}

//! The MITRE sync: fetch, parse, compare the release, apply in one
//! transaction, record the run. All or nothing: any failure leaves the
//! catalog as it was and records a failed run with its reason.

use std::time::Duration;

use aegis_core::Kernel;

use crate::model::{SyncCounts, SyncRun};
use crate::repo::CatalogRepo;
use crate::source::{self, Fetched};
use crate::stix;

/// Only one sync at a time across replicas; a crashed holder frees it after this.
const LOCK_KEY: &str = "techniques:mitre-sync";
const LOCK_TTL: Duration = Duration::from_secs(30 * 60);

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("a sync is already running")]
    AlreadyRunning,
    #[error(transparent)]
    Source(#[from] source::SourceError),
    #[error("invalid bundle: {0}")]
    Bundle(#[from] stix::StixError),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("key-value store: {0}")]
    KeyValue(#[from] aegis_core::kv::KvError),
}

/// How a finished sync ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncOutcome {
    Applied { version: String, counts: SyncCounts },
    Unchanged { version: Option<String> },
}

/// Reports progress to a terminal or a log: (stage, done, total).
pub type Progress<'a> = &'a (dyn Fn(&str, usize, usize) + Send + Sync);

#[derive(Clone)]
pub struct SyncService {
    kernel: Kernel,
    repo: CatalogRepo,
}

impl SyncService {
    pub fn new(kernel: Kernel) -> Self {
        Self {
            repo: CatalogRepo::new(kernel.db.clone()),
            kernel,
        }
    }

    /// Every sync run, newest first, and how many there are.
    pub async fn runs(&self, limit: i64, offset: i64) -> Result<(Vec<SyncRun>, i64), sqlx::Error> {
        self.repo.runs(limit, offset).await
    }

    /// Every configured source: the Enterprise bundle, then the extra domains.
    pub fn configured_sources(&self) -> Vec<String> {
        let mitre = self.kernel.settings.section::<crate::MitreSettings>();
        std::iter::once(mitre.source.clone())
            .chain(mitre.extra_sources.iter().cloned())
            .collect()
    }

    /// Takes the cluster-wide lock and records a run; the caller then runs
    /// [`SyncService::execute`]. Split so an endpoint can answer with the run id at once.
    pub async fn begin(&self, trigger: &str, source: &str) -> Result<String, SyncError> {
        // The run id is the lock's value, so a run frees only its own lock.
        let run_id = uuid::Uuid::now_v7().to_string();
        if !self
            .kernel
            .kv
            .set_if_absent(LOCK_KEY, &run_id, LOCK_TTL)
            .await?
        {
            return Err(SyncError::AlreadyRunning);
        }
        match self.repo.start_run(&run_id, trigger, source).await {
            Ok(()) => Ok(run_id),
            Err(e) => {
                self.release_lock(&run_id).await;
                Err(e.into())
            }
        }
    }

    async fn release_lock(&self, run_id: &str) {
        match self.kernel.kv.delete_if_equals(LOCK_KEY, run_id).await {
            Ok(true) => {}
            Ok(false) => tracing::warn!(run_id, "the sync lock had expired before the run ended"),
            Err(error) => {
                tracing::warn!(%error, "cannot release the sync lock; it expires on its own")
            }
        }
    }

    /// Runs a begun sync to its end, records the outcome and frees the lock.
    pub async fn execute(
        &self,
        run_id: &str,
        source: &str,
        progress: Progress<'_>,
    ) -> Result<SyncOutcome, SyncError> {
        let result = self.sync(source, progress).await;
        let recorded = match &result {
            Ok((SyncOutcome::Applied { counts, .. }, release)) => {
                self.repo
                    .finish_run(run_id, "succeeded", release.as_ref(), counts, None)
                    .await
            }
            Ok((SyncOutcome::Unchanged { .. }, release)) => {
                self.repo
                    .finish_run(
                        run_id,
                        "unchanged",
                        release.as_ref(),
                        &SyncCounts::default(),
                        None,
                    )
                    .await
            }
            Err(error) => {
                tracing::error!(source, %error, "ATT&CK sync failed");
                self.repo
                    .finish_run(
                        run_id,
                        "failed",
                        None,
                        &SyncCounts::default(),
                        Some(&error.to_string()),
                    )
                    .await
            }
        };
        self.release_lock(run_id).await;
        recorded?;
        result.map(|(outcome, _)| outcome)
    }

    /// Begin and execute in one call (job, command line, tests).
    pub async fn run(
        &self,
        trigger: &str,
        source: &str,
        progress: Progress<'_>,
    ) -> Result<(String, SyncOutcome), SyncError> {
        let run_id = self.begin(trigger, source).await?;
        let outcome = self.execute(&run_id, source, progress).await?;
        Ok((run_id, outcome))
    }

    async fn sync(
        &self,
        source: &str,
        progress: Progress<'_>,
    ) -> Result<(SyncOutcome, Option<stix::Release>), SyncError> {
        let mitre = self.kernel.settings.section::<crate::MitreSettings>();
        progress("fetching", 0, 1);
        let previous = self.repo.validators_for_source(source).await?;
        let fetched = source::fetch(
            source,
            &previous,
            mitre.max_bundle_bytes,
            Duration::from_secs(mitre.timeout_seconds),
        )
        .await?;
        let (bytes, validators) = match fetched {
            Fetched::NotModified => return Ok((SyncOutcome::Unchanged { version: None }, None)),
            Fetched::Bundle { bytes, validators } => (bytes, validators),
        };
        progress("parsing", 0, 1);
        let catalog = tokio::task::spawn_blocking(move || stix::parse(&bytes))
            .await
            .map_err(|e| stix::StixError::NotJson(e.to_string()))??;
        let release = catalog.release.clone();
        if let Some((stored, _)) = self.repo.release(&release.domain).await?
            && stored.version == release.version
            && stored.modified == release.modified
        {
            return Ok((
                SyncOutcome::Unchanged {
                    version: Some(release.version.clone()),
                },
                Some(release),
            ));
        }
        let report = |done: usize, total: usize| progress("applying", done, total);
        let counts = self
            .repo
            .apply(&catalog, source, &validators, &report)
            .await?;
        tracing::info!(
            domain = release.domain,
            version = release.version,
            ?counts,
            "ATT&CK catalog synced"
        );
        Ok((
            SyncOutcome::Applied {
                version: release.version.clone(),
                counts,
            },
            Some(release),
        ))
    }
}

/// The `mitre_sync` job: every configured source in turn. A failing source
/// does not stop the others; the job fails when any source failed.
pub async fn mitre_sync_job(kernel: Kernel) -> anyhow::Result<String> {
    let service = SyncService::new(kernel);
    let (mut summary, mut failures) = (Vec::new(), Vec::new());
    for source in service.configured_sources() {
        match service.run("schedule", &source, &|_, _, _| {}).await {
            Ok((_, SyncOutcome::Applied { version, counts })) => summary.push(format!(
                "{version}: {} added, {} updated, {} missing",
                counts.added, counts.updated, counts.missing
            )),
            Ok((_, SyncOutcome::Unchanged { version })) => summary.push(format!(
                "{} unchanged",
                version.unwrap_or_else(|| "release".into())
            )),
            Err(error) => failures.push(format!("{source}: {error}")),
        }
    }
    if failures.is_empty() {
        Ok(summary.join("; "))
    } else {
        anyhow::bail!(
            "{} (succeeded: {})",
            failures.join("; "),
            summary.join("; ")
        )
    }
}

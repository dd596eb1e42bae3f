//! The MITRE sync: fetch, parse, compare the release, apply in one
//! transaction, record the run. All or nothing: any failure leaves the
//! catalog as it was and records a failed run with its reason.
//!
//! One sync runs at a time across replicas, decided by the database (a
//! unique index on running runs), and a running run holds a lease on its row
//! that a heartbeat renews ([`aegis_core::lease`]). A replica killed mid-sync
//! stops beating: the next sync to start, or the `stale_sync_sweep` job,
//! records its run as failed and interrupted once the lease ran out, so a
//! crash blocks new syncs for at most the lease time. (A lock in the
//! key-value store with a 30-minute TTL did this before: a crash blocked
//! syncs for 30 minutes, left the run `running` forever, and a Redis outage
//! stopped every sync.)

use std::future::Future;
use std::time::Duration;

use aegis_core::Kernel;
use aegis_core::audit::AuditEntry;
use aegis_core::auth::Principal;
use aegis_core::lease::Heartbeat;

use crate::model::{DEFAULT_DOMAIN, SyncCounts, SyncRun};
use crate::progress::ProgressBoard;
use crate::repo::{CatalogRepo, RunEnd, RunLease};
use crate::source::{self, Fetched};
use crate::{bundled, stix};

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("a sync is already running")]
    AlreadyRunning,
    /// The run's lease ran out (its heartbeat could not reach the database
    /// in time, or the process was paused) and another replica recorded it
    /// as interrupted: this process stopped it and wrote nothing.
    #[error("the sync lost its lease and was recorded as interrupted; nothing was applied")]
    Interrupted,
    #[error(transparent)]
    Source(#[from] source::SourceError),
    #[error("invalid bundle: {0}")]
    Bundle(#[from] stix::StixError),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

/// How a finished sync ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncOutcome {
    Applied { version: String, counts: SyncCounts },
    Unchanged { version: Option<String> },
}

/// Reports progress to a terminal or a log: (stage, done, total).
pub type Progress<'a> = &'a (dyn Fn(&str, usize, usize) + Send + Sync);

/// A begun sync: its run, recorded as running, and the heartbeat that keeps
/// the run's lease. Hand it to [`SyncService::execute`]; dropped instead (as
/// a crash would), the heartbeat stops and the run is recorded as
/// interrupted once its lease runs out.
#[derive(Debug)]
pub struct SyncClaim {
    run_id: String,
    heartbeat: Heartbeat,
}

impl SyncClaim {
    pub fn run_id(&self) -> &str {
        &self.run_id
    }
}

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

    /// Every sync run, newest first, and how many there are; running runs
    /// say where they stand.
    pub async fn runs(&self, limit: i64, offset: i64) -> Result<(Vec<SyncRun>, i64), sqlx::Error> {
        let (mut runs, total) = self.repo.runs(limit, offset).await?;
        for run in runs.iter_mut().filter(|r| r.status == "running") {
            run.progress = ProgressBoard::read(&self.kernel.kv, &run.id).await;
        }
        Ok((runs, total))
    }

    /// The largest bundle accepted, inflated, in bytes.
    pub fn max_bundle_bytes(&self) -> usize {
        self.kernel
            .settings
            .section::<crate::MitreSettings>()
            .max_bundle_bytes
    }

    /// Every configured source: the Enterprise bundle, then the extra domains.
    pub fn configured_sources(&self) -> Vec<String> {
        let mitre = self.kernel.settings.section::<crate::MitreSettings>();
        std::iter::once(mitre.source.clone())
            .chain(mitre.extra_sources.iter().cloned())
            .collect()
    }

    /// Records the runs whose replica stopped (their lease ran out) as failed
    /// and interrupted; returns how many. The `stale_sync_sweep` job and
    /// start-up call it; [`SyncService::begin`] does the same first.
    pub async fn fail_abandoned(&self) -> Result<usize, sqlx::Error> {
        let mut conn = self.kernel.db.pool().acquire().await?;
        let failed = self
            .repo
            .fail_abandoned(&mut conn, self.kernel.clock.now())
            .await?;
        log_interrupted(&failed);
        Ok(failed.len())
    }

    /// Records a run as running, under this process's lease, and starts its
    /// heartbeat; the caller then runs [`SyncService::execute`]. Split so an
    /// endpoint can answer with the run id at once. A run whose lease ran out
    /// is recorded as interrupted first, in the same transaction, so a crash
    /// holds the next sync back for at most the lease time.
    pub async fn begin(&self, trigger: &str, source: &str) -> Result<SyncClaim, SyncError> {
        self.begin_by(trigger, source, None).await
    }

    /// [`SyncService::begin`] for a person: `action` (`mitre.sync`,
    /// `mitre.upload`) and `detail` go to the audit log with the run, in one
    /// transaction.
    pub async fn begin_by(
        &self,
        trigger: &str,
        source: &str,
        audit: Option<(&Principal, &str, serde_json::Value)>,
    ) -> Result<SyncClaim, SyncError> {
        let run_id = uuid::Uuid::now_v7().to_string();
        let leases = &self.kernel.leases;
        let now = self.kernel.clock.now();
        let mut tx = self.kernel.db.begin().await?;
        let interrupted = self.repo.fail_abandoned(&mut tx, now).await?;
        let run = RunLease {
            run_id: &run_id,
            owner: leases.owner(),
        };
        let started = self
            .repo
            .start_run(&mut tx, run, trigger, source, now, leases.expiry())
            .await?;
        if let (true, Some((who, action, detail))) = (started, audit) {
            let actor = Some((who.user_id.as_str(), who.username.as_str()));
            let entry = AuditEntry::about(actor, action, ("mitre_sync_run", &run_id), detail);
            self.kernel.audit.record_in(&mut tx, entry).await?;
        }
        tx.commit().await?;
        log_interrupted(&interrupted);
        if !started {
            return Err(SyncError::AlreadyRunning);
        }
        let heartbeat = leases.heartbeat(format!("ATT&CK sync run {run_id}"), {
            let (repo, id, owner) = (self.repo.clone(), run_id.clone(), leases.owner().to_owned());
            move |expires_at| {
                let (repo, id, owner) = (repo.clone(), id.clone(), owner.clone());
                async move {
                    let run = RunLease {
                        run_id: &id,
                        owner: &owner,
                    };
                    repo.renew_run(run, expires_at).await
                }
            }
        });
        Ok(SyncClaim { run_id, heartbeat })
    }

    /// Runs a begun sync to its end and records the outcome, while its lease
    /// holds. A lost lease stops the work where it stands and writes nothing
    /// ([`SyncError::Interrupted`]): the run was recorded as interrupted.
    pub async fn execute(
        &self,
        claim: SyncClaim,
        source: &str,
        progress: Progress<'_>,
    ) -> Result<SyncOutcome, SyncError> {
        let board = ProgressBoard::start(self.kernel.kv.clone(), &claim.run_id, progress);
        let progress = &|stage: &str, done, total| board.report(stage, done, total);
        self.finish(claim, source, self.prepare(source, progress), progress)
            .await
    }

    /// Runs a begun sync of a bundle already read (an upload, the built-in
    /// release): [`SyncService::execute`] without the fetch.
    pub async fn execute_catalog(
        &self,
        claim: SyncClaim,
        source: &str,
        catalog: stix::Catalog,
        progress: Progress<'_>,
    ) -> Result<SyncOutcome, SyncError> {
        let board = ProgressBoard::start(self.kernel.kv.clone(), &claim.run_id, progress);
        let progress = &|stage: &str, done, total| board.report(stage, done, total);
        let compare = self.compare(catalog, source::Validators::default());
        self.finish(claim, source, compare, progress).await
    }

    /// Runs `prepare` and applies what it found, while the claim's lease
    /// holds, and records the outcome.
    async fn finish(
        &self,
        claim: SyncClaim,
        source: &str,
        prepare: impl Future<Output = Result<Prepared, SyncError>>,
        progress: Progress<'_>,
    ) -> Result<SyncOutcome, SyncError> {
        let SyncClaim { run_id, heartbeat } = claim;
        let run = RunLease {
            run_id: &run_id,
            owner: self.kernel.leases.owner(),
        };
        let Some(prepared) = heartbeat.hold(prepare).await else {
            tracing::warn!(
                run_id = run.run_id,
                "the ATT&CK sync lost its lease; stopped"
            );
            return Err(SyncError::Interrupted);
        };
        // What is recorded here: the release found unchanged, or why it failed.
        let result = match prepared {
            // Not cut short by a lost lease (the outcome must not be cut off
            // after it committed): its transaction records the run, and
            // commits nothing when the lease is gone.
            Ok(Prepared::Apply {
                catalog,
                validators,
            }) => match self
                .apply(run, source, &catalog, &validators, progress)
                .await
            {
                Ok(outcome) => return Ok(outcome),
                Err(error) => Err(error),
            },
            Ok(Prepared::Unchanged(release)) => Ok(release),
            Err(error) => Err(error),
        };
        // One quick write is left, well within the lease: no beat should
        // find the run ended by it and report a lost lease.
        drop(heartbeat);
        let (status, error) = match &result {
            Err(SyncError::Interrupted) => {
                tracing::warn!(
                    run_id = run.run_id,
                    "the ATT&CK sync was recorded as interrupted before it applied; nothing was applied"
                );
                return Err(SyncError::Interrupted);
            }
            Ok(_) => ("unchanged", None),
            Err(error) => {
                tracing::error!(source, %error, "ATT&CK sync failed");
                ("failed", Some(error.to_string()))
            }
        };
        let end = RunEnd {
            status,
            release: result.as_ref().ok().and_then(Option::as_ref),
            counts: &SyncCounts::default(),
            error: error.as_deref(),
            at: self.kernel.clock.now(),
        };
        let mut conn = self.kernel.db.pool().acquire().await?;
        if !self.repo.finish_run(&mut conn, run, &end).await? {
            tracing::warn!(
                run_id = run.run_id,
                "the ATT&CK sync was recorded as interrupted before it ended; its outcome is not recorded"
            );
            return Err(SyncError::Interrupted);
        }
        result.map(|release| SyncOutcome::Unchanged {
            version: release.map(|r| r.version),
        })
    }

    /// Begin and execute in one call (job, command line, tests).
    pub async fn run(
        &self,
        trigger: &str,
        source: &str,
        progress: Progress<'_>,
    ) -> Result<(String, SyncOutcome), SyncError> {
        let claim = self.begin(trigger, source).await?;
        let run_id = claim.run_id.clone();
        let outcome = self.execute(claim, source, progress).await?;
        Ok((run_id, outcome))
    }

    /// Fetches and parses `source` and compares its release with the stored one.
    async fn prepare(&self, source: &str, progress: Progress<'_>) -> Result<Prepared, SyncError> {
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
            Fetched::NotModified => return Ok(Prepared::Unchanged(None)),
            Fetched::Bundle { bytes, validators } => (bytes, validators),
        };
        progress("parsing", 0, 1);
        let catalog = tokio::task::spawn_blocking(move || stix::parse(&bytes))
            .await
            .map_err(|e| stix::StixError::NotJson(e.to_string()))??;
        self.compare(catalog, validators).await
    }

    /// Whether `catalog` is the release already stored (nothing to apply).
    async fn compare(
        &self,
        catalog: stix::Catalog,
        validators: source::Validators,
    ) -> Result<Prepared, SyncError> {
        if let Some((stored, _)) = self.repo.release(&catalog.release.domain).await?
            && stored.version == catalog.release.version
            && stored.modified == catalog.release.modified
        {
            return Ok(Prepared::Unchanged(Some(catalog.release)));
        }
        Ok(Prepared::Apply {
            catalog,
            validators,
        })
    }

    /// Reads a bundle given whole (an upload, the built-in release), plain
    /// or gzip, bounded like a fetched one. An error names what is wrong.
    pub async fn read_bundle(&self, bytes: Vec<u8>) -> Result<stix::Catalog, SyncError> {
        let max = self.max_bundle_bytes();
        tokio::task::spawn_blocking(move || -> Result<stix::Catalog, SyncError> {
            let json = source::inflate(bytes, max)?;
            Ok(stix::parse(&json)?)
        })
        .await
        .map_err(|e| stix::StixError::NotJson(e.to_string()))?
    }

    /// Checks an uploaded bundle, then syncs it in the background through
    /// the same run, lease and progress as any sync; returns the run's id.
    /// An invalid bundle is refused before any run starts.
    pub async fn start_upload(
        &self,
        who: &Principal,
        file_name: &str,
        bytes: Vec<u8>,
    ) -> Result<String, SyncError> {
        let size = bytes.len();
        let catalog = self.read_bundle(bytes).await?;
        let source = format!("upload: {file_name}");
        let release = &catalog.release;
        let detail = serde_json::json!({
            "file_name": file_name,
            "bytes": size,
            "domain": release.domain,
            "release_version": release.version,
        });
        let claim = self
            .begin_by("upload", &source, Some((who, "mitre.upload", detail)))
            .await?;
        let run_id = claim.run_id.clone();
        let service = self.clone();
        tokio::spawn(async move {
            // The run records how it ended.
            let _ = service
                .execute_catalog(claim, &source, catalog, &|_, _, _| {})
                .await;
        });
        Ok(run_id)
    }

    /// Starts a sync of every configured source in the background, the
    /// Enterprise one first; returns that run's id.
    pub async fn start_configured(&self, who: &Principal) -> Result<String, SyncError> {
        let mut sources = self.configured_sources().into_iter();
        let first = sources.next().unwrap_or_default();
        let detail = serde_json::json!({ "source": first });
        let claim = self
            .begin_by("api", &first, Some((who, "mitre.sync", detail)))
            .await?;
        let run_id = claim.run_id.clone();
        let service = self.clone();
        tokio::spawn(async move {
            // Failures are recorded on the runs; nothing more to do with them here.
            let _ = service.execute(claim, &first, &|_, _, _| {}).await;
            for source in sources {
                let _ = service.run("api", &source, &|_, _, _| {}).await;
            }
        });
        Ok(run_id)
    }

    /// On a start with no Enterprise catalog, loads the release built into
    /// Aegis in the background (no network needed), unless configured off.
    /// Another replica doing the same first is no error: one sync runs.
    pub async fn load_bundled_when_empty(&self) -> Result<(), SyncError> {
        let mitre = self.kernel.settings.section::<crate::MitreSettings>();
        if !mitre.bundled_on_first_start || self.repo.has_techniques(DEFAULT_DOMAIN).await? {
            return Ok(());
        }
        let claim = match self.begin("first_start", bundled::ENTERPRISE_SOURCE).await {
            Err(SyncError::AlreadyRunning) => return Ok(()),
            claim => claim?,
        };
        tracing::info!("the ATT&CK catalog is empty: loading the built-in Enterprise release");
        let service = self.clone();
        tokio::spawn(async move {
            let source = bundled::ENTERPRISE_SOURCE;
            let loaded = match service
                .read_bundle(bundled::ENTERPRISE_BUNDLE.to_vec())
                .await
            {
                Ok(catalog) => {
                    service
                        .execute_catalog(claim, source, catalog, &|_, _, _| {})
                        .await
                }
                // Recorded on the run like any failed sync (a build error: the
                // built-in bundle is checked by the test suite).
                Err(error) => service.fail_claim(claim, source, error).await,
            };
            if let Err(error) = loaded {
                tracing::error!(%error, "the built-in ATT&CK release could not be loaded");
            }
        });
        Ok(())
    }

    /// Records a begun run as failed with `error`, without running it.
    async fn fail_claim(
        &self,
        claim: SyncClaim,
        source: &str,
        error: SyncError,
    ) -> Result<SyncOutcome, SyncError> {
        self.finish(claim, source, async { Err(error) }, &|_, _, _| {})
            .await
    }

    /// Applies a catalog and records `run` as succeeded, in one transaction
    /// that commits only while the run is still this process's.
    async fn apply(
        &self,
        run: RunLease<'_>,
        source: &str,
        catalog: &stix::Catalog,
        validators: &source::Validators,
        progress: Progress<'_>,
    ) -> Result<SyncOutcome, SyncError> {
        let report = |done: usize, total: usize| progress("applying", done, total);
        let counts = self
            .repo
            .apply(
                catalog,
                source,
                validators,
                &report,
                run,
                self.kernel.clock.now(),
            )
            .await?
            .ok_or(SyncError::Interrupted)?;
        let release = &catalog.release;
        tracing::info!(
            domain = release.domain,
            version = release.version,
            ?counts,
            "ATT&CK catalog synced"
        );
        Ok(SyncOutcome::Applied {
            version: release.version.clone(),
            counts,
        })
    }
}

/// A fetched source: what its sync does next.
enum Prepared {
    /// Nothing to apply: HTTP 304, or the release already stored.
    Unchanged(Option<stix::Release>),
    Apply {
        catalog: stix::Catalog,
        validators: source::Validators,
    },
}

fn log_interrupted(run_ids: &[String]) {
    for run_id in run_ids {
        tracing::warn!(
            run_id,
            "ATT&CK sync run recorded as interrupted: the replica running it stopped beating"
        );
    }
}

/// The `stale_sync_sweep` job: runs whose replica stopped are recorded as
/// interrupted even when no new sync starts.
pub async fn stale_sync_sweep_job(kernel: Kernel) -> anyhow::Result<String> {
    let failed = SyncService::new(kernel).fail_abandoned().await?;
    Ok(format!("{failed} interrupted sync runs marked failed"))
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

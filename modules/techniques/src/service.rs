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

use std::time::Duration;

use aegis_core::Kernel;
use aegis_core::lease::Heartbeat;

use crate::model::{SyncCounts, SyncRun};
use crate::repo::{CatalogRepo, RunEnd, RunLease};
use crate::source::{self, Fetched};
use crate::stix;

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
        let SyncClaim { run_id, heartbeat } = claim;
        let run = RunLease {
            run_id: &run_id,
            owner: self.kernel.leases.owner(),
        };
        let Some(prepared) = heartbeat.hold(self.prepare(source, progress)).await else {
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

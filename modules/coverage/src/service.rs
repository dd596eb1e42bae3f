//! Coverage, KPIs and snapshots: the queries come from the repository,
//! the rules for combining them live here, and so do the transactions a
//! snapshot is written in. The catalog is read through its service.
//!
//! The reads other modules use (`coverage`, `kpis_with`, `latest_snapshot`,
//! `take_snapshot_in`) answer `sqlx::Error`; what the HTTP edge calls answers
//! [`CoverageError`].

use std::collections::BTreeMap;

use aegis_core::Kernel;
use aegis_core::auth::Principal;
use aegis_core::db::Conn;
use aegis_core::time::Timestamp;
use aegis_mod_techniques::CatalogService;
use aegis_mod_techniques::model::DEFAULT_DOMAIN;
use serde_json::json;

use crate::error::CoverageError;
use crate::model::{Counts, Coverage, Kpis, Scope, Snapshot, Status, TacticCoverage};
use crate::repo::CoverageRepo;

/// KPIs now, and how they moved since the last snapshot of the same scope.
#[derive(Debug, Clone)]
pub struct KpiReport {
    pub kpis: Kpis,
    pub previous: Option<Snapshot>,
    pub change: BTreeMap<String, f64>,
}

#[derive(Debug, Clone)]
pub struct StatusChange {
    pub attack_id: String,
    pub before: Option<Status>,
    pub after: Option<Status>,
}

#[derive(Debug, Clone)]
pub struct SnapshotDiff {
    pub from: Snapshot,
    pub to: Snapshot,
    pub changed: Vec<StatusChange>,
    pub kpi_change: BTreeMap<String, f64>,
}

#[derive(Clone)]
pub struct CoverageService {
    kernel: Kernel,
    repo: CoverageRepo,
    catalog: CatalogService,
}

impl CoverageService {
    pub fn new(kernel: Kernel, catalog: CatalogService) -> Self {
        Self {
            repo: CoverageRepo::new(kernel.db.clone()),
            kernel,
            catalog,
        }
    }

    /// Per technique, per tactic and overall, under the one rule of
    /// [`crate::rollup`]: a parent's row includes its sub-techniques, and
    /// the totals count each matrix cell (current technique that is not a
    /// sub-technique) once. Retired techniques with tests are listed (drift)
    /// but not counted.
    pub async fn coverage(&self, scope: &Scope) -> Result<Coverage, sqlx::Error> {
        let mut techniques = self.repo.techniques(DEFAULT_DOMAIN, scope).await?;
        crate::rollup::roll_up(&mut techniques);
        let tactics = self.catalog.tactics(DEFAULT_DOMAIN).await?;
        let mut overall = Counts::default();
        let mut per_tactic: BTreeMap<&str, Counts> = BTreeMap::new();
        for t in techniques.iter().filter(|t| t.counted) {
            overall.add(t.status);
            for tactic in &t.tactics {
                per_tactic.entry(tactic.as_str()).or_default().add(t.status);
            }
        }
        let tactics = tactics
            .into_iter()
            // The tactics the matrix shows.
            .filter(|t| t.missing_since.is_none() && !t.tactic.deprecated)
            .map(|t| {
                let counts = per_tactic
                    .get(t.tactic.short_name.as_str())
                    .cloned()
                    .unwrap_or_default();
                TacticCoverage {
                    covered_percent: counts.covered_percent(),
                    attack_id: t.tactic.attack_id,
                    short_name: t.tactic.short_name,
                    name: t.tactic.name,
                    counts,
                }
            })
            .collect();
        Ok(Coverage {
            scope: scope.clone(),
            covered_percent: overall.covered_percent(),
            overall,
            tactics,
            techniques,
        })
    }

    pub async fn kpis(&self, scope: &Scope) -> Result<KpiReport, CoverageError> {
        let coverage = self.coverage(scope).await?;
        let kpis = self.kpis_with(scope, &coverage).await?;
        let previous = self.repo.latest_for(scope).await?;
        let change = previous
            .as_ref()
            .map(|p| kpi_change(&p.kpis, &kpis))
            .unwrap_or_default();
        Ok(KpiReport {
            kpis,
            previous,
            change,
        })
    }

    /// The KPIs of `scope` when its coverage is already at hand.
    pub async fn kpis_with(&self, scope: &Scope, coverage: &Coverage) -> Result<Kpis, sqlx::Error> {
        let mut kpis = self.repo.kpis(scope).await?;
        kpis.techniques = coverage.overall.clone();
        kpis.regressions = coverage
            .techniques
            .iter()
            .filter(|t| t.counted && t.regression)
            .count() as i64;
        Ok(kpis)
    }

    /// Freezes coverage and KPIs of `scope` now, on its own (the daily job).
    pub async fn take_snapshot(
        &self,
        trigger: &str,
        scope: &Scope,
    ) -> Result<Snapshot, sqlx::Error> {
        let mut tx = self.kernel.db.begin().await?;
        let snapshot = self.take_snapshot_in(&mut tx, trigger, scope).await?;
        tx.commit().await?;
        Ok(snapshot)
    }

    /// Freezes coverage and KPIs of `scope` now as part of the caller's unit
    /// of work (`&mut *tx`): the figures are read from the pool first, the
    /// snapshot is written through `conn` and goes if the caller rolls back.
    pub async fn take_snapshot_in(
        &self,
        conn: &mut Conn,
        trigger: &str,
        scope: &Scope,
    ) -> Result<Snapshot, sqlx::Error> {
        let coverage = self.coverage(scope).await?;
        let kpis = self.kpis_with(scope, &coverage).await?;
        let snapshot = Snapshot {
            id: uuid::Uuid::now_v7().to_string(),
            taken_at: self.kernel.clock.now(),
            trigger: trigger.into(),
            scope: scope.clone(),
            kpis,
            statuses: coverage.statuses(),
        };
        self.repo.insert_snapshot(conn, &snapshot).await?;
        Ok(snapshot)
    }

    /// A snapshot a user asks for, recorded in the audit log with it.
    pub async fn take_snapshot_for(
        &self,
        who: &Principal,
        scope: &Scope,
    ) -> Result<Snapshot, CoverageError> {
        let mut tx = self.kernel.db.begin().await?;
        let snapshot = self.take_snapshot_in(&mut tx, "manual", scope).await?;
        self.kernel
            .audit
            .record_about_in(
                &mut tx,
                Some((who.user_id.as_str(), who.username.as_str())),
                "snapshot.create",
                ("snapshot", &snapshot.id),
                json!({ "trigger": snapshot.trigger, "scope": snapshot.scope }),
            )
            .await?;
        tx.commit().await?;
        Ok(snapshot)
    }

    /// The newest snapshot of `scope`, if any.
    pub async fn latest_snapshot(&self, scope: &Scope) -> Result<Option<Snapshot>, sqlx::Error> {
        self.repo.latest_for(scope).await
    }

    /// One snapshot with every technique's status.
    pub async fn snapshot(&self, id: &str) -> Result<Snapshot, CoverageError> {
        self.repo
            .snapshot(id)
            .await?
            .ok_or(CoverageError::SnapshotNotFound)
    }

    /// Snapshots (of one campaign, or all), newest first, without the
    /// per-technique statuses; and how many there are.
    pub async fn snapshots(
        &self,
        campaign_id: Option<&str>,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<Snapshot>, i64), CoverageError> {
        Ok(self.repo.snapshots(campaign_id, limit, offset).await?)
    }

    /// What changed from snapshot `from` to snapshot `to`.
    pub async fn diff(&self, from: &str, to: &str) -> Result<SnapshotDiff, CoverageError> {
        let (Some(from), Some(to)) = (
            self.repo.snapshot(from).await?,
            self.repo.snapshot(to).await?,
        ) else {
            return Err(CoverageError::SnapshotNotFound);
        };
        let mut ids: Vec<&String> = from.statuses.keys().chain(to.statuses.keys()).collect();
        ids.sort();
        ids.dedup();
        let changed = ids
            .into_iter()
            .filter_map(|id| {
                let (before, after) =
                    (from.statuses.get(id).copied(), to.statuses.get(id).copied());
                (before != after).then(|| StatusChange {
                    attack_id: id.clone(),
                    before,
                    after,
                })
            })
            .collect();
        let kpi_change = kpi_change(&from.kpis, &to.kpis);
        Ok(SnapshotDiff {
            from,
            to,
            changed,
            kpi_change,
        })
    }

    /// Deletes snapshots older than the retention window as of `now`; the
    /// newest always stays.
    pub async fn apply_retention(&self, now: Timestamp) -> Result<u64, sqlx::Error> {
        let retention = self.kernel.settings.section::<crate::CoverageSettings>();
        let days = i64::from(retention.snapshot_retention_days);
        let mut tx = self.kernel.db.begin().await?;
        let removed = self
            .repo
            .delete_before(&mut tx, now - chrono::Duration::days(days))
            .await?;
        tx.commit().await?;
        Ok(removed)
    }
}

/// The numeric KPIs that moved, `after − before`.
pub fn kpi_change(before: &Kpis, after: &Kpis) -> BTreeMap<String, f64> {
    let figures = |k: &Kpis| -> Vec<(&'static str, Option<f64>)> {
        vec![
            ("tests_total", Some(k.tests_total as f64)),
            ("completed", Some(k.completed as f64)),
            ("detection_rate", Some(k.detection_rate)),
            ("prevention_rate", Some(k.prevention_rate)),
            ("mean_time_to_detect_seconds", k.mean_time_to_detect_seconds),
            (
                "median_time_to_detect_seconds",
                k.median_time_to_detect_seconds,
            ),
            ("mean_blue_review_seconds", k.mean_blue_review_seconds),
            ("techniques_covered", Some(k.techniques.covered as f64)),
            ("techniques_partial", Some(k.techniques.partial as f64)),
            ("techniques_gap", Some(k.techniques.gap as f64)),
            ("techniques_untested", Some(k.techniques.untested as f64)),
            ("regressions", Some(k.regressions as f64)),
        ]
    };
    figures(before)
        .into_iter()
        .zip(figures(after))
        .filter_map(|((name, b), (_, a))| match (b, a) {
            (Some(b), Some(a)) if (a - b).abs() > f64::EPSILON => {
                Some((name.to_owned(), ((a - b) * 100.0).round() / 100.0))
            }
            _ => None,
        })
        .collect()
}

impl CoverageService {
    /// The synced Enterprise ATT&CK release, e.g. `18.1`.
    pub async fn attack_version(&self) -> Result<Option<String>, CoverageError> {
        Ok(self
            .catalog
            .release(DEFAULT_DOMAIN)
            .await?
            .map(|release| release.version))
    }
}

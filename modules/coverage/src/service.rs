//! Coverage, KPIs and snapshots: the queries come from the repository,
//! the rules for combining them live here.

use std::collections::BTreeMap;

use aegis_core::Kernel;
use aegis_core::time::{self, Timestamp};
use aegis_mod_techniques::model::DEFAULT_DOMAIN;
use aegis_mod_techniques::repo::CatalogRepo;

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
    catalog: CatalogRepo,
}

impl CoverageService {
    pub fn new(kernel: Kernel) -> Self {
        Self {
            repo: CoverageRepo::new(kernel.db.clone()),
            catalog: CatalogRepo::new(kernel.db.clone()),
            kernel,
        }
    }

    pub fn repo(&self) -> &CoverageRepo {
        &self.repo
    }

    /// Per technique, per tactic and overall. Revoked and deprecated
    /// techniques with tests are listed (drift) but not counted.
    pub async fn coverage(&self, scope: &Scope) -> Result<Coverage, sqlx::Error> {
        let techniques = self.repo.techniques(DEFAULT_DOMAIN, scope).await?;
        let tactics = self.catalog.tactics(DEFAULT_DOMAIN).await?;
        let mut overall = Counts::default();
        let mut per_tactic: BTreeMap<&str, Counts> = BTreeMap::new();
        for t in techniques.iter().filter(|t| !t.revoked && !t.deprecated) {
            overall.add(t.status);
            for tactic in &t.tactics {
                per_tactic.entry(tactic.as_str()).or_default().add(t.status);
            }
        }
        let tactics = tactics
            .into_iter()
            .filter(|t| t.missing_since.is_none())
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

    pub async fn kpis(&self, scope: &Scope) -> Result<KpiReport, sqlx::Error> {
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
        kpis.regressions = coverage.techniques.iter().filter(|t| t.regression).count() as i64;
        Ok(kpis)
    }

    /// Freezes coverage and KPIs of `scope` now.
    pub async fn take_snapshot(
        &self,
        trigger: &str,
        scope: &Scope,
    ) -> Result<Snapshot, sqlx::Error> {
        let coverage = self.coverage(scope).await?;
        let kpis = self.kpis_with(scope, &coverage).await?;
        let snapshot = Snapshot {
            id: uuid::Uuid::now_v7().to_string(),
            taken_at: time::now(),
            trigger: trigger.into(),
            scope: scope.clone(),
            kpis,
            statuses: coverage.statuses(),
        };
        self.repo.insert_snapshot(&snapshot).await?;
        Ok(snapshot)
    }

    /// The newest snapshot of `scope`, if any.
    pub async fn latest_snapshot(&self, scope: &Scope) -> Result<Option<Snapshot>, sqlx::Error> {
        self.repo.latest_for(scope).await
    }

    pub async fn snapshot(&self, id: &str) -> Result<Option<Snapshot>, sqlx::Error> {
        self.repo.snapshot(id).await
    }

    /// What changed from snapshot `from` to snapshot `to`.
    pub async fn diff(&self, from: &str, to: &str) -> Result<Option<SnapshotDiff>, sqlx::Error> {
        let (Some(from), Some(to)) = (
            self.repo.snapshot(from).await?,
            self.repo.snapshot(to).await?,
        ) else {
            return Ok(None);
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
        Ok(Some(SnapshotDiff {
            from,
            to,
            changed,
            kpi_change,
        }))
    }

    /// Deletes snapshots older than the retention window as of `now`; the
    /// newest always stays.
    pub async fn apply_retention(&self, now: Timestamp) -> Result<u64, sqlx::Error> {
        let retention = self.kernel.settings.section::<crate::CoverageSettings>();
        let days = i64::from(retention.snapshot_retention_days);
        self.repo
            .delete_before(now - chrono::Duration::days(days))
            .await
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
    pub async fn attack_version(&self) -> Result<Option<String>, sqlx::Error> {
        Ok(self
            .catalog
            .release(DEFAULT_DOMAIN)
            .await?
            .map(|(release, _)| release.version))
    }
}

//! Report generation: a request is recorded and answered at once; the data
//! is gathered once, rendered in the chosen format (built-in or plugin) and
//! stored, with the progress kept on the report's row. A request and its
//! audit event are written in one transaction, and so are a deletion and
//! its event; a stored file whose row is gone is harmless (the file is
//! removed after the row, and never served without one) and, when storage
//! refused its removal, swept later by `report_orphan_sweep`.
//!
//! From its request to its end a report holds a lease on its row, renewed
//! by a heartbeat ([`aegis_core::lease`]). When the process generating it is
//! killed, the `stale_report_sweep` job (every 30 s, and start-up) fails it
//! once the lease ran out, saying it was interrupted. Failed rather than
//! taken over: asking again is one click, while a report that took its
//! process down (memory) would take down replica after replica if retried.

use std::collections::BTreeMap;

use aegis_core::Kernel;
use aegis_core::auth::Principal;
use aegis_core::db::Conn;
use aegis_core::error::FieldError;
use aegis_core::lease::Heartbeat;
use aegis_core::plugins::{Kpi, PluginKind, ReportData, TacticCoverage};
use aegis_mod_campaigns::CampaignService;
use aegis_mod_coverage::model::TechniqueCoverage;
use aegis_mod_coverage::{CoverageService, Scope};
use aegis_mod_plugins::PluginService;
use aegis_mod_plugins::model::PluginFilter;
use aegis_mod_test_cases::read::{ReadScope, TestCaseReads};
use serde_json::json;

use crate::document::Document;
use crate::error::ReportsError;
use crate::model::{Report, ReportKind, ReportStatus};
use crate::render;
use crate::repo::{ReportLease, ReportRepo, StoredFile};

pub const PLUGIN_FORMAT_PREFIX: &str = "plugin:";

/// A format a report can be rendered in.
#[derive(Debug, Clone)]
pub struct FormatInfo {
    pub id: String,
    pub name: String,
    pub media_type: String,
    pub extension: String,
    /// `builtin` or `plugin`.
    pub source: &'static str,
}

/// What a user asks for.
#[derive(Debug, Clone)]
pub struct ReportRequest {
    pub kind: ReportKind,
    pub format: String,
    pub campaign_id: Option<String>,
    pub platform: Option<String>,
    pub title: Option<String>,
}

/// Reports generated at once; more wait in `queued`. Each holds its whole
/// document in memory while it renders.
const CONCURRENT_GENERATIONS: usize = 2;

#[derive(Clone)]
pub struct ReportService {
    kernel: Kernel,
    running: std::sync::Arc<tokio::sync::Semaphore>,
    repo: ReportRepo,
    coverage: CoverageService,
    plugins: PluginService,
    campaigns: CampaignService,
    views: TestCaseReads,
}

/// A requested report, recorded as queued under this process's lease, and
/// the heartbeat that keeps the lease. Hand it to [`ReportService::generate`];
/// dropped instead (as a crash would), the heartbeat stops and the sweep
/// fails the report once its lease ran out.
#[derive(Debug)]
pub struct ReportClaim {
    report: Report,
    heartbeat: Heartbeat,
}

impl ReportClaim {
    pub fn report(&self) -> &Report {
        &self.report
    }
}

/// A report's stored file, before its row says so.
struct RenderedFile {
    storage_key: String,
    media_type: String,
    file_name: String,
    size_bytes: i64,
}

impl RenderedFile {
    fn stored(&self) -> StoredFile<'_> {
        StoredFile {
            storage_key: &self.storage_key,
            media_type: &self.media_type,
            file_name: &self.file_name,
            size_bytes: self.size_bytes,
        }
    }
}

/// Why a generation stopped.
enum Stopped {
    /// It failed; the reason is recorded on the report.
    Failed(String),
    /// The report is no longer this process's (deleted, or recorded as
    /// interrupted by another replica): nothing more is written.
    Lost,
}

impl From<String> for Stopped {
    fn from(reason: String) -> Self {
        Self::Failed(reason)
    }
}

impl From<&str> for Stopped {
    fn from(reason: &str) -> Self {
        Self::Failed(reason.into())
    }
}

impl ReportService {
    pub fn new(
        kernel: Kernel,
        coverage: CoverageService,
        campaigns: CampaignService,
        plugins: PluginService,
    ) -> Self {
        Self {
            running: std::sync::Arc::new(tokio::sync::Semaphore::new(CONCURRENT_GENERATIONS)),
            repo: ReportRepo::new(kernel.db.clone()),
            views: TestCaseReads::new(kernel.db.clone()),
            kernel,
            coverage,
            campaigns,
            plugins,
        }
    }

    /// Runs one unaudited write of the generation's bookkeeping on a pooled
    /// connection.
    async fn write<T>(
        &self,
        work: impl AsyncFnOnce(&ReportRepo, &mut Conn) -> Result<T, sqlx::Error>,
    ) -> Result<T, sqlx::Error> {
        let mut conn = self.kernel.db.pool().acquire().await?;
        work(&self.repo, &mut conn).await
    }

    /// Fails, as interrupted, the unfinished reports whose lease ran out
    /// (the process generating them stopped); returns how many.
    pub async fn fail_abandoned(&self) -> Result<usize, sqlx::Error> {
        let now = self.kernel.clock.now();
        let failed = self
            .write(async |repo, conn| repo.fail_abandoned(conn, now).await)
            .await?;
        for report in &failed {
            tracing::warn!(
                report,
                "report recorded as interrupted: the replica generating it stopped beating"
            );
        }
        Ok(failed.len())
    }

    /// Built-in formats, then every enabled report-format plugin.
    pub async fn formats(&self) -> Result<Vec<FormatInfo>, ReportsError> {
        let mut formats: Vec<FormatInfo> = render::FORMATS
            .iter()
            .map(|f| FormatInfo {
                id: f.id.into(),
                name: f.name.into(),
                media_type: f.media_type.into(),
                extension: f.extension.into(),
                source: "builtin",
            })
            .collect();
        let filter = PluginFilter {
            kind: Some(PluginKind::ReportFormat),
            enabled: Some(true),
        };
        let (plugins, _) = self.plugins.list(&filter, 1_000, 0).await?;
        formats.extend(plugins.into_iter().map(|p| {
            FormatInfo {
                id: format!("{PLUGIN_FORMAT_PREFIX}{}", p.id),
                name: p.name,
                media_type: p
                    .media_type
                    .unwrap_or_else(|| "application/octet-stream".into()),
                extension: p.file_extension.unwrap_or_else(|| "bin".into()),
                source: "plugin",
            }
        }));
        Ok(formats)
    }

    /// Records the request and starts generating; returns at once.
    pub async fn create(
        &self,
        who: &Principal,
        request: ReportRequest,
    ) -> Result<Report, ReportsError> {
        let claim = self.request(who, request).await?;
        let report = claim.report.clone();
        let this = self.clone();
        tokio::spawn(async move { this.generate(claim).await });
        Ok(report)
    }

    /// Checks and records a request, queued under this process's lease, and
    /// starts the lease's heartbeat; [`ReportService::generate`] does the work.
    pub async fn request(
        &self,
        who: &Principal,
        request: ReportRequest,
    ) -> Result<ReportClaim, ReportsError> {
        let mut errors = Vec::new();
        let formats = self.formats().await?;
        let format = formats.iter().find(|f| f.id == request.format);
        if format.is_none() {
            errors.push(FieldError::new(
                "format",
                "unknown format; GET /api/v1/report-formats lists them",
            ));
        }
        let campaign = match &request.campaign_id {
            Some(id) => self.campaigns.find(id).await?,
            None => None,
        };
        if request.campaign_id.is_some() && campaign.is_none() {
            errors.push(FieldError::new("campaign_id", "no campaign with this id"));
        }
        if request.kind == ReportKind::Campaign && request.campaign_id.is_none() {
            errors.push(FieldError::new(
                "campaign_id",
                "required for a campaign report",
            ));
        }
        if request
            .title
            .as_deref()
            .is_some_and(|t| t.chars().count() > 200)
        {
            errors.push(FieldError::new("title", "at most 200 characters"));
        }
        if !errors.is_empty() {
            return Err(ReportsError::Invalid(errors));
        }
        let title = request
            .title
            .clone()
            .filter(|t| !t.trim().is_empty())
            .unwrap_or_else(|| match (&request.kind, &campaign) {
                (ReportKind::Campaign, Some(c)) => format!("Campaign report: {}", c.fields.name),
                (ReportKind::Coverage, _) => "ATT&CK coverage report".into(),
                _ => "Executive summary".into(),
            });
        let report = Report {
            id: uuid::Uuid::now_v7().to_string(),
            kind: request.kind,
            format: request.format.clone(),
            title,
            campaign_id: request.campaign_id.clone(),
            platform: request.platform.clone().filter(|p| !p.trim().is_empty()),
            status: ReportStatus::Queued,
            progress: 0,
            error: None,
            storage_key: None,
            media_type: None,
            file_name: None,
            size_bytes: None,
            created_at: self.kernel.clock.now(),
            created_by: who.username.clone(),
            finished_at: None,
        };
        let leases = &self.kernel.leases;
        let mut tx = self.kernel.db.begin().await?;
        self.repo
            .insert(&mut tx, &report, leases.owner(), leases.expiry())
            .await?;
        self.audit(
            &mut tx,
            who,
            "report.generate",
            &report.id,
            json!({
                "kind": report.kind.as_str(), "format": report.format,
                "campaign_id": report.campaign_id, "platform": report.platform,
            }),
        )
        .await?;
        tx.commit().await?;
        let heartbeat = leases.heartbeat(format!("report {}", report.id), {
            let (repo, id, owner) = (
                self.repo.clone(),
                report.id.clone(),
                leases.owner().to_owned(),
            );
            move |expires_at| {
                let (repo, id, owner) = (repo.clone(), id.clone(), owner.clone());
                async move {
                    let lease = ReportLease {
                        id: &id,
                        owner: &owner,
                    };
                    repo.renew(lease, expires_at).await
                }
            }
        });
        Ok(ReportClaim { report, heartbeat })
    }

    /// Generates a requested report and records how it ended, while its
    /// lease holds: waits its turn (queued, still beating), gathers, renders,
    /// stores. A lost lease stops it where it stands and writes nothing more.
    pub async fn generate(&self, claim: ReportClaim) {
        let ReportClaim { report, heartbeat } = claim;
        let report = &report;
        let lease = ReportLease {
            id: &report.id,
            owner: self.kernel.leases.owner(),
        };
        // The file's key once it is being stored: removed unless the report
        // ends ready.
        let stored = std::sync::OnceLock::new();
        let work = async {
            let Ok(_turn) = self.running.acquire().await else {
                return Err(Stopped::Failed("the server is stopping".into()));
            };
            self.render_and_store(report, lease, &stored).await
        };
        // Recording `ready` stays outside `hold`: a beat that finds the
        // report already ready must not cut that write off and take its file.
        let held = heartbeat.hold(work).await;
        // Quick writes are left, well within the lease: no beat should find
        // the report ended by them and report a lost lease.
        drop(heartbeat);
        let (ended, surely_not_ready) = match held {
            Some(Ok(file)) => {
                let at = self.kernel.clock.now();
                match self
                    .write(async |repo, conn| repo.ready(conn, lease, &file.stored(), at).await)
                    .await
                {
                    Ok(true) => return,
                    Ok(false) => (Stopped::Lost, true),
                    // It may have committed before the connection broke.
                    Err(e) => (
                        Stopped::Failed(format!("cannot record the report: {e}")),
                        false,
                    ),
                }
            }
            Some(Err(stopped)) => (stopped, true),
            None => (Stopped::Lost, true),
        };
        if surely_not_ready
            && let Some(key) = stored.get()
            && let Err(e) = self.kernel.storage.delete(key).await
        {
            tracing::warn!(key, error = %e, "cannot remove a report file");
        }
        let Stopped::Failed(reason) = ended else {
            tracing::warn!(
                report = %report.id,
                "the report was deleted, or recorded as interrupted by another replica; stopped"
            );
            return;
        };
        tracing::warn!(report = %report.id, "report failed: {reason}");
        let error = aegis_core::text::truncate(&reason, 2_000);
        let at = self.kernel.clock.now();
        match self
            .write(async |repo, conn| repo.failed(conn, lease, error, at).await)
            .await
        {
            Ok(true) => {}
            Ok(false) => tracing::warn!(
                report = %report.id,
                "the report was deleted or recorded as interrupted before its failure"
            ),
            Err(e) => tracing::error!(error = %e, "cannot record a failed report"),
        }
    }

    /// Gathers, renders and stores the report's file, keeping its progress.
    async fn render_and_store(
        &self,
        report: &Report,
        lease: ReportLease<'_>,
        stored: &std::sync::OnceLock<String>,
    ) -> Result<RenderedFile, Stopped> {
        let db = |e: sqlx::Error| Stopped::Failed(format!("cannot read the data: {e}"));
        self.progress(lease, 10).await.map_err(db)??;
        let document = self.gather(report).await.map_err(db)?;
        self.progress(lease, 50).await.map_err(db)??;
        let (bytes, media_type, extension) = match report.format.strip_prefix(PLUGIN_FORMAT_PREFIX)
        {
            Some(plugin_id) => {
                let plugin = self
                    .plugins
                    .get(plugin_id)
                    .await
                    .map_err(|e| e.to_string())?;
                let bytes = self
                    .plugins
                    .render(plugin_id, &document.data)
                    .await
                    .map_err(|e| e.to_string())?;
                let media = plugin
                    .media_type
                    .unwrap_or_else(|| "application/octet-stream".into());
                (
                    bytes,
                    media,
                    plugin.file_extension.unwrap_or_else(|| "bin".into()),
                )
            }
            None => {
                let format = render::builtin(&report.format).ok_or("unknown format")?;
                // Rendering is CPU work over the whole document: off the async workers.
                let render = format.render;
                let bytes = tokio::task::spawn_blocking(move || render(&document))
                    .await
                    .map_err(|e| format!("rendering stopped: {e}"))??;
                (
                    bytes,
                    format.media_type.to_owned(),
                    format.extension.to_owned(),
                )
            }
        };
        self.progress(lease, 90).await.map_err(db)??;
        let key = stored.get_or_init(|| format!("reports/{}.{extension}", report.id));
        let size_bytes = bytes.len() as i64;
        self.kernel.storage.put(key, bytes).await.map_err(|e| {
            // The report's error is shown to users: the details go to the log.
            // Storage may have kept the file anyway; report_orphan_sweep removes it.
            tracing::error!(error = %e, key, "cannot store a report file");
            "cannot store the file: storage is unavailable; generate it again later".to_owned()
        })?;
        Ok(RenderedFile {
            storage_key: key.clone(),
            media_type,
            file_name: format!("{}.{extension}", file_stem(&report.title)),
            size_bytes,
        })
    }

    /// The report is running, `percent` done; `Err(Lost)` inside when it is
    /// no longer this process's.
    async fn progress(
        &self,
        lease: ReportLease<'_>,
        percent: i64,
    ) -> Result<Result<(), Stopped>, sqlx::Error> {
        let held = self
            .write(async |repo, conn| repo.progress(conn, lease, percent).await)
            .await?;
        Ok(if held { Ok(()) } else { Err(Stopped::Lost) })
    }

    /// Everything the report shows, read once.
    pub async fn gather(&self, report: &Report) -> Result<Document, sqlx::Error> {
        let scope = Scope {
            campaign_id: report.campaign_id.clone(),
            platform: report.platform.clone(),
            from: None,
            to: None,
        };
        let view_scope = ReadScope {
            campaign_id: report.campaign_id.clone(),
            platform: report.platform.clone(),
        };
        let coverage = self.coverage.coverage(&scope).await?;
        // The KPIs from the coverage just read, rather than reading it again.
        let kpis = self.coverage.kpis_with(&scope, &coverage).await?;
        let with_tests = report.kind != ReportKind::Executive;
        let tests = if with_tests {
            self.views.tests(&view_scope).await?
        } else {
            Vec::new()
        };
        let evidence = if with_tests {
            self.views.evidence(&view_scope).await?
        } else {
            Vec::new()
        };
        let mut scope_words = Vec::new();
        if let Some(id) = &report.campaign_id {
            let name = self
                .campaigns
                .find(id)
                .await?
                .map(|c| c.fields.name)
                .unwrap_or_else(|| id.clone());
            scope_words.push(format!("campaign {name}"));
        }
        if let Some(platform) = &report.platform {
            scope_words.push(format!("platform {platform}"));
        }
        let hours = |s: Option<f64>| s.map(|s| s / 3600.0);
        let minutes = |s: Option<f64>| s.map(|s| s / 60.0);
        let mut kpi_list = vec![
            kpi("tests", kpis.tests_total as f64, ""),
            kpi("completed tests", kpis.completed as f64, ""),
            kpi("detection rate", kpis.detection_rate, "%"),
            kpi("prevention rate", kpis.prevention_rate, "%"),
            kpi("techniques covered", kpis.techniques.covered as f64, ""),
            kpi(
                "techniques partly covered",
                kpis.techniques.partial as f64,
                "",
            ),
            kpi("techniques with a gap", kpis.techniques.gap as f64, ""),
            kpi("regressions", kpis.regressions as f64, ""),
            kpi("overall coverage", coverage.covered_percent, "%"),
        ];
        for (name, value, unit) in [
            (
                "mean time to detect",
                minutes(kpis.mean_time_to_detect_seconds),
                " min",
            ),
            (
                "median time to detect",
                minutes(kpis.median_time_to_detect_seconds),
                " min",
            ),
            (
                "mean blue review",
                hours(kpis.mean_blue_review_seconds),
                " h",
            ),
        ] {
            if let Some(value) = value {
                kpi_list.push(kpi(name, value, unit));
            }
        }
        let technique_names: BTreeMap<String, String> = coverage
            .techniques
            .iter()
            .map(|t| (t.attack_id.clone(), t.name.clone()))
            .collect();
        let data = ReportData {
            title: report.title.clone(),
            kind: report.kind.as_str().into(),
            generated_at: self.kernel.clock.now().timestamp(),
            scope: if scope_words.is_empty() {
                "all tests".into()
            } else {
                scope_words.join(", ")
            },
            kpis: kpi_list,
            tactics: coverage
                .tactics
                .iter()
                .map(|t| TacticCoverage {
                    id: t.attack_id.clone(),
                    name: t.name.clone(),
                    covered: count(t.counts.covered),
                    partial: count(t.counts.partial),
                    gap: count(t.counts.gap),
                    untested: count(t.counts.untested),
                })
                .collect(),
            coverage: coverage
                .techniques
                .iter()
                .filter(|t| !t.revoked && !t.deprecated)
                .map(TechniqueCoverage::view)
                .collect(),
            tests,
            evidence,
        };
        Ok(Document {
            data,
            technique_names,
        })
    }

    pub async fn get(&self, id: &str) -> Result<Report, ReportsError> {
        self.repo.get(id).await?.ok_or(ReportsError::NotFound)
    }

    pub async fn list(
        &self,
        kind: Option<ReportKind>,
        status: Option<ReportStatus>,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<Report>, i64), ReportsError> {
        Ok(self.repo.list(kind, status, limit, offset).await?)
    }

    /// The stored file of a ready report.
    pub async fn file(&self, id: &str) -> Result<(Report, Vec<u8>), ReportsError> {
        let report = self.get(id).await?;
        let key = match (&report.status, &report.storage_key) {
            (ReportStatus::Ready, Some(key)) => key.clone(),
            (status, _) => return Err(ReportsError::NotReady(status.as_str())),
        };
        let bytes = self.kernel.storage.get(&key).await?;
        Ok((report, bytes))
    }

    /// Deletes the row with its audit event, then the file: a file left
    /// behind by a failure is never served without its row.
    pub async fn delete(&self, who: &Principal, id: &str) -> Result<(), ReportsError> {
        let report = self.get(id).await?;
        let mut tx = self.kernel.db.begin().await?;
        if !self.repo.delete(&mut tx, id).await? {
            return Err(ReportsError::NotFound);
        }
        self.audit(
            &mut tx,
            who,
            "report.delete",
            id,
            json!({"title": report.title}),
        )
        .await?;
        tx.commit().await?;
        if let Some(key) = &report.storage_key
            && let Err(e) = self.kernel.storage.delete(key).await
        {
            tracing::warn!(key, error = %e, "cannot remove a report file; report_orphan_sweep will");
        }
        Ok(())
    }

    /// Writes the audit event about report `id` through `conn`, the change's
    /// transaction.
    async fn audit(
        &self,
        conn: &mut Conn,
        who: &Principal,
        action: &str,
        id: &str,
        detail: serde_json::Value,
    ) -> Result<(), sqlx::Error> {
        let actor = Some((who.user_id.as_str(), who.username.as_str()));
        self.kernel
            .audit
            .record_about_in(conn, actor, action, ("report", id), detail)
            .await
    }
}

fn kpi(name: &str, value: f64, unit: &str) -> Kpi {
    Kpi {
        name: name.into(),
        value,
        unit: unit.into(),
    }
}

fn count(n: i64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// A file name from a title: letters, digits and dashes.
fn file_stem(title: &str) -> String {
    let stem: String = title
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let stem = stem
        .split('-')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    if stem.is_empty() {
        "report".into()
    } else {
        stem.chars().take(80).collect()
    }
}

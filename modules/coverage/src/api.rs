//! `/api/v1/coverage`, `/api/v1/coverage/navigator-layer`,
//! `/api/v1/dashboard/kpis` and the snapshots.

use std::collections::BTreeMap;

use aegis_core::ApiResult;
use aegis_core::auth::{AnyRole, Auth, LeadPlus};
use aegis_core::http::strict_json;
use aegis_core::pagination::PageRequest;
use aegis_core::time::Timestamp;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi, Tags};
use uuid::Uuid;

use crate::model::{Coverage, Kpis, Scope, Snapshot, Status};
use crate::navigator::{self, Layer};
use crate::service::CoverageService;
use aegis_core::time::StorableTime;

#[derive(Tags)]
enum CoverageTag {
    /// Detection coverage, KPIs, snapshots and the Navigator export.
    Coverage,
}

pub struct CoverageApi {
    pub service: CoverageService,
}

/// The KPIs of a scope and how they moved since its newest snapshot.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct KpiView {
    pub scope: Scope,
    pub kpis: Kpis,
    /// The snapshot the change is measured against (the newest of this
    /// scope); absent while the scope has none.
    pub previous_snapshot_id: Option<String>,
    /// When that snapshot was taken; absent with it.
    pub previous_taken_at: Option<Timestamp>,
    /// `now − previous` for each figure that moved.
    pub change: BTreeMap<String, f64>,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct SnapshotPage {
    /// Without per-technique statuses; read one snapshot for those.
    pub items: Vec<Snapshot>,
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

/// The scope of a snapshot; every field may be left out (`{}` is the whole
/// matrix). `from` must not be after `to` (422).
#[derive(Debug, Object)]
#[oai(deny_unknown_fields, example, skip_serializing_if_is_none)]
pub struct SnapshotRequest {
    #[oai(deserialize_with = "strict_json")]
    pub campaign_id: Option<Uuid>,
    #[oai(deserialize_with = "strict_json")]
    pub platform: Option<String>,
    #[oai(deserialize_with = "strict_json")]
    pub from: Option<StorableTime>,
    #[oai(deserialize_with = "strict_json")]
    pub to: Option<StorableTime>,
}

impl poem_openapi::types::Example for SnapshotRequest {
    fn example() -> Self {
        Self {
            campaign_id: None,
            platform: Some("windows".into()),
            from: "2026-01-01T00:00:00Z".parse().ok().map(StorableTime),
            to: None,
        }
    }
}

/// A technique whose status moved between two snapshots; a side is absent
/// when the technique was not in that snapshot.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct StatusChangeView {
    pub attack_id: String,
    pub before: Option<Status>,
    pub after: Option<Status>,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct SnapshotDiffView {
    pub from_id: String,
    pub from_taken_at: Timestamp,
    pub to_id: String,
    pub to_taken_at: Timestamp,
    /// Techniques whose status changed.
    pub changed: Vec<StatusChangeView>,
    /// `to − from` for each KPI that moved.
    pub kpi_change: BTreeMap<String, f64>,
}

#[derive(ApiResponse)]
enum SnapshotCreated {
    #[oai(status = 201)]
    Created(Json<Snapshot>),
}

/// Validates scope parameters into a [`Scope`]. `from` after `to` is a 422:
/// OpenAPI 3.0 cannot say that one parameter bounds another.
pub fn scope(
    campaign_id: Option<Uuid>,
    platform: Option<String>,
    from: Option<StorableTime>,
    to: Option<StorableTime>,
) -> ApiResult<Scope> {
    Ok(Scope::parse(
        campaign_id.map(|c| c.to_string()),
        platform,
        from.map(|t| t.0),
        to.map(|t| t.0),
    )?)
}

#[OpenApi(prefix_path = "/api/v1", tag = "CoverageTag::Coverage")]
#[allow(clippy::too_many_arguments)] // one argument per query parameter
impl CoverageApi {
    /// Coverage per technique, per tactic and overall, from completed tests:
    /// the latest test of each procedure decides.
    #[oai(path = "/coverage", method = "get", operation_id = "get_coverage")]
    async fn coverage(
        &self,
        _auth: Auth<AnyRole>,
        campaign_id: Query<Option<Uuid>>,
        platform: Query<Option<String>>,
        /// Tests that ran (or were created, before they ran) at or after this time.
        from: Query<Option<StorableTime>>,
        /// Tests that ran (or were created) at or before this time; not before `from`.
        to: Query<Option<StorableTime>>,
        /// Only techniques with this status.
        status: Query<Option<Status>>,
    ) -> ApiResult<Json<Coverage>> {
        let scope = scope(campaign_id.0, platform.0, from.0, to.0)?;
        let mut coverage = self.service.coverage(&scope).await?;
        if let Some(status) = status.0 {
            coverage.techniques.retain(|t| t.status == status);
        }
        Ok(Json(coverage))
    }

    /// Coverage as an ATT&CK Navigator layer (format 4.5).
    #[oai(
        path = "/coverage/navigator-layer",
        method = "get",
        operation_id = "export_navigator_layer"
    )]
    async fn navigator_layer(
        &self,
        _auth: Auth<AnyRole>,
        campaign_id: Query<Option<Uuid>>,
        platform: Query<Option<String>>,
        /// Tests that ran (or were created, before they ran) at or after this time.
        from: Query<Option<StorableTime>>,
        /// Tests that ran (or were created) at or before this time; not before `from`.
        to: Query<Option<StorableTime>>,
    ) -> ApiResult<Json<Layer>> {
        let scope = scope(campaign_id.0, platform.0, from.0, to.0)?;
        let coverage = self.service.coverage(&scope).await?;
        let version = self.service.attack_version().await?;
        let mut name = "Aegis coverage".to_owned();
        if let Some(p) = &scope.platform {
            name.push_str(&format!(" ({p})"));
        }
        Ok(Json(navigator::layer(&coverage, &name, version.as_deref())))
    }

    /// Tests by state, detection and prevention rates, time to detect, time
    /// in blue review, technique counts, and the change since the newest
    /// snapshot of the same scope.
    #[oai(path = "/dashboard/kpis", method = "get", operation_id = "get_kpis")]
    async fn kpis(
        &self,
        _auth: Auth<AnyRole>,
        campaign_id: Query<Option<Uuid>>,
        platform: Query<Option<String>>,
        /// Tests that ran (or were created, before they ran) at or after this time.
        from: Query<Option<StorableTime>>,
        /// Tests that ran (or were created) at or before this time; not before `from`.
        to: Query<Option<StorableTime>>,
    ) -> ApiResult<Json<KpiView>> {
        let scope = scope(campaign_id.0, platform.0, from.0, to.0)?;
        let report = self.service.kpis(&scope).await?;
        Ok(Json(KpiView {
            scope,
            kpis: report.kpis,
            previous_snapshot_id: report.previous.as_ref().map(|p| p.id.clone()),
            previous_taken_at: report.previous.map(|p| p.taken_at),
            change: report.change,
        }))
    }

    /// Snapshots, newest first.
    #[oai(
        path = "/coverage/snapshots",
        method = "get",
        operation_id = "list_snapshots"
    )]
    async fn snapshots(
        &self,
        _auth: Auth<AnyRole>,
        campaign_id: Query<Option<Uuid>>,
        #[oai(validator(minimum(value = "1"), maximum(value = "500")))] limit: Query<Option<i64>>,
        #[oai(validator(minimum(value = "0")))] offset: Query<Option<i64>>,
    ) -> ApiResult<Json<SnapshotPage>> {
        let page = PageRequest::parse(limit.0, offset.0)?;
        let campaign_id = campaign_id.0.map(|c| c.to_string());
        let (items, total) = self
            .service
            .snapshots(campaign_id.as_deref(), page.limit, page.offset)
            .await?;
        Ok(Json(SnapshotPage {
            items,
            total,
            limit: page.limit,
            offset: page.offset,
        }))
    }

    /// Take a snapshot now (leads, admins).
    #[oai(
        path = "/coverage/snapshots",
        method = "post",
        operation_id = "take_snapshot"
    )]
    async fn take_snapshot(
        &self,
        auth: Auth<LeadPlus>,
        body: Json<SnapshotRequest>,
    ) -> ApiResult<SnapshotCreated> {
        let b = body.0;
        let scope = scope(b.campaign_id, b.platform, b.from, b.to)?;
        let snapshot = self.service.take_snapshot_for(&auth, &scope).await?;
        Ok(SnapshotCreated::Created(Json(snapshot)))
    }

    /// What changed between two snapshots.
    #[oai(
        path = "/coverage/snapshots/diff",
        method = "get",
        operation_id = "diff_snapshots"
    )]
    async fn diff(
        &self,
        _auth: Auth<AnyRole>,
        from: Query<String>,
        to: Query<String>,
    ) -> ApiResult<Json<SnapshotDiffView>> {
        let diff = self.service.diff(&from.0, &to.0).await?;
        Ok(Json(SnapshotDiffView {
            from_id: diff.from.id,
            from_taken_at: diff.from.taken_at,
            to_id: diff.to.id,
            to_taken_at: diff.to.taken_at,
            changed: diff
                .changed
                .into_iter()
                .map(|c| StatusChangeView {
                    attack_id: c.attack_id,
                    before: c.before,
                    after: c.after,
                })
                .collect(),
            kpi_change: diff.kpi_change,
        }))
    }

    /// One snapshot with every technique's status.
    #[oai(
        path = "/coverage/snapshots/:id",
        method = "get",
        operation_id = "get_snapshot"
    )]
    async fn snapshot(&self, _auth: Auth<AnyRole>, id: Path<String>) -> ApiResult<Json<Snapshot>> {
        Ok(Json(self.service.snapshot(&id.0).await?))
    }
}

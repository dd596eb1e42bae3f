//! `/api/v1/campaigns`: CRUD, status, progress and KPIs, and the Navigator import.

use std::collections::BTreeMap;

use aegis_core::auth::{AnyRole, Auth, LeadPlus};
use aegis_core::http::{MultipartUpload, NoContent, etag, expected_version, read_file_part};
use aegis_core::pagination::PageRequest;
use aegis_core::time::Timestamp;
use aegis_core::{ApiError, ApiResult};
use aegis_mod_coverage::model::Kpis;
use chrono::NaiveDate;
use poem_openapi::param::{Header, Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::types::MaybeUndefined;
use poem_openapi::{ApiResponse, Object, OpenApi, Tags};

use crate::layer;
use crate::model::{Campaign, CampaignFilter, CampaignPatch, CampaignStatus};
use crate::service::CampaignService;

/// Layers found in the wild are at most a few hundred kilobytes.
const MAX_LAYER_BYTES: u64 = 8 * 1024 * 1024;

#[derive(Tags)]
enum CampaignsTag {
    /// Campaigns: groups of tests, often one adversary emulation plan.
    Campaigns,
}

pub struct CampaignsApi {
    pub service: CampaignService,
}

#[derive(Debug, Object)]
pub struct CampaignView {
    pub id: String,
    pub name: String,
    pub description: String,
    pub threat_actor: Option<String>,
    pub status: CampaignStatus,
    pub starts_on: Option<NaiveDate>,
    pub ends_on: Option<NaiveDate>,
    /// `manual` or `navigator`.
    pub source: String,
    pub version: i64,
    pub created_at: Timestamp,
    pub created_by: String,
    pub updated_at: Timestamp,
    pub updated_by: String,
    pub activated_at: Option<Timestamp>,
    pub completed_at: Option<Timestamp>,
    /// Tests by state.
    pub progress: BTreeMap<String, i64>,
    pub tests_total: i64,
    /// The campaign's own KPIs (on single-campaign answers).
    #[oai(skip_serializing_if_is_none)]
    pub kpis: Option<Kpis>,
}

impl CampaignView {
    fn new(c: Campaign, progress: BTreeMap<String, i64>, kpis: Option<Kpis>) -> Self {
        Self {
            tests_total: progress.values().sum(),
            progress,
            kpis,
            id: c.id,
            name: c.fields.name,
            description: c.fields.description,
            threat_actor: c.fields.threat_actor,
            status: c.status,
            starts_on: c.fields.starts_on,
            ends_on: c.fields.ends_on,
            source: c.source,
            version: c.version,
            created_at: c.created_at,
            created_by: c.created_by,
            updated_at: c.updated_at,
            updated_by: c.updated_by,
            activated_at: c.activated_at,
            completed_at: c.completed_at,
        }
    }
}

#[derive(Debug, Object)]
#[oai(deny_unknown_fields)]
pub struct CampaignInput {
    /// The version you edited (updates only), unless sent as `If-Match`.
    pub version: Option<i64>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub threat_actor: MaybeUndefined<String>,
    pub starts_on: MaybeUndefined<NaiveDate>,
    pub ends_on: MaybeUndefined<NaiveDate>,
}

fn change<T>(value: MaybeUndefined<T>) -> Option<Option<T>> {
    aegis_mod_test_cases::dto::change(value)
}

impl From<CampaignInput> for CampaignPatch {
    fn from(i: CampaignInput) -> Self {
        Self {
            name: i.name,
            description: i.description,
            threat_actor: change(i.threat_actor),
            starts_on: change(i.starts_on),
            ends_on: change(i.ends_on),
        }
    }
}

#[derive(Debug, Object)]
pub struct CampaignPage {
    pub items: Vec<CampaignView>,
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

#[derive(Debug, Object)]
pub struct SkippedTechnique {
    pub technique_id: String,
    pub reason: String,
}

#[derive(Debug, Object)]
pub struct ImportedLayer {
    pub campaign: CampaignView,
    pub tests_created: u64,
    /// Techniques that did not become tests (unknown to the catalog, revoked...).
    pub skipped: Vec<SkippedTechnique>,
}

#[derive(ApiResponse)]
enum CampaignCreated {
    #[oai(status = 201)]
    Created(Json<CampaignView>, #[oai(header = "ETag")] String),
}

#[derive(ApiResponse)]
enum CampaignReply {
    #[oai(status = 200)]
    Ok(Json<CampaignView>, #[oai(header = "ETag")] String),
}

#[derive(ApiResponse)]
enum LayersImported {
    /// One campaign per layer in the file.
    #[oai(status = 201)]
    Created(Json<Vec<ImportedLayer>>),
}

impl CampaignsApi {
    async fn detail(&self, campaign: Campaign) -> ApiResult<CampaignReply> {
        let own = self.service.progress_of(&campaign.id).await?;
        let kpis = self.service.kpis(&campaign.id).await?;
        let tag = etag(campaign.version);
        Ok(CampaignReply::Ok(
            Json(CampaignView::new(campaign, own, Some(kpis))),
            tag,
        ))
    }
}

#[OpenApi(prefix_path = "/api/v1", tag = "CampaignsTag::Campaigns")]
impl CampaignsApi {
    /// Campaigns, newest first, with their progress.
    #[oai(path = "/campaigns", method = "get", operation_id = "list_campaigns")]
    async fn list(
        &self,
        _auth: Auth<AnyRole>,
        status: Query<Option<CampaignStatus>>,
        /// Part of the name, description or threat actor.
        q: Query<Option<String>>,
        limit: Query<Option<i64>>,
        offset: Query<Option<i64>>,
    ) -> ApiResult<Json<CampaignPage>> {
        let page = PageRequest::parse(limit.0, offset.0)?;
        let filter = CampaignFilter {
            status: status.0,
            text: q.0.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()),
        };
        let (items, total) = self.service.list(&filter, page.limit, page.offset).await?;
        let ids: Vec<String> = items.iter().map(|c| c.id.clone()).collect();
        let mut progress = self.service.progress(&ids).await?;
        Ok(Json(CampaignPage {
            items: items
                .into_iter()
                .map(|c| {
                    let own = progress.remove(&c.id).unwrap_or_default();
                    CampaignView::new(c, own, None)
                })
                .collect(),
            total,
            limit: page.limit,
            offset: page.offset,
        }))
    }

    /// Plan a campaign (leads, admins).
    #[oai(path = "/campaigns", method = "post", operation_id = "create_campaign")]
    async fn create(
        &self,
        auth: Auth<LeadPlus>,
        body: Json<CampaignInput>,
    ) -> ApiResult<CampaignCreated> {
        let campaign = self.service.create(&auth, &body.0.into(), "manual").await?;
        let tag = etag(campaign.version);
        Ok(CampaignCreated::Created(
            Json(CampaignView::new(campaign, BTreeMap::new(), None)),
            tag,
        ))
    }

    /// One campaign with its progress and KPIs.
    #[oai(path = "/campaigns/:id", method = "get", operation_id = "get_campaign")]
    async fn get(&self, _auth: Auth<AnyRole>, id: Path<String>) -> ApiResult<CampaignReply> {
        let campaign = self.service.get(&id.0).await?;
        self.detail(campaign).await
    }

    /// Change a campaign; send the version you edited (`If-Match` or `version`).
    #[oai(
        path = "/campaigns/:id",
        method = "patch",
        operation_id = "update_campaign"
    )]
    async fn update(
        &self,
        auth: Auth<LeadPlus>,
        id: Path<String>,
        #[oai(name = "If-Match")] if_match: Header<Option<String>>,
        body: Json<CampaignInput>,
    ) -> ApiResult<CampaignReply> {
        let version = expected_version(if_match.0.as_deref(), body.0.version)?;
        let campaign = self
            .service
            .update(&auth, &id.0, version, &body.0.into())
            .await?;
        self.detail(campaign).await
    }

    /// Delete a campaign without tests (leads, admins).
    #[oai(
        path = "/campaigns/:id",
        method = "delete",
        operation_id = "delete_campaign"
    )]
    async fn delete(&self, auth: Auth<LeadPlus>, id: Path<String>) -> ApiResult<NoContent> {
        self.service.delete(&auth, &id.0).await?;
        Ok(NoContent::Done)
    }

    /// planned → active (leads, admins).
    #[oai(
        path = "/campaigns/:id/activate",
        method = "post",
        operation_id = "activate_campaign"
    )]
    async fn activate(&self, auth: Auth<LeadPlus>, id: Path<String>) -> ApiResult<CampaignReply> {
        let campaign = self
            .service
            .advance(&auth, &id.0, CampaignStatus::Active)
            .await?;
        self.detail(campaign).await
    }

    /// active → completed (leads, admins); takes a coverage snapshot of the campaign.
    #[oai(
        path = "/campaigns/:id/complete",
        method = "post",
        operation_id = "complete_campaign"
    )]
    async fn complete(&self, auth: Auth<LeadPlus>, id: Path<String>) -> ApiResult<CampaignReply> {
        let campaign = self
            .service
            .advance(&auth, &id.0, CampaignStatus::Completed)
            .await?;
        self.detail(campaign).await
    }

    /// Import an ATT&CK Navigator layer file (multipart `file`; format 4.x or
    /// 3.0, one layer or a list): one planned campaign per layer with one
    /// draft test per technique. Techniques the catalog lacks are reported.
    #[oai(
        path = "/campaigns/import/navigator",
        method = "post",
        operation_id = "import_navigator_layer"
    )]
    async fn import_navigator(
        &self,
        auth: Auth<LeadPlus>,
        request: &poem::Request,
        body: MultipartUpload,
    ) -> ApiResult<LayersImported> {
        let mut form = body.0;
        let (_, bytes) = read_file_part(request, &mut form, MAX_LAYER_BYTES).await?;
        let document: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|e| ApiError::invalid_field("file", format!("not JSON: {e}")))?;
        // Checked before any layer is imported, so a file is taken whole or
        // not at all: names and descriptions become text PostgreSQL cannot
        // hold with NUL (JSON spells it `\u0000`).
        if aegis_core::http::json_has_nul(&document) {
            return Err(aegis_core::http::invalid_text("the layer file"));
        }
        let drafts =
            layer::parse(&document).map_err(|e| ApiError::invalid_field("file", e.to_string()))?;
        let mut imported = Vec::new();
        for draft in &drafts {
            let result = self.service.import_layer(&auth, draft).await?;
            let own = self.service.progress_of(&result.campaign.id).await?;
            imported.push(ImportedLayer {
                campaign: CampaignView::new(result.campaign, own, None),
                tests_created: result.tests_created,
                skipped: result
                    .skipped
                    .into_iter()
                    .map(|(technique_id, reason)| SkippedTechnique {
                        technique_id,
                        reason,
                    })
                    .collect(),
            });
        }
        Ok(LayersImported::Created(Json(imported)))
    }
}

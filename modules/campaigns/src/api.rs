//! `/api/v1/campaigns`: CRUD, status, progress and KPIs, and the Navigator import.

use std::collections::BTreeMap;

use aegis_core::auth::{AnyRole, Auth, LeadPlus};
use aegis_core::form::{Form, FormPart, FormParts};
use aegis_core::http::Nullable;
use aegis_core::http::strict_json;
use aegis_core::http::{NoContent, etag, expected_version};
use aegis_core::pagination::PageRequest;
use aegis_core::time::Timestamp;
use aegis_core::{ApiError, ApiResult};
use aegis_mod_coverage::model::Kpis;
use poem_openapi::param::{Header, Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::types::Example;
use poem_openapi::{ApiResponse, Object, OpenApi, Tags};

use crate::day::Day;
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

/// A campaign with its progress; single-campaign answers add its `kpis`.
/// A field without a value is absent, never `null`.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct CampaignView {
    pub id: String,
    pub name: String,
    pub description: String,
    pub threat_actor: Option<String>,
    pub status: CampaignStatus,
    pub starts_on: Option<Day>,
    pub ends_on: Option<Day>,
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
            starts_on: c.fields.starts_on.map(Day),
            ends_on: c.fields.ends_on.map(Day),
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

/// A new campaign; it starts `planned`.
#[derive(Debug, Object)]
// Skipping absent fields only shapes the example, which sets a few.
#[oai(deny_unknown_fields, example, skip_serializing_if_is_none)]
pub struct NewCampaignInput {
    /// Leading and trailing spaces are dropped.
    #[oai(
        deserialize_with = "strict_json",
        validator(
            min_length = 1,
            max_length = 200,
            pattern = r"[^\t-\r \x85\xa0\u1680\u2000-\u205f\u3000]"
        )
    )]
    pub name: String,
    #[oai(deserialize_with = "strict_json", validator(max_length = 65536))]
    pub description: Option<String>,
    #[oai(deserialize_with = "strict_json", validator(max_length = 200))]
    pub threat_actor: Option<String>,
    #[oai(deserialize_with = "strict_json")]
    pub starts_on: Option<Day>,
    /// Not before `starts_on`.
    #[oai(deserialize_with = "strict_json")]
    pub ends_on: Option<Day>,
}

impl Example for NewCampaignInput {
    fn example() -> Self {
        Self {
            name: "APT29 emulation, spring".into(),
            description: Some("The MITRE APT29 plan against the finance network.".into()),
            threat_actor: Some("APT29".into()),
            starts_on: Day::parse("2026-04-01"),
            ends_on: Day::parse("2026-04-30"),
        }
    }
}

impl From<NewCampaignInput> for CampaignPatch {
    fn from(i: NewCampaignInput) -> Self {
        Self {
            name: Some(i.name),
            description: i.description,
            threat_actor: i.threat_actor.map(Some),
            starts_on: i.starts_on.map(|d| Some(d.0)),
            ends_on: i.ends_on.map(|d| Some(d.0)),
        }
    }
}

/// A partial change: a field left out stays as it is, `null` clears it.
#[derive(Debug, Object)]
#[oai(deny_unknown_fields)]
pub struct CampaignPatchInput {
    /// The version you edited, unless sent as `If-Match` (they must agree
    /// when both are sent).
    #[oai(deserialize_with = "strict_json")]
    pub version: Option<i64>,
    #[oai(
        deserialize_with = "strict_json",
        validator(
            min_length = 1,
            max_length = 200,
            pattern = r"[^\t-\r \x85\xa0\u1680\u2000-\u205f\u3000]"
        )
    )]
    pub name: Option<String>,
    #[oai(deserialize_with = "strict_json", validator(max_length = 65536))]
    pub description: Option<String>,
    #[oai(validator(max_length = 200))]
    pub threat_actor: Nullable<String>,
    pub starts_on: Nullable<Day>,
    /// Not before `starts_on`.
    pub ends_on: Nullable<Day>,
}

impl From<CampaignPatchInput> for CampaignPatch {
    fn from(i: CampaignPatchInput) -> Self {
        let day = |d: Option<Option<Day>>| d.map(|d| d.map(|d| d.0));
        Self {
            name: i.name,
            description: i.description,
            threat_actor: i.threat_actor.change(),
            starts_on: day(i.starts_on.change()),
            ends_on: day(i.ends_on.change()),
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

/// The Navigator import form: one `file` part.
pub struct LayerFile;

impl FormParts for LayerFile {
    fn parts() -> Vec<FormPart> {
        vec![FormPart::file(
            "An ATT&CK Navigator layer file (JSON, format 4.x or 3.0): one \
             layer or a list of layers, at most 8 MiB.",
        )]
    }
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
        /// 1 to 500, default 50.
        #[oai(validator(minimum(value = "1"), maximum(value = "500")))]
        limit: Query<Option<i64>>,
        #[oai(validator(minimum(value = "0")))] offset: Query<Option<i64>>,
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
        body: Json<NewCampaignInput>,
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
        /// The version you edited, as its `ETag` gave it (`"3"`). This or
        /// the body's `version` is required (428 without either, 400 when
        /// they disagree); a version that is no longer current gets 412.
        #[oai(name = "If-Match", validator(pattern = r#"^(W/)?"?[0-9]{1,18}"?$"#))]
        if_match: Header<Option<String>>,
        body: Json<CampaignPatchInput>,
    ) -> ApiResult<CampaignReply> {
        let version = expected_version(if_match.0.as_deref(), body.0.version)?;
        let campaign = self
            .service
            .update(&auth, &id.0, version, &body.0.into())
            .await?;
        self.detail(campaign).await
    }

    /// Delete a campaign without tests (leads, admins). One that any test
    /// belongs to, cancelled ones included, is refused (409 `campaign_has_tests`).
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
        body: Form<LayerFile>,
    ) -> ApiResult<LayersImported> {
        let (_, bytes) = body.only_file(request, MAX_LAYER_BYTES).await?;
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

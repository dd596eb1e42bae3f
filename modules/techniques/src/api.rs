//! `/api/v1/techniques`, `/api/v1/tactics`, `/api/v1/matrix` (every role) and
//! the sync endpoints under `/api/v1/system` (admin).

use aegis_core::auth::{AdminOnly, AnyRole, Auth};
use aegis_core::form::{Form, FormPart, FormParts};
use aegis_core::pagination::PageRequest;
use aegis_core::{ApiError, ApiResult};
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi, Tags};

use crate::catalog::CatalogService;
use crate::dto::{
    Domain, Matrix, SyncRunPage, SyncStarted, TacticView, TechniqueDetail, TechniqueOrder,
    TechniquePage,
};
use crate::model::TechniqueFilter;
use crate::service::SyncService;

#[derive(Tags)]
enum TechniquesTag {
    /// The MITRE ATT&CK catalog.
    Techniques,
    /// Keeping the catalog in step with MITRE (admin).
    MitreSync,
}

pub struct TechniquesApi {
    pub catalog: CatalogService,
}

#[derive(ApiResponse)]
enum SyncAccepted {
    /// The sync runs in the background.
    #[oai(status = 202)]
    Accepted(Json<SyncStarted>),
}

/// The domain asked for, `enterprise-attack` when none.
fn domain_name(domain: Option<Domain>) -> String {
    domain.unwrap_or_default().as_str().to_owned()
}

#[OpenApi(prefix_path = "/api/v1", tag = "TechniquesTag::Techniques")]
#[allow(clippy::too_many_arguments)] // one argument per query parameter
impl TechniquesApi {
    /// Search the catalog.
    #[oai(path = "/techniques", method = "get", operation_id = "list_techniques")]
    async fn list_techniques(
        &self,
        _auth: Auth<AnyRole>,
        /// `enterprise-attack` when absent.
        domain: Query<Option<Domain>>,
        /// Tactic short name, e.g. `execution`.
        tactic: Query<Option<String>>,
        /// Platform, e.g. `Windows`.
        platform: Query<Option<String>>,
        /// Part of an ATT&CK id or name.
        q: Query<Option<String>>,
        /// Include sub-techniques (default true).
        subtechniques: Query<Option<bool>>,
        /// Include revoked techniques (default false).
        revoked: Query<Option<bool>>,
        /// Include deprecated techniques (default false).
        deprecated: Query<Option<bool>>,
        /// `attack_id` when absent.
        sort: Query<Option<TechniqueOrder>>,
        #[oai(validator(minimum(value = "1"), maximum(value = "500")))] limit: Query<Option<i64>>,
        #[oai(validator(minimum(value = "0")))] offset: Query<Option<i64>>,
    ) -> ApiResult<Json<TechniquePage>> {
        let page = PageRequest::parse(limit.0, offset.0)?;
        let filter = TechniqueFilter {
            domain: domain_name(domain.0),
            tactic: tactic.0.filter(|s| !s.is_empty()),
            platform: platform.0.filter(|s| !s.is_empty()),
            text: q
                .0
                .filter(|s| !s.trim().is_empty())
                .map(|s| s.trim().to_owned()),
            include_subtechniques: subtechniques.0.unwrap_or(true),
            include_revoked: revoked.0.unwrap_or(false),
            include_deprecated: deprecated.0.unwrap_or(false),
            sort: sort.0.unwrap_or_default().into(),
        };
        let (items, total) = self
            .catalog
            .search(&filter, page.limit, page.offset)
            .await?;
        Ok(Json(TechniquePage {
            items: items.into_iter().map(Into::into).collect(),
            total,
            limit: page.limit,
            offset: page.offset,
        }))
    }

    /// One technique with its tactics, parent, sub-techniques and replacement.
    #[oai(
        path = "/techniques/:attack_id",
        method = "get",
        operation_id = "get_technique"
    )]
    async fn get_technique(
        &self,
        _auth: Auth<AnyRole>,
        attack_id: Path<String>,
        /// `enterprise-attack` when absent.
        domain: Query<Option<Domain>>,
    ) -> ApiResult<Json<TechniqueDetail>> {
        let domain = domain_name(domain.0);
        let attack_id = attack_id.0.trim().to_uppercase();
        let details = self
            .catalog
            .technique_details(&domain, &attack_id)
            .await?
            .ok_or_else(|| {
                ApiError::not_found(
                    "technique_not_found",
                    format!("no technique {attack_id} in {domain}"),
                )
            })?;
        Ok(Json(TechniqueDetail::new(domain, details)))
    }

    /// Tactics in matrix order.
    #[oai(path = "/tactics", method = "get", operation_id = "list_tactics")]
    async fn list_tactics(
        &self,
        _auth: Auth<AnyRole>,
        /// `enterprise-attack` when absent.
        domain: Query<Option<Domain>>,
    ) -> ApiResult<Json<Vec<TacticView>>> {
        let domain = domain_name(domain.0);
        Ok(Json(
            self.catalog
                .tactics(&domain)
                .await?
                .into_iter()
                .map(Into::into)
                .collect(),
        ))
    }

    /// The matrix: tactics in order, each with its active techniques and their sub-techniques.
    #[oai(path = "/matrix", method = "get", operation_id = "get_matrix")]
    async fn get_matrix(
        &self,
        _auth: Auth<AnyRole>,
        /// `enterprise-attack` when absent.
        domain: Query<Option<Domain>>,
    ) -> ApiResult<Json<Matrix>> {
        let domain = domain_name(domain.0);
        Ok(Json(self.catalog.matrix(&domain).await?.into()))
    }
}

pub struct MitreSyncApi {
    pub service: SyncService,
}

#[OpenApi(prefix_path = "/api/v1/system", tag = "TechniquesTag::MitreSync")]
impl MitreSyncApi {
    /// Start a sync of every configured source now; 409 while one runs.
    /// A source out of reach fails the run with a reason in words (the run's
    /// `error`); an offline installation uploads a bundle instead.
    #[oai(path = "/sync-mitre", method = "post", operation_id = "sync_mitre")]
    async fn sync_mitre(&self, auth: Auth<AdminOnly>) -> ApiResult<SyncAccepted> {
        let run_id = self.service.start_configured(&auth).await?;
        Ok(SyncAccepted::Accepted(Json(SyncStarted { run_id })))
    }

    /// Sync the catalog from an uploaded STIX 2.1 bundle (multipart `file`,
    /// plain JSON or gzip, at most `mitre.max_bundle_bytes` — 256 MiB unless
    /// configured — inflated): for installations without a network. The
    /// bundle is read before the answer: one Aegis cannot read is a 422
    /// `invalid_bundle` saying why, and nothing changes. A readable one is
    /// applied in the background like any sync (202 with the run id; follow
    /// it, with its progress, at `GET /api/v1/system/mitre-sync-runs`); 409
    /// while another sync runs.
    #[oai(
        path = "/mitre-bundle",
        method = "post",
        operation_id = "upload_mitre_bundle"
    )]
    async fn upload_mitre_bundle(
        &self,
        auth: Auth<AdminOnly>,
        request: &poem::Request,
        body: Form<BundleParts>,
    ) -> ApiResult<SyncAccepted> {
        let max = self.service.max_bundle_bytes() as u64;
        let (name, bytes) = body.only_file(request, max).await?;
        let name: String = name
            .as_deref()
            .unwrap_or("bundle.json")
            .chars()
            .filter(|c| !c.is_control())
            .take(200)
            .collect();
        if bytes.is_empty() {
            return Err(ApiError::invalid_field("file", "the file is empty"));
        }
        let run_id = self.service.start_upload(&auth, &name, bytes).await?;
        Ok(SyncAccepted::Accepted(Json(SyncStarted { run_id })))
    }

    /// Every sync run, newest first.
    #[oai(
        path = "/mitre-sync-runs",
        method = "get",
        operation_id = "list_mitre_sync_runs"
    )]
    async fn list_mitre_sync_runs(
        &self,
        _auth: Auth<AdminOnly>,
        #[oai(validator(minimum(value = "1"), maximum(value = "500")))] limit: Query<Option<i64>>,
        #[oai(validator(minimum(value = "0")))] offset: Query<Option<i64>>,
    ) -> ApiResult<Json<SyncRunPage>> {
        let page = PageRequest::parse(limit.0, offset.0)?;
        let (runs, total) = self.service.runs(page.limit, page.offset).await?;
        Ok(Json(SyncRunPage {
            items: runs.into_iter().map(Into::into).collect(),
            total,
            limit: page.limit,
            offset: page.offset,
        }))
    }
}

/// The form of a bundle upload: one `file` part.
pub struct BundleParts;

impl FormParts for BundleParts {
    fn parts() -> Vec<FormPart> {
        vec![FormPart::file(
            "An ATT&CK STIX 2.1 bundle (`enterprise-attack.json`, `mobile-attack.json`, \
             `ics-attack.json`), plain or gzip, at most `mitre.max_bundle_bytes` inflated.",
        )]
    }
}

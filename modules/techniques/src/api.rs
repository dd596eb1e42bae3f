//! `/api/v1/techniques`, `/api/v1/tactics`, `/api/v1/matrix` (every role) and
//! the sync endpoints under `/api/v1/system` (admin).

use aegis_core::auth::{AdminOnly, AnyRole, Auth};
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
    #[oai(path = "/sync-mitre", method = "post", operation_id = "sync_mitre")]
    async fn sync_mitre(&self, _auth: Auth<AdminOnly>) -> ApiResult<SyncAccepted> {
        let mut sources = self.service.configured_sources().into_iter();
        let first = sources.next().unwrap_or_default();
        let claim = self.service.begin("api", &first).await?;
        let run_id = claim.run_id().to_owned();
        let service = self.service.clone();
        tokio::spawn(async move {
            // Failures are recorded on the runs; nothing more to do with them here.
            let _ = service.execute(claim, &first, &|_, _, _| {}).await;
            for source in sources {
                let _ = service.run("api", &source, &|_, _, _| {}).await;
            }
        });
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

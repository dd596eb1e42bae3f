//! `/api/v1/reports` and `/api/v1/report-formats`: leads and admins
//! generate and delete reports; everyone reads and downloads them.

use aegis_core::ApiResult;
use aegis_core::auth::{AnyRole, Auth, LeadPlus};
use aegis_core::download::FileDownload;
use aegis_core::http::NoContent;
use aegis_core::http::strict_json;
use aegis_core::pagination::PageRequest;
use aegis_core::time::Timestamp;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi, Tags};

use crate::model::{Report, ReportKind, ReportStatus};
use crate::service::{FormatInfo, ReportRequest, ReportService};

#[derive(Tags)]
enum ReportsTag {
    /// Report documents: campaign, coverage and executive, in any format.
    Reports,
}

pub struct ReportsApi {
    pub service: ReportService,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct ReportFormatView {
    /// A built-in id, or `plugin:<plugin id>`.
    pub id: String,
    pub name: String,
    pub media_type: String,
    pub extension: String,
    /// `builtin` or `plugin`.
    pub source: String,
}

impl From<FormatInfo> for ReportFormatView {
    fn from(f: FormatInfo) -> Self {
        Self {
            id: f.id,
            name: f.name,
            media_type: f.media_type,
            extension: f.extension,
            source: f.source.into(),
        }
    }
}

/// A report to generate. Two rules answer 422 because OpenAPI 3.0 cannot
/// state them: `format` must be one of `GET /api/v1/report-formats` (built-in
/// formats and enabled plugins, known at run time), and `campaign_id` is
/// required for a `campaign` report only (it narrows the others).
#[derive(Debug, Object)]
#[oai(deny_unknown_fields, example, skip_serializing_if_is_none)]
pub struct ReportInput {
    #[oai(deserialize_with = "strict_json")]
    pub kind: ReportKind,
    /// One of `GET /api/v1/report-formats`.
    #[oai(deserialize_with = "strict_json")]
    pub format: String,
    /// Required for a campaign report; narrows the others.
    #[oai(deserialize_with = "strict_json")]
    pub campaign_id: Option<String>,
    #[oai(deserialize_with = "strict_json")]
    pub platform: Option<String>,
    /// Default: from the kind (and the campaign's name).
    #[oai(deserialize_with = "strict_json", validator(max_length = 200))]
    pub title: Option<String>,
}

impl poem_openapi::types::Example for ReportInput {
    fn example() -> Self {
        Self {
            kind: ReportKind::Coverage,
            format: "pdf".into(),
            campaign_id: None,
            platform: Some("windows".into()),
            title: Some("Windows coverage, Q3".into()),
        }
    }
}

/// A report and where its generation stands. What only a finished report
/// has (`media_type`, `file_name`, `size_bytes`, `download_url`,
/// `finished_at`) is absent before; `error` only on a failed one; the scope
/// fields when the report has no such scope.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct ReportView {
    pub id: String,
    pub kind: ReportKind,
    pub format: String,
    pub title: String,
    pub campaign_id: Option<String>,
    pub platform: Option<String>,
    pub status: ReportStatus,
    /// 0 to 100.
    pub progress: i64,
    pub error: Option<String>,
    pub media_type: Option<String>,
    pub file_name: Option<String>,
    pub size_bytes: Option<i64>,
    /// Where the file is, once ready.
    pub download_url: Option<String>,
    pub created_at: Timestamp,
    pub created_by: String,
    pub finished_at: Option<Timestamp>,
}

impl From<Report> for ReportView {
    fn from(r: Report) -> Self {
        Self {
            download_url: (r.status == ReportStatus::Ready)
                .then(|| format!("/api/v1/reports/{}/download", r.id)),
            id: r.id,
            kind: r.kind,
            format: r.format,
            title: r.title,
            campaign_id: r.campaign_id,
            platform: r.platform,
            status: r.status,
            progress: r.progress,
            error: r.error,
            media_type: r.media_type,
            file_name: r.file_name,
            size_bytes: r.size_bytes,
            created_at: r.created_at,
            created_by: r.created_by,
            finished_at: r.finished_at,
        }
    }
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct ReportPage {
    pub items: Vec<ReportView>,
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

#[derive(ApiResponse)]
pub enum ReportAccepted {
    /// Generation started; poll the report until `status` is `ready`.
    #[oai(status = 202)]
    Accepted(Json<ReportView>, #[oai(header = "Location")] String),
}

#[OpenApi(prefix_path = "/api/v1", tag = "ReportsTag::Reports")]
impl ReportsApi {
    /// Formats: the built-in ones and every enabled report-format plugin.
    #[oai(
        path = "/report-formats",
        method = "get",
        operation_id = "list_report_formats"
    )]
    async fn formats(&self, _auth: Auth<AnyRole>) -> ApiResult<Json<Vec<ReportFormatView>>> {
        Ok(Json(
            self.service
                .formats()
                .await?
                .into_iter()
                .map(Into::into)
                .collect(),
        ))
    }

    /// Generate a report in the background: 202 with the report, whose
    /// `status` and `progress` follow the work.
    #[oai(path = "/reports", method = "post", operation_id = "generate_report")]
    async fn create(
        &self,
        auth: Auth<LeadPlus>,
        body: Json<ReportInput>,
    ) -> ApiResult<ReportAccepted> {
        let input = body.0;
        let request = ReportRequest {
            kind: input.kind,
            format: input.format,
            campaign_id: input.campaign_id.filter(|c| !c.trim().is_empty()),
            platform: input.platform,
            title: input.title,
        };
        let report = self.service.create(&auth, request).await?;
        let location = format!("/api/v1/reports/{}", report.id);
        Ok(ReportAccepted::Accepted(Json(report.into()), location))
    }

    /// Reports, newest first, by kind and status.
    #[oai(path = "/reports", method = "get", operation_id = "list_reports")]
    async fn list(
        &self,
        _auth: Auth<AnyRole>,
        kind: Query<Option<ReportKind>>,
        status: Query<Option<ReportStatus>>,
        #[oai(validator(minimum(value = "1"), maximum(value = "500")))] limit: Query<Option<i64>>,
        #[oai(validator(minimum(value = "0")))] offset: Query<Option<i64>>,
    ) -> ApiResult<Json<ReportPage>> {
        let page = PageRequest::parse(limit.0, offset.0)?;
        let (items, total) = self
            .service
            .list(kind.0, status.0, page.limit, page.offset)
            .await?;
        Ok(Json(ReportPage {
            items: items.into_iter().map(Into::into).collect(),
            total,
            limit: page.limit,
            offset: page.offset,
        }))
    }

    #[oai(path = "/reports/:id", method = "get", operation_id = "get_report")]
    async fn get(&self, _auth: Auth<AnyRole>, id: Path<String>) -> ApiResult<Json<ReportView>> {
        Ok(Json(self.service.get(&id.0).await?.into()))
    }

    /// The file of a ready report (409 `report_not_ready` before).
    #[oai(
        path = "/reports/:id/download",
        method = "get",
        operation_id = "download_report"
    )]
    async fn download(&self, _auth: Auth<AnyRole>, id: Path<String>) -> ApiResult<FileDownload> {
        let (report, bytes) = self.service.file(&id.0).await?;
        Ok(FileDownload::from_bytes(
            report
                .media_type
                .as_deref()
                .unwrap_or("application/octet-stream"),
            report.file_name.as_deref().unwrap_or("report"),
            bytes,
        ))
    }

    #[oai(
        path = "/reports/:id",
        method = "delete",
        operation_id = "delete_report"
    )]
    async fn delete(&self, auth: Auth<LeadPlus>, id: Path<String>) -> ApiResult<NoContent> {
        self.service.delete(&auth, &id.0).await?;
        Ok(NoContent::Done)
    }
}

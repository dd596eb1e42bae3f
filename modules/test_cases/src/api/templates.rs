//! `/api/v1/templates`: reusable procedures, tests made from them, and the
//! Atomic Red Team import.

use std::collections::HashMap;

use aegis_core::auth::{AnyRole, Auth, LeadPlus, RedTechPlus};
use aegis_core::http::NoContent;
use aegis_core::pagination::PageRequest;
use aegis_core::{ApiError, ApiResult};
use poem_openapi::param::{Header, Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};

use super::{TestCasesTag, etag, expected_version};
use crate::dto::{
    FromTemplateInput, ImportReportView, NewTemplateInput, TemplatePage, TemplatePatchInput,
    TemplateView, TestView,
};
use crate::model::TestPatch;
use crate::schema::{Form, FormPart, FormParts};
use crate::template::{FromTemplate, TemplateFilter, TemplateService};

/// Atomic files are at most tens of kilobytes; this leaves ample room.
const MAX_ATOMIC_FILE: u64 = 2 * 1024 * 1024;

/// The Atomic Red Team import form: one `file` part.
pub struct AtomicFile;

impl FormParts for AtomicFile {
    fn parts() -> Vec<FormPart> {
        vec![FormPart::file(
            "One Atomic Red Team `Txxxx.yaml`, UTF-8, at most 2 MiB.",
        )]
    }
}

pub struct TemplatesApi {
    pub templates: TemplateService,
}

#[derive(ApiResponse)]
pub enum TemplateCreated {
    #[oai(status = 201)]
    Created(Json<TemplateView>, #[oai(header = "ETag")] String),
}

#[derive(ApiResponse)]
pub enum TemplateReply {
    #[oai(status = 200)]
    Ok(Json<TemplateView>, #[oai(header = "ETag")] String),
}

#[derive(ApiResponse)]
pub enum TestFromTemplate {
    #[oai(status = 201)]
    Created(
        Json<TestView>,
        #[oai(header = "ETag")] String,
        #[oai(header = "Location")] String,
    ),
}

fn reply(view: TemplateView) -> TemplateReply {
    let tag = etag(view.version);
    TemplateReply::Ok(Json(view), tag)
}

#[OpenApi(prefix_path = "/api/v1", tag = "TestCasesTag::Templates")]
#[allow(clippy::too_many_arguments)] // one argument per query parameter
impl TemplatesApi {
    /// Find templates by technique (with its sub-techniques), platform, source and text.
    #[oai(path = "/templates", method = "get", operation_id = "list_templates")]
    async fn list(
        &self,
        _auth: Auth<AnyRole>,
        technique: Query<Option<String>>,
        platform: Query<Option<String>>,
        /// `manual` or `atomic-red-team`.
        source: Query<Option<String>>,
        q: Query<Option<String>>,
        /// 1 to 500, default 50.
        #[oai(validator(minimum(value = "1"), maximum(value = "500")))]
        limit: Query<Option<i64>>,
        #[oai(validator(minimum(value = "0")))] offset: Query<Option<i64>>,
    ) -> ApiResult<Json<TemplatePage>> {
        let page = PageRequest::parse(limit.0, offset.0)?;
        let filter = TemplateFilter {
            technique: technique
                .0
                .map(|t| t.trim().to_ascii_uppercase())
                .filter(|t| !t.is_empty()),
            platform: platform.0.filter(|p| !p.is_empty()),
            source: source.0.filter(|s| !s.is_empty()),
            text: q.0.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()),
        };
        let (items, total) = self
            .templates
            .list(&filter, page.limit, page.offset)
            .await?;
        Ok(Json(TemplatePage {
            items: items.into_iter().map(Into::into).collect(),
            total,
            limit: page.limit,
            offset: page.offset,
        }))
    }

    /// Write a template by hand (red techs, leads, admins).
    #[oai(path = "/templates", method = "post", operation_id = "create_template")]
    async fn create(
        &self,
        auth: Auth<RedTechPlus>,
        body: Json<NewTemplateInput>,
    ) -> ApiResult<TemplateCreated> {
        let record = self.templates.create(&auth, &body.0.into()).await?;
        let tag = etag(record.version);
        Ok(TemplateCreated::Created(Json(record.into()), tag))
    }

    #[oai(path = "/templates/:id", method = "get", operation_id = "get_template")]
    async fn get(&self, _auth: Auth<AnyRole>, id: Path<String>) -> ApiResult<TemplateReply> {
        Ok(reply(self.templates.get(&id.0).await?.into()))
    }

    /// Change a template; send the version you edited (`If-Match` or `version`).
    #[oai(
        path = "/templates/:id",
        method = "patch",
        operation_id = "update_template"
    )]
    async fn update(
        &self,
        auth: Auth<RedTechPlus>,
        id: Path<String>,
        /// The version you edited, as its `ETag` gave it (`"3"`). This or
        /// the body's `version` is required (428 without either, 400 when
        /// they disagree); a version that is no longer current gets 412.
        #[oai(name = "If-Match", validator(pattern = r#"^(W/)?"?[0-9]{1,18}"?$"#))]
        if_match: Header<Option<String>>,
        body: Json<TemplatePatchInput>,
    ) -> ApiResult<TemplateReply> {
        let version = expected_version(if_match.0.as_deref(), body.0.version)?;
        let record = self
            .templates
            .update(&auth, &id.0, version, &body.0.into())
            .await?;
        Ok(reply(record.into()))
    }

    /// Delete a template (leads, admins); tests made from it stay.
    #[oai(
        path = "/templates/:id",
        method = "delete",
        operation_id = "delete_template"
    )]
    async fn delete(&self, auth: Auth<LeadPlus>, id: Path<String>) -> ApiResult<NoContent> {
        self.templates.delete(&auth, &id.0).await?;
        Ok(NoContent::Done)
    }

    /// Make a draft test from the template, its `#{arguments}` filled in.
    #[oai(
        path = "/templates/:id/tests",
        method = "post",
        operation_id = "create_test_from_template"
    )]
    async fn create_test(
        &self,
        auth: Auth<RedTechPlus>,
        id: Path<String>,
        body: Json<FromTemplateInput>,
    ) -> ApiResult<TestFromTemplate> {
        let input = body.0;
        let request = FromTemplate {
            name: input.name,
            arguments: input.arguments.unwrap_or_default(),
            plan: TestPatch {
                campaign_id: input.campaign_id.map(Some),
                platform: input.platform.map(Some),
                target_host: input.target_host.map(Some),
                red_assignee_id: input.red_assignee_id.map(Some),
                blue_assignee_id: input.blue_assignee_id.map(Some),
                tags: input.tags,
                ..TestPatch::default()
            },
        };
        let record = self.templates.create_test(&auth, &id.0, request).await?;
        let location = format!("/api/v1/tests/{}", record.id);
        let tag = etag(record.version);
        Ok(TestFromTemplate::Created(
            Json(TestView::new(record, None)),
            tag,
            location,
        ))
    }

    /// Import one Atomic Red Team `Txxxx.yaml` (multipart `file`; leads, admins).
    /// Tests are keyed by `auto_generated_guid`: importing again updates, never duplicates.
    #[oai(
        path = "/templates/import/atomic",
        method = "post",
        operation_id = "import_atomic"
    )]
    async fn import_atomic(
        &self,
        auth: Auth<LeadPlus>,
        request: &poem::Request,
        body: Form<AtomicFile>,
    ) -> ApiResult<Json<ImportReportView>> {
        let (name, bytes) = body.only_file(request, MAX_ATOMIC_FILE).await?;
        let label = name.unwrap_or_else(|| "upload.yaml".into());
        let yaml = String::from_utf8(bytes)
            .map_err(|_| ApiError::invalid_field("file", "must be UTF-8 YAML"))?;
        let report = self
            .templates
            .import_atomic(
                &self.templates.actor(&auth),
                &label,
                &yaml,
                &mut HashMap::new(),
            )
            .await?;
        if report.created + report.updated + report.unchanged == 0
            && let Some(problem) = report.problems.first()
        {
            return Err(ApiError::invalid_field("file", problem.reason.clone()));
        }
        Ok(Json(report.into()))
    }
}

//! `/api/v1/templates`: reusable procedures, tests made from them, and the
//! Atomic Red Team import.

use std::collections::HashMap;

use aegis_core::auth::{AnyRole, Auth, LeadPlus, RedTechPlus};
use aegis_core::error::Problem;
use aegis_core::http::{NoContent, strict_json};
use aegis_core::pagination::PageRequest;
use aegis_core::{ApiError, ApiResult};
use poem_openapi::param::{Header, Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::types::Example;
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::{TestCasesTag, etag, expected_version};
use crate::atomic_archive::{self, ArchiveError, ArchiveLimits};
use crate::dto::{
    FromTemplateInput, ImportReportView, NewTemplateInput, TemplatePage, TemplatePatchInput,
    TemplateView, TestView,
};
use crate::model::TestPatch;
use crate::template::{FromTemplate, ImportReport, TemplateFilter, TemplateService};
use aegis_core::form::{Form, FormPart, FormParts};

/// Atomic files are at most tens of kilobytes; this leaves ample room.
const MAX_ATOMIC_FILE: u64 = 2 * 1024 * 1024;

/// An archive of Atomic Red Team's `atomics` folder: its YAML packs to about
/// 1 MiB, so this leaves room for the scripts and binaries beside it.
pub const MAX_ATOMIC_ARCHIVE: u64 = 32 * 1024 * 1024;

/// What one archive may unpack to (a zip bomb stops at these).
const ARCHIVE_LIMITS: ArchiveLimits = ArchiveLimits {
    max_entries: 20_000,
    max_unpacked: 256 * 1024 * 1024,
    max_atomic: MAX_ATOMIC_FILE,
};

/// Tests made from templates in one request.
const MAX_BULK_TEMPLATES: usize = 200;

/// The archive import form: one `file` part.
pub struct AtomicArchive;

impl FormParts for AtomicArchive {
    fn parts() -> Vec<FormPart> {
        vec![FormPart::file(
            "A .zip, .tar.gz or .tar of Atomic Red Team atomics, at most 32 MiB. \
             Its `Txxxx.yaml` and `Txxxx.xxx.yaml` files (any folder) are imported, \
             other entries ignored. Refused whole: more than 20000 entries, more \
             than 256 MiB unpacked or an atomic over 2 MiB (413); a link, or a path \
             that is absolute or climbs out with `..` (422).",
        )]
    }
}

/// Many templates, one draft test each, sharing the plan fields given.
#[derive(Debug, Object)]
#[oai(deny_unknown_fields, example, skip_serializing_if_is_none)]
pub struct FromTemplatesInput {
    /// 1 to 200 templates, each once; each test takes its template's name,
    /// technique, command (default arguments) and, when the template has
    /// exactly one, platform.
    #[oai(
        deserialize_with = "strict_json",
        validator(
            min_items = 1,
            max_items = 200,
            unique_items,
            pattern = r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$"
        )
    )]
    pub template_ids: Vec<String>,
    /// An existing campaign that is not completed.
    #[oai(
        deserialize_with = "strict_json",
        validator(
            pattern = r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$"
        )
    )]
    pub campaign_id: Option<String>,
    #[oai(deserialize_with = "strict_json", validator(max_length = 255))]
    pub target_host: Option<String>,
    /// An active user.
    #[oai(
        deserialize_with = "strict_json",
        validator(
            pattern = r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$"
        )
    )]
    pub red_assignee_id: Option<String>,
    /// An active user.
    #[oai(
        deserialize_with = "strict_json",
        validator(
            pattern = r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$"
        )
    )]
    pub blue_assignee_id: Option<String>,
    /// Stored lower-case, sorted, without duplicates.
    #[oai(
        deserialize_with = "strict_json",
        validator(
            max_items = 32,
            max_length = 64,
            pattern = r"^ *[A-Za-z0-9_.:/-][A-Za-z0-9 _.:/-]*$"
        )
    )]
    pub tags: Option<Vec<String>>,
}

impl Example for FromTemplatesInput {
    fn example() -> Self {
        Self {
            template_ids: vec![
                "0190f3a2-7c1e-7b3a-9d2e-5f4c3b2a1908".into(),
                "0190f3a2-7c1e-7b3a-9d2e-5f4c3b2a1909".into(),
            ],
            campaign_id: None,
            target_host: Some("jump-fin-01.corp.example".into()),
            red_assignee_id: None,
            blue_assignee_id: None,
            tags: Some(vec!["quarterly".into()]),
        }
    }
}

/// What became of one template: its test, or the problem that refused it.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct FromTemplateResult {
    pub template_id: String,
    pub test: Option<TestView>,
    pub problem: Option<Problem>,
}

/// One result per template, in the order sent.
#[derive(Debug, Object)]
pub struct FromTemplatesReport {
    pub created: u64,
    pub failed: u64,
    pub results: Vec<FromTemplateResult>,
}

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

    /// Make one draft test from each of many templates (1 to 200), sharing
    /// campaign, host, assignees and tags; each test is audited as one made
    /// from its template. Templates that cannot give a test are reported
    /// one by one; shared fields refused for the first are a 422 whole.
    #[oai(
        path = "/templates/tests",
        method = "post",
        operation_id = "create_tests_from_templates"
    )]
    async fn create_tests(
        &self,
        auth: Auth<RedTechPlus>,
        body: Json<FromTemplatesInput>,
    ) -> ApiResult<Json<FromTemplatesReport>> {
        let input = body.0;
        // The document's bound, held here too should the schema change.
        if input.template_ids.len() > MAX_BULK_TEMPLATES {
            return Err(ApiError::invalid_field(
                "template_ids",
                format!("at most {MAX_BULK_TEMPLATES} templates"),
            ));
        }
        let plan = TestPatch {
            campaign_id: input.campaign_id.map(Some),
            target_host: input.target_host.map(Some),
            red_assignee_id: input.red_assignee_id.map(Some),
            blue_assignee_id: input.blue_assignee_id.map(Some),
            tags: input.tags,
            ..TestPatch::default()
        };
        let outcomes = self
            .templates
            .create_tests(&auth, &input.template_ids, &plan)
            .await?;
        let mut report = FromTemplatesReport {
            created: 0,
            failed: 0,
            results: Vec::with_capacity(outcomes.len()),
        };
        for (template_id, outcome) in outcomes {
            let (test, problem) = match outcome {
                Ok(record) => {
                    report.created += 1;
                    (Some(TestView::new(record, None)), None)
                }
                Err(refused) => {
                    report.failed += 1;
                    (None, Some(ApiError::from(refused).problem().clone()))
                }
            };
            report.results.push(FromTemplateResult {
                template_id,
                test,
                problem,
            });
        }
        Ok(Json(report))
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

    /// Import an archive of Atomic Red Team atomics (multipart `file`: .zip,
    /// .tar.gz or .tar; leads, admins): every `Txxxx.yaml` inside, each its
    /// own transaction, keyed by `auto_generated_guid` as one file is. The
    /// answer counts files and templates; a file that cannot be read is a
    /// problem of the report, not the end of the import.
    #[oai(
        path = "/templates/import/atomic-archive",
        method = "post",
        operation_id = "import_atomic_archive"
    )]
    async fn import_atomic_archive(
        &self,
        auth: Auth<LeadPlus>,
        request: &poem::Request,
        body: Form<AtomicArchive>,
    ) -> ApiResult<Json<ImportReportView>> {
        let (_, bytes) = body.only_file(request, MAX_ATOMIC_ARCHIVE).await?;
        // Unpacking is CPU work: off the request threads.
        let atomics = tokio::task::spawn_blocking(move || {
            atomic_archive::read_atomics(&bytes, ARCHIVE_LIMITS)
        })
        .await
        .map_err(|e| ApiError::internal("atomic archive", &e))?
        .map_err(|e| match e {
            ArchiveError::TooLarge(detail) => ApiError::payload_too_large(detail),
            ArchiveError::Refused(detail) => ApiError::invalid_field("file", detail),
        })?;
        if atomics.is_empty() {
            return Err(ApiError::invalid_field(
                "file",
                "the archive holds no Atomic Red Team atomic (Txxxx.yaml)",
            ));
        }
        let actor = self.templates.actor(&auth);
        let mut known = HashMap::new();
        let mut report = ImportReport::default();
        for atomic in atomics {
            self.templates
                .import_atomic_bytes(&actor, &atomic.path, atomic.bytes, &mut known, &mut report)
                .await?;
        }
        Ok(Json(report.into()))
    }
}

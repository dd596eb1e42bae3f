//! `/api/v1/tests/{id}/evidence`: upload (multipart, streamed), list,
//! download and delete.

use aegis_core::auth::{AnyRole, Auth, Contributor};
use aegis_core::download::{FileDownload, FileFacts};
use aegis_core::http::{BodyCut, NoContent};
use aegis_core::{ApiError, ApiResult};
use poem::Body;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};

use super::{TestCasesTag, read_text_field};
use crate::dto::EvidenceView;
use crate::error::TestCaseError;
use crate::evidence::{EvidenceService, StoredEvidence, UploadMeta};
use aegis_core::form::{Form, FormPart, FormParts};

/// The upload form: an optional `description`, then the `file`.
pub struct EvidenceParts;

impl FormParts for EvidenceParts {
    fn parts() -> Vec<FormPart> {
        vec![
            FormPart::text("description", "A note about the file.", 2000),
            FormPart::file(
                "The file. Its part's `Content-Type` is kept as its media type \
                 (`application/octet-stream` when absent) and must be one the \
                 server accepts (`[evidence] allowed_media_types`, 415 otherwise).",
            ),
        ]
    }
}

pub struct EvidenceApi {
    pub evidence: EvidenceService,
}

#[derive(ApiResponse)]
pub enum EvidenceCreated {
    #[oai(status = 201)]
    Created(Json<EvidenceView>, #[oai(header = "Location")] String),
}

impl EvidenceApi {
    /// Removes a stored file whose request is refused, and passes the refusal on.
    async fn abandon(&self, stored: Option<StoredEvidence>, refused: ApiError) -> ApiError {
        if let Some(stored) = stored {
            self.evidence.abandon(stored).await;
        }
        refused
    }
}

#[OpenApi(prefix_path = "/api/v1", tag = "TestCasesTag::Evidence")]
impl EvidenceApi {
    /// Attach a file (multipart: `file` and an optional `description`, in
    /// either order; any other part is refused with 422). The
    /// side follows the uploader: red techs add red evidence while the test is
    /// a draft or executing, blue techs blue evidence while blue evaluates,
    /// leads and admins the side that is open. Completed tests are locked.
    #[oai(
        path = "/tests/:id/evidence",
        method = "post",
        operation_id = "upload_evidence"
    )]
    async fn upload(
        &self,
        auth: Auth<Contributor>,
        id: Path<String>,
        request: &poem::Request,
        body: Form<EvidenceParts>,
    ) -> ApiResult<EvidenceCreated> {
        let mut form = body;
        let mut description = String::new();
        let mut stored = None;
        // The parts come in any order (generated clients put the required
        // `file` first): the file streams to storage as it comes, and is
        // recorded only once the whole form has been read and accepted.
        while let Some(field) = match form.next_part(request).await {
            Ok(next) => next,
            Err(refused) => return Err(self.abandon(stored, refused).await),
        } {
            if field.name() == Some("description") {
                // 2,000 characters (the limit) take at most 8,000 bytes.
                let text = match read_text_field(request, field, 8192).await {
                    Ok(text) => text,
                    Err(refused) => return Err(self.abandon(stored, refused).await),
                };
                match stored.as_mut() {
                    None => description = text,
                    Some(file) => {
                        if let Err(refused) = StoredEvidence::describe(file, &text) {
                            return Err(self.abandon(stored, refused.into()).await);
                        }
                    }
                }
                continue;
            }
            if stored.is_some() {
                let refused = ApiError::invalid_field("file", "one `file` part per upload");
                return Err(self.abandon(stored, refused).await);
            }
            let meta = UploadMeta {
                file_name: field.file_name().map(str::to_owned),
                media_type: field.content_type().map(str::to_owned),
                description: std::mem::take(&mut description),
            };
            stored = Some(
                match self
                    .evidence
                    .store(&auth, &id.0, meta, field.into_async_read())
                    .await
                {
                    Err(TestCaseError::BadUpload(_)) if BodyCut::happened(request) => {
                        return Err(ApiError::payload_too_large(
                            "the upload exceeds the size limit",
                        ));
                    }
                    other => other?,
                },
            );
        }
        let Some(stored) = stored else {
            return Err(ApiError::invalid_field("file", "required: a `file` part"));
        };
        let view = EvidenceView::from(self.evidence.record(&auth, stored).await?);
        let location = view.download_url.clone();
        Ok(EvidenceCreated::Created(Json(view), location))
    }

    /// The test's files, oldest first.
    #[oai(
        path = "/tests/:id/evidence",
        method = "get",
        operation_id = "list_evidence"
    )]
    async fn list(
        &self,
        _auth: Auth<AnyRole>,
        id: Path<String>,
    ) -> ApiResult<Json<Vec<EvidenceView>>> {
        let records = self.evidence.list(&id.0).await?;
        Ok(Json(records.into_iter().map(Into::into).collect()))
    }

    /// One file's details.
    #[oai(
        path = "/tests/:id/evidence/:evidence_id",
        method = "get",
        operation_id = "get_evidence"
    )]
    async fn get(
        &self,
        _auth: Auth<AnyRole>,
        id: Path<String>,
        evidence_id: Path<String>,
    ) -> ApiResult<Json<EvidenceView>> {
        Ok(Json(self.evidence.get(&id.0, &evidence_id.0).await?.into()))
    }

    /// The file itself, as an attachment with its stored media type and its
    /// SHA-256 in `X-Checksum-SHA256`.
    #[oai(
        path = "/tests/:id/evidence/:evidence_id/download",
        method = "get",
        operation_id = "download_evidence"
    )]
    async fn download(
        &self,
        _auth: Auth<AnyRole>,
        id: Path<String>,
        evidence_id: Path<String>,
    ) -> ApiResult<FileDownload> {
        let record = self.evidence.get(&id.0, &evidence_id.0).await?;
        let stream = self.evidence.open(&record).await?;
        let facts = FileFacts {
            media_type: &record.media_type,
            file_name: &record.file_name,
            size_bytes: record.size_bytes.try_into().unwrap_or_default(),
            sha256: &record.sha256,
        };
        Ok(FileDownload::new(&facts, Body::from_bytes_stream(stream)))
    }

    /// Delete a file (its uploader, or a lead or admin); refused once the test is completed.
    #[oai(
        path = "/tests/:id/evidence/:evidence_id",
        method = "delete",
        operation_id = "delete_evidence"
    )]
    async fn delete(
        &self,
        auth: Auth<Contributor>,
        id: Path<String>,
        evidence_id: Path<String>,
    ) -> ApiResult<NoContent> {
        self.evidence.delete(&auth, &id.0, &evidence_id.0).await?;
        Ok(NoContent::Done)
    }
}

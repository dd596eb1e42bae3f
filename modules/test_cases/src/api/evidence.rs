//! `/api/v1/tests/{id}/evidence`: upload (multipart, streamed), list,
//! download and delete.

use aegis_core::auth::{AnyRole, Auth, Contributor};
use aegis_core::http::{BodyCut, NoContent};
use aegis_core::{ApiError, ApiResult};
use poem::http::header;
use poem::{Body, IntoResponse};
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::registry::{
    MetaHeader, MetaMediaType, MetaResponse, MetaResponses, MetaSchema, MetaSchemaRef, Registry,
};
use poem_openapi::{ApiResponse, OpenApi};

use super::{TestCasesTag, read_text_field};
use crate::dto::EvidenceView;
use crate::error::TestCaseError;
use crate::evidence::{EvidenceService, StoredEvidence, UploadMeta};
use crate::schema::{Form, FormPart, FormParts};

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

/// A stored file as it was uploaded: the bytes, under the media type they
/// were uploaded with. The document lists `application/octet-stream` (what
/// generated clients read as bytes) and `*/*` with any content, since the
/// type is the uploader's.
pub struct EvidenceFile(poem::Response);

impl IntoResponse for EvidenceFile {
    fn into_response(self) -> poem::Response {
        self.0
    }
}

impl ApiResponse for EvidenceFile {
    fn meta() -> MetaResponses {
        let binary =
            || MetaSchemaRef::Inline(Box::new(MetaSchema::new_with_format("string", "binary")));
        let header = |name: &str, description: &str| MetaHeader {
            name: name.into(),
            description: Some(description.into()),
            required: true,
            deprecated: false,
            schema: MetaSchemaRef::Inline(Box::new(MetaSchema::new("string"))),
        };
        MetaResponses {
            responses: vec![MetaResponse {
                description: "The file, with the media type it was uploaded with.",
                status: Some(200),
                status_range: None,
                content: vec![
                    MetaMediaType {
                        content_type: "application/octet-stream",
                        schema: binary(),
                    },
                    // Any schema at all: a JSON file, say, is read as JSON
                    // by a checker, and is what it is.
                    MetaMediaType {
                        content_type: "*/*",
                        schema: MetaSchemaRef::Inline(Box::new(MetaSchema::ANY)),
                    },
                ],
                headers: vec![
                    header(
                        "Content-Disposition",
                        "`attachment` with the file's name (RFC 6266).",
                    ),
                    header("X-Checksum-SHA256", "Hex SHA-256 of the file."),
                ],
            }],
        }
    }

    fn register(_registry: &mut Registry) {}
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
    ) -> ApiResult<EvidenceFile> {
        let record = self.evidence.get(&id.0, &evidence_id.0).await?;
        let stream = self.evidence.open(&record).await?;
        Ok(EvidenceFile(
            poem::Response::builder()
                .header(header::CONTENT_TYPE, record.media_type.as_str())
                .header(header::CONTENT_LENGTH, record.size_bytes.to_string())
                .header(
                    header::CONTENT_DISPOSITION,
                    content_disposition(&record.file_name),
                )
                .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
                .header(header::CACHE_CONTROL, "private, no-store")
                .header("X-Checksum-SHA256", record.sha256.as_str())
                .body(Body::from_bytes_stream(stream)),
        ))
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

/// `attachment` with an ASCII fallback name and the exact UTF-8 name (RFC 6266).
fn content_disposition(name: &str) -> String {
    let fallback: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::new();
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::content_disposition;

    #[test]
    fn dispositions_keep_names_inert() {
        assert_eq!(
            content_disposition("résumé 1.png"),
            "attachment; filename=\"r_sum_ 1.png\"; filename*=UTF-8''r%C3%A9sum%C3%A9%201.png"
        );
    }
}

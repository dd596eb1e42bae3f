//! `/api/v1/tests/{id}/evidence`: upload (multipart, streamed), list,
//! download and delete.

use aegis_core::auth::{AnyRole, Auth, Contributor};
use aegis_core::http::{BodyCut, MultipartUpload, NoContent};
use aegis_core::{ApiError, ApiResult};
use poem::Body;
use poem::http::header;
use poem_openapi::param::Path;
use poem_openapi::payload::{Binary, Json, Response};
use poem_openapi::{ApiResponse, OpenApi};

use super::{TestCasesTag, read_text_field};
use crate::dto::EvidenceView;
use crate::error::TestCaseError;
use crate::evidence::{EvidenceService, UploadMeta};

pub struct EvidenceApi {
    pub evidence: EvidenceService,
}

#[derive(ApiResponse)]
pub enum EvidenceCreated {
    #[oai(status = 201)]
    Created(Json<EvidenceView>, #[oai(header = "Location")] String),
}

#[OpenApi(prefix_path = "/api/v1", tag = "TestCasesTag::Evidence")]
impl EvidenceApi {
    /// Attach a file (multipart: optional `description`, then `file`). The
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
        body: MultipartUpload,
    ) -> ApiResult<EvidenceCreated> {
        let mut form = body.0;
        let mut description = String::new();
        while let Some(field) = aegis_core::http::next_field(request, &mut form).await? {
            match field.name() {
                Some("description") => description = read_text_field(request, field, 4096).await?,
                Some("file") => {
                    let meta = UploadMeta {
                        file_name: field.file_name().map(str::to_owned),
                        media_type: field.content_type().map(str::to_owned),
                        description,
                    };
                    let record = match self
                        .evidence
                        .upload(&auth, &id.0, meta, field.into_async_read())
                        .await
                    {
                        Err(TestCaseError::BadUpload(_)) if BodyCut::happened(request) => {
                            return Err(ApiError::payload_too_large(
                                "the upload exceeds the size limit",
                            ));
                        }
                        other => other?,
                    };
                    let view = EvidenceView::from(record);
                    let location = view.download_url.clone();
                    return Ok(EvidenceCreated::Created(Json(view), location));
                }
                _ => {}
            }
        }
        Err(ApiError::invalid_field("file", "required: a `file` part"))
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
    ) -> ApiResult<Response<Binary<Body>>> {
        let record = self.evidence.get(&id.0, &evidence_id.0).await?;
        let stream = self.evidence.open(&record).await?;
        Ok(Response::new(Binary(Body::from_bytes_stream(stream)))
            .header(header::CONTENT_TYPE, record.media_type.as_str())
            .header(header::CONTENT_LENGTH, record.size_bytes.to_string())
            .header(
                header::CONTENT_DISPOSITION,
                content_disposition(&record.file_name),
            )
            .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
            .header(header::CACHE_CONTROL, "private, no-store")
            .header("X-Checksum-SHA256", record.sha256.as_str()))
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

//! Small pieces every module's API uses.

use poem::Request;
use poem_openapi::ApiResponse;

/// The error text of a request body cut off at the size limit, so upload
/// handlers can tell it from a client that hung up.
pub const BODY_TOO_LARGE: &str = "request body exceeds the size limit";

/// A change with nothing to return.
#[derive(Debug, ApiResponse)]
pub enum NoContent {
    #[oai(status = 204)]
    Done,
}

/// The client's IP address as the socket reports it (proxies are not trusted,
/// so a forged `X-Forwarded-For` cannot dodge login throttling).
pub fn client_address(request: &Request) -> String {
    request
        .remote_addr()
        .as_socket_addr()
        .map_or_else(|| "unknown".into(), |a| a.ip().to_string())
}

/// A `multipart/form-data` request body read part by part, so an upload
/// streams to storage instead of being buffered or spooled to disk. The
/// OpenAPI document shows a `file` part plus optional text fields.
pub struct MultipartUpload(pub poem::web::Multipart);

impl poem_openapi::payload::Payload for MultipartUpload {
    const CONTENT_TYPE: &'static str = "multipart/form-data";

    fn check_content_type(content_type: &str) -> bool {
        content_type
            .split(';')
            .next()
            .is_some_and(|t| t.trim().eq_ignore_ascii_case(Self::CONTENT_TYPE))
    }

    fn schema_ref() -> poem_openapi::registry::MetaSchemaRef {
        use poem_openapi::registry::{MetaSchema, MetaSchemaRef};
        let file = MetaSchema {
            format: Some("binary"),
            description: Some("The file; its part's Content-Type is its media type."),
            ..MetaSchema::new("string")
        };
        let description = MetaSchema {
            description: Some("Optional note about the file."),
            ..MetaSchema::new("string")
        };
        MetaSchemaRef::Inline(Box::new(MetaSchema {
            properties: vec![
                ("file", MetaSchemaRef::Inline(Box::new(file))),
                ("description", MetaSchemaRef::Inline(Box::new(description))),
            ],
            required: vec!["file"],
            ..MetaSchema::new("object")
        }))
    }
}

impl poem_openapi::payload::ParsePayload for MultipartUpload {
    const IS_REQUIRED: bool = true;

    async fn from_request(request: &Request, body: &mut poem::RequestBody) -> poem::Result<Self> {
        use poem::FromRequest;
        Ok(Self(
            poem::web::Multipart::from_request(request, body).await?,
        ))
    }
}

// The macro names itself and `check_content_type` unqualified.
use poem_openapi::impl_apirequest_for_payload;
use poem_openapi::payload::Payload as _;
impl_apirequest_for_payload!(MultipartUpload);

/// The media type of an upload part, lower-cased and without parameters.
pub fn essence(media_type: &str) -> String {
    media_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

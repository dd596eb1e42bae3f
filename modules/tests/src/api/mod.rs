//! The HTTP edge of the tests module: tests and their transitions, evidence,
//! templates and the Atomic Red Team import.

mod evidence;
mod templates;
mod tests;

pub use evidence::EvidenceApi;
pub use templates::TemplatesApi;
pub use tests::TestsApi;

use aegis_core::{ApiError, ApiResult};
use poem_openapi::Tags;

#[derive(Tags)]
pub(crate) enum TestsTag {
    /// Tests: the red → blue → completed workflow.
    Tests,
    /// Files attached to tests by the red and blue sides.
    Evidence,
    /// Reusable procedures and the Atomic Red Team import.
    Templates,
}

/// The version an update is based on: `If-Match` (`"3"`, `W/"3"` or `3`)
/// or the body's `version`; they must agree when both are sent.
pub(crate) fn expected_version(
    if_match: Option<&str>,
    body: Option<i64>,
) -> ApiResult<Option<i64>> {
    let header = match if_match {
        None => None,
        Some(raw) => {
            let tag = raw.trim().trim_start_matches("W/").trim_matches('"');
            Some(tag.parse::<i64>().map_err(|_| {
                ApiError::bad_request(
                    "invalid_if_match",
                    "If-Match must be a version such as \"3\"",
                )
            })?)
        }
    };
    match (header, body) {
        (Some(h), Some(b)) if h != b => Err(ApiError::bad_request(
            "invalid_if_match",
            "If-Match and version disagree",
        )),
        (Some(h), _) => Ok(Some(h)),
        (None, b) => Ok(b),
    }
}

pub(crate) fn etag(version: i64) -> String {
    format!("\"{version}\"")
}

/// Reads a small text form field whole, bounded.
pub(crate) async fn read_text_field(field: poem::web::Field, max: usize) -> ApiResult<String> {
    use tokio::io::AsyncReadExt;
    let mut text = String::new();
    field
        .into_async_read()
        .take(max as u64)
        .read_to_string(&mut text)
        .await
        .map_err(|e| multipart_error(&e))?;
    Ok(text)
}

pub(crate) fn multipart_error(error: &dyn std::fmt::Display) -> ApiError {
    let text = error.to_string();
    if text.contains(aegis_core::http::BODY_TOO_LARGE) {
        ApiError::payload_too_large("the upload exceeds the size limit")
    } else {
        ApiError::bad_request("invalid_multipart", format!("cannot read the form: {text}"))
    }
}

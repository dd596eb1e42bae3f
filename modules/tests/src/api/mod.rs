//! The HTTP edge of the tests module: tests and their transitions, evidence,
//! templates and the Atomic Red Team import.

mod evidence;
mod templates;
mod tests;

pub use evidence::EvidenceApi;
pub use templates::TemplatesApi;
pub use tests::TestsApi;

use aegis_core::ApiResult;
pub(crate) use aegis_core::http::{etag, expected_version, multipart_error};
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

/// Reads a small text form field whole, bounded.
pub(crate) async fn read_text_field(
    request: &poem::Request,
    field: poem::web::Field,
    max: usize,
) -> ApiResult<String> {
    use tokio::io::AsyncReadExt;
    let mut text = String::new();
    field
        .into_async_read()
        .take(max as u64)
        .read_to_string(&mut text)
        .await
        .map_err(|e| multipart_error(request, &e))?;
    Ok(text)
}

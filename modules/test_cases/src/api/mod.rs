//! The HTTP edge of the tests module: tests and their transitions, evidence,
//! templates and the Atomic Red Team import.

mod evidence;
mod templates;
mod test_cases;

pub use evidence::EvidenceApi;
pub use templates::{MAX_ATOMIC_ARCHIVE, TemplatesApi};
pub use test_cases::TestCasesApi;

pub(crate) use aegis_core::http::{etag, expected_version, read_text_field};
use poem_openapi::Tags;

#[derive(Tags)]
pub(crate) enum TestCasesTag {
    /// Tests: the red → blue → completed workflow.
    Tests,
    /// Files attached to tests by the red and blue sides.
    Evidence,
    /// Reusable procedures and the Atomic Red Team import.
    Templates,
}

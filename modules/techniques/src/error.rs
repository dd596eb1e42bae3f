//! Errors of the techniques API and their statuses.

use aegis_core::ApiError;

use crate::service::SyncError;
use crate::source::SourceError;

impl From<SyncError> for ApiError {
    fn from(error: SyncError) -> Self {
        match error {
            SyncError::AlreadyRunning => {
                ApiError::conflict("sync_running", "an ATT&CK sync is already running")
            }
            SyncError::Interrupted => ApiError::conflict("sync_interrupted", error.to_string()),
            // A bundle given whole (an upload) is read in the request: what
            // is wrong with it is the sender's to fix.
            SyncError::Bundle(e) => ApiError::unprocessable(
                "invalid_bundle",
                format!("this is not an ATT&CK STIX 2.1 bundle Aegis can read: {e}"),
            ),
            SyncError::Source(e) => match e {
                SourceError::Gzip(_) => ApiError::unprocessable("invalid_bundle", e.to_string()),
                SourceError::TooLarge(_) => ApiError::payload_too_large(e.to_string()),
                // Fetching happens in background runs, which record these.
                SourceError::Read(..)
                | SourceError::Unreachable(..)
                | SourceError::BrokenOff(..)
                | SourceError::Status(..) => ApiError::internal("mitre sync source", &e),
            },
            SyncError::Database(e) => ApiError::database("mitre sync database", &e),
        }
    }
}

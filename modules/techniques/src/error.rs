//! Errors of the techniques API and their statuses.

use aegis_core::ApiError;

use crate::service::SyncError;

impl From<SyncError> for ApiError {
    fn from(error: SyncError) -> Self {
        match error {
            SyncError::AlreadyRunning => {
                ApiError::conflict("sync_running", "an ATT&CK sync is already running")
            }
            SyncError::Interrupted => ApiError::conflict("sync_interrupted", error.to_string()),
            // The run record carries the reason; the caller started a background run, so these are ours.
            SyncError::Source(e) => ApiError::internal("mitre sync source", &e),
            SyncError::Bundle(e) => ApiError::internal("mitre sync bundle", &e),
            SyncError::Database(e) => ApiError::database("mitre sync database", &e),
        }
    }
}

//! Optimistic concurrency, the same for every editable resource: a change
//! names the version it was made on (`If-Match` or a `version` field), the
//! write succeeds only while that version is current, and a stale or missing
//! version becomes a 412 or 428 problem. Modules embed [`VersionError`] in
//! their own error enums instead of borrowing another module's.

use crate::error::ApiError;
use crate::time::Timestamp;

/// Who makes a change, and when (the kernel clock's time of the request).
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: String,
    pub username: String,
    pub at: Timestamp,
}

impl Actor {
    /// The audit log's view of this actor: user id and name.
    pub fn audit(&self) -> Option<(&str, &str)> {
        Some((self.user_id.as_str(), self.username.as_str()))
    }
}

/// What an optimistic write found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteOutcome {
    /// Written; the new version.
    Written(i64),
    /// The row moved on (another version or state) before this write.
    Conflict,
}

impl WriteOutcome {
    /// The outcome of `UPDATE ... WHERE version = expected`: written (one
    /// version on) when it touched the row, a conflict when it did not.
    pub fn of_update(rows_affected: u64, expected_version: i64) -> Self {
        if rows_affected == 0 {
            Self::Conflict
        } else {
            Self::Written(expected_version + 1)
        }
    }
}

/// A change that cannot be applied to the version it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum VersionError {
    /// The resource moved on; `current` is its version now (412).
    #[error("the resource changed since the version you sent; it is now at version {current}")]
    Stale { current: i64 },
    /// No version was sent (428).
    #[error("send the version you edited as an If-Match header or a `version` field")]
    Required,
}

/// The version a change may be applied to: `expected` must be sent and be
/// the `current` one.
pub fn check_version(expected: Option<i64>, current: i64) -> Result<i64, VersionError> {
    match expected {
        None => Err(VersionError::Required),
        Some(v) if v != current => Err(VersionError::Stale { current }),
        Some(v) => Ok(v),
    }
}

impl From<VersionError> for ApiError {
    fn from(error: VersionError) -> Self {
        match error {
            VersionError::Stale { current } => ApiError::stale_version(error.to_string(), current),
            VersionError::Required => ApiError::version_required(error.to_string()),
        }
    }
}

/// The version an update is based on: `If-Match` (`"3"`, `W/"3"` or `3`)
/// or the body's `version`; they must agree when both are sent.
pub fn expected_version(
    if_match: Option<&str>,
    body: Option<i64>,
) -> crate::error::ApiResult<Option<i64>> {
    let header = match if_match {
        None => None,
        Some(raw) => {
            let tag = raw.trim().trim_start_matches("W/").trim_matches('"');
            Some(tag.parse::<i64>().map_err(|_| {
                crate::error::ApiError::bad_request(
                    "invalid_if_match",
                    "If-Match must be a version such as \"3\"",
                )
            })?)
        }
    };
    match (header, body) {
        (Some(h), Some(b)) if h != b => Err(crate::error::ApiError::bad_request(
            "invalid_if_match",
            "If-Match and version disagree",
        )),
        (Some(h), _) => Ok(Some(h)),
        (None, b) => Ok(b),
    }
}

/// The `ETag` of a resource version: the version in quotes.
pub fn etag(version: i64) -> String {
    format!("\"{version}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_needs_the_current_version() {
        assert_eq!(check_version(Some(3), 3), Ok(3));
        assert_eq!(
            check_version(Some(2), 3),
            Err(VersionError::Stale { current: 3 })
        );
        assert_eq!(check_version(None, 3), Err(VersionError::Required));
        assert_eq!(expected_version(Some("W/\"4\""), None).ok(), Some(Some(4)));
        assert!(expected_version(Some("\"4\""), Some(5)).is_err());
        assert_eq!(WriteOutcome::of_update(0, 4), WriteOutcome::Conflict);
        assert_eq!(WriteOutcome::of_update(1, 4), WriteOutcome::Written(5));
    }
}

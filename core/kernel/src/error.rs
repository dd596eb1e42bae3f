//! The HTTP edge's one error type. Every error a client sees is a JSON problem
//! body (`type`, `title`, `status`, `detail`, `code`, field `errors`) with a
//! stable snake_case `code`. Internal failures are logged here and reach the
//! client as a bare 500 with no detail.

use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object};

/// A problem body (RFC 9457 shape plus a stable `code`). Every error answer
/// has one; `errors`, `current_state` and `current_version` appear only
/// where they say something.
#[derive(Debug, Clone, Object)]
#[oai(example, skip_serializing_if_is_none)]
pub struct Problem {
    /// `urn:aegis:problem:<code>`.
    #[oai(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Stable machine-readable code, e.g. `invalid_credentials`.
    pub code: String,
    /// The refused fields of a 422 `validation_failed`; absent otherwise.
    #[oai(default, skip_serializing_if_is_empty)]
    pub errors: Vec<FieldError>,
    /// The resource's state when a state-machine transition was refused.
    pub current_state: Option<String>,
    /// The resource's version when a stale update was refused.
    pub current_version: Option<i64>,
}

/// One refused field of a request and why.
#[derive(Debug, Clone, Object)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl poem_openapi::types::Example for Problem {
    fn example() -> Self {
        ApiError::invalid_field("name", "must be 1 to 100 characters")
            .problem()
            .clone()
    }
}

impl Problem {
    pub fn new(status: u16, code: &str, detail: impl Into<String>) -> Self {
        Self {
            kind: format!("urn:aegis:problem:{code}"),
            title: title(status).into(),
            status,
            detail: detail.into(),
            code: code.into(),
            errors: Vec::new(),
            current_state: None,
            current_version: None,
        }
    }
}

impl Problem {
    /// A problem for an error raised outside our handlers (routing, body
    /// parsing, size limits); the HTTP status stays what poem chose.
    pub fn for_status(status: u16, detail: &str) -> Self {
        match status {
            401 => Self::new(status, "unauthorized", detail),
            403 => Self::new(status, "forbidden", detail),
            404 => Self::new(status, "not_found", "no such resource"),
            405 => Self::new(
                status,
                "method_not_allowed",
                "method not allowed on this resource",
            ),
            413 => Self::new(status, "payload_too_large", "the request body is too large"),
            415 => Self::new(status, "unsupported_media_type", detail),
            400..=499 => Self::new(status, "invalid_request", detail),
            _ => Self::new(
                500,
                "internal_error",
                "an internal error occurred; it has been logged",
            ),
        }
    }
}

fn title(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        412 => "Precondition Failed",
        413 => "Payload Too Large",
        415 => "Unsupported Media Type",
        422 => "Unprocessable Content",
        429 => "Too Many Requests",
        503 => "Service Unavailable",
        500 => "Internal Server Error",
        other => poem::http::StatusCode::from_u16(other)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("Error"),
    }
}

#[derive(Debug, ApiResponse)]
pub enum ApiError {
    /// The request is malformed.
    #[oai(status = 400)]
    BadRequest(Json<Problem>),
    /// Missing, invalid, expired or revoked credentials.
    #[oai(status = 401)]
    Unauthorized(Json<Problem>),
    /// Authenticated, but the role or a CSRF check forbids this.
    #[oai(status = 403)]
    Forbidden(Json<Problem>),
    #[oai(status = 404)]
    NotFound(Json<Problem>),
    /// The request conflicts with the current state (duplicate, illegal transition).
    #[oai(status = 409)]
    Conflict(Json<Problem>),
    /// The `If-Match` version is not the current one: reload and retry.
    #[oai(status = 412)]
    PreconditionFailed(Json<Problem>),
    #[oai(status = 413)]
    PayloadTooLarge(Json<Problem>),
    /// The media type of an upload is not accepted.
    #[oai(status = 415)]
    UnsupportedMediaType(Json<Problem>),
    /// Well-formed but invalid values; `errors` names the fields.
    #[oai(status = 422)]
    Unprocessable(Json<Problem>),
    /// A change must say which version it is based on (`If-Match` or `version`).
    #[oai(status = 428)]
    PreconditionRequired(Json<Problem>),
    /// Slow down; retry after the given seconds.
    #[oai(status = 429)]
    TooManyRequests(Json<Problem>, #[oai(header = "Retry-After")] u64),
    #[oai(status = 500)]
    Internal(Json<Problem>),
    /// A dependency (database, key-value store, storage) is down; retry
    /// after the given seconds.
    #[oai(status = 503)]
    Unavailable(Json<Problem>, #[oai(header = "Retry-After")] u64),
}

pub type ApiResult<T> = Result<T, ApiError>;

/// How long a client waits before retrying after a 503.
pub const UNAVAILABLE_RETRY_AFTER_SECS: u64 = 5;

impl ApiError {
    pub fn bad_request(code: &str, detail: impl Into<String>) -> Self {
        Self::BadRequest(Json(Problem::new(400, code, detail)))
    }

    pub fn unauthorized(code: &str, detail: impl Into<String>) -> Self {
        Self::Unauthorized(Json(Problem::new(401, code, detail)))
    }

    pub fn forbidden(code: &str, detail: impl Into<String>) -> Self {
        Self::Forbidden(Json(Problem::new(403, code, detail)))
    }

    pub fn not_found(code: &str, detail: impl Into<String>) -> Self {
        Self::NotFound(Json(Problem::new(404, code, detail)))
    }

    pub fn conflict(code: &str, detail: impl Into<String>) -> Self {
        Self::Conflict(Json(Problem::new(409, code, detail)))
    }

    /// An illegal state-machine transition; the body names the current state.
    pub fn wrong_state(code: &str, detail: impl Into<String>, current_state: &str) -> Self {
        let mut problem = Problem::new(409, code, detail);
        problem.current_state = Some(current_state.to_owned());
        Self::Conflict(Json(problem))
    }

    /// A change based on an old version; the body names the current one.
    pub fn stale_version(detail: impl Into<String>, current_version: i64) -> Self {
        let mut problem = Problem::new(412, "stale_version", detail);
        problem.current_version = Some(current_version);
        Self::PreconditionFailed(Json(problem))
    }

    pub fn version_required(detail: impl Into<String>) -> Self {
        Self::PreconditionRequired(Json(Problem::new(428, "version_required", detail)))
    }

    pub fn unsupported_media_type(detail: impl Into<String>) -> Self {
        Self::UnsupportedMediaType(Json(Problem::new(415, "unsupported_media_type", detail)))
    }

    pub fn payload_too_large(detail: impl Into<String>) -> Self {
        Self::PayloadTooLarge(Json(Problem::new(413, "payload_too_large", detail)))
    }

    /// A single invalid field.
    pub fn invalid_field(field: &str, message: impl Into<String>) -> Self {
        Self::invalid(vec![FieldError::new(field, message)])
    }

    pub fn invalid(errors: Vec<FieldError>) -> Self {
        let detail = errors
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect::<Vec<_>>()
            .join("; ");
        let mut problem = Problem::new(422, "validation_failed", detail);
        problem.errors = errors;
        Self::Unprocessable(Json(problem))
    }

    /// A 422 with its own code, for input that is well formed but refused.
    pub fn unprocessable(code: &str, detail: impl Into<String>) -> Self {
        Self::Unprocessable(Json(Problem::new(422, code, detail)))
    }

    pub fn too_many_requests(detail: impl Into<String>, retry_after_secs: u64) -> Self {
        Self::TooManyRequests(
            Json(Problem::new(429, "too_many_requests", detail)),
            retry_after_secs.max(1),
        )
    }

    /// Logs `error` with its context and answers a 500 that reveals nothing.
    pub fn internal(context: &str, error: &dyn std::fmt::Display) -> Self {
        tracing::error!(context, error = %error, "internal error");
        Self::Internal(Json(Problem::new(
            500,
            "internal_error",
            "an internal error occurred; it has been logged",
        )))
    }

    /// A 503 with `Retry-After`: a dependency is down, the request may be
    /// retried as it is.
    pub fn unavailable(code: &str, detail: impl Into<String>) -> Self {
        Self::Unavailable(
            Json(Problem::new(503, code, detail)),
            UNAVAILABLE_RETRY_AFTER_SECS,
        )
    }

    /// A database error: a 503 when the database cannot be reached (the pool
    /// timed out or a connection broke), else a logged 500.
    pub fn database(context: &str, error: &sqlx::Error) -> Self {
        if crate::db::is_unavailable(error) {
            tracing::error!(context, error = %error, "database unavailable");
            Self::unavailable(
                "database_unavailable",
                "the database is unavailable; retry later (a change cut off as it was being committed may have been made)",
            )
        } else {
            Self::internal(context, error)
        }
    }

    /// A dependency that is down, logged with its context: a 503 `code`.
    pub fn dependency_down(context: &str, code: &str, error: &dyn std::fmt::Display) -> Self {
        tracing::error!(context, error = %error, "dependency unavailable");
        Self::unavailable(
            code,
            "a service Aegis depends on is unavailable; retry later",
        )
    }

    pub fn problem(&self) -> &Problem {
        match self {
            Self::BadRequest(p)
            | Self::Unauthorized(p)
            | Self::Forbidden(p)
            | Self::NotFound(p)
            | Self::Conflict(p)
            | Self::PreconditionFailed(p)
            | Self::PayloadTooLarge(p)
            | Self::UnsupportedMediaType(p)
            | Self::Unprocessable(p)
            | Self::PreconditionRequired(p)
            | Self::TooManyRequests(p, _)
            | Self::Internal(p)
            | Self::Unavailable(p, _) => &p.0,
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let p = self.problem();
        write!(f, "{} {}: {}", p.status, p.code, p.detail)
    }
}

impl From<crate::db::DbError> for ApiError {
    fn from(error: crate::db::DbError) -> Self {
        Self::internal("database", &error)
    }
}

/// A database error reached through `?`: a database that is unavailable
/// (pool exhausted past its acquire timeout, connection lost) is a 503 to
/// retry, as through [`ApiError::database`]; anything else a 500.
impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        Self::database("database", &error)
    }
}

impl From<crate::kv::KvError> for ApiError {
    fn from(error: crate::kv::KvError) -> Self {
        Self::dependency_down("key-value store", "key_value_unavailable", &error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unavailable_database_reached_through_question_mark_is_a_503() {
        let timed_out = ApiError::from(sqlx::Error::PoolTimedOut);
        assert_eq!(
            (
                timed_out.problem().status,
                timed_out.problem().code.as_str()
            ),
            (503, "database_unavailable")
        );
        let broken = ApiError::from(sqlx::Error::RowNotFound);
        assert_eq!(broken.problem().status, 500);
    }
}

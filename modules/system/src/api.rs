//! `/health`, `/health/ready`, `/api/v1/system/scheduler-status`, `/api/v1/audit`.

use aegis_core::audit::AuditFilter;
use aegis_core::auth::{AdminOnly, Auth};
use aegis_core::pagination::PageRequest;
use aegis_core::scheduler::JobRegistry;
use aegis_core::time::StorableTime;
use aegis_core::{ApiError, ApiResult, Kernel};
use chrono::{DateTime, Utc};
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi, Tags};

#[derive(Tags)]
enum SystemTag {
    /// Liveness and readiness probes.
    Health,
    /// Scheduler and audit log (admin).
    System,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct HealthStatus {
    /// `ok` or `unavailable`.
    pub status: String,
}

/// One dependency's answer to the readiness probe.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct DependencyCheck {
    /// `database`, `key_value` or `storage`.
    pub name: String,
    /// Which implementation answered (`sqlite`, `postgres`, `memory`, `redis`, `fs`, `s3`).
    pub kind: String,
    pub ok: bool,
    /// Present when the check failed: `unavailable` or `timed out` (the
    /// detail goes to the server's log).
    pub error: Option<String>,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct Readiness {
    pub status: String,
    pub checks: Vec<DependencyCheck>,
}

#[derive(ApiResponse)]
enum ReadinessResponse {
    /// Every dependency answered.
    #[oai(status = 200)]
    Ready(Json<Readiness>),
    /// At least one dependency failed; `checks` names it.
    #[oai(status = 503)]
    NotReady(Json<Readiness>),
}

pub struct HealthApi {
    pub kernel: Kernel,
}

#[OpenApi(prefix_path = "/health", tag = "SystemTag::Health")]
impl HealthApi {
    /// Liveness: the process answers.
    #[oai(path = "/", method = "get", operation_id = "health")]
    async fn health(&self) -> Json<HealthStatus> {
        Json(HealthStatus {
            status: "ok".into(),
        })
    }

    /// Readiness: database, key-value store and storage each answer.
    #[oai(path = "/ready", method = "get", operation_id = "health_ready")]
    async fn health_ready(&self) -> ReadinessResponse {
        let k = &self.kernel;
        let timeout = std::time::Duration::from_secs(5);
        let check =
            |name: &str,
             kind: &str,
             result: Result<Result<(), String>, tokio::time::error::Elapsed>| {
                // The detail (hosts, paths) goes to the log; anonymous callers see only that it failed.
                let error = match result {
                    Ok(Ok(())) => None,
                    Ok(Err(detail)) => {
                        tracing::warn!(dependency = name, error = detail, "readiness check failed");
                        Some("unavailable".to_owned())
                    }
                    Err(_) => {
                        tracing::warn!(dependency = name, "readiness check timed out");
                        Some("timed out".to_owned())
                    }
                };
                DependencyCheck {
                    name: name.into(),
                    kind: kind.into(),
                    ok: error.is_none(),
                    error,
                }
            };
        let (db, kv, storage) = tokio::join!(
            tokio::time::timeout(timeout, async {
                k.db.ping().await.map_err(|e| e.to_string())
            }),
            tokio::time::timeout(timeout, async {
                k.kv.ping().await.map_err(|e| e.to_string())
            }),
            tokio::time::timeout(timeout, async {
                k.storage.ping().await.map_err(|e| e.to_string())
            }),
        );
        let storage_kind = format!("{:?}", k.storage.kind()).to_lowercase();
        let checks = vec![
            check("database", k.db.backend().name(), db),
            check("key_value", k.kv.kind(), kv),
            check("storage", &storage_kind, storage),
        ];
        if checks.iter().all(|c| c.ok) {
            ReadinessResponse::Ready(Json(Readiness {
                status: "ok".into(),
                checks,
            }))
        } else {
            ReadinessResponse::NotReady(Json(Readiness {
                status: "unavailable".into(),
                checks,
            }))
        }
    }
}

/// A background job; the `last_*` fields are absent until it first runs.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct JobStatusView {
    pub id: String,
    pub description: String,
    /// Cron expression (seconds first); absent when the job is disabled.
    pub schedule: Option<String>,
    pub last_run_at: Option<DateTime<Utc>>,
    /// `succeeded` or `failed`.
    pub last_outcome: Option<String>,
    pub last_message: Option<String>,
    pub last_duration_ms: Option<i64>,
    /// Absent when the job is disabled.
    pub next_run_at: Option<DateTime<Utc>>,
}

/// One audit log entry.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none, example)]
pub struct AuditEventView {
    pub id: String,
    pub at: DateTime<Utc>,
    /// Absent for what the system did on its own (a scheduled job).
    pub actor_id: Option<String>,
    pub actor_name: Option<String>,
    /// `auth.login`, `user.create`, `test.transition`…
    pub action: String,
    /// The kind of object acted on (`user`, `test`), when there is one.
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    /// What changed; its shape depends on the action.
    pub detail: serde_json::Value,
    /// The client's address, for what a request did.
    pub address: Option<String>,
}

impl poem_openapi::types::Example for AuditEventView {
    fn example() -> Self {
        Self {
            id: "01936f5e-9c1d-7e2f-8a3b-4c5d6e7f8a9b".into(),
            at: DateTime::<Utc>::from_timestamp(1_764_547_200, 0).unwrap_or_default(),
            actor_id: Some("01936f5e-7a2c-7d4e-9b1a-3c5d7e9f0a1b".into()),
            actor_name: Some("admin".into()),
            action: "user.create".into(),
            target_type: Some("user".into()),
            target_id: Some("01936f5e-8b2d-7c3e-9f4a-5b6c7d8e9f0a".into()),
            detail: serde_json::json!({ "username": "alice", "role": "red_tech" }),
            address: Some("192.0.2.10".into()),
        }
    }
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct AuditPage {
    pub items: Vec<AuditEventView>,
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

pub struct SystemApi {
    pub kernel: Kernel,
    pub jobs: JobRegistry,
}

#[OpenApi(prefix_path = "/api/v1", tag = "SystemTag::System")]
#[allow(clippy::too_many_arguments)] // one argument per query parameter
impl SystemApi {
    /// Every background job: schedule, last run, outcome, duration and next run.
    #[oai(
        path = "/system/scheduler-status",
        method = "get",
        operation_id = "get_scheduler_status"
    )]
    async fn get_scheduler_status(
        &self,
        _auth: Auth<AdminOnly>,
    ) -> ApiResult<Json<Vec<JobStatusView>>> {
        let statuses = self.jobs.statuses(&self.kernel).await?;
        Ok(Json(
            statuses
                .into_iter()
                .map(|s| JobStatusView {
                    id: s.id,
                    description: s.description,
                    schedule: s.schedule,
                    last_run_at: s.last_started_at,
                    last_outcome: s.last_outcome,
                    last_message: s.last_message,
                    last_duration_ms: s.last_duration_ms,
                    next_run_at: s.next_run_at,
                })
                .collect(),
        ))
    }

    /// The audit log, newest first.
    #[oai(path = "/audit", method = "get", operation_id = "list_audit_events")]
    async fn list_audit_events(
        &self,
        _auth: Auth<AdminOnly>,
        /// Username or user id of the actor.
        actor: Query<Option<String>>,
        /// An action (`auth.login`) or a prefix ending in a dot (`user.`).
        action: Query<Option<String>>,
        since: Query<Option<StorableTime>>,
        until: Query<Option<StorableTime>>,
        /// Events about one kind of object (`user`, `test`); needs `target_id`.
        target_type: Query<Option<String>>,
        target_id: Query<Option<String>>,
        #[oai(validator(minimum(value = "1"), maximum(value = "500")))] limit: Query<Option<i64>>,
        #[oai(validator(minimum(value = "0")))] offset: Query<Option<i64>>,
    ) -> ApiResult<Json<AuditPage>> {
        let page = PageRequest::parse(limit.0, offset.0)?;
        let (since, until) = (since.0.map(|t| t.0), until.0.map(|t| t.0));
        // A time outside the stored form would compare wrongly as text.
        for (field, value) in [("since", since), ("until", until)] {
            if value.is_some_and(|t| !aegis_core::time::storable(t)) {
                return Err(ApiError::invalid_field(
                    field,
                    "must be between the years 1970 and 9999",
                ));
            }
        }
        if let (Some(s), Some(u)) = (since, until)
            && s > u
        {
            return Err(ApiError::invalid_field("since", "must not be after until"));
        }
        let target = match (target_type.0, target_id.0) {
            (Some(kind), Some(id)) => Some((kind, id)),
            (None, None) => None,
            _ => {
                return Err(ApiError::invalid_field(
                    "target_id",
                    "target_type and target_id go together",
                ));
            }
        };
        let filter = AuditFilter {
            actor: actor.0,
            action: action.0,
            since,
            until,
            target,
        };
        let (events, total) = self
            .kernel
            .audit
            .list(&filter, page.limit, page.offset)
            .await?;
        Ok(Json(AuditPage {
            items: events
                .into_iter()
                .map(|e| AuditEventView {
                    id: e.id,
                    at: e.at,
                    actor_id: e.entry.actor_id,
                    actor_name: e.entry.actor_name,
                    action: e.entry.action,
                    target_type: e.entry.target_type,
                    target_id: e.entry.target_id,
                    detail: e.entry.detail,
                    address: e.entry.address,
                })
                .collect(),
            total,
            limit: page.limit,
            offset: page.offset,
        }))
    }
}

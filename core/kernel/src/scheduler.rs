//! Background jobs. Modules declare [`JobSpec`]s; the kernel validates their
//! cron expressions (config may override one, an empty string disables it),
//! runs them on tokio-cron-scheduler, takes a key-value lock so that with
//! several replicas a tick runs once, and records each run for
//! `GET /api/v1/system/scheduler-status`.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use croner::Cron;
use croner::parser::{CronParser, Seconds};
use futures::future::BoxFuture;
use sqlx::Row;
use tokio_cron_scheduler::{Job, JobScheduler};

use crate::Kernel;
use crate::time::{self, Timestamp};

/// A job body: a plain async fn of the kernel that returns a short summary.
pub type JobFn = Arc<dyn Fn(Kernel) -> BoxFuture<'static, anyhow::Result<String>> + Send + Sync>;

#[derive(Clone)]
pub struct JobSpec {
    pub id: &'static str,
    /// Six fields, seconds first: `0 0 * * * *` is hourly.
    pub default_cron: &'static str,
    pub description: &'static str,
    pub run: JobFn,
}

impl JobSpec {
    pub fn new<F, Fut>(
        id: &'static str,
        default_cron: &'static str,
        description: &'static str,
        run: F,
    ) -> Self
    where
        F: Fn(Kernel) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = anyhow::Result<String>> + Send + 'static,
    {
        Self {
            id,
            default_cron,
            description,
            run: Arc::new(move |k| Box::pin(run(k))),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SchedulerError {
    #[error("two jobs share the id `{0}`")]
    DuplicateId(String),
    #[error("AEGIS_JOBS__{job}: invalid cron expression `{expr}` (six fields, seconds first)")]
    BadCron { job: String, expr: String },
    #[error("scheduler: {0}")]
    Runtime(String),
}

/// A registered job and its effective schedule (`None`: disabled).
#[derive(Clone)]
pub struct RegisteredJob {
    pub spec: JobSpec,
    pub schedule: Option<String>,
}

/// The status of one job for the scheduler-status endpoint.
#[derive(Debug, Clone)]
pub struct JobStatus {
    pub id: String,
    pub description: String,
    pub schedule: Option<String>,
    pub last_started_at: Option<Timestamp>,
    pub last_outcome: Option<String>,
    pub last_message: Option<String>,
    pub last_duration_ms: Option<i64>,
    pub next_run_at: Option<Timestamp>,
}

fn parse_cron(expr: &str) -> Option<Cron> {
    // The same parser settings tokio-cron-scheduler uses, so what validates here runs there.
    CronParser::builder()
        .seconds(Seconds::Required)
        .dom_and_dow(true)
        .build()
        .parse(expr)
        .ok()
}

/// Every job of every module, validated; shared with the status endpoint.
#[derive(Clone, Default)]
pub struct JobRegistry {
    jobs: Arc<Vec<RegisteredJob>>,
}

impl JobRegistry {
    pub fn new(
        specs: Vec<JobSpec>,
        overrides: &std::collections::BTreeMap<String, String>,
    ) -> Result<Self, SchedulerError> {
        let mut seen = BTreeSet::new();
        let mut jobs = Vec::new();
        for spec in specs {
            if !seen.insert(spec.id) {
                return Err(SchedulerError::DuplicateId(spec.id.into()));
            }
            let expr = overrides
                .get(spec.id)
                .map_or(spec.default_cron, String::as_str)
                .trim()
                .to_owned();
            let schedule = if expr.is_empty() {
                None
            } else {
                parse_cron(&expr).ok_or_else(|| SchedulerError::BadCron {
                    job: spec.id.to_ascii_uppercase(),
                    expr: expr.clone(),
                })?;
                Some(expr)
            };
            jobs.push(RegisteredJob { spec, schedule });
        }
        Ok(Self {
            jobs: Arc::new(jobs),
        })
    }

    pub fn jobs(&self) -> &[RegisteredJob] {
        &self.jobs
    }

    pub fn get(&self, id: &str) -> Option<&RegisteredJob> {
        self.jobs.iter().find(|j| j.spec.id == id)
    }

    /// Starts every enabled job; drop or `shutdown` the returned scheduler to stop.
    pub async fn start(&self, kernel: Kernel) -> Result<JobScheduler, SchedulerError> {
        let err =
            |e: tokio_cron_scheduler::JobSchedulerError| SchedulerError::Runtime(e.to_string());
        let scheduler = JobScheduler::new().await.map_err(err)?;
        for job in self.jobs.iter() {
            let Some(schedule) = job.schedule.clone() else {
                continue;
            };
            let cron = parse_cron(&schedule).ok_or_else(|| SchedulerError::BadCron {
                job: job.spec.id.to_ascii_uppercase(),
                expr: schedule.clone(),
            })?;
            let (spec, kernel) = (job.spec.clone(), kernel.clone());
            let cron_job = Job::new_async(schedule.as_str(), move |_, _| {
                let (spec, kernel) = (spec.clone(), kernel.clone());
                let fired = fire_time(&cron, chrono::Utc::now());
                Box::pin(async move {
                    run_tick(&kernel, &spec, fired).await;
                })
            })
            .map_err(err)?;
            scheduler.add(cron_job).await.map_err(err)?;
        }
        scheduler.start().await.map_err(err)?;
        Ok(scheduler)
    }

    /// Statuses in registration order, from the recorded runs.
    pub async fn statuses(&self, kernel: &Kernel) -> Result<Vec<JobStatus>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT job_id, last_started_at, last_outcome, last_message, last_duration_ms FROM kernel_job_status",
        )
        .fetch_all(kernel.db.pool())
        .await?;
        let now =
            chrono::DateTime::from_timestamp(chrono::Utc::now().timestamp(), 0).unwrap_or_default();
        let mut out = Vec::new();
        for job in self.jobs.iter() {
            let row = rows.iter().find(|r| {
                r.try_get::<String, _>("job_id")
                    .is_ok_and(|id| id == job.spec.id)
            });
            let started: Option<String> = row
                .and_then(|r| r.try_get("last_started_at").ok())
                .flatten();
            out.push(JobStatus {
                id: job.spec.id.into(),
                description: job.spec.description.into(),
                schedule: job.schedule.clone(),
                last_started_at: started.and_then(|s| time::from_db(&s).ok()),
                last_outcome: row.and_then(|r| r.try_get("last_outcome").ok()).flatten(),
                last_message: row.and_then(|r| r.try_get("last_message").ok()).flatten(),
                last_duration_ms: row
                    .and_then(|r| r.try_get("last_duration_ms").ok())
                    .flatten(),
                next_run_at: job
                    .schedule
                    .as_deref()
                    .and_then(parse_cron)
                    .and_then(|c| c.find_next_occurrence(&now, false).ok()),
            });
        }
        Ok(out)
    }
}

/// The scheduled instant a firing at `now` belongs to: the occurrence of
/// `cron` nearest to `now`. Replicas fire a tick within moments of it, each
/// by its own clock, a little late (or early), so they all name the same
/// instant as long as they are off by less than half the interval between
/// two ticks.
pub fn fire_time(cron: &Cron, now: Timestamp) -> Timestamp {
    // croner works in whole seconds: look back from the second `now` is in
    // (inclusive) and forward from it, then keep the nearer occurrence.
    let second = chrono::DateTime::from_timestamp(now.timestamp(), 0).unwrap_or(now);
    let previous = cron.find_previous_occurrence(&second, true).ok();
    let next = cron.find_next_occurrence(&second, false).ok();
    match (previous, next) {
        (Some(p), Some(n)) if n - now < now - p => n,
        (Some(p), _) => p,
        (None, Some(n)) => n,
        // Unreachable for a validated expression; whole seconds still agree
        // between replicas firing in the same second.
        (None, None) => second,
    }
}

/// One scheduled tick, the one scheduled at `fire_time` ([`fire_time`]):
/// take the cluster-wide lock for this job and this instant and, when this
/// replica got it, run and record the job. Returns whether it ran here.
pub async fn run_tick(kernel: &Kernel, spec: &JobSpec, fire_time: Timestamp) -> bool {
    let key = format!("job-lock:{}:{}", spec.id, fire_time.timestamp());
    match kernel
        .kv
        .set_if_absent(&key, "1", Duration::from_secs(600))
        .await
    {
        Ok(true) => {
            run_job(kernel, spec).await;
            true
        }
        Ok(false) => {
            tracing::debug!(job = spec.id, "another replica runs this tick");
            false
        }
        Err(error) => {
            tracing::error!(job = spec.id, %error, "cannot take the job lock; skipping this tick");
            false
        }
    }
}

/// Runs a job now and records it; returns whether it succeeded. Tests and
/// on-demand endpoints call this directly.
pub async fn run_job(kernel: &Kernel, spec: &JobSpec) -> bool {
    let started_at = time::now();
    let clock = Instant::now();
    let result = (spec.run)(kernel.clone()).await;
    let duration_ms = i64::try_from(clock.elapsed().as_millis()).unwrap_or(i64::MAX);
    let (outcome, message) = match &result {
        Ok(summary) => {
            tracing::info!(job = spec.id, duration_ms, summary, "job finished");
            ("succeeded", summary.clone())
        }
        Err(error) => {
            tracing::error!(job = spec.id, duration_ms, error = %format!("{error:#}"), "job failed");
            ("failed", format!("{error:#}"))
        }
    };
    let recorded = sqlx::query(
        "INSERT INTO kernel_job_status (job_id, last_started_at, last_outcome, last_message, last_duration_ms)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (job_id) DO UPDATE SET last_started_at = $2, last_outcome = $3, last_message = $4, last_duration_ms = $5",
    )
    .bind(spec.id)
    .bind(time::to_db(started_at))
    .bind(outcome)
    .bind(message)
    .bind(duration_ms)
    .execute(kernel.db.pool())
    .await;
    if let Err(error) = recorded {
        tracing::error!(job = spec.id, %error, "cannot record the job run");
    }
    result.is_ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        time::from_db(text).unwrap()
    }

    #[test]
    fn replicas_firing_one_tick_name_the_same_instant() {
        // A tick at seconds 5: the old 10 s rounding split exactly there.
        let cron = parse_cron("5 * * * * *").unwrap();
        let tick = at("2026-11-30T12:00:05Z");
        for now in [
            "2026-11-30T12:00:04.990Z",
            "2026-11-30T12:00:05Z",
            "2026-11-30T12:00:05.010Z",
            "2026-11-30T12:00:05.700Z",
            "2026-11-30T12:00:09.400Z",
            "2026-11-30T12:00:31Z",
        ] {
            assert_eq!(fire_time(&cron, at(now)), tick, "{now}");
        }
        assert_eq!(
            fire_time(&cron, at("2026-11-30T12:01:04.800Z")),
            at("2026-11-30T12:01:05Z"),
            "the next tick is another instant"
        );
        // Every 10 s, at 0, 10, 20...: late and early firings around 12:00:10.
        let cron = parse_cron("*/10 * * * * *").unwrap();
        for now in ["2026-11-30T12:00:09.990Z", "2026-11-30T12:00:10.600Z"] {
            assert_eq!(
                fire_time(&cron, at(now)),
                at("2026-11-30T12:00:10Z"),
                "{now}"
            );
        }
    }
}

-- Kernel tables: audit log and background job runs.
CREATE TABLE kernel_audit_event (
    id          TEXT PRIMARY KEY,
    at          TEXT NOT NULL,
    actor_id    TEXT,
    actor_name  TEXT,
    action      TEXT NOT NULL,
    target_type TEXT,
    target_id   TEXT,
    detail      TEXT NOT NULL DEFAULT 'null',
    address     TEXT
);
CREATE INDEX kernel_audit_event_at ON kernel_audit_event (at);
CREATE INDEX kernel_audit_event_action ON kernel_audit_event (action);

CREATE TABLE kernel_job_status (
    job_id           TEXT PRIMARY KEY,
    last_started_at  TEXT,
    last_outcome     TEXT,
    last_message     TEXT,
    last_duration_ms INTEGER
);

-- Alert rules, the alerts they open, and a record of every evaluation.
CREATE TABLE alerts_rule (
    id                 TEXT PRIMARY KEY,
    name               TEXT NOT NULL,
    kind               TEXT NOT NULL,
    params             TEXT NOT NULL,
    severity           TEXT NOT NULL,
    enabled            BIGINT NOT NULL,
    campaign_id        TEXT,
    tactic             TEXT,
    platform           TEXT,
    webhook_url        TEXT,
    webhook_secret     TEXT,
    last_evaluated_at  TEXT,
    last_error         TEXT,
    version            BIGINT NOT NULL,
    created_at         TEXT NOT NULL,
    created_by         TEXT NOT NULL,
    updated_at         TEXT NOT NULL,
    updated_by         TEXT NOT NULL
);

-- Alerts, evaluations and deliveries go with their rule, even one deleted
-- while it was being evaluated.
CREATE TABLE alerts_alert (
    id               TEXT PRIMARY KEY,
    rule_id          TEXT NOT NULL REFERENCES alerts_rule (id) ON DELETE CASCADE,
    fingerprint      TEXT NOT NULL,
    severity         TEXT NOT NULL,
    title            TEXT NOT NULL,
    message          TEXT NOT NULL,
    technique_ids    TEXT NOT NULL,
    test_ids         TEXT NOT NULL,
    status           TEXT NOT NULL,
    opened_at        TEXT NOT NULL,
    acknowledged_at  TEXT,
    acknowledged_by  TEXT,
    resolved_at      TEXT,
    resolved_by      TEXT
);
-- While an alert is open (or acknowledged) the same finding opens no other.
CREATE UNIQUE INDEX alerts_alert_open ON alerts_alert (rule_id, fingerprint) WHERE status <> 'resolved';
CREATE INDEX alerts_alert_inbox ON alerts_alert (status, opened_at);

CREATE TABLE alerts_evaluation (
    id           TEXT PRIMARY KEY,
    rule_id      TEXT NOT NULL REFERENCES alerts_rule (id) ON DELETE CASCADE,
    trigger_kind TEXT NOT NULL,
    started_at   TEXT NOT NULL,
    duration_ms  BIGINT NOT NULL,
    findings     BIGINT NOT NULL,
    opened       BIGINT NOT NULL,
    error        TEXT
);
CREATE INDEX alerts_evaluation_rule ON alerts_evaluation (rule_id, started_at);

CREATE TABLE alerts_delivery (
    id           TEXT PRIMARY KEY,
    rule_id      TEXT NOT NULL REFERENCES alerts_rule (id) ON DELETE CASCADE,
    alert_id     TEXT NOT NULL,
    attempts     BIGINT NOT NULL,
    status_code  BIGINT,
    delivered    BIGINT NOT NULL,
    error        TEXT,
    at           TEXT NOT NULL
);
CREATE INDEX alerts_delivery_rule ON alerts_delivery (rule_id, at);

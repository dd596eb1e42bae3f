-- Each user's notices, derived from the audit log; one per event and user,
-- so reading the log again stores nothing twice.
CREATE TABLE notifications_notice (
    id              TEXT PRIMARY KEY,
    user_id         TEXT NOT NULL,
    kind            TEXT NOT NULL,
    title           TEXT NOT NULL,
    test_id         TEXT,
    alert_id        TEXT,
    audit_event_id  TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    read_at         TEXT,
    -- E-mail: sent at, failed attempts, and the last failure.
    emailed_at      TEXT,
    email_attempts  BIGINT NOT NULL,
    email_error     TEXT
);
CREATE UNIQUE INDEX notifications_notice_event_user ON notifications_notice (audit_event_id, user_id);
CREATE INDEX notifications_notice_inbox ON notifications_notice (user_id, created_at);

-- How far the audit log has been read (the time of the newest event used).
CREATE TABLE notifications_cursor (
    name  TEXT PRIMARY KEY,
    at    TEXT NOT NULL
);

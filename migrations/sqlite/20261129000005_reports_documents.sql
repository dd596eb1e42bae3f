-- Generated reports: who asked for what, how far it got, where the file is.
CREATE TABLE reports_report (
    id            TEXT PRIMARY KEY,
    kind          TEXT NOT NULL,
    format        TEXT NOT NULL,
    title         TEXT NOT NULL,
    campaign_id   TEXT,
    platform      TEXT,
    status        TEXT NOT NULL,
    progress      BIGINT NOT NULL,
    error         TEXT,
    storage_key   TEXT,
    media_type    TEXT,
    file_name     TEXT,
    size_bytes    BIGINT,
    created_at    TEXT NOT NULL,
    created_by    TEXT NOT NULL,
    finished_at   TEXT
);
CREATE INDEX reports_report_created ON reports_report (created_at);

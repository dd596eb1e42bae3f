-- The ATT&CK catalog: tactics, techniques, releases and sync runs. Rows are
-- never deleted (tests point at them): they are marked revoked, deprecated
-- or missing from the latest release.
CREATE TABLE techniques_tactic (
    domain         TEXT NOT NULL,
    attack_id      TEXT NOT NULL,
    stix_id        TEXT NOT NULL,
    short_name     TEXT NOT NULL,
    name           TEXT NOT NULL,
    description    TEXT NOT NULL,
    url            TEXT,
    matrix_order   INTEGER NOT NULL,
    deprecated     INTEGER NOT NULL DEFAULT 0,
    modified       TEXT NOT NULL,
    missing_since  TEXT,
    PRIMARY KEY (domain, attack_id)
);

CREATE TABLE techniques_technique (
    domain            TEXT NOT NULL,
    attack_id         TEXT NOT NULL,
    stix_id           TEXT NOT NULL,
    name              TEXT NOT NULL,
    description       TEXT NOT NULL,
    detection         TEXT NOT NULL,
    tactics           TEXT NOT NULL,
    platforms         TEXT NOT NULL,
    data_sources      TEXT NOT NULL,
    url               TEXT,
    version           TEXT,
    created           TEXT NOT NULL,
    modified          TEXT NOT NULL,
    is_subtechnique   INTEGER NOT NULL,
    parent_attack_id  TEXT,
    revoked           INTEGER NOT NULL,
    revoked_by        TEXT,
    deprecated        INTEGER NOT NULL,
    missing_since     TEXT,
    PRIMARY KEY (domain, attack_id)
);
CREATE INDEX techniques_technique_parent ON techniques_technique (domain, parent_attack_id);

CREATE TABLE techniques_release (
    domain             TEXT PRIMARY KEY,
    source             TEXT NOT NULL,
    version            TEXT NOT NULL,
    modified           TEXT NOT NULL,
    etag               TEXT,
    last_modified      TEXT,
    synced_at          TEXT NOT NULL
);

CREATE TABLE techniques_sync_run (
    id               TEXT PRIMARY KEY,
    started_at       TEXT NOT NULL,
    finished_at      TEXT,
    status           TEXT NOT NULL,
    trigger_kind     TEXT NOT NULL,
    domain           TEXT NOT NULL,
    source           TEXT NOT NULL,
    release_version  TEXT,
    added            INTEGER NOT NULL DEFAULT 0,
    updated          INTEGER NOT NULL DEFAULT 0,
    revoked          INTEGER NOT NULL DEFAULT 0,
    deprecated       INTEGER NOT NULL DEFAULT 0,
    missing          INTEGER NOT NULL DEFAULT 0,
    error            TEXT
);
CREATE INDEX techniques_sync_run_started ON techniques_sync_run (started_at);

-- Tests, their tags and transitions, evidence files and test templates.
-- Ids and times are TEXT (RFC 3339 UTC); tags live in their own table so a
-- tag filter is an exact, indexed match on both backends.
CREATE TABLE tests_test (
    id                 TEXT PRIMARY KEY,
    name               TEXT NOT NULL,
    technique_domain   TEXT NOT NULL,
    technique_id       TEXT NOT NULL,
    campaign_id        TEXT,
    template_id        TEXT,
    procedure          TEXT NOT NULL,
    platform           TEXT,
    target_host        TEXT,
    red_assignee_id    TEXT,
    blue_assignee_id   TEXT,
    state              TEXT NOT NULL,
    executed_at        TEXT,
    attack_outcome     TEXT,
    red_notes          TEXT NOT NULL,
    detection_outcome  TEXT,
    detected_at        TEXT,
    detection_source   TEXT,
    blue_notes         TEXT NOT NULL,
    -- Set by the transitions, for the time a test spends in blue review.
    submitted_at       TEXT,
    completed_at       TEXT,
    -- Kept by the repository for KPIs, so no aggregate parses times, in
    -- milliseconds: detected_at - executed_at of a detected test, and
    -- completed_at - submitted_at.
    ttd_ms             INTEGER,
    review_ms          INTEGER,
    -- Kept by the repository for coverage: the procedure a test repeats (its
    -- template, else a hash of its procedure text) and when it ran (executed_at,
    -- else created_at).
    procedure_key      TEXT NOT NULL,
    ran_at             TEXT NOT NULL,
    version            INTEGER NOT NULL,
    created_at         TEXT NOT NULL,
    created_by         TEXT NOT NULL,
    updated_at         TEXT NOT NULL,
    updated_by         TEXT NOT NULL
);
CREATE INDEX tests_test_state ON tests_test (state);
CREATE INDEX tests_test_technique ON tests_test (technique_domain, technique_id);
CREATE INDEX tests_test_campaign ON tests_test (campaign_id);
CREATE INDEX tests_test_created ON tests_test (created_at);

CREATE TABLE tests_test_tag (
    test_id  TEXT NOT NULL REFERENCES tests_test (id) ON DELETE CASCADE,
    tag      TEXT NOT NULL,
    PRIMARY KEY (test_id, tag)
);
CREATE INDEX tests_test_tag_tag ON tests_test_tag (tag);

CREATE TABLE tests_transition (
    id          TEXT PRIMARY KEY,
    test_id     TEXT NOT NULL REFERENCES tests_test (id) ON DELETE CASCADE,
    transition  TEXT NOT NULL,
    from_state  TEXT NOT NULL,
    to_state    TEXT NOT NULL,
    actor_id    TEXT NOT NULL,
    actor_name  TEXT NOT NULL,
    at          TEXT NOT NULL
);
CREATE INDEX tests_transition_test ON tests_transition (test_id, at);

CREATE TABLE tests_evidence (
    id                TEXT PRIMARY KEY,
    test_id           TEXT NOT NULL REFERENCES tests_test (id) ON DELETE CASCADE,
    side              TEXT NOT NULL,
    file_name         TEXT NOT NULL,
    media_type        TEXT NOT NULL,
    size_bytes        INTEGER NOT NULL,
    sha256            TEXT NOT NULL,
    storage_key       TEXT NOT NULL UNIQUE,
    description       TEXT NOT NULL,
    uploaded_by_id    TEXT NOT NULL,
    uploaded_by_name  TEXT NOT NULL,
    uploaded_at       TEXT NOT NULL
);
CREATE INDEX tests_evidence_test ON tests_evidence (test_id, uploaded_at);

CREATE TABLE tests_template (
    id                  TEXT PRIMARY KEY,
    name                TEXT NOT NULL,
    description         TEXT NOT NULL,
    technique_domain    TEXT NOT NULL,
    technique_id        TEXT NOT NULL,
    platforms           TEXT NOT NULL,
    executor            TEXT,
    command             TEXT NOT NULL,
    cleanup_command     TEXT,
    elevation_required  INTEGER NOT NULL,
    input_arguments     TEXT NOT NULL,
    source              TEXT NOT NULL,
    external_id         TEXT UNIQUE,
    content_hash        TEXT NOT NULL,
    version             INTEGER NOT NULL,
    created_at          TEXT NOT NULL,
    created_by          TEXT NOT NULL,
    updated_at          TEXT NOT NULL,
    updated_by          TEXT NOT NULL
);
CREATE INDEX tests_template_technique ON tests_template (technique_domain, technique_id);

-- Campaigns group tests; coverage snapshots freeze coverage and KPIs.
CREATE TABLE campaigns_campaign (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    description   TEXT NOT NULL,
    threat_actor  TEXT,
    status        TEXT NOT NULL,
    starts_on     TEXT,
    ends_on       TEXT,
    source        TEXT NOT NULL,
    version       INTEGER NOT NULL,
    created_at    TEXT NOT NULL,
    created_by    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    updated_by    TEXT NOT NULL,
    activated_at  TEXT,
    completed_at  TEXT
);
CREATE INDEX campaigns_campaign_status ON campaigns_campaign (status, created_at);

CREATE TABLE coverage_snapshot (
    id            TEXT PRIMARY KEY,
    taken_at      TEXT NOT NULL,
    trigger_kind  TEXT NOT NULL,
    campaign_id   TEXT,
    scope         TEXT NOT NULL,
    kpis          TEXT NOT NULL,
    statuses      TEXT NOT NULL
);
CREATE INDEX coverage_snapshot_taken ON coverage_snapshot (taken_at);
CREATE INDEX coverage_snapshot_scope ON coverage_snapshot (scope, taken_at);

-- Coverage ranks completed tests per technique and procedure, latest first:
-- in this order, and covering, the ranking needs no sort and no table reads.
CREATE INDEX tests_test_latest ON tests_test
    (state, technique_domain, technique_id, procedure_key, ran_at DESC, updated_at DESC, id DESC, detection_outcome);

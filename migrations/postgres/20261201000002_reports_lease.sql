-- A report being generated (queued or running) holds a lease on its row: the
-- process generating it (lease_owner) renews lease_expires_at with a
-- heartbeat. The stale_report_sweep job fails those whose lease ran out,
-- instead of every report asked for more than 30 minutes ago.
ALTER TABLE reports_report ADD COLUMN lease_owner TEXT;
ALTER TABLE reports_report ADD COLUMN lease_expires_at TEXT;

-- Reports a stopped server left unfinished before leases existed.
UPDATE reports_report
SET status = 'failed',
    finished_at = to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
    error = 'interrupted: the server generating it stopped before this upgrade; generate it again'
WHERE status IN ('queued', 'running');

CREATE INDEX reports_report_unfinished ON reports_report (lease_expires_at)
    WHERE status IN ('queued', 'running');

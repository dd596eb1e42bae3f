-- A running sync holds a lease on its own row: the process running it
-- (lease_owner) renews lease_expires_at with a heartbeat. A run whose lease
-- ran out lost its process; the next sync, or the stale_sync_sweep job,
-- records it as failed and interrupted.
ALTER TABLE techniques_sync_run ADD COLUMN lease_owner TEXT;
ALTER TABLE techniques_sync_run ADD COLUMN lease_expires_at TEXT;

-- Runs a crash left running before leases existed can never finish (and
-- several of them would break the index below).
UPDATE techniques_sync_run
SET status = 'failed',
    finished_at = strftime('%Y-%m-%dT%H:%M:%f', 'now') || '000Z',
    error = 'interrupted: the server running it stopped before this upgrade'
WHERE status = 'running';

-- One running sync at a time, across replicas: the database decides, not a
-- lock in Redis that a crash left standing for its whole TTL.
CREATE UNIQUE INDEX techniques_sync_run_one_running ON techniques_sync_run (status)
    WHERE status = 'running';

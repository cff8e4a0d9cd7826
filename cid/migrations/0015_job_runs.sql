-- Issue 22: the daily jobs (the stuck-case sweep, the retention purge) run as workflows on
-- Temporal Schedules (casework/schedules.py, workflows/jobs.py); each run's result is a
-- row here, which operators list (casework jobs, GET /ops/jobs). One row per run, keyed by
-- the run's workflow ID (a retried activity writes it once). No personal data: counts by
-- reason, example case IDs, seconds.
CREATE TABLE job_runs (
    id          bigserial PRIMARY KEY,
    job         text        NOT NULL,
    run_key     text        NOT NULL UNIQUE,
    started_at  timestamptz NOT NULL,
    finished_at timestamptz NOT NULL,
    outcome     text        NOT NULL CHECK (outcome IN ('ok', 'failed')),
    summary     jsonb       NOT NULL DEFAULT '{}'
);
CREATE INDEX job_runs_job_idx ON job_runs (job, finished_at DESC);

-- The worker writes them (its jobs' activities); the API and operators read them.
GRANT SELECT, INSERT ON job_runs TO casework_worker;
GRANT USAGE ON SEQUENCE job_runs_id_seq TO casework_worker;
GRANT SELECT ON job_runs TO casework_api;

-- Retention (docs/privacy.md): a closed case past the retention period has its personal
-- data purged from the CID; the case row, its outcome and the audit log remain.
-- NULL: not purged yet. Set once, by the purge that did it.
ALTER TABLE cases ADD COLUMN personal_data_purged_at timestamptz;
CREATE INDEX cases_retention_idx ON cases (closed_at)
    WHERE status = 'closed' AND personal_data_purged_at IS NULL;

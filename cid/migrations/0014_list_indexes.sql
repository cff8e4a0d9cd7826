-- casework: no transaction
-- Issue 22: the lists, the case page, the dashboard and the sweep stay as fast at a
-- million cases as at ten thousand. Each index's reason is in docs/performance.md
-- ("Indexes"); the scale benchmark (python -m bench --only scale) checks every
-- user-facing query's plan against them.
--
-- CONCURRENTLY: a live CID keeps taking writes while each index is built (a plain CREATE
-- INDEX would block every case's activities for the minutes it takes on a large CID).
-- PostgreSQL refuses CONCURRENTLY inside a transaction, so this file runs statement by
-- statement (cid/db.py, NO_TRANSACTION). A build that failed half-way leaves an INVALID
-- index: each is dropped first, so running the file again after a failure mends it.

-- The case list, newest first (ORDER BY opened_at DESC, id DESC), unfiltered or by scope.
DROP INDEX CONCURRENTLY IF EXISTS cases_opened_idx;
CREATE INDEX CONCURRENTLY cases_opened_idx ON cases (opened_at, id);

-- The case list by stage (supersedes 0001's cases_stage_idx, its prefix).
DROP INDEX CONCURRENTLY IF EXISTS cases_stage_opened_idx;
CREATE INDEX CONCURRENTLY cases_stage_opened_idx ON cases (stage, opened_at, id);
DROP INDEX CONCURRENTLY IF EXISTS cases_stage_idx;

-- The case list by team and by owner (the API matches both without regard to case).
DROP INDEX CONCURRENTLY IF EXISTS cases_team_opened_idx;
CREATE INDEX CONCURRENTLY cases_team_opened_idx ON cases (lower(team), opened_at, id);
DROP INDEX CONCURRENTLY IF EXISTS cases_owner_opened_idx;
CREATE INDEX CONCURRENTLY cases_owner_opened_idx ON cases (lower(case_owner), opened_at, id)
    WHERE case_owner IS NOT NULL;

-- The case list's "overdue" (only cases not closed), and the sweep's pages of open cases.
DROP INDEX CONCURRENTLY IF EXISTS cases_open_opened_idx;
CREATE INDEX CONCURRENTLY cases_open_opened_idx ON cases (opened_at, id) WHERE status <> 'closed';
DROP INDEX CONCURRENTLY IF EXISTS cases_open_id_idx;
CREATE INDEX CONCURRENTLY cases_open_id_idx ON cases (id) WHERE status <> 'closed';

-- The task inbox, soonest due first (ORDER BY due_at, id), over open tasks only; the
-- sweep's overdue range (due_at < now).
DROP INDEX CONCURRENTLY IF EXISTS tasks_open_due_idx;
CREATE INDEX CONCURRENTLY tasks_open_due_idx ON tasks (due_at, id) WHERE status = 'open';

-- The inbox by team, and by team and kind; the dashboard's per-kind counts (supersedes
-- 0001's tasks_open_idx on (team, due_at)).
DROP INDEX CONCURRENTLY IF EXISTS tasks_open_team_due_idx;
CREATE INDEX CONCURRENTLY tasks_open_team_due_idx ON tasks (team, due_at, id) WHERE status = 'open';
DROP INDEX CONCURRENTLY IF EXISTS tasks_open_team_kind_idx;
CREATE INDEX CONCURRENTLY tasks_open_team_kind_idx ON tasks (team, kind, due_at, id) WHERE status = 'open';
DROP INDEX CONCURRENTLY IF EXISTS tasks_open_idx;

-- The inbox by kind alone, and by assignee.
DROP INDEX CONCURRENTLY IF EXISTS tasks_open_kind_idx;
CREATE INDEX CONCURRENTLY tasks_open_kind_idx ON tasks (kind, due_at, id) WHERE status = 'open';
DROP INDEX CONCURRENTLY IF EXISTS tasks_open_assignee_idx;
CREATE INDEX CONCURRENTLY tasks_open_assignee_idx ON tasks (assignee, due_at, id)
    WHERE status = 'open' AND assignee IS NOT NULL;

-- The inbox's unassigned queue and the dashboard's unassigned count (by team, soonest due).
DROP INDEX CONCURRENTLY IF EXISTS tasks_open_unassigned_idx;
CREATE INDEX CONCURRENTLY tasks_open_unassigned_idx ON tasks (team, due_at, id) WHERE status = 'open' AND assignee IS NULL;

-- The dashboard's oldest waiting (by team).
DROP INDEX CONCURRENTLY IF EXISTS tasks_open_team_created_idx;
CREATE INDEX CONCURRENTLY tasks_open_team_created_idx ON tasks (team, created_at) WHERE status = 'open';

-- Escalated open tasks by due time: the "overdue" filter's second range (escalated ahead of
-- the due time, a hand edit: none past now in a healthy CID) for the inbox and the dashboard.
DROP INDEX CONCURRENTLY IF EXISTS tasks_open_escalated_idx;
CREATE INDEX CONCURRENTLY tasks_open_escalated_idx ON tasks (due_at, id) WHERE status = 'open' AND overdue;

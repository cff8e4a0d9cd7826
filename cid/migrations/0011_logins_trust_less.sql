-- Issue 25 (item 10): the CID's logins trust their callers less (tests/test_cid_logins.py).
--
-- 1. The API's login no longer reads tasks.outcome_details: free text people typed with an
--    outcome (convictions, charges, whereabouts), read without an R60 record. It reads
--    every other column of tasks (the read model lists none of the details).
-- 2. A settled task's record is final, for every login: its status, outcome, details,
--    completer and completion time are not rewritten (the worker's login could rewrite
--    completed_by on a finished task). Retention may only clear the details (R60 purge),
--    and the overdue mark may move.
-- 3. The worker's login appends to the audit log only the actions of the case's own
--    record: not a personal-data read, a claim, an unclaim or an assignment - those are
--    written with the request that made them, by the owner's functions the API calls
--    (0008, 0009), so a forged "personal data read" by an auditor cannot be inserted.
--    Row-level security, for casework_worker only (the owner, and its functions, bypass it).

DO $$
DECLARE
    columns text;
BEGIN
    SELECT string_agg(quote_ident(column_name), ', ' ORDER BY ordinal_position) INTO columns
    FROM information_schema.columns
    WHERE table_schema = current_schema() AND table_name = 'tasks' AND column_name <> 'outcome_details';
    REVOKE SELECT ON tasks FROM casework_api;
    EXECUTE format('GRANT SELECT (%s) ON tasks TO casework_api', columns);
END $$;

CREATE FUNCTION casework_settled_task_is_final() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status <> 'open' AND (
        NEW.status IS DISTINCT FROM OLD.status OR NEW.outcome IS DISTINCT FROM OLD.outcome
        OR NEW.completed_by IS DISTINCT FROM OLD.completed_by OR NEW.completed_at IS DISTINCT FROM OLD.completed_at
        OR (NEW.outcome_details IS DISTINCT FROM OLD.outcome_details AND NEW.outcome_details IS NOT NULL)) THEN
        RAISE EXCEPTION 'task % is settled (%): its record is final', OLD.id, OLD.status
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER tasks_settled_are_final BEFORE UPDATE ON tasks
    FOR EACH ROW EXECUTE FUNCTION casework_settled_task_is_final();

ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY;
CREATE POLICY worker_reads ON audit_log FOR SELECT TO casework_worker USING (true);
CREATE POLICY worker_appends_the_cases_own_record ON audit_log FOR INSERT TO casework_worker
    WITH CHECK (action NOT IN ('personal data read', 'task claimed', 'task unclaimed', 'task assigned'));

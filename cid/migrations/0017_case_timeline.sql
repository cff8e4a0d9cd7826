-- Issue 21 (the web inbox's case page): a case's timeline from the audit log, for the
-- API's login, without personal data (cid/inbox_reads.py ``timeline``).
--
-- casework_api holds no grant on audit_log (0005): its detail column carries what people
-- typed (reasons, R60 reasons) and what messages said. This owner's function returns only
-- the when, who and what of each entry and a fixed list of the detail's keys that name the
-- process's own things (stage, task, outcome, rule, purpose, recipient, form), never free
-- text. Fixed search_path, EXECUTE revoked from PUBLIC and granted to casework_api only.
CREATE FUNCTION api_case_timeline(p_case_id text, p_limit int)
RETURNS TABLE (id bigint, occurred_at timestamptz, actor text, action text, stage text, task_key text,
               kind text, team text, outcome text, rule text, purpose text, recipient text, form text)
LANGUAGE sql STABLE SECURITY DEFINER AS $$
    SELECT a.id, a.occurred_at, a.actor, a.action,
           a.detail->>'stage', coalesce(a.detail->>'task_key', a.detail->>'task'), a.detail->>'kind', a.detail->>'team',
           a.detail->>'outcome',
           a.detail->>'rule', a.detail->>'purpose', a.detail->>'recipient', a.detail->>'form'
    FROM audit_log a
    WHERE a.case_id = p_case_id
    ORDER BY a.occurred_at DESC, a.id DESC
    LIMIT least(greatest(p_limit, 1), 500)
$$;
DO $$
BEGIN
    EXECUTE format('ALTER FUNCTION api_case_timeline(text, int) SET search_path = %I, pg_temp', current_schema());
END $$;
REVOKE ALL ON FUNCTION api_case_timeline(text, int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api_case_timeline(text, int) TO casework_api;

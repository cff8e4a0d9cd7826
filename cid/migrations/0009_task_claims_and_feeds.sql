-- Issue 15, the API's tasks and feeds (api/routes/tasks.py, api/routes/feeds.py;
-- tests/test_cid_logins.py holds the grants decided here).
--
-- Claims and assignments. The API's login gets neither UPDATE on tasks nor INSERT on the
-- audit log: either would let it write what no request did (any column's worth of
-- assignee, or an audit row of any action - a forged R60 read, say). It gets one owner's
-- function instead, which changes a task's assignee only as a claim, an unclaim or an
-- assignment does, and only together with that change's audit row under the actor:
-- conditional on the task being open and held by whom the caller's policy decision
-- assumed, so two claims at once have one winner and a claim that meets the worker's
-- completion (or the case's closure) changes nothing. The workflow's worker still owns
-- status, outcome and completion.
CREATE FUNCTION casework_change_assignee(task bigint, expected text, assignee_to text, actor text, action text)
RETURNS boolean LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    changed record;
BEGIN
    IF action NOT IN ('task claimed', 'task unclaimed', 'task assigned')
       OR (action = 'task claimed' AND (expected IS NOT NULL OR assignee_to IS DISTINCT FROM actor))
       OR (action = 'task unclaimed' AND (expected IS NULL OR assignee_to IS NOT NULL))
       OR (action = 'task assigned' AND assignee_to IS NULL)
       OR actor IS NULL OR length(actor) NOT BETWEEN 2 AND 64 THEN
        RAISE EXCEPTION 'not a claim, unclaim or assignment' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    UPDATE tasks t SET assignee = assignee_to
        WHERE t.id = task AND t.status = 'open' AND t.assignee IS NOT DISTINCT FROM expected
        RETURNING t.case_id, t.task_key, t.kind INTO changed;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    INSERT INTO audit_log (case_id, event_key, actor, action, detail, occurred_at)
        VALUES (changed.case_id, 'task-holder:' || changed.task_key || ':' || gen_random_uuid()::text, actor, action,
                jsonb_build_object('task_key', changed.task_key, 'kind', changed.kind,
                                   'assignee', assignee_to, 'before', expected),
                clock_timestamp());
    RETURN true;
END $$;
REVOKE ALL ON FUNCTION casework_change_assignee(bigint, text, text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION casework_change_assignee(bigint, text, text, text, text) TO casework_api;
CREATE INDEX tasks_assignee_idx ON tasks (assignee) WHERE status = 'open' AND assignee IS NOT NULL;

-- Outbound message feeds: who acknowledged a message, and when. The first acknowledgement
-- stands; a repeat changes nothing (ON CONFLICT on the key, which SELECT covers). Only the
-- API writes here (the recipients act through it); the worker has nothing to do with it.
CREATE TABLE feed_acknowledgements (
    message_id      bigint PRIMARY KEY REFERENCES outbound_messages(id),
    acknowledged_by text        NOT NULL,
    acknowledged_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
GRANT SELECT, INSERT ON feed_acknowledgements TO casework_api;
-- A feed is read oldest first by recipient (keyset on the message ID).
CREATE INDEX outbound_messages_feed_idx ON outbound_messages (recipient, id);

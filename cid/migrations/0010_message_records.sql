-- Issue 15, messages sent asynchronously (POST /cases/{id}/events/{kind} with
-- "Prefer: respond-async", then GET /cases/{id}/events/{kind}/{event_id}; docs/api.md).
--
-- The sender reads back what the case did: the audit row the case's record_message activity
-- writes under the message's key (casework/keys.py event_key). The API's login gets no
-- SELECT on audit_log, not even of some columns: a column grant would open every row of
-- every case (when personal data was read and for what action, who held which task), where
-- the API needs only the rows of messages. It gets this owner's function instead: one
-- case's rows whose key is a message's (prefix 'event-'), and of those only the action and
-- when - never the actor or the detail (the message's content and its hash).
CREATE FUNCTION casework_message_record(p_case_id text, p_event_key text)
RETURNS TABLE (action text, occurred_at timestamptz) LANGUAGE sql STABLE SECURITY DEFINER AS $$
    SELECT a.action, a.occurred_at FROM audit_log a
     WHERE a.case_id = p_case_id AND a.event_key = p_event_key AND starts_with(p_event_key, 'event-')
$$;
-- A definer function runs on a fixed path (as 0009's): the schema migrated into, then pg_temp.
DO $$
BEGIN
    EXECUTE format('ALTER FUNCTION casework_message_record(text, text) SET search_path = %I, pg_temp',
                   current_schema());
END $$;
REVOKE ALL ON FUNCTION casework_message_record(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION casework_message_record(text, text) TO casework_api;

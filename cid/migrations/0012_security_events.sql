-- Issue 25 (item 4): every refused attempt at the API is recorded - each 401 and 403, and
-- a refusal by the case's own check (NotPermitted) - as a security event auditors read
-- (GET /audit/security-events, the policy's read_audit). Who (the verified subject, when
-- there is one), what (the action), on what (the resource: a case or task ID, a feed; no
-- personal data), why (the reason's code and sentence), when, and the request's ID. Never
-- a token, never a body.
--
-- Append-only for everyone, as the audit log: a trigger refuses UPDATE, DELETE and
-- TRUNCATE, and the API's login may only INSERT and SELECT (the worker: nothing).
CREATE TABLE security_events (
    id bigserial PRIMARY KEY,
    occurred_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    request_id text NOT NULL CHECK (length(request_id) BETWEEN 1 AND 64),
    status int NOT NULL CHECK (status IN (401, 403, 429)),
    subject text CHECK (length(subject) <= 64),
    action text NOT NULL CHECK (length(action) <= 64),
    resource text NOT NULL CHECK (length(resource) <= 200),
    reason_code text NOT NULL CHECK (length(reason_code) <= 64),
    reason text NOT NULL CHECK (length(reason) <= 500)
);
CREATE INDEX security_events_subject ON security_events (subject, occurred_at);

CREATE FUNCTION security_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'security_events is append-only' USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER security_events_no_change BEFORE UPDATE OR DELETE ON security_events
    FOR EACH ROW EXECUTE FUNCTION security_events_append_only();
CREATE TRIGGER security_events_no_truncate BEFORE TRUNCATE ON security_events
    FOR EACH STATEMENT EXECUTE FUNCTION security_events_append_only();

GRANT INSERT, SELECT ON security_events TO casework_api;
GRANT USAGE ON SEQUENCE security_events_id_seq TO casework_api;

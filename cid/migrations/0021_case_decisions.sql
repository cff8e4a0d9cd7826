-- Issue 20: every decision a case takes, as it takes it (casework/decisions.py): which rule,
-- what it decided, the facts that made it and the sentence its template rendered.
--
-- One row per (case, step): the workflow's record_decision activity is idempotent by it.
-- ``facts`` holds what the trail shows (categories and process dates); ``personal`` the
-- values of the facts that describe the person (nationality, release date, conviction
-- categories), read only through a recorded R60 read and cleared by the retention purge.
CREATE TABLE case_decisions (
    id          bigserial PRIMARY KEY,
    case_id     text NOT NULL,
    step        text NOT NULL,
    rule        text NOT NULL CHECK (rule ~ '^R[0-9]{2}$'),
    outcome     text NOT NULL,
    subject     text,
    sentence    text NOT NULL,
    facts       jsonb NOT NULL DEFAULT '[]',
    personal    jsonb NOT NULL DEFAULT '{}',
    actor       text NOT NULL,
    decided_at  timestamptz NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    UNIQUE (case_id, step)
);
CREATE INDEX case_decisions_rule ON case_decisions (rule, decided_at);

GRANT INSERT, SELECT (id, case_id, step) ON case_decisions TO casework_worker;
GRANT UPDATE (personal) ON case_decisions TO casework_worker;  -- the retention purge clears it
GRANT USAGE ON SEQUENCE case_decisions_id_seq TO casework_worker;

-- The API reads a case's decisions through this owner's function: never the personal values.
CREATE FUNCTION casework_case_decisions(p_case_id text)
RETURNS TABLE (id bigint, step text, rule text, outcome text, subject text, sentence text, facts jsonb,
               actor text, decided_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER AS $$
    SELECT d.id, d.step, d.rule, d.outcome, d.subject, d.sentence, d.facts, d.actor, d.decided_at
      FROM case_decisions d WHERE d.case_id = p_case_id ORDER BY d.decided_at, d.id
$$;
DO $$
BEGIN
    EXECUTE format('ALTER FUNCTION casework_case_decisions(text) SET search_path = %I, pg_temp', current_schema());
END $$;
REVOKE ALL ON FUNCTION casework_case_decisions(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION casework_case_decisions(text) TO casework_api;

-- Auditors read every case's decisions, filtered and paged by ID (GET /audit/decisions):
-- the same columns, never the personal values.
CREATE FUNCTION casework_decisions_page(p_after bigint, p_limit int, p_case_id text, p_rule text, p_actor text,
                                        p_since timestamptz)
RETURNS TABLE (id bigint, case_id text, step text, rule text, outcome text, subject text, sentence text, facts jsonb,
               actor text, decided_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER AS $$
    SELECT d.id, d.case_id, d.step, d.rule, d.outcome, d.subject, d.sentence, d.facts, d.actor, d.decided_at
      FROM case_decisions d
     WHERE d.id > p_after
       AND (p_case_id IS NULL OR d.case_id = p_case_id)
       AND (p_rule IS NULL OR d.rule = p_rule)
       AND (p_actor IS NULL OR d.actor = p_actor)
       AND (p_since IS NULL OR d.decided_at >= p_since)
     ORDER BY d.id LIMIT least(p_limit, 500)
$$;
DO $$
BEGIN
    EXECUTE format('ALTER FUNCTION casework_decisions_page(bigint, int, text, text, text, timestamptz) '
                   'SET search_path = %I, pg_temp', current_schema());
END $$;
REVOKE ALL ON FUNCTION casework_decisions_page(bigint, int, text, text, text, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION casework_decisions_page(bigint, int, text, text, text, timestamptz) TO casework_api;

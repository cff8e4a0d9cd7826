-- Database roles (docs/operations.md, "Database roles"). The owner - the login that runs
-- the migrations (DATABASE_URL) - owns every object. The worker and the API log in as
-- roles of their own, casework_worker and casework_api: LOGIN, member of no role (so
-- SET ROLE gets them nowhere), no role attribute beyond LOGIN, and only the grants below.
-- 0003 had the worker SET ROLE from the owner's login, which could as well SET ROLE back.
--
-- Roles are cluster-wide while migrations run per database, and several databases of one
-- cluster may migrate at once (tests): every change to a role is made only when it is
-- needed, and a race with another database doing the same is retried or ignored.
-- The roles may be made beforehand by a DBA (with passwords; compose does, see
-- deploy/cid-init.sh): then the migrating login needs no CREATEROLE.
--
-- A later migration that adds a table grants on it explicitly: nothing is granted by
-- default any more.

DO $$
DECLARE
    login text;
    parent record;
    attempt int;
BEGIN
    FOREACH login IN ARRAY ARRAY['casework_worker', 'casework_api'] LOOP
        FOR attempt IN 1..10 LOOP
            BEGIN
                IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = login) THEN
                    BEGIN
                        EXECUTE format('CREATE ROLE %I LOGIN', login);
                    EXCEPTION WHEN duplicate_object OR unique_violation THEN
                        NULL;  -- another database of this cluster created it just now
                    END;
                END IF;
                IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = login AND (NOT rolcanlogin OR rolsuper
                           OR rolcreaterole OR rolcreatedb OR rolreplication OR rolbypassrls)) THEN
                    EXECUTE format('ALTER ROLE %I LOGIN NOSUPERUSER NOCREATEROLE NOCREATEDB NOREPLICATION NOBYPASSRLS', login);
                END IF;
                -- Member of nothing: neither the owner, nor a superuser, nor pg_write_all_data.
                FOR parent IN
                    SELECT g.rolname FROM pg_auth_members m
                    JOIN pg_roles g ON g.oid = m.roleid JOIN pg_roles u ON u.oid = m.member
                    WHERE u.rolname = login
                LOOP
                    EXECUTE format('REVOKE %I FROM %I CASCADE', parent.rolname, login);
                END LOOP;
                EXIT;
            EXCEPTION WHEN internal_error OR serialization_failure THEN
                -- "tuple concurrently updated": another database changed the role at the
                -- same moment. Look again: the change is then usually no longer needed.
                IF attempt = 10 THEN
                    RAISE;
                END IF;
                PERFORM pg_sleep(0.05 * attempt);
            END;
        END LOOP;
    END LOOP;
END $$;

-- 0003's blanket grants and default privileges go; what each login needs is granted below.
DO $$
DECLARE
    s text := current_schema();
BEGIN
    EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA %I FROM casework_worker, casework_api', s);
    EXECUTE format('REVOKE ALL ON ALL SEQUENCES IN SCHEMA %I FROM casework_worker, casework_api', s);
    EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I REVOKE ALL ON TABLES FROM casework_worker', s);
    EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I REVOKE ALL ON SEQUENCES FROM casework_worker', s);
    -- Only the owner creates objects here (PostgreSQL before 15 lets everyone).
    EXECUTE format('REVOKE CREATE ON SCHEMA %I FROM PUBLIC', s);
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO casework_worker, casework_api', s);
END $$;

-- Both check that the schema is current before they serve (cid/db.py).
GRANT SELECT ON schema_migrations TO casework_worker, casework_api;

-- The worker: exactly what activities/case_activities.py does through cid/.
--   intake: takes a held referral or certificate (reads it, clears the payload); never submits.
GRANT SELECT, UPDATE (payload, taken_at) ON intake_referrals, intake_certificates TO casework_worker;
--   the case row: made at intake, then its stage, team, owner, flags and closure; never its
--   identity (id, reference, EEA, opened) nor the retention mark.
GRANT SELECT, INSERT, UPDATE (subject_id, stage, status, team, case_owner, disclosable, most_serious,
    detention_power, custody, outcome, overdue, updated_at, closed_at) ON cases TO casework_worker;
GRANT SELECT, INSERT ON referrals, subjects, subject_identifiers TO casework_worker;
--   certificates: recorded, read for the facts and the convictions, and destroyed (R03):
--   only those three columns change.
GRANT SELECT, INSERT, UPDATE (content, request_purpose, destroyed_at) ON certificates TO casework_worker;
--   written once each, by domain key: ON CONFLICT (key) DO NOTHING reads the key columns.
GRANT INSERT, SELECT (case_id, seq) ON convictions TO casework_worker;
GRANT INSERT, SELECT (case_id, event_type) ON calendar_events TO casework_worker;
GRANT INSERT, SELECT (case_id, note_key) ON notes TO casework_worker;
GRANT INSERT, SELECT (case_id) ON paper_files TO casework_worker;
GRANT INSERT, SELECT (case_id, message_key) ON outbound_messages TO casework_worker;
GRANT SELECT, INSERT, UPDATE (status, outcome, outcome_details, completed_by, completed_at, overdue)
    ON tasks TO casework_worker;
--   the audit log: append only (its key, for ON CONFLICT, and the ID it returns are all
--   it reads back).
GRANT INSERT, SELECT (id, case_id, event_key) ON audit_log TO casework_worker;
--   routing is configuration (R06): read, never written.
GRANT SELECT ON team_routes TO casework_worker;
GRANT USAGE ON SEQUENCE subjects_id_seq, certificates_id_seq, convictions_id_seq, calendar_events_id_seq,
    notes_id_seq, tasks_id_seq, outbound_messages_id_seq, audit_log_id_seq TO casework_worker;

-- The API (issue 15, built next): reads the read model and hands referrals and
-- certificates in. Nothing else yet: no personal data, no audit log. Its R60 read is to
-- come through an owner's SECURITY DEFINER function that returns the data and writes the
-- audit row in one call (EXECUTE to casework_api only), so that the API's login cannot read
-- personal data without the read being recorded (docs/operations.md, "Database roles").
--   the read model: case list, task inbox, outbound message feeds.
GRANT SELECT ON cases, tasks, outbound_messages TO casework_api;
--   intake: submits; reads back what it needs to answer "already held" or "conflict",
--   but never a held payload.
GRANT INSERT, SELECT (acro_reference, case_id, payload_sha256, submitted_by, submitted_at, taken_at)
    ON intake_referrals TO casework_api;
GRANT INSERT, SELECT (id, case_id, event_id, payload_sha256, submitted_by, submitted_at, taken_at)
    ON intake_certificates TO casework_api;
GRANT USAGE ON SEQUENCE intake_certificates_id_seq TO casework_api;

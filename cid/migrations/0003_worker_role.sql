-- The worker's database role: what case activities need, and no more. Above all, the
-- audit log is append-only at the privilege level too (INSERT and SELECT only), besides
-- the trigger of 0001 that refuses UPDATE/DELETE for everyone, owners included.
--
-- The worker connects as its login user and sets this role on every connection when
-- CASEWORK_DB_ROLE=casework_worker (cid/db.py; docker-compose.yml sets it).
-- Roles are cluster-wide while migrations run per database, and several databases of one
-- cluster may migrate at once (tests): creating the role is idempotent and race-safe.
-- A migrating user that may not create roles gets a warning, and the role is left to the
-- DBA (the grants below are then made once the role exists and this is re-applied by hand).

DO $$
DECLARE
    schema_name text := current_schema();
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'casework_worker') THEN
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = current_user AND (rolsuper OR rolcreaterole)) THEN
            RAISE WARNING 'role casework_worker does not exist and % may not create it: ask a DBA', current_user;
            RETURN;
        END IF;
        BEGIN
            CREATE ROLE casework_worker NOLOGIN;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;  -- another database of this cluster created it just now
        END;
    END IF;

    -- The login user the worker connects as must be able to SET ROLE to it.
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = current_user AND rolsuper) THEN
        BEGIN
            EXECUTE format('GRANT casework_worker TO %I', current_user);
        EXCEPTION WHEN insufficient_privilege OR duplicate_object THEN
            RAISE WARNING 'could not grant casework_worker to %: ask a DBA', current_user;
        END;
    END IF;

    EXECUTE format('GRANT USAGE ON SCHEMA %I TO casework_worker', schema_name);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %I TO casework_worker', schema_name);
    EXECUTE format('GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA %I TO casework_worker', schema_name);
    -- Tables of later migrations (made by this same migrating user) are the worker's too...
    EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO casework_worker', schema_name);
    EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT USAGE, SELECT ON SEQUENCES TO casework_worker', schema_name);
    -- ...except what it must never change: the audit log (append-only) and the migrations record.
    EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON %I.audit_log FROM casework_worker', schema_name);
    EXECUTE format('REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON %I.schema_migrations FROM casework_worker', schema_name);
END $$;

-- TRUNCATE does not fire row triggers: refuse it on the audit log too, for everyone.
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

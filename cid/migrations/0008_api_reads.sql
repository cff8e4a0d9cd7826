-- The API's reads of personal data (issue 15; docs/api.md, docs/operations.md "Database roles").
--
-- casework_api holds no grant on personal data (0005). It reads a case's personal data only
-- through api_read_personal_data, an owner's SECURITY DEFINER function that returns the data
-- and writes the R60 audit row in one call - one transaction: no read without its record, and
-- no record of a read that did not happen. The actor is the API's verified token subject
-- (api/routes/cases.py); the function trusts the API's login to pass it, as the audit log
-- trusts the worker's. cid/personal_data.py's read_personal_data calls it (the one R60 read).
--
-- A certificate with a conviction dated before the date of birth is refused by the worker's
-- record_certificate, where the date of birth is: a function answering "is this date before
-- it?" would let the API's login find a date of birth out without an R60 record.
--
-- Fixed search_path (the schema migrated into, then pg_temp last), EXECUTE revoked from
-- PUBLIC and granted to casework_api only.

CREATE FUNCTION api_read_personal_data(p_case_id text, p_actor text, p_purpose text, p_reason text)
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    c record;
    read_key text;
    result jsonb;
BEGIN
    IF coalesce(btrim(p_actor), '') = '' THEN
        RAISE EXCEPTION 'R60: a read of personal data names who reads it (actor)' USING ERRCODE = '22023';
    END IF;
    IF coalesce(btrim(p_purpose), '') = '' OR coalesce(btrim(p_reason), '') = '' THEN
        RAISE EXCEPTION 'R60: state the purpose and the reason of reading this case''s personal data'
            USING ERRCODE = '22023';
    END IF;
    IF length(p_reason) > 500 OR length(p_purpose) > 500 THEN  -- casework/rules.py MAX_PURPOSE_CHARS (tested)
        RAISE EXCEPTION 'R60: the purpose and the reason are at most 500 characters each' USING ERRCODE = '22023';
    END IF;
    SELECT id, acro_reference, subject_id, personal_data_purged_at INTO c FROM cases WHERE id = p_case_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'the CID holds no case %', p_case_id USING ERRCODE = 'P0002';
    END IF;
    read_key := 'personal-data-read-' || replace(gen_random_uuid()::text, '-', '');
    result := jsonb_build_object(
        'case_id', c.id,
        'audit_event', read_key,
        'acro_reference', c.acro_reference,
        'purged_at', c.personal_data_purged_at,
        'referral', (SELECT to_jsonb(r) FROM (
            SELECT name, aliases, date_of_birth, nationalities, identity_documents, pnc_id, interpol_check,
                   requesting_officer, reason_for_request, last_known_address, whereabouts, received_at
            FROM referrals WHERE case_id = p_case_id) r),
        'subject', (SELECT to_jsonb(s) FROM (
            SELECT id, name, aliases, date_of_birth, nationalities, pnc_id FROM subjects WHERE id = c.subject_id) s),
        'convictions', coalesce((SELECT jsonb_agg(to_jsonb(v) ORDER BY v.seq) FROM (
            SELECT seq, country, offence, category, conviction_date, sentence FROM convictions
            WHERE case_id = p_case_id) v), '[]'::jsonb),
        'certificates', coalesce((SELECT jsonb_agg(to_jsonb(x) ORDER BY x.seq) FROM (
            SELECT seq, request_purpose, offences_on_pnc, issued_on, disclosable, content, received_at, destroyed_at
            FROM certificates WHERE case_id = p_case_id) x), '[]'::jsonb)
    );
    INSERT INTO audit_log (case_id, event_key, actor, action, detail, occurred_at)
    VALUES (p_case_id, read_key, btrim(p_actor), 'personal data read',
            jsonb_build_object('purpose', btrim(p_purpose), 'reason', btrim(p_reason), 'rule', 'R60', 'via', 'api'),
            now());
    RETURN result;
END $$;

DO $$
DECLARE
    s text := current_schema();
BEGIN
    EXECUTE format('ALTER FUNCTION api_read_personal_data(text, text, text, text) SET search_path = %I, pg_temp', s);
END $$;

REVOKE ALL ON FUNCTION api_read_personal_data(text, text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api_read_personal_data(text, text, text, text) TO casework_api;

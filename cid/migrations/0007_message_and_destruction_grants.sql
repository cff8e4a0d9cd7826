-- What the worker's login needs beyond 0005 for this round's changes (tests/test_cid_logins.py).
--
-- messages-v2 (workflows/case.py): record_message compares a repeat's content hash with the
-- first delivery's (audit_log.detail), and recognises a message recorded by a release before
-- it by its action. Audit details hold no personal data (task keys, outcomes, flags, hashes).
GRANT SELECT (action, detail) ON audit_log TO casework_worker;

-- R03/R61 (0004): destroying a certificate also clears what was derived from it.
GRANT UPDATE (issued_on, most_serious) ON certificates TO casework_worker;

-- Issue 21: the web inbox's sessions (api/inbox/sessions.py; docs/design.md, "The web
-- inbox"). Server-side, so that signing out ends a session for good: a cookie replayed
-- after sign-out finds its row ended. The browser holds only a random token; the row is
-- keyed by its SHA-256, so a read of this table does not give a usable cookie.
--
-- Who the person is (subject, roles, teams) is what the verified access token said at
-- sign-in; the session lasts at most the absolute timeout, then the person signs in again.
CREATE TABLE inbox_sessions (
    token_sha256  bytea PRIMARY KEY,
    subject       text        NOT NULL,
    roles         text[]      NOT NULL DEFAULT '{}',
    teams         text[]      NOT NULL DEFAULT '{}',
    issuer        text        NOT NULL,
    csrf_token    text        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    last_seen_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    ended_at      timestamptz
);
CREATE INDEX inbox_sessions_created_idx ON inbox_sessions (created_at);
GRANT SELECT, INSERT, DELETE, UPDATE (last_seen_at, ended_at) ON inbox_sessions TO casework_api;

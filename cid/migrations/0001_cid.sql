-- The Casework Information Database (CID): the record of every case and the read model
-- people list cases from. Every table an activity writes has a domain key with a unique
-- constraint, so an activity that runs twice writes once.

-- Intake: what people and other systems hand in, held here and passed to the case
-- workflow by reference, so that no personal data travels through Temporal history.
-- The payload is cleared once the case has taken it into the CID proper.
CREATE TABLE intake_referrals (
    acro_reference  text PRIMARY KEY,
    case_id         text        NOT NULL UNIQUE,
    payload         jsonb,
    payload_sha256  text        NOT NULL,
    submitted_by    text        NOT NULL,
    submitted_at    timestamptz NOT NULL DEFAULT now(),
    taken_at        timestamptz
);

CREATE TABLE intake_certificates (
    id              bigserial PRIMARY KEY,
    case_id         text        NOT NULL,
    event_id        text        NOT NULL,
    payload         jsonb,
    payload_sha256  text        NOT NULL,
    submitted_by    text        NOT NULL,
    submitted_at    timestamptz NOT NULL DEFAULT now(),
    taken_at        timestamptz,
    UNIQUE (case_id, event_id)
);

CREATE TABLE subjects (
    id              bigserial PRIMARY KEY,
    name            text        NOT NULL,
    aliases         jsonb       NOT NULL DEFAULT '[]',
    date_of_birth   date,
    nationalities   text[]      NOT NULL,
    pnc_id          text,
    created_at      timestamptz NOT NULL DEFAULT now()
);

-- R04: how a subject is matched. Any shared key (PNC ID, identity document, folded
-- name + date of birth) means the same person.
CREATE TABLE subject_identifiers (
    match_key   text PRIMARY KEY,
    subject_id  bigint NOT NULL REFERENCES subjects(id)
);

CREATE TABLE cases (
    id              text PRIMARY KEY,            -- the workflow ID
    acro_reference  text        NOT NULL UNIQUE,
    subject_id      bigint REFERENCES subjects(id),
    stage           text        NOT NULL,
    status          text        NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'dormant', 'closed')),
    team            text,
    case_owner      text,
    eea             boolean     NOT NULL,
    disclosable     boolean     NOT NULL DEFAULT false,
    most_serious    boolean     NOT NULL DEFAULT false,  -- R12, by offence category
    detention_power text,
    custody         text,
    outcome         text,
    overdue         boolean     NOT NULL DEFAULT false,
    opened_at       timestamptz NOT NULL,        -- business time (the workflow's clock)
    updated_at      timestamptz NOT NULL,
    closed_at       timestamptz
);
CREATE INDEX cases_stage_idx ON cases (stage);
CREATE INDEX cases_team_idx ON cases (team);

-- The referral as received (R01), minus the certificate.
CREATE TABLE referrals (
    case_id             text PRIMARY KEY REFERENCES cases(id),
    name                text    NOT NULL,
    aliases             jsonb   NOT NULL DEFAULT '[]',
    date_of_birth       date,
    nationalities       text[]  NOT NULL,
    identity_documents  jsonb   NOT NULL DEFAULT '[]',
    pnc_id              text,
    interpol_check      text,
    requesting_officer  jsonb,
    reason_for_request  text,
    last_known_address  jsonb,
    whereabouts         jsonb   NOT NULL,
    received_at         timestamptz NOT NULL
);

CREATE TABLE certificates (
    id              bigserial PRIMARY KEY,
    case_id         text    NOT NULL REFERENCES cases(id),
    seq             int     NOT NULL,
    request_purpose text,                         -- NULL once destroyed (R03)
    offences_on_pnc boolean NOT NULL,
    issued_on       date,
    disclosable     boolean NOT NULL,
    most_serious    boolean NOT NULL,
    content         jsonb,                        -- the convictions; NULL once destroyed (R03)
    received_at     timestamptz NOT NULL,
    destroyed_at    timestamptz,
    UNIQUE (case_id, seq),
    CHECK (destroyed_at IS NULL OR (content IS NULL AND request_purpose IS NULL))
);

CREATE TABLE convictions (
    id              bigserial PRIMARY KEY,
    case_id         text    NOT NULL REFERENCES cases(id),
    subject_id      bigint  NOT NULL REFERENCES subjects(id),
    seq             int     NOT NULL,
    country         text    NOT NULL,
    offence         text    NOT NULL,
    category        text    NOT NULL,
    conviction_date date    NOT NULL,
    sentence        text,
    UNIQUE (case_id, seq)
);

CREATE TABLE calendar_events (
    id          bigserial PRIMARY KEY,
    case_id     text NOT NULL REFERENCES cases(id),
    event_type  text NOT NULL,
    status      text NOT NULL,
    occurred_at timestamptz NOT NULL,
    UNIQUE (case_id, event_type)
);

CREATE TABLE notes (
    id          bigserial PRIMARY KEY,
    case_id     text NOT NULL REFERENCES cases(id),
    note_key    text NOT NULL,
    text        text NOT NULL,
    occurred_at timestamptz NOT NULL,
    UNIQUE (case_id, note_key)
);

CREATE TABLE paper_files (
    case_id     text PRIMARY KEY REFERENCES cases(id),
    reference   text NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL
);

-- The inbox: every human task the process creates (one mechanism, see casework/tasks.py).
CREATE TABLE tasks (
    id              bigserial PRIMARY KEY,
    case_id         text NOT NULL REFERENCES cases(id),
    task_key        text NOT NULL,
    kind            text NOT NULL,
    title           text NOT NULL,
    team            text NOT NULL,
    assignee        text,
    status          text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done', 'cancelled')),
    due_at          timestamptz NOT NULL,
    overdue         boolean NOT NULL DEFAULT false,
    escalates       text,                         -- for an overdue review: the task it is about
    outcome         text,
    outcome_details jsonb,
    completed_by    text,
    created_at      timestamptz NOT NULL,
    completed_at    timestamptz,
    UNIQUE (case_id, task_key)
);
CREATE INDEX tasks_open_idx ON tasks (team, due_at) WHERE status = 'open';

-- To ACRO, the PNC Bureau, NBTC, ICE, the police, the Director, Removals Casework,
-- the relevant departments, and the person (notices).
CREATE TABLE outbound_messages (
    id          bigserial PRIMARY KEY,
    case_id     text NOT NULL REFERENCES cases(id),
    message_key text NOT NULL,
    recipient   text NOT NULL,
    form        text NOT NULL,
    body        jsonb NOT NULL DEFAULT '{}',
    sent_at     timestamptz NOT NULL,
    UNIQUE (case_id, message_key)
);

-- Who did what, when, to which case. Append-only: see the trigger below.
CREATE TABLE audit_log (
    id          bigserial PRIMARY KEY,
    case_id     text NOT NULL,
    event_key   text NOT NULL,
    actor       text NOT NULL,
    action      text NOT NULL,
    detail      jsonb NOT NULL DEFAULT '{}',
    occurred_at timestamptz NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    UNIQUE (case_id, event_key)
);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END $$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

-- R06: routing is configuration, not code. First matching row by priority wins;
-- a NULL criterion matches anything.
CREATE TABLE team_routes (
    priority    int PRIMARY KEY,
    eea         boolean,
    whereabouts text,
    team        text NOT NULL
);
INSERT INTO team_routes (priority, eea, whereabouts, team) VALUES
    (10, NULL, 'in_prison', 'CC FNO Prison Team'),
    (20, true,  NULL, 'CC EEA Team'),
    (30, false, NULL, 'CC Non-EEA Team');

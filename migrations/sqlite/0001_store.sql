-- The store's schema: deployments, their journals, the audit log, environment
-- locks and per-user MFA state.
--
-- Portability: this file is written for SQLite but kept to SQL that PostgreSQL
-- also accepts, so the PostgreSQL migration later differs only where noted:
--   * `INTEGER PRIMARY KEY` is SQLite's 64-bit rowid alias (auto-assigned); in
--     PostgreSQL it becomes `BIGINT GENERATED ALWAYS AS IDENTITY` (or BIGSERIAL).
--     It must stay `INTEGER` here: `BIGINT PRIMARY KEY` is not a rowid alias in
--     SQLite and would not be assigned automatically.
--   * booleans are `INTEGER` 0/1 with a CHECK; PostgreSQL uses `BOOLEAN`.
--   * JSON is stored as `TEXT`; PostgreSQL may use `JSONB`.
--   * every time is `BIGINT` milliseconds since the Unix epoch, supplied by the
--     caller's clock, never `CURRENT_TIMESTAMP`.
-- Queries use `$N` placeholders, `ON CONFLICT ... DO`, `RETURNING` and partial
-- indexes only, all of which both databases understand.

-- One row per deployment attempt. A row is created `pending`, and once it has
-- reached a final state (succeeded, failed, rolled_back, aborted) it never
-- changes again: the store refuses updates to finished rows.
CREATE TABLE deployments (
    id                INTEGER PRIMARY KEY,
    env               TEXT    NOT NULL,
    service           TEXT    NOT NULL,
    version           TEXT    NOT NULL,
    -- The version that was live before; NULL for a service's first deployment.
    previous_version  TEXT,
    strategy          TEXT    NOT NULL
        CHECK (strategy IN ('blue-green', 'canary', 'rolling', 'all-at-once')),
    requested_by      TEXT    NOT NULL,
    -- JSON array of user names, in the order they approved.
    approvers         TEXT    NOT NULL DEFAULT '[]',
    emergency         INTEGER NOT NULL DEFAULT 0 CHECK (emergency IN (0, 1)),
    created_at        BIGINT  NOT NULL,
    -- Set the first time the deployment runs; kept on pause/resume.
    started_at        BIGINT,
    -- Set exactly when the state becomes final.
    finished_at       BIGINT,
    state             TEXT    NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'running', 'paused', 'succeeded', 'failed',
                         'rolled_back', 'aborted')),
    -- When `state` last changed (creation counts), e.g. "paused since 14:32".
    state_changed_at  BIGINT  NOT NULL,
    -- Why it failed, rolled back or was aborted, in words a user can read.
    reason            TEXT,
    live_colour       TEXT CHECK (live_colour IN ('blue', 'green')),
    new_colour        TEXT CHECK (new_colour IN ('blue', 'green'))
);

-- "history for prd" and "metrics for the last 7 days" read by env and time.
CREATE INDEX deployments_env_created ON deployments (env, created_at);
CREATE INDEX deployments_created ON deployments (created_at);
-- Recovery after a restart looks only at unfinished rows; keep that cheap as
-- finished rows accumulate.
CREATE INDEX deployments_unfinished ON deployments (state)
    WHERE state IN ('pending', 'running', 'paused');

-- The steps of a deployment. A step is written before its side effect
-- (`done_at` NULL) and marked done after it, so after a crash the engine knows
-- which step may have half-happened and must be re-checked against the world.
CREATE TABLE journal (
    deployment_id  BIGINT  NOT NULL REFERENCES deployments (id),
    seq            INTEGER NOT NULL,
    -- JSON describing the step (set weights, scale, analyse ...).
    step           TEXT    NOT NULL,
    started_at     BIGINT  NOT NULL,
    done_at        BIGINT,
    result         TEXT,
    PRIMARY KEY (deployment_id, seq)
);

-- Every command and decision, append-only. No foreign key on deployment_id: an
-- audit write must never fail because of what it refers to.
CREATE TABLE audit_log (
    id             INTEGER PRIMARY KEY,
    at             BIGINT  NOT NULL,
    actor          TEXT    NOT NULL,
    channel        TEXT,
    action         TEXT    NOT NULL,
    env            TEXT,
    deployment_id  BIGINT,
    outcome        TEXT    NOT NULL,
    detail         TEXT
);

-- At most one lock per environment: the primary key is the mutual exclusion.
CREATE TABLE env_locks (
    env        TEXT   PRIMARY KEY,
    locked_by  TEXT   NOT NULL,
    reason     TEXT,
    locked_at  BIGINT NOT NULL
);

-- TOTP state per user. Secrets arrive already encrypted and text-encoded by the
-- mfa module; the store never sees a plain seed. `username`, not `user`, because
-- `user` is reserved in PostgreSQL.
CREATE TABLE mfa_state (
    username            TEXT    PRIMARY KEY,
    secret_enc          TEXT,
    -- An enrolment not yet confirmed with a first valid code.
    pending_secret_enc  TEXT,
    -- The highest TOTP time step ever accepted; a code for this step or an
    -- earlier one is a replay.
    last_step           BIGINT,
    failures            INTEGER NOT NULL DEFAULT 0,
    locked_until        BIGINT
);

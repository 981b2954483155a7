-- Open questions (a confirmation, a TOTP code) and the replica that asked
-- each. Every replica's chat connection receives the answer; the one that
-- asked handles it while it is alive, and if it is gone, any replica takes the
-- question over from `pending` (the question and the action it is for, as
-- JSON). A row past `expires_at` is ignored.
CREATE TABLE questions (
    channel     TEXT   NOT NULL,
    user_name   TEXT   NOT NULL,
    replica     TEXT   NOT NULL,
    expires_at  BIGINT NOT NULL,
    pending     TEXT   NOT NULL,
    PRIMARY KEY (channel, user_name)
);

-- Which replicas are alive: each one sharing the store writes `seen_at` (ms
-- since the epoch, its clock) every third of a lease.
CREATE TABLE replicas (
    id       TEXT   NOT NULL PRIMARY KEY,
    seen_at  BIGINT NOT NULL
);

-- Deployments waiting for approvals, with what the request needs (JSON:
-- the prepared deployment, its channel, approvals needed, the wait timer),
-- so that a replica taking a pending deployment over can keep waiting for
-- its approvals instead of giving the environment back.
CREATE TABLE approval_requests (
    deployment_id  BIGINT NOT NULL PRIMARY KEY REFERENCES deployments (id),
    request        TEXT   NOT NULL,
    expires_at     BIGINT NOT NULL
);

-- Exactly-once handling across replicas: every replica receives every chat
-- event, and the first to insert the event's id here handles it; the others
-- see the conflict and drop the event. `kind` separates id spaces (a Discord
-- message id, an interaction id).
CREATE TABLE claims (
    kind        TEXT   NOT NULL,
    id          TEXT   NOT NULL,
    claimed_by  TEXT   NOT NULL,
    claimed_at  BIGINT NOT NULL,
    PRIMARY KEY (kind, id)
);
CREATE INDEX claims_claimed_at ON claims (claimed_at);

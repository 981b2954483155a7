-- What CI built: one row per (service, version), recorded by the build webhook.
-- The `github` check reads the commit of the version it is asked about, and the
-- versions manifest shows it beside what runs where.
CREATE TABLE builds (
    service     TEXT   NOT NULL,
    version     TEXT   NOT NULL,
    image       TEXT   NOT NULL,
    commit_sha  TEXT   NOT NULL,
    branch      TEXT   NOT NULL,
    built_at    BIGINT NOT NULL,
    PRIMARY KEY (service, version)
);

-- Webhook deliveries already handled, by the sender's delivery id: a replayed
-- or re-sent delivery is recognised by the primary key and changes nothing.
CREATE TABLE deliveries (
    delivery_id   TEXT   PRIMARY KEY,
    received_at   BIGINT NOT NULL
);

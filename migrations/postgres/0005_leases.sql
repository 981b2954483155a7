-- Ownership of running deployments when several replicas share the store.
-- The replica whose name is in `owner` drives the deployment while
-- `expires_at` (ms since the epoch, the owner's clock) is in the future, and
-- renews it every few seconds. Another replica may take a lease only once it
-- has expired; every take bumps `token`, and an owner checks its token before
-- each journal write, so a replica that lost its lease (paused, partitioned)
-- finds out before its next side effect instead of acting beside the new owner.
CREATE TABLE leases (
    deployment_id  BIGINT NOT NULL PRIMARY KEY REFERENCES deployments (id),
    owner          TEXT   NOT NULL,
    token          BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL
);
CREATE INDEX leases_owner ON leases (owner);

-- The channel a deployment was requested from, so that a replica taking it
-- over streams its progress to the same place.
ALTER TABLE deployments ADD COLUMN channel TEXT;

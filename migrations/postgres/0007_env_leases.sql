-- Who watches each environment's idle routes (the reconcile loop, see
-- src/rollout/reconcile.rs) when several replicas share the store: one
-- replica at a time, while `expires_at` (ms since the epoch, its clock) is in
-- the future; it renews at every look. Every take bumps `token`; a deployment
-- being recorded and a rollback take the lease whoever holds it (they take
-- the route over), so a watcher checks its token just before it moves
-- traffic and stands back if anything began meanwhile.
CREATE TABLE env_leases (
    env         TEXT   NOT NULL PRIMARY KEY,
    owner       TEXT   NOT NULL,
    token       BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);

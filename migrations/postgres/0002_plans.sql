-- What a deployment was asked to do, fixed when it starts: the rollout plan
-- (steps, bakes, thresholds) and the script of steps derived from it. A restarted
-- engine resumes from these, not from the configuration file, which may have
-- changed in between. One row per deployment, written before its first step.
CREATE TABLE deployment_plans (
    deployment_id  BIGINT PRIMARY KEY REFERENCES deployments (id),
    plan           TEXT   NOT NULL,
    script         TEXT   NOT NULL
);

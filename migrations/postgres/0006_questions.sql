-- Which replica asked each open question (a confirmation, a TOTP code), so
-- that the answer, which every replica's chat connection receives, is handled
-- by the one that asked: it alone knows the action the answer is for. A row
-- outlives its question by at most `expires_at`; another replica ignores a
-- row past it.
CREATE TABLE questions (
    channel     TEXT   NOT NULL,
    user_name   TEXT   NOT NULL,
    replica     TEXT   NOT NULL,
    expires_at  BIGINT NOT NULL,
    PRIMARY KEY (channel, user_name)
);

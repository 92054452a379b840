-- Tokens revoked before they expire (`kesos token revoke`), by token id (`jti`). The gate looks
-- every authenticated request's token up here; a row is never deleted, so a revocation
-- survives restarts and holds on every process sharing the database.
CREATE TABLE IF NOT EXISTS kesos_revoked_tokens (
    jti         text   PRIMARY KEY,
    reason      text   NOT NULL,
    revoked_by  text   NOT NULL,
    revoked_at  bigint NOT NULL
);

-- Tokens revoked before they expire (`kesos token revoke`), by token id (`jti`). The gate looks
-- every authenticated request's token up here; a row is never deleted, so a revocation
-- survives restarts.
CREATE TABLE IF NOT EXISTS kesos_revoked_tokens (
    jti         TEXT    PRIMARY KEY NOT NULL,
    reason      TEXT    NOT NULL,
    revoked_by  TEXT    NOT NULL,
    revoked_at  INTEGER NOT NULL
);

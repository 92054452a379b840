-- kesos vault, PostgreSQL. One row per person (subject): their data key wrapped under the
-- key-encryption key named by kek_fingerprint. Destroying a person's key overwrites the
-- wrapped key with NULL and records destroyed_at; the row stays as a tombstone so that the
-- subject can never be given a new key. Versions 2001+ are the vault's; other components
-- share _sqlx_migrations with their own ranges.

CREATE TABLE kesos_vault_keys (
    subject_id      uuid        PRIMARY KEY,
    key_id          uuid        NOT NULL UNIQUE,
    kek_fingerprint text        NULL,
    wrapped         bytea       NULL,
    nonce           bytea       NULL,
    created_at      timestamptz NOT NULL,
    destroyed_at    timestamptz NULL,
    -- live: all three key columns set and not destroyed; destroyed: all three NULL.
    CONSTRAINT kesos_vault_keys_live_or_destroyed CHECK (
        (destroyed_at IS NULL AND wrapped IS NOT NULL AND nonce IS NOT NULL
            AND kek_fingerprint IS NOT NULL)
        OR (destroyed_at IS NOT NULL AND wrapped IS NULL AND nonce IS NULL
            AND kek_fingerprint IS NULL)
    )
);

-- The vault's own long-lived keys (the blind-index key), wrapped like data keys and
-- re-wrapped by rotation; never destroyed.
CREATE TABLE kesos_vault_secrets (
    name            text        PRIMARY KEY,
    key_id          uuid        NOT NULL UNIQUE,
    kek_fingerprint text        NOT NULL,
    wrapped         bytea       NOT NULL,
    nonce           bytea       NOT NULL,
    created_at      timestamptz NOT NULL
);

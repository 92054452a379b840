-- kesos vault, SQLite (the embedded mode). Same shape as the PostgreSQL tables: ids are
-- 16-byte blobs, instants integer microseconds since the Unix epoch. Destroying a key
-- overwrites the wrapped key with NULL (the vault turns on secure_delete for that, so the old
-- bytes are zeroed in the page) and keeps the row as a tombstone.

CREATE TABLE kesos_vault_keys (
    subject_id      BLOB    PRIMARY KEY,
    key_id          BLOB    NOT NULL UNIQUE,
    kek_fingerprint TEXT    NULL,
    wrapped         BLOB    NULL,
    nonce           BLOB    NULL,
    created_at      INTEGER NOT NULL,
    destroyed_at    INTEGER NULL,
    CONSTRAINT kesos_vault_keys_live_or_destroyed CHECK (
        (destroyed_at IS NULL AND wrapped IS NOT NULL AND nonce IS NOT NULL
            AND kek_fingerprint IS NOT NULL)
        OR (destroyed_at IS NOT NULL AND wrapped IS NULL AND nonce IS NULL
            AND kek_fingerprint IS NULL)
    )
) WITHOUT ROWID;

CREATE TABLE kesos_vault_secrets (
    name            TEXT    PRIMARY KEY,
    key_id          BLOB    NOT NULL UNIQUE,
    kek_fingerprint TEXT    NOT NULL,
    wrapped         BLOB    NOT NULL,
    nonce           BLOB    NOT NULL,
    created_at      INTEGER NOT NULL
) WITHOUT ROWID;

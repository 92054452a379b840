-- kesos event store, SQLite (the embedded mode). One writer at a time (BEGIN IMMEDIATE), so
-- positions are handed out in commit order and readers resuming after a position never skip.
-- Instants are integer microseconds since the Unix epoch; ids and hashes are blobs.

CREATE TABLE kesos_events (
    position        INTEGER PRIMARY KEY,
    stream_id       TEXT    NOT NULL,
    stream_version  INTEGER NOT NULL,
    event_id        BLOB    NOT NULL,
    event_type      TEXT    NOT NULL,
    schema_version  INTEGER NOT NULL,
    payload         BLOB    NOT NULL,
    correlation_id  TEXT    NOT NULL,
    causation_id    TEXT    NOT NULL,
    actor           TEXT    NOT NULL,
    occurred_at     INTEGER NOT NULL,
    recorded_at     INTEGER NOT NULL,
    hash            BLOB    NOT NULL,
    UNIQUE (stream_id, stream_version),
    UNIQUE (event_id)
);

CREATE TABLE kesos_streams (
    stream_id TEXT    PRIMARY KEY,
    version   INTEGER NOT NULL,
    hash      BLOB    NOT NULL
) WITHOUT ROWID;

CREATE TABLE kesos_log_head (
    singleton   INTEGER PRIMARY KEY CHECK (singleton = 1),
    position    INTEGER NOT NULL,
    recorded_at INTEGER NOT NULL
);
INSERT INTO kesos_log_head (singleton, position, recorded_at) VALUES (1, 0, 0);

CREATE TABLE kesos_checkpoints (
    sequence    INTEGER PRIMARY KEY,
    position    INTEGER NOT NULL,
    event_count INTEGER NOT NULL,
    digest      BLOB    NOT NULL,
    signed_at   INTEGER NOT NULL,
    public_key  BLOB    NOT NULL,
    signature   BLOB    NOT NULL
);

CREATE TABLE kesos_cursors (
    name       TEXT    PRIMARY KEY,
    position   INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) WITHOUT ROWID;

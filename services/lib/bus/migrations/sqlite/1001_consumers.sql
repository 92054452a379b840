-- Consumer bookkeeping, kept in the consumer's own database so that it commits in the same
-- transaction as the handler's effects (numbered 1001+: the event store's are 1-999).

CREATE TABLE kesos_consumer_processed (
    consumer     TEXT    NOT NULL,
    event_id     BLOB    NOT NULL,
    processed_at INTEGER NOT NULL DEFAULT (unixepoch()),
    PRIMARY KEY (consumer, event_id)
) WITHOUT ROWID;

CREATE TABLE kesos_consumer_checkpoints (
    consumer TEXT    NOT NULL,
    source   TEXT    NOT NULL,
    position INTEGER NOT NULL,
    PRIMARY KEY (consumer, source)
) WITHOUT ROWID;

CREATE TABLE kesos_dead_letters (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    consumer    TEXT    NOT NULL,
    source      TEXT    NOT NULL,
    position    INTEGER,
    event_id    BLOB,
    reason      TEXT    NOT NULL,
    payload     BLOB    NOT NULL,
    recorded_at INTEGER NOT NULL DEFAULT (unixepoch())
);

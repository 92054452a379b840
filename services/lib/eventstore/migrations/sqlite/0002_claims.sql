-- kesos event store, SQLite: unique claims taken or released in the append's transaction.
-- A claim key (e.g. 'enrollment.nik:<blind index>') is held by at most one stream; the writer
-- checks and changes claims under BEGIN IMMEDIATE, together with the append's events.
-- claimed_at is integer microseconds since the Unix epoch, like every instant here.

CREATE TABLE kesos_claims (
    claim_key  TEXT    PRIMARY KEY,
    stream_id  TEXT    NOT NULL,
    claimed_at INTEGER NOT NULL
) WITHOUT ROWID;

-- The roster messages scheduling published on the LSPS stream and whose names and NIKs each
-- carries, so that a worker's erasure can find and erase every copy: one row per message and
-- named worker, keyed by the stream and the sequence JetStream acknowledged. roster_id is the
-- lock event's id (the first copy's Nats-Msg-Id; a copy published again after an erasure keeps
-- it), message_id the copy's own Nats-Msg-Id.
CREATE TABLE IF NOT EXISTS scheduling_lsps_rosters_sent (
    stream TEXT NOT NULL,
    stream_sequence BIGINT NOT NULL,
    roster_id TEXT NOT NULL,
    message_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    worker_id TEXT NOT NULL,
    PRIMARY KEY (stream, stream_sequence, worker_id)
);
CREATE INDEX IF NOT EXISTS scheduling_lsps_rosters_sent_worker
    ON scheduling_lsps_rosters_sent (worker_id);
CREATE INDEX IF NOT EXISTS scheduling_lsps_rosters_sent_roster
    ON scheduling_lsps_rosters_sent (roster_id);

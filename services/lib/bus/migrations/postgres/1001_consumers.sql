-- Consumer bookkeeping, kept in the consumer's own database so that it commits in the same
-- transaction as the handler's effects (numbered 1001+: the event store's are 1-999).

-- Every event a consumer has handled: a redelivery finds its id here and has no second effect.
CREATE TABLE kesos_consumer_processed (
    consumer     text        NOT NULL,
    event_id     uuid        NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);

-- The highest log position handled per source store: where a log-reading feed resumes.
CREATE TABLE kesos_consumer_checkpoints (
    consumer text   NOT NULL,
    source   text   NOT NULL,
    position bigint NOT NULL,
    PRIMARY KEY (consumer, source)
);

-- Messages a consumer could not decode or permanently rejected, with the reason.
CREATE TABLE kesos_dead_letters (
    id          bigserial   PRIMARY KEY,
    consumer    text        NOT NULL,
    source      text        NOT NULL,
    position    bigint,
    event_id    uuid,
    reason      text        NOT NULL,
    payload     bytea       NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now()
);

-- Where each read model has got to in each source it reads (the library's Projector moves a
-- row in the same transaction as the read model's rows, compare-and-set, never backwards).
CREATE TABLE IF NOT EXISTS kesos_projection_checkpoints (
    projection TEXT NOT NULL,
    source TEXT NOT NULL,
    position BIGINT NOT NULL,
    PRIMARY KEY (projection, source)
);

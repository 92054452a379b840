-- The pool's checkpoint moves to the read side's table, where the library's Projector keeps
-- every read model's checkpoint, so an existing deployment resumes where it was instead of
-- applying the whole log again. The table is created here as the read side creates it (7001),
-- whichever of the two migrations runs first.
-- Where each read model has got to in each source it reads (the library's Projector moves a
-- row in the same transaction as the read model's rows, compare-and-set, never backwards).
CREATE TABLE IF NOT EXISTS kesos_projection_checkpoints (
    projection TEXT NOT NULL,
    source TEXT NOT NULL,
    position INTEGER NOT NULL,
    PRIMARY KEY (projection, source)
);
-- (The WHERE clause also keeps SQLite from reading ON CONFLICT as a join's ON.)
INSERT INTO kesos_projection_checkpoints (projection, source, position)
SELECT 'scheduling.pool', 'scheduling', position FROM scheduling_checkpoints WHERE name = 'pool'
ON CONFLICT (projection, source) DO NOTHING;
DROP TABLE scheduling_checkpoints;

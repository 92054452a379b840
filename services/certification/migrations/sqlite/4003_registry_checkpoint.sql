-- The registry is kept by the read side's Projector now (projection 'certification.registry',
-- source 'certification'), whose checkpoints live in kesos_projection_checkpoints. Carry the
-- registry's own checkpoint over, so an existing deployment goes on from where it was instead
-- of applying its whole log again, then drop the old table.
--
-- The table's DDL is exactly the read side's (services/lib/readside/migrations/sqlite/
-- 7001_projection_checkpoints.sql): whichever of the two runs first creates it.
CREATE TABLE IF NOT EXISTS kesos_projection_checkpoints (
    projection TEXT NOT NULL,
    source TEXT NOT NULL,
    position INTEGER NOT NULL,
    PRIMARY KEY (projection, source)
);

INSERT INTO kesos_projection_checkpoints (projection, source, position)
SELECT 'certification.registry', 'certification', position
FROM certification_checkpoints
WHERE name = 'certificates'
ON CONFLICT DO NOTHING;

DROP TABLE certification_checkpoints;

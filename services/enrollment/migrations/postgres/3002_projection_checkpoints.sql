-- The directory's checkpoint moves to the read side's table: kesos-readside's Projector keeps
-- every read model's checkpoint there, in the same transaction as its rows. The DDL is the read
-- side's own (its migration 7001), so whichever of the two runs first creates the table. An
-- existing deployment's directory carries on from where it was (projection
-- 'enrollment.directory' reading source 'enrollment', the service's own log) instead of
-- replaying the whole log.
CREATE TABLE IF NOT EXISTS kesos_projection_checkpoints (
    projection TEXT NOT NULL,
    source TEXT NOT NULL,
    position BIGINT NOT NULL,
    PRIMARY KEY (projection, source)
);
INSERT INTO kesos_projection_checkpoints (projection, source, position)
SELECT 'enrollment.directory', 'enrollment', position
FROM enrollment_checkpoints
WHERE name = 'directory'
ON CONFLICT (projection, source) DO NOTHING;
DROP TABLE enrollment_checkpoints;

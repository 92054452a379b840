-- Scheduling's read models, built from its own streams: the candidate pool and the sessions,
-- for auto-allocation and for lists. Instants are microseconds since the epoch, days are
-- 'YYYY-MM-DD' (both order correctly as stored). The checkpoint moves in the same
-- transaction as the rows.
CREATE TABLE scheduling_candidates (
    candidate_id  text    PRIMARY KEY,
    worker_id     text    NOT NULL,
    scheme        text    NOT NULL,
    region        text    NOT NULL,
    verified_at   bigint  NOT NULL,
    eligible_from text    NOT NULL,
    status        text    NOT NULL,
    session_id    text,
    attempts      integer NOT NULL,
    position      bigint  NOT NULL
);
CREATE INDEX scheduling_candidates_waiting ON scheduling_candidates (scheme, status, verified_at);
CREATE INDEX scheduling_candidates_worker ON scheduling_candidates (worker_id);

CREATE TABLE scheduling_sessions (
    session_id text    PRIMARY KEY,
    scheme     text    NOT NULL,
    mode       text    NOT NULL,
    region     text    NOT NULL,
    served     text    NOT NULL,
    starts_at  bigint  NOT NULL,
    ends_at    bigint  NOT NULL,
    cutoff     bigint  NOT NULL,
    capacity   integer NOT NULL,
    seated     integer NOT NULL,
    status     text    NOT NULL,
    lsps_id    text    NOT NULL,
    position   bigint  NOT NULL
);
CREATE INDEX scheduling_sessions_open ON scheduling_sessions (scheme, status, starts_at);

CREATE TABLE scheduling_checkpoints (
    name     text   PRIMARY KEY,
    position bigint NOT NULL
);
INSERT INTO scheduling_checkpoints (name, position) VALUES ('pool', 0);

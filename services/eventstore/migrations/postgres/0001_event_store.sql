-- kesos event store, PostgreSQL.
--
-- Gap-safe ordering: every append transaction first locks the single row of kesos_log_head and
-- holds that lock until it commits. Positions are therefore handed out in commit order, and a
-- transaction becomes visible before the next one can take positions: a reader that resumes
-- with "position > last seen" can never miss an event that commits later. Concurrent appends
-- share a transaction (group commit, in the Rust writer), so the lock costs one commit per
-- batch, not one per append.

CREATE TABLE kesos_events (
    position        bigint      PRIMARY KEY,
    stream_id       text        NOT NULL,
    stream_version  bigint      NOT NULL,
    event_id        uuid        NOT NULL,
    event_type      text        NOT NULL,
    schema_version  integer     NOT NULL,
    payload         bytea       NOT NULL,
    correlation_id  text        NOT NULL,
    causation_id    text        NOT NULL,
    actor           text        NOT NULL,
    occurred_at     timestamptz NOT NULL,
    recorded_at     timestamptz NOT NULL,
    hash            bytea       NOT NULL,
    CONSTRAINT kesos_events_stream_version_key UNIQUE (stream_id, stream_version),
    CONSTRAINT kesos_events_event_id_key UNIQUE (event_id)
);

CREATE TABLE kesos_streams (
    stream_id text   PRIMARY KEY,
    version   bigint NOT NULL,
    hash      bytea  NOT NULL
);

-- The last position handed out and the last recorded time: recorded times never go backwards,
-- even when the wall clock does, so "as of a recorded time" always cuts the log at one position.
CREATE TABLE kesos_log_head (
    singleton   boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
    position    bigint      NOT NULL,
    recorded_at timestamptz NOT NULL
);
INSERT INTO kesos_log_head (singleton, position, recorded_at) VALUES (true, 0, '-infinity');

CREATE TABLE kesos_checkpoints (
    sequence    bigint      PRIMARY KEY,
    position    bigint      NOT NULL,
    event_count bigint      NOT NULL,
    digest      bytea       NOT NULL,
    signed_at   timestamptz NOT NULL,
    public_key  bytea       NOT NULL,
    signature   bytea       NOT NULL
);

CREATE TABLE kesos_cursors (
    name       text        PRIMARY KEY,
    position   bigint      NOT NULL,
    updated_at timestamptz NOT NULL
);

-- The hash helpers are STABLE, not IMMUTABLE: they call convert_to and extract(epoch FROM
-- timestamptz), which PostgreSQL counts as stable, and a SQL function that claims more than the
-- functions it calls is not inlined. Inlined, one event's hash costs ~4 µs instead of ~96 µs.
CREATE FUNCTION kesos_text(value text) RETURNS bytea
LANGUAGE sql STABLE STRICT PARALLEL SAFE
RETURN int4send(octet_length(convert_to(value, 'UTF8'))) || convert_to(value, 'UTF8');

CREATE FUNCTION kesos_micros(at timestamptz) RETURNS bigint
LANGUAGE sql STABLE STRICT PARALLEL SAFE
RETURN (extract(epoch FROM at) * 1000000)::bigint;

-- The same canonical bytes and hash as integrity.rs computes (see its module documentation).
CREATE FUNCTION kesos_event_hash(
    prev bytea, stream_id text, version bigint, event_id uuid, event_type text,
    schema_version integer, payload bytea, correlation_id text, causation_id text, actor text,
    occurred_at timestamptz, recorded_at timestamptz
) RETURNS bytea
LANGUAGE sql STABLE STRICT PARALLEL SAFE
RETURN sha256(
    prev || convert_to('kesos-event-v1', 'UTF8') || kesos_text(stream_id) || int8send(version)
    || uuid_send(event_id) || kesos_text(event_type) || int4send(schema_version)
    || int4send(length(payload)) || payload || kesos_text(correlation_id)
    || kesos_text(causation_id) || kesos_text(actor) || int8send(kesos_micros(occurred_at))
    || int8send(kesos_micros(recorded_at))
);

-- Appends a batch of appends in the caller's transaction. cmd_* arrays have one element per
-- append (cmd_expected: -1 any, 0 no stream, n exactly n); ev_* arrays hold all events of all
-- appends, in order, cmd_count[i] of them for append i. One result row per append:
--   'appended'  version after, positions of the new events
--   'duplicate' every event id was stored already: version now, their stored positions
--   'mismatch'  some ids stored, some not (clash_id names one stored id)
--   'conflict'  the expected version was not met (version = actual)
CREATE FUNCTION kesos_append(
    cmd_stream text[], cmd_expected bigint[], cmd_count integer[],
    ev_id uuid[], ev_type text[], ev_schema integer[], ev_payload bytea[],
    ev_correlation text[], ev_causation text[], ev_actor text[], ev_occurred timestamptz[]
) RETURNS TABLE (outcome text, version bigint, positions bigint[], clash_id uuid)
LANGUAGE plpgsql
-- PL/pgSQL caches each statement's plan per connection. Planned while the log was small (or
-- never analysed), the duplicate check would keep scanning the whole table; the statements here
-- all have an index to use, so sequential scans are never the right plan.
SET enable_seqscan = off
AS $$
DECLARE
    head bigint;
    now_at timestamptz;
    first integer := 1;
    last integer;
    i integer;
    j integer;
    stored integer;
    elsewhere boolean;
    current_version bigint;
    current_hash bytea;
    new_positions bigint[];
    new_versions bigint[];
    new_hashes bytea[];
BEGIN
    SELECT h.position, greatest(date_trunc('microseconds', clock_timestamp()), h.recorded_at)
      INTO head, now_at
      FROM kesos_log_head h WHERE h.singleton FOR UPDATE;
    FOR i IN 1 .. coalesce(array_length(cmd_stream, 1), 0) LOOP
        last := first + cmd_count[i] - 1;
        outcome := NULL; version := NULL; positions := NULL; clash_id := NULL;

        SELECT count(*), coalesce(bool_or(e.stream_id <> cmd_stream[i]), false), min(e.event_id::text)::uuid
          INTO stored, elsewhere, clash_id
          FROM kesos_events e WHERE e.event_id = ANY (ev_id[first:last]);
        IF stored > 0 THEN
            IF stored = cmd_count[i] AND NOT elsewhere THEN
                outcome := 'duplicate';
                clash_id := NULL;
                SELECT s.version INTO version FROM kesos_streams s WHERE s.stream_id = cmd_stream[i];
                SELECT array_agg(e.position ORDER BY k.ord) INTO positions
                  FROM unnest(ev_id[first:last]) WITH ORDINALITY AS k(id, ord)
                  JOIN kesos_events e ON e.event_id = k.id;
            ELSE
                outcome := 'mismatch';
            END IF;
            RETURN NEXT;
            first := last + 1;
            CONTINUE;
        END IF;

        SELECT s.version, s.hash INTO current_version, current_hash
          FROM kesos_streams s WHERE s.stream_id = cmd_stream[i];
        IF NOT FOUND THEN
            current_version := 0;
            current_hash := decode(repeat('00', 32), 'hex');
        END IF;
        IF cmd_expected[i] <> -1 AND cmd_expected[i] <> current_version THEN
            outcome := 'conflict';
            version := current_version;
            RETURN NEXT;
            first := last + 1;
            CONTINUE;
        END IF;

        new_positions := '{}'; new_versions := '{}'; new_hashes := '{}';
        FOR j IN first .. last LOOP
            head := head + 1;
            current_version := current_version + 1;
            current_hash := kesos_event_hash(current_hash, cmd_stream[i], current_version, ev_id[j],
                ev_type[j], ev_schema[j], ev_payload[j], ev_correlation[j], ev_causation[j],
                ev_actor[j], ev_occurred[j], now_at);
            new_positions := new_positions || head;
            new_versions := new_versions || current_version;
            new_hashes := new_hashes || current_hash;
        END LOOP;
        INSERT INTO kesos_events (position, stream_id, stream_version, event_id, event_type,
            schema_version, payload, correlation_id, causation_id, actor, occurred_at,
            recorded_at, hash)
        SELECT p, cmd_stream[i], v, id, t, sv, pl, co, ca, ac, oc, now_at, h
          FROM unnest(new_positions, new_versions, ev_id[first:last], ev_type[first:last],
                      ev_schema[first:last], ev_payload[first:last], ev_correlation[first:last],
                      ev_causation[first:last], ev_actor[first:last], ev_occurred[first:last],
                      new_hashes)
            AS x(p, v, id, t, sv, pl, co, ca, ac, oc, h);
        INSERT INTO kesos_streams (stream_id, version, hash)
        VALUES (cmd_stream[i], current_version, current_hash)
        ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version, hash = excluded.hash;
        outcome := 'appended';
        version := current_version;
        positions := new_positions;
        RETURN NEXT;
        first := last + 1;
    END LOOP;
    UPDATE kesos_log_head SET position = head, recorded_at = now_at WHERE singleton;
END
$$;

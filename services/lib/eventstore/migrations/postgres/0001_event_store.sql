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
-- appends, in order, cmd_count[i] of them for append i. No event id may appear in two appends of
-- one batch (the caller splits such a batch). One result row per append:
--   'appended'  version after, positions of the new events
--   'duplicate' every event id was stored already: version now, their stored positions
--   'mismatch'  some ids stored, some not (clash_id names one stored id)
--   'conflict'  the expected version was not met (version = actual)
--
-- Set-based: one lookup of stored ids and one of stream heads for the whole batch, then each
-- append is checked and hashed in memory (in order, so two appends to one stream see each
-- other), then one INSERT of all events and one upsert of the touched stream heads. The cost
-- of a batch is a handful of statements, whatever its size.
CREATE FUNCTION kesos_append(
    cmd_stream text[], cmd_expected bigint[], cmd_count integer[],
    ev_id uuid[], ev_type text[], ev_schema integer[], ev_payload bytea[],
    ev_correlation text[], ev_causation text[], ev_actor text[], ev_occurred timestamptz[]
) RETURNS TABLE (outcome text, version bigint, positions bigint[], clash_id uuid)
LANGUAGE plpgsql
-- PL/pgSQL caches each statement's plan per connection. Planned while the log was small (or
-- never analysed), a lookup could keep scanning the whole table; every statement here has an
-- index to use, so sequential scans are never the right plan.
SET enable_seqscan = off
AS $$
DECLARE
    head bigint;
    now_at timestamptz;
    first integer := 1;
    last integer;
    i integer;
    j integer;
    k integer;
    found_count integer;
    elsewhere boolean;
    stored_ids uuid[];
    stored_positions bigint[];
    stored_streams text[];
    head_streams text[];
    head_versions bigint[];
    head_hashes bytea[];
    head_touched boolean[];
    current_version bigint;
    current_hash bytea;
    new_positions bigint[];
    all_positions bigint[] := '{}';
    all_streams text[] := '{}';
    all_versions bigint[] := '{}';
    all_events integer[] := '{}';
    all_hashes bytea[] := '{}';
BEGIN
    SELECT h.position, greatest(date_trunc('microseconds', clock_timestamp()), h.recorded_at)
      INTO head, now_at
      FROM kesos_log_head h WHERE h.singleton FOR UPDATE;

    SELECT array_agg(e.event_id), array_agg(e.position), array_agg(e.stream_id)
      INTO stored_ids, stored_positions, stored_streams
      FROM kesos_events e WHERE e.event_id = ANY (ev_id);
    SELECT array_agg(s.stream_id), array_agg(s.version), array_agg(s.hash), array_agg(false)
      INTO head_streams, head_versions, head_hashes, head_touched
      FROM kesos_streams s WHERE s.stream_id = ANY (cmd_stream);

    FOR i IN 1 .. coalesce(array_length(cmd_stream, 1), 0) LOOP
        last := first + cmd_count[i] - 1;
        outcome := NULL; version := NULL; positions := NULL; clash_id := NULL;
        k := array_position(head_streams, cmd_stream[i]);
        IF k IS NULL THEN
            current_version := 0;
            current_hash := decode(repeat('00', 32), 'hex');
        ELSE
            current_version := head_versions[k];
            current_hash := head_hashes[k];
        END IF;

        IF stored_ids IS NOT NULL THEN
            found_count := 0; elsewhere := false; new_positions := '{}';
            FOR j IN first .. last LOOP
                k := array_position(stored_ids, ev_id[j]);
                IF k IS NOT NULL THEN
                    found_count := found_count + 1;
                    clash_id := coalesce(clash_id, ev_id[j]);
                    elsewhere := elsewhere OR stored_streams[k] <> cmd_stream[i];
                    new_positions := new_positions || stored_positions[k];
                END IF;
            END LOOP;
            IF found_count > 0 THEN
                IF found_count = cmd_count[i] AND NOT elsewhere THEN
                    outcome := 'duplicate';
                    version := current_version;
                    positions := new_positions;
                    clash_id := NULL;
                ELSE
                    outcome := 'mismatch';
                END IF;
                RETURN NEXT;
                first := last + 1;
                CONTINUE;
            END IF;
        END IF;

        IF cmd_expected[i] <> -1 AND cmd_expected[i] <> current_version THEN
            outcome := 'conflict';
            version := current_version;
            RETURN NEXT;
            first := last + 1;
            CONTINUE;
        END IF;

        new_positions := '{}';
        FOR j IN first .. last LOOP
            head := head + 1;
            current_version := current_version + 1;
            current_hash := kesos_event_hash(current_hash, cmd_stream[i], current_version, ev_id[j],
                ev_type[j], ev_schema[j], ev_payload[j], ev_correlation[j], ev_causation[j],
                ev_actor[j], ev_occurred[j], now_at);
            new_positions := new_positions || head;
            all_positions := all_positions || head;
            all_streams := all_streams || cmd_stream[i];
            all_versions := all_versions || current_version;
            all_events := all_events || j;
            all_hashes := all_hashes || current_hash;
        END LOOP;
        k := array_position(head_streams, cmd_stream[i]);
        IF k IS NULL THEN
            head_streams := head_streams || cmd_stream[i];
            head_versions := head_versions || current_version;
            head_hashes := head_hashes || current_hash;
            head_touched := head_touched || true;
        ELSE
            head_versions[k] := current_version;
            head_hashes[k] := current_hash;
            head_touched[k] := true;
        END IF;
        outcome := 'appended';
        version := current_version;
        positions := new_positions;
        RETURN NEXT;
        first := last + 1;
    END LOOP;

    IF array_length(all_positions, 1) > 0 THEN
        INSERT INTO kesos_events (position, stream_id, stream_version, event_id, event_type,
            schema_version, payload, correlation_id, causation_id, actor, occurred_at,
            recorded_at, hash)
        -- Each array read once, in order (subscripting a flat array of variable-length
        -- values walks it from the start each time).
        SELECT x.p, x.s, x.v, e.id, e.t, e.sv, e.pl, e.co, e.ca, e.ac, e.oc, now_at, x.h
          FROM unnest(all_positions, all_streams, all_versions, all_events, all_hashes)
                 AS x(p, s, v, j, h)
          JOIN unnest(ev_id, ev_type, ev_schema, ev_payload, ev_correlation, ev_causation,
                      ev_actor, ev_occurred) WITH ORDINALITY
                 AS e(id, t, sv, pl, co, ca, ac, oc, j) ON e.j = x.j;
        INSERT INTO kesos_streams (stream_id, version, hash)
        SELECT x.s, x.v, x.h
          FROM unnest(head_streams, head_versions, head_hashes, head_touched) AS x(s, v, h, t)
         WHERE x.t
        ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version, hash = excluded.hash;
        UPDATE kesos_log_head SET position = head, recorded_at = now_at WHERE singleton;
    END IF;
END
$$;

-- kesos event store, PostgreSQL: unique claims taken or released in the append's transaction.
--
-- A claim key (e.g. 'enrollment.nik:<blind index>') is held by at most one stream. Uniqueness
-- across streams cannot come from a stream's version check; it comes from this table, changed
-- only by kesos_append inside the transaction that holds the log-head lock, so claims are
-- decided in commit order exactly like versions are.

CREATE TABLE kesos_claims (
    claim_key  text        PRIMARY KEY,
    stream_id  text        NOT NULL,
    claimed_at timestamptz NOT NULL
);

DROP FUNCTION kesos_append(
    text[], bigint[], integer[], uuid[], text[], integer[], bytea[], text[], text[], text[],
    timestamptz[]
);

-- Appends a batch of appends in the caller's transaction. cmd_* arrays have one element per
-- append (cmd_expected: -1 any, 0 no stream, n exactly n); ev_* arrays hold all events of all
-- appends, in order, cmd_count[i] of them for append i; likewise take_key holds the keys each
-- append takes, cmd_take_count[i] of them for append i, and release_key the keys it releases
-- (cmd_release_count[i]). No event id may appear in two appends of one batch (the caller splits
-- such a batch); no key appears twice in one append, nor both taken and released by it. One
-- result row per append:
--   'appended'  version after, positions of the new events
--   'duplicate' every event id was stored already: version now, their stored positions (claims
--               are not looked at: this is a retry of an append that was decided already)
--   'mismatch'  some ids stored, some not (clash_id names one stored id)
--   'conflict'  the expected version was not met (version = actual)
--   'claimed'   a key to take is held by another stream (clash_key, clash_holder); nothing of
--               the append is stored and no claim changes
--
-- Set-based: one lookup of stored ids, one of stream heads and one of the claims involved for
-- the whole batch, then each append is checked and hashed in memory (in order, so two appends
-- to one stream see each other, and a key released by one append is free for a later one),
-- then one INSERT of all events, one upsert of the touched stream heads, one DELETE of released
-- keys and one upsert of taken keys. The cost of a batch is a handful of statements, whatever
-- its size.
CREATE FUNCTION kesos_append(
    cmd_stream text[], cmd_expected bigint[], cmd_count integer[],
    ev_id uuid[], ev_type text[], ev_schema integer[], ev_payload bytea[],
    ev_correlation text[], ev_causation text[], ev_actor text[], ev_occurred timestamptz[],
    cmd_take_count integer[], cmd_release_count integer[], take_key text[], release_key text[]
) RETURNS TABLE (
    outcome text, version bigint, positions bigint[], clash_id uuid, clash_key text,
    clash_holder text
)
LANGUAGE plpgsql
-- PL/pgSQL caches each statement's plan per connection. Planned while the log was small (or
-- never analysed), a lookup could keep scanning the whole table; every statement here has an
-- index to use, so sequential scans are never the right plan.
SET enable_seqscan = off
AS $$
DECLARE
    head bigint;
    now_at timestamptz;
    first integer;
    last integer := 0;
    take_first integer;
    take_last integer := 0;
    release_first integer;
    release_last integer := 0;
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
    -- Whether any append of the batch takes or releases a key: batches without claims skip
    -- every claim statement, so they cost what they cost before claims existed.
    has_claims boolean;
    -- The claims involved, as they stand after the appends decided so far (holder NULL: free).
    claim_keys text[];
    claim_holders text[];
    claim_touched boolean[];
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
    -- Read after the log-head lock: every earlier append's claims are committed and visible.
    has_claims := coalesce(cardinality(take_key), 0) + coalesce(cardinality(release_key), 0) > 0;
    IF has_claims THEN
        SELECT array_agg(c.claim_key), array_agg(c.stream_id), array_agg(false)
          INTO claim_keys, claim_holders, claim_touched
          FROM kesos_claims c WHERE c.claim_key = ANY (take_key || release_key);
    END IF;

    FOR i IN 1 .. coalesce(array_length(cmd_stream, 1), 0) LOOP
        first := last + 1;
        last := first + cmd_count[i] - 1;
        IF has_claims THEN
            take_first := take_last + 1;
            take_last := take_first + cmd_take_count[i] - 1;
            release_first := release_last + 1;
            release_last := release_first + cmd_release_count[i] - 1;
        END IF;
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
                CONTINUE;
            END IF;
        END IF;

        IF cmd_expected[i] <> -1 AND cmd_expected[i] <> current_version THEN
            outcome := 'conflict';
            version := current_version;
            RETURN NEXT;
            CONTINUE;
        END IF;

        IF has_claims THEN
            FOR j IN take_first .. take_last LOOP
                k := array_position(claim_keys, take_key[j]);
                IF k IS NOT NULL AND claim_holders[k] <> cmd_stream[i] THEN
                    outcome := 'claimed';
                    version := current_version;
                    clash_key := take_key[j];
                    clash_holder := claim_holders[k];
                    EXIT;
                END IF;
            END LOOP;
            IF outcome IS NOT NULL THEN
                RETURN NEXT;
                -- Cleared here rather than for every append, which keeps appends cheap.
                clash_key := NULL; clash_holder := NULL;
                CONTINUE;
            END IF;
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

        IF has_claims THEN
            FOR j IN take_first .. take_last LOOP
                k := array_position(claim_keys, take_key[j]);
                IF k IS NULL THEN
                    claim_keys := claim_keys || take_key[j];
                    claim_holders := claim_holders || cmd_stream[i];
                    claim_touched := claim_touched || true;
                ELSIF claim_holders[k] IS NULL THEN
                    claim_holders[k] := cmd_stream[i];
                    claim_touched[k] := true;
                END IF;
            END LOOP;
            FOR j IN release_first .. release_last LOOP
                k := array_position(claim_keys, release_key[j]);
                IF k IS NOT NULL AND claim_holders[k] = cmd_stream[i] THEN
                    claim_holders[k] := NULL;
                    claim_touched[k] := true;
                END IF;
            END LOOP;
        END IF;

        outcome := 'appended';
        version := current_version;
        positions := new_positions;
        RETURN NEXT;
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

    IF has_claims AND true = ANY (claim_touched) THEN
        -- A key released and taken again in this batch ends with its new holder: the upsert
        -- moves it. A key taken and released in this batch ends free: deleting it is a no-op.
        DELETE FROM kesos_claims c
         WHERE c.claim_key = ANY (ARRAY(
             SELECT x.key FROM unnest(claim_keys, claim_holders, claim_touched) AS x(key, holder, t)
              WHERE x.t AND x.holder IS NULL));
        INSERT INTO kesos_claims (claim_key, stream_id, claimed_at)
        SELECT x.key, x.holder, now_at
          FROM unnest(claim_keys, claim_holders, claim_touched) AS x(key, holder, t)
         WHERE x.t AND x.holder IS NOT NULL
        ON CONFLICT (claim_key) DO UPDATE
            SET stream_id = excluded.stream_id, claimed_at = excluded.claimed_at;
    END IF;
END
$$;

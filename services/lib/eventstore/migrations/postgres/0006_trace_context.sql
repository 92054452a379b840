-- kesos event store, PostgreSQL: each event keeps the W3C trace context of the request or
-- message that caused it (`trace_parent`, the `traceparent` header's value; '' when none), so
-- the relay can carry it to NATS and consumers can continue the trace.
--
-- The trace context is operational metadata, not a fact of the programme: it is not part of an
-- event's hash (kesos_event_hash is unchanged), so chains hashed before this migration verify
-- as before. Adding a column with a constant default rewrites no row.
--
-- Both append functions gain a last parameter, ev_trace (one value per event, as ev_actor);
-- their bodies are those of 0003 (with 0004's plan setting) and 0005, with the column written.

ALTER TABLE kesos_events ADD COLUMN trace_parent text NOT NULL DEFAULT '';

DROP FUNCTION kesos_append_single(
    text[], bigint[], uuid[], text[], integer[], bytea[], text[], text[], text[], timestamptz[]
);

DROP FUNCTION kesos_append(
    text[], bigint[], integer[], uuid[], text[], integer[], bytea[], text[], text[], text[],
    timestamptz[], integer[], integer[], text[], text[]
);

CREATE FUNCTION kesos_append_single(
    cmd_stream text[], cmd_expected bigint[],
    ev_id uuid[], ev_type text[], ev_schema integer[], ev_payload bytea[],
    ev_correlation text[], ev_causation text[], ev_actor text[], ev_occurred timestamptz[],
    ev_trace text[]
) RETURNS TABLE (outcome text, version bigint, positions bigint[], clash_id uuid)
LANGUAGE plpgsql
-- As kesos_append: every lookup has an index to use, and one plan serves every call.
SET enable_seqscan = off
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    head bigint;
    now_at timestamptz;
BEGIN
    SELECT h.position, greatest(date_trunc('microseconds', clock_timestamp()), h.recorded_at)
      INTO head, now_at
      FROM kesos_log_head h WHERE h.singleton FOR UPDATE;

    RETURN QUERY
    WITH decided AS (
        SELECT a.*, coalesce(s.version, 0) AS current_version,
               coalesce(s.hash, decode(repeat('00', 32), 'hex')) AS current_hash,
               e.position AS stored_position,
               CASE WHEN e.position IS NOT NULL THEN
                        CASE WHEN e.stream_id = a.stream THEN 'duplicate' ELSE 'mismatch' END
                    WHEN a.expected <> -1 AND a.expected <> coalesce(s.version, 0)
                        THEN 'conflict'
                    ELSE 'appended'
               END AS decision
          FROM unnest(cmd_stream, cmd_expected, ev_id, ev_type, ev_schema, ev_payload,
                      ev_correlation, ev_causation, ev_actor, ev_occurred, ev_trace)
                 WITH ORDINALITY
                 AS a(stream, expected, id, kind, schema_version, payload, correlation,
                      causation, actor, occurred, trace, n)
          LEFT JOIN kesos_streams s ON s.stream_id = a.stream
          LEFT JOIN kesos_events e ON e.event_id = a.id
    ), placed AS (
        SELECT d.n, d.stream, d.current_version + 1 AS new_version, d.id, d.kind,
               d.schema_version, d.payload, d.correlation, d.causation, d.actor, d.occurred,
               d.trace, head + row_number() OVER (ORDER BY d.n) AS new_position,
               kesos_event_hash(d.current_hash, d.stream, d.current_version + 1, d.id, d.kind,
                   d.schema_version, d.payload, d.correlation, d.causation, d.actor,
                   d.occurred, now_at) AS new_hash
          FROM decided d
         WHERE d.decision = 'appended'
    ), inserted AS (
        INSERT INTO kesos_events (position, stream_id, stream_version, event_id, event_type,
            schema_version, payload, correlation_id, causation_id, actor, occurred_at,
            recorded_at, hash, trace_parent)
        SELECT p.new_position, p.stream, p.new_version, p.id, p.kind, p.schema_version,
               p.payload, p.correlation, p.causation, p.actor, p.occurred, now_at, p.new_hash,
               p.trace
          FROM placed p
    ), heads AS (
        INSERT INTO kesos_streams (stream_id, version, hash)
        SELECT p.stream, p.new_version, p.new_hash FROM placed p
        ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version, hash = excluded.hash
    ), moved AS (
        UPDATE kesos_log_head
           SET position = head + (SELECT count(*) FROM placed), recorded_at = now_at
         WHERE singleton AND EXISTS (SELECT FROM placed)
    )
    SELECT d.decision,
           coalesce(p.new_version, d.current_version),
           CASE d.decision
               WHEN 'appended' THEN ARRAY[p.new_position]
               WHEN 'duplicate' THEN ARRAY[d.stored_position]
           END,
           CASE WHEN d.decision = 'mismatch' THEN d.id END
      FROM decided d
      LEFT JOIN placed p ON p.n = d.n
     ORDER BY d.n;
END
$$;

CREATE FUNCTION kesos_append(
    cmd_stream text[], cmd_expected bigint[], cmd_count integer[],
    ev_id uuid[], ev_type text[], ev_schema integer[], ev_payload bytea[],
    ev_correlation text[], ev_causation text[], ev_actor text[], ev_occurred timestamptz[],
    cmd_take_count integer[], cmd_release_count integer[], take_key text[], release_key text[],
    ev_trace text[]
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
    -- The common batch (a bulk import, concurrent registrations): every key taken once, none
    -- released. No append of it can clash with another, so clashes with stored claims are
    -- found by one join before the loop and the taken keys written by one statement after
    -- it, instead of being tracked key by key in arrays (quadratic in the batch size).
    simple_claims boolean := false;
    take_cmd integer[];
    taken_cmds integer[] := '{}';
    clash_cmds integer[] := '{}';
    clash_keys text[];
    clash_holders text[];
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
        simple_claims := coalesce(cardinality(release_key), 0) = 0
            AND (SELECT count(DISTINCT x) = count(*) FROM unnest(take_key) AS x);
        IF simple_claims THEN
            -- take_cmd[j]: the append that takes take_key[j].
            SELECT coalesce(array_agg(n ORDER BY n, g), '{}') INTO take_cmd
              FROM generate_subscripts(cmd_take_count, 1) AS n,
                   generate_series(1, cmd_take_count[n]) AS g;
            -- Which appends would take a key another stream holds (usually none).
            SELECT coalesce(array_agg(t.n ORDER BY t.n), '{}'), array_agg(t.key ORDER BY t.n),
                   array_agg(k.stream_id ORDER BY t.n)
              INTO clash_cmds, clash_keys, clash_holders
              FROM unnest(take_key, take_cmd) AS t(key, n)
              JOIN kesos_claims k ON k.claim_key = t.key
              JOIN unnest(cmd_stream) WITH ORDINALITY AS c(s, n) ON c.n = t.n
             WHERE k.stream_id <> c.s;
        END IF;
    END IF;

    FOR i IN 1 .. coalesce(array_length(cmd_stream, 1), 0) LOOP
        first := last + 1;
        last := first + cmd_count[i] - 1;
        IF has_claims AND NOT simple_claims THEN
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

        IF simple_claims THEN
            IF cardinality(clash_cmds) > 0 THEN
                k := array_position(clash_cmds, i);
                IF k IS NOT NULL THEN
                    outcome := 'claimed';
                    version := current_version;
                    clash_key := clash_keys[k];
                    clash_holder := clash_holders[k];
                    RETURN NEXT;
                    clash_key := NULL; clash_holder := NULL;
                    CONTINUE;
                END IF;
            END IF;
        ELSIF has_claims THEN
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

        IF simple_claims THEN
            IF cmd_take_count[i] > 0 THEN
                taken_cmds := taken_cmds || i;
            END IF;
        ELSIF has_claims THEN
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
            recorded_at, hash, trace_parent)
        -- Each array read once, in order (subscripting a flat array of variable-length
        -- values walks it from the start each time).
        SELECT x.p, x.s, x.v, e.id, e.t, e.sv, e.pl, e.co, e.ca, e.ac, e.oc, now_at, x.h, e.tp
          FROM unnest(all_positions, all_streams, all_versions, all_events, all_hashes)
                 AS x(p, s, v, j, h)
          JOIN unnest(ev_id, ev_type, ev_schema, ev_payload, ev_correlation, ev_causation,
                      ev_actor, ev_occurred, ev_trace) WITH ORDINALITY
                 AS e(id, t, sv, pl, co, ca, ac, oc, tp, j) ON e.j = x.j;
        INSERT INTO kesos_streams (stream_id, version, hash)
        SELECT x.s, x.v, x.h
          FROM unnest(head_streams, head_versions, head_hashes, head_touched) AS x(s, v, h, t)
         WHERE x.t
        ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version, hash = excluded.hash;
        UPDATE kesos_log_head SET position = head, recorded_at = now_at WHERE singleton;
    END IF;

    IF simple_claims AND cardinality(taken_cmds) > 0 THEN
        INSERT INTO kesos_claims (claim_key, stream_id, claimed_at)
        SELECT t.key, c.s, now_at
          FROM unnest(take_key, take_cmd) AS t(key, n)
          JOIN unnest(cmd_stream) WITH ORDINALITY AS c(s, n) ON c.n = t.n
         WHERE t.n = ANY (taken_cmds)
        ON CONFLICT (claim_key) DO UPDATE
            SET stream_id = excluded.stream_id, claimed_at = excluded.claimed_at;
    ELSIF has_claims AND NOT simple_claims AND true = ANY (claim_touched) THEN
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

ALTER FUNCTION kesos_append(
    text[], bigint[], integer[], uuid[], text[], integer[], bytea[], text[], text[], text[],
    timestamptz[], integer[], integer[], text[], text[], text[]
) SET plan_cache_mode = force_generic_plan;

-- kesos event store, PostgreSQL: kesos_append_single, the command path's batch in one statement.
--
-- The common batch of the group-commit writer holds concurrent commands on distinct streams,
-- each appending one event and taking or releasing no claim. kesos_append (0003) decides such
-- a batch with about ten PL/pgSQL statements and a loop; this function takes the log-head lock
-- and then decides, hashes and writes the whole batch in one statement, with the same outcomes
-- (one row per append, in order; see 0001):
--   'appended'  the version after, and the new event's position
--   'duplicate' the event id was stored already in this stream: version now, its position
--   'mismatch'  the event id was stored already in another stream (clash_id names it)
--   'conflict'  the expected version was not met (version = actual)
-- The caller guarantees the preconditions (distinct streams, distinct event ids, one event
-- each); a batch that does not meet them goes to kesos_append.
--
-- Positions are handed out under the log-head lock, in the order of the appends, as in
-- kesos_append: the lock is taken by its own statement first, so the decision statement's
-- snapshot sees every batch committed before this one.

CREATE FUNCTION kesos_append_single(
    cmd_stream text[], cmd_expected bigint[],
    ev_id uuid[], ev_type text[], ev_schema integer[], ev_payload bytea[],
    ev_correlation text[], ev_causation text[], ev_actor text[], ev_occurred timestamptz[]
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
                      ev_correlation, ev_causation, ev_actor, ev_occurred) WITH ORDINALITY
                 AS a(stream, expected, id, kind, schema_version, payload, correlation,
                      causation, actor, occurred, n)
          LEFT JOIN kesos_streams s ON s.stream_id = a.stream
          LEFT JOIN kesos_events e ON e.event_id = a.id
    ), placed AS (
        SELECT d.n, d.stream, d.current_version + 1 AS new_version, d.id, d.kind,
               d.schema_version, d.payload, d.correlation, d.causation, d.actor, d.occurred,
               head + row_number() OVER (ORDER BY d.n) AS new_position,
               kesos_event_hash(d.current_hash, d.stream, d.current_version + 1, d.id, d.kind,
                   d.schema_version, d.payload, d.correlation, d.causation, d.actor,
                   d.occurred, now_at) AS new_hash
          FROM decided d
         WHERE d.decision = 'appended'
    ), inserted AS (
        INSERT INTO kesos_events (position, stream_id, stream_version, event_id, event_type,
            schema_version, payload, correlation_id, causation_id, actor, occurred_at,
            recorded_at, hash)
        SELECT p.new_position, p.stream, p.new_version, p.id, p.kind, p.schema_version,
               p.payload, p.correlation, p.causation, p.actor, p.occurred, now_at, p.new_hash
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

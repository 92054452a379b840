-- kesos event store, PostgreSQL: kesos_append runs its statements on generic plans.
--
-- PL/pgSQL keeps one plan per statement and connection, but by default re-plans a statement
-- with its parameter values for as long as that custom plan looks cheaper than the generic
-- one, and for `= ANY (array)` lookups it always does: every call planned all of its
-- statements again (about 0.12 ms of a 0.45 ms call for one append, measured with pgbench on a
-- 2-core machine). Every statement here has one right plan whatever its arguments (an index
-- lookup by key, or a scan of the given arrays), so the generic plan is made once and kept.

ALTER FUNCTION kesos_append(
    text[], bigint[], integer[], uuid[], text[], integer[], bytea[], text[], text[], text[],
    timestamptz[], integer[], integer[], text[], text[]
) SET plan_cache_mode = force_generic_plan;

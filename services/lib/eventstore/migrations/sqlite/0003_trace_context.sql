-- kesos event store, SQLite: each event keeps the W3C trace context of the request or message
-- that caused it (the `traceparent` value; '' when none). Not part of the event's hash: it is
-- operational metadata, and chains hashed before it verify as before.

ALTER TABLE kesos_events ADD COLUMN trace_parent TEXT NOT NULL DEFAULT '';

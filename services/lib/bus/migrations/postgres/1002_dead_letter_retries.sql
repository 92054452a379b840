-- Dead letters can be redriven (`kesos dead-letters retry ID`): an operator asks, the consumer
-- hands the message to its handler again and notes the outcome. Each dead letter is retried at
-- most once; a retry that fails again is a new dead letter. Existing rows keep their content.
ALTER TABLE kesos_dead_letters ADD COLUMN retry_requested_at timestamptz;
ALTER TABLE kesos_dead_letters ADD COLUMN retried_at timestamptz;
ALTER TABLE kesos_dead_letters ADD COLUMN retry_outcome text;

-- What each consumer looks for on every redrive tick.
CREATE INDEX kesos_dead_letters_pending_retry ON kesos_dead_letters (consumer, id)
    WHERE retry_requested_at IS NOT NULL AND retried_at IS NULL;

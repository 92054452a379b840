-- A candidate whose worker left the programme (CandidateDeparted) keeps its row and its
-- standing, with the departure's business date ('YYYY-MM-DD') and reason; both are cleared by
-- the worker's return (CandidateReturnedFromDeparture). Auto-allocation offers only rows
-- without a departure. No departure was recorded before this migration, so existing rows stay
-- NULL and no rebuild is needed.
ALTER TABLE scheduling_candidates ADD COLUMN departed_on TEXT;
ALTER TABLE scheduling_candidates ADD COLUMN departure_reason TEXT;

-- A holder who left the programme (resigned, retired, died, left) keeps their certificates and
-- their status; certification shows the departure beside them (issue 25). Cleared on a return.
ALTER TABLE certification_holders ADD COLUMN departed_on TEXT;
ALTER TABLE certification_holders ADD COLUMN departure_reason TEXT;

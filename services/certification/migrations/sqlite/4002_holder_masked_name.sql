-- The holder's masked name (`S**** A****`), computed once when the certification consumer
-- records the holder, so public verification answers without opening the vault. Cleared with
-- the sealed name on erasure; NULL for holders recorded before this column existed (their
-- verification opens the sealed name as before).
ALTER TABLE certification_holders ADD COLUMN name_masked TEXT;

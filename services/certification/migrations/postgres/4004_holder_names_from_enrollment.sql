-- Certification keeps no copy of a holder's name: it asks enrollment, which alone holds the
-- workers' keys, when a reader needs one (services apart, issue 23). The sealed copies that
-- registrations left here are dropped; the mask (public verification's) stays, and erasure
-- still clears it.
ALTER TABLE certification_holders DROP COLUMN name_ciphertext;
ALTER TABLE certification_holders DROP COLUMN name_nonce;
ALTER TABLE certification_holders DROP COLUMN name_key_id;

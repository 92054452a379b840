-- Certification's read models, built from the certificate streams of the service's own log
-- (certification_certificates, checkpoint in certification_checkpoints, moved in the same
-- transaction as the rows) and from enrollment's worker events through the certification
-- consumer (certification_holders, written in the consumer's transaction).
--
-- Dates are ISO text (YYYY-MM-DD), so they compare in order on both databases.
CREATE TABLE certification_certificates (
    certificate_id      text    PRIMARY KEY,
    number              text    NOT NULL UNIQUE,
    worker_id           text    NOT NULL,
    scheme_code         text    NOT NULL,
    scheme_category     text    NOT NULL,
    scheme_level        text    NOT NULL,
    abbreviation        text    NOT NULL,
    issue_year          integer  NOT NULL,
    sequence            integer  NOT NULL,
    lsps_id             text    NOT NULL,
    basis_event_id      text    NOT NULL,
    valid_from          text    NOT NULL,
    valid_until         text    NOT NULL,
    status              text    NOT NULL,
    status_index        integer  NOT NULL,
    status_reason       text,
    revocation_category text,
    supersedes          text,
    superseded_by       text,
    region              text,
    position            integer  NOT NULL
);
CREATE INDEX certification_certificates_worker ON certification_certificates (worker_id, scheme_code);
CREATE INDEX certification_certificates_due ON certification_certificates (status, valid_until);
CREATE INDEX certification_certificates_sequence ON certification_certificates (abbreviation, issue_year, sequence);
CREATE INDEX certification_certificates_index ON certification_certificates (status_index);

-- The holder's sealed name (opened with the worker's data key, unreadable once it is
-- destroyed) and posting. An erased worker keeps a row with erased = 1 and no name.
CREATE TABLE certification_holders (
    worker_id       text    PRIMARY KEY,
    name_ciphertext blob,
    name_nonce      blob,
    name_key_id     text,
    posting         text,
    erased          integer NOT NULL DEFAULT 0
);

CREATE TABLE certification_checkpoints (
    name     text    PRIMARY KEY,
    position integer  NOT NULL
);
INSERT INTO certification_checkpoints (name, position) VALUES ('certificates', 0);

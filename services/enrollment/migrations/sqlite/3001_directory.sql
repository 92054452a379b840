-- The worker directory: enrollment's read model for listing and filtering workers, built
-- from the worker streams. The sealed name is kept so a page of workers can show names
-- without loading every stream; it is cleared on erasure (and unreadable anyway once the
-- worker's key is destroyed). The checkpoint moves in the same transaction as the rows.
CREATE TABLE enrollment_directory (
    worker_id         text   PRIMARY KEY,
    category          text   NOT NULL,
    role              text   NOT NULL,
    employment_status text   NOT NULL,
    posting           text   NOT NULL,
    status            text   NOT NULL,
    name_ciphertext   blob,
    name_nonce        blob,
    name_key_id       text,
    position          integer NOT NULL
);
CREATE INDEX enrollment_directory_posting ON enrollment_directory (posting, worker_id);

CREATE TABLE enrollment_checkpoints (
    name     text   PRIMARY KEY,
    position integer NOT NULL
);
INSERT INTO enrollment_checkpoints (name, position) VALUES ('directory', 0);

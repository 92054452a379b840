-- kesos' answers to LSPS reports (the ReportOutcome messages it publishes on NATS), kept so an
-- LSPS can also read them over HTTP: one row per report, keyed by the LSPS and the report's
-- stream sequence (report_key is that sequence as 20 zero-padded digits, the list's order).
CREATE TABLE IF NOT EXISTS scheduling_lsps_answers (
    lsps_id TEXT NOT NULL,
    report_key TEXT NOT NULL,
    message_id TEXT NOT NULL,
    report_subject TEXT NOT NULL,
    session_id TEXT NOT NULL,
    status TEXT NOT NULL,
    refusals TEXT NOT NULL,
    answered_at BIGINT NOT NULL,
    PRIMARY KEY (lsps_id, report_key)
);

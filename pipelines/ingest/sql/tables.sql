-- The ingestion bookkeeping tables of the warehouse (docs/ARCHITECTURE.md).

CREATE TABLE load_log (
    run_id VARCHAR NOT NULL,
    extract VARCHAR NOT NULL,
    file VARCHAR NOT NULL,
    sha256 VARCHAR NOT NULL,
    format VARCHAR NOT NULL,          -- csv | xlsx
    encoding VARCHAR,                 -- utf-8 | utf-8-bom | windows-1252 | NULL for xlsx
    rows_read INTEGER NOT NULL,       -- data rows in the file (header excluded)
    rows_loaded INTEGER NOT NULL,
    rows_set_aside INTEGER NOT NULL,  -- rows_read = rows_loaded + rows_set_aside
    columns_dropped VARCHAR NOT NULL, -- headers outside the contract, comma-separated ('' if none)
    loaded_at TIMESTAMP NOT NULL,
    code_version VARCHAR NOT NULL
);

CREATE TABLE set_aside (
    extract VARCHAR NOT NULL,
    file VARCHAR NOT NULL,
    "row" INTEGER NOT NULL,           -- Excel row number: header row 1, first data row 2
    "column" VARCHAR,                 -- NULL when the whole row is malformed
    value VARCHAR,                    -- '<withheld>' for pseudonymised IDs and dates of birth
    reason_code VARCHAR NOT NULL,
    reason VARCHAR NOT NULL,
    reference VARCHAR                 -- the row's own record ID (e.g. referral_id), when readable
);

CREATE TABLE ingest_notes (
    extract VARCHAR,
    file VARCHAR,
    note_code VARCHAR NOT NULL,
    message VARCHAR NOT NULL
);

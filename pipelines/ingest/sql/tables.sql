-- The ingestion bookkeeping tables of the warehouse (docs/ARCHITECTURE.md).

CREATE TABLE load_log (
    run_id VARCHAR NOT NULL,
    extract VARCHAR NOT NULL,
    file VARCHAR NOT NULL,
    sha256 VARCHAR NOT NULL,
    format VARCHAR NOT NULL,          -- csv | xlsx
    encoding VARCHAR,                 -- utf-8 | utf-8-bom | windows-1252 | utf-16-le | -be | NULL
    rows_read INTEGER NOT NULL,       -- records and blank lines after the header
    rows_loaded INTEGER NOT NULL,
    rows_set_aside INTEGER NOT NULL,
    rows_blank INTEGER NOT NULL,      -- blank lines skipped: rows_read = loaded + set aside + blank
    columns_dropped VARCHAR NOT NULL, -- headers outside the contract, comma-separated ('' if none)
    loaded_at TIMESTAMP NOT NULL,
    code_version VARCHAR NOT NULL
);

CREATE TABLE set_aside (
    extract VARCHAR NOT NULL,
    file VARCHAR NOT NULL,
    "row" INTEGER NOT NULL,           -- CSV: the physical line (header line 1); xlsx: Excel row
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

-- Where each contract column sat in its source file, as the data officer sees it in Excel (A, B,
-- ...): validation puts the letter beside every finding without reading the raw files again.
CREATE TABLE source_columns (
    extract VARCHAR NOT NULL,
    file VARCHAR NOT NULL,
    "column" VARCHAR NOT NULL,
    letter VARCHAR NOT NULL
);

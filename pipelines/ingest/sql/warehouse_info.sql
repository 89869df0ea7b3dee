-- What built this warehouse (docs/ARCHITECTURE.md): one row, written by pipelines.run.
-- key_fingerprint is HMAC-SHA256(key, 'pipelines key fingerprint'), first 16 hex characters:
-- it tells keys apart (a run with another key is refused) and gives nothing towards the key.

CREATE TABLE warehouse_info (
    key_fingerprint VARCHAR NOT NULL,
    run_id VARCHAR NOT NULL,
    built_at TIMESTAMP NOT NULL
);

-- Curated layer of an extract without dates of birth: the staging table as it is.
-- Placeholders: {extract}, {columns}.
-- A view over the staging table: the figures are computed when read, so the warehouse holds each
-- row once (writing a second copy doubled the ingest time at national scale). Rows come in the
-- staging order (_file, _row): DuckDB preserves insertion order.
CREATE VIEW {extract} AS
SELECT
    {columns},
    _file,
    _row
FROM stg_{extract};

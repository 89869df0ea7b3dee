-- Curated layer of an extract without dates of birth: the staging table as it is.
-- Placeholders: {extract}, {columns}.
CREATE TABLE {extract} AS
SELECT
    {columns},
    _file,
    _row
FROM stg_{extract}
ORDER BY _file, _row;

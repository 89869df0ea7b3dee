-- Staging of one file, in two steps: cleaned (trimmed, blank -> NULL, IDs upper-cased) then
-- typed (decoded and cast) with, per column, the reason it could not be read (NULL when fine).
-- Rows with any reason are set aside (set_aside.sql); the others go to stg_<extract>.
-- Placeholders: {source} (the file as text: _row and the contract columns), {cleaned_columns},
-- {typed_columns}, {reason_columns}, {any_reason}.
CREATE OR REPLACE TEMP TABLE _typed AS
WITH cleaned AS (
    SELECT
        _row,
        {cleaned_columns}
    FROM {source}
),

typed AS (
    SELECT
        _row,
        {typed_columns},
        {reason_columns}
    FROM cleaned
)

SELECT
    *,
    {any_reason} AS _bad
FROM typed;

-- Rows of one file that could not be read, one set_aside row per source row: the first problem
-- in contract order, with the other columns at fault named in the reason.
-- Placeholders: {problems} (one SELECT per column: _row, _ord, column, value, reason_code,
-- reason, reference). Parameters: $extract, $file. stage.py turns _row into the file's line.
INSERT INTO _set_aside
WITH problems AS (
    {problems}
),

per_row AS (
    SELECT
        _row,
        list("column" ORDER BY _ord) AS columns,
        list(value ORDER BY _ord) AS "values",
        list(reason_code ORDER BY _ord) AS codes,
        list(reason ORDER BY _ord) AS reasons,
        any_value(reference) AS reference
    FROM problems
    GROUP BY _row
)

SELECT
    $extract AS extract,
    $file AS file,
    _row AS "row",
    columns[1] AS "column",
    "values"[1] AS value,
    codes[1] AS reason_code,
    reasons[1] || CASE
        WHEN len(columns) > 1
            THEN ' Other columns of this row that could not be read: ' || array_to_string(columns[2:], ', ') || '.'
        ELSE ''
    END AS reason,
    reference
FROM per_row
ORDER BY _row;

-- Staging of one file in one pass over it: {source} gives _row and the contract columns as
-- cleaned text (trimmed, blank -> NULL); each column is decoded and cast. _bad flags a row with any
-- value that could not be read (stage.py sets such rows aside and deletes them); _n<i> flag values
-- worth a note (Excel serial dates, codes given as labels). stage.py drops both kinds of flag.
-- The table keeps the file's record order (DuckDB preserves insertion order).
-- Placeholders: {table}, {source}, {file}, {typed_columns}, {any_bad}, {note_flags}.
CREATE TABLE {table} AS
SELECT
    {typed_columns},
    {file} AS _file,
    _row,
    ({any_bad}) AS _bad{note_flags}
FROM {source};

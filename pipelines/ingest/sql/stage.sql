-- Typing of one file in one pass over it. {source} gives the file as cleaned text (trimmed,
-- blank -> NULL); each contract column is decoded and cast, and the cleaned text of the columns
-- that can fail is kept beside as _c_<column> (the decoded parts of a code list as _p_<column>)
-- so that stage.py tells blank from unreadable without decoding twice. The table keeps the file's
-- record order (DuckDB preserves insertion order): its rowid numbers the records.
-- Placeholders: {source}, {typed_columns}.
CREATE OR REPLACE TEMP TABLE _typed AS
SELECT
    {typed_columns}
FROM {source};

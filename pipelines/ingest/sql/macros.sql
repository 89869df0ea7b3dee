-- Value parsers used by the staging SQL (created as TEMP macros: they, and the key they carry,
-- never persist in the warehouse file). Every parser takes a value already cleaned by ing_clean
-- (trimmed, blank -> NULL) and returns NULL when it cannot parse it; the caller tells "blank"
-- from "unparseable" by looking at the cleaned value.
--
-- Placeholders filled from data by pipelines/ingest/stage.py: {yes_values}, {no_values},
-- {ipad_hex}, {opad_hex}, {not_id_first}, {excel_errors}, {formula_test}.

-- Blank (NULL, empty or only spaces) -> NULL, otherwise the trimmed text.
CREATE OR REPLACE TEMP MACRO ing_clean(v) AS nullif(trim(v), '');

-- IDs and record IDs: trimmed (already) and upper-cased before anything else.
CREATE OR REPLACE TEMP MACRO ing_id(v) AS upper(v);

-- An ID value that is not an ID: an Excel error value (#N/A, #REF!, ...) or a formula (=...), from
-- aliases.yaml not_an_id. The first-character test keeps the common case to one comparison.
CREATE OR REPLACE TEMP MACRO ing_not_id(v) AS
    v IS NOT NULL AND left(v, 1) IN ({not_id_first})
    AND (upper(v) IN ({excel_errors}) OR {formula_test});

-- Dates: ISO yyyy-mm-dd (a time part of midnight, as Excel and pandas write, is accepted);
-- UK day-first dd/mm/yyyy (also with - or . separators; never month first, a 2-digit year is
-- refused); and Excel serial numbers (1900 date system) from 10000 (1927-05-18) to 80000
-- (2119-01-10) for date cells that were exported as numbers. Impossible dates give NULL.
CREATE OR REPLACE TEMP MACRO ing_date(v) AS CASE
    WHEN v IS NULL THEN NULL
    WHEN v LIKE '____-__-__' THEN try_strptime(v, '%Y-%m-%d')::DATE
    WHEN v LIKE '__/__/____' THEN try_strptime(v, '%d/%m/%Y')::DATE
    WHEN regexp_full_match(v, '\d{4}-\d{1,2}-\d{1,2}([ T]00:00(:00(\.0+)?)?)?')
        THEN try_strptime(regexp_extract(v, '^[0-9-]+'), '%Y-%m-%d')::DATE
    WHEN regexp_full_match(v, '\d{1,2}[/.-]\d{1,2}[/.-]\d{4}( 00:00(:00)?)?')
        THEN try_strptime(regexp_replace(regexp_extract(v, '^[0-9/.-]+'), '[.-]', '/', 'g'), '%d/%m/%Y')::DATE
    WHEN regexp_full_match(v, '\d{5}(\.0+)?')
         AND CAST(regexp_extract(v, '^\d+') AS INTEGER) BETWEEN 10000 AND 80000
        THEN DATE '1899-12-30' + CAST(regexp_extract(v, '^\d+') AS INTEGER)
    ELSE NULL
END;

-- Tells the note writer how many dates arrived as Excel serial numbers.
CREATE OR REPLACE TEMP MACRO ing_is_serial(v) AS
    v IS NOT NULL AND NOT contains(v, '-') AND NOT contains(v, '/') AND regexp_full_match(v, '\d{5}(\.0+)?');

-- Yes/no forms from aliases.yaml (any case); anything else -> NULL (set aside by the caller).
CREATE OR REPLACE TEMP MACRO ing_yesno(v) AS CASE
    WHEN upper(v) IN ({yes_values}) THEN TRUE
    WHEN upper(v) IN ({no_values}) THEN FALSE
    ELSE NULL
END;

-- Whole numbers only: '3', '+3', '-1', '3.0' (as Excel writes numbers); '3.5', '1e3', 'three'
-- give NULL (a plain CAST would round 3.5 to 4).
CREATE OR REPLACE TEMP MACRO ing_integer(v) AS CASE
    WHEN regexp_full_match(v, '[+-]?\d{1,9}(\.0*)?') THEN CAST(regexp_extract(v, '^[+-]?\d+') AS INTEGER)
    ELSE NULL
END;

-- Normal form of a code label for the alias lookup: upper case, dashes as hyphens, one space.
CREATE OR REPLACE TEMP MACRO ing_label(v) AS
    upper(regexp_replace(translate(v, '–—', '--'), '\s+', ' ', 'g'));

-- HMAC-SHA256(key, id) as hex, first 16 characters (RFC 2104 over DuckDB's sha256).
CREATE OR REPLACE TEMP MACRO ing_pseudo(v) AS CASE
    WHEN v IS NULL THEN NULL
    ELSE left(sha256(unhex('{opad_hex}') || unhex(sha256(unhex('{ipad_hex}') || encode(v)))), 16)
END;

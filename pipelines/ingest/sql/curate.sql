-- Curated layer of an extract with an age_from date (extracts.yaml): staging without
-- date_of_birth, plus the child's age at that date. Whole years by birthday (a child born on the
-- date is 0; one born on 29 February turns a year older on 1 March in other years); NULL and
-- band UNBORN when the date of birth is after the date; NULL and band UNKNOWN when either is blank.
-- Placeholders: {extract}, {columns} (contract columns but date_of_birth), {age_from}.
-- A view over the staging table: the figures are computed when read, so the warehouse holds each
-- row once (writing a second copy doubled the ingest time at national scale). Rows come in the
-- staging order (_file, _row): DuckDB preserves insertion order.
CREATE VIEW {extract} AS
WITH source AS (
    SELECT * FROM stg_{extract}
),

aged AS (
    SELECT
        *,
        CASE
            WHEN date_of_birth IS NULL OR {age_from} IS NULL THEN NULL
            WHEN date_of_birth > {age_from} THEN -1
            ELSE year({age_from}) - year(date_of_birth)
                - CASE WHEN month({age_from}) * 100 + day({age_from})
                            < month(date_of_birth) * 100 + day(date_of_birth) THEN 1 ELSE 0 END
        END AS _age
    FROM source
),

final AS (
    SELECT
        {columns},
        CAST(CASE WHEN _age >= 0 THEN _age END AS INTEGER) AS age_years,
        CASE
            WHEN _age IS NULL THEN 'UNKNOWN'
            WHEN _age < 0 THEN 'UNBORN'
            WHEN _age <= 2 THEN '0-2'
            WHEN _age <= 5 THEN '3-5'
            WHEN _age <= 8 THEN '6-8'
            WHEN _age <= 11 THEN '9-11'
            WHEN _age <= 17 THEN '12-17'
            ELSE '18+'
        END AS age_band,
        _file,
        _row
    FROM aged
)

SELECT * FROM final;

-- Shared helpers for the analysis SQL files, created as TEMP macros before they run (so they work
-- on a read-only warehouse) and dropped afterwards.

-- The percentage of a ratio: blank (NULL) for a zero denominator, never 0 and never an error.
CREATE OR REPLACE TEMP MACRO _m_pct(n, d) AS
    CASE WHEN d = 0 THEN NULL ELSE 100.0::DOUBLE * n / d END;

-- Financial years (April to March) for the year-on-year rates of re-referrals and
-- re-registrations: every year that starts at least 12 months after `earliest` (the first date in
-- the extract, so that each year has a full 12-month look-back) up to the year containing
-- `period_end`, whose end is cut at period_end. Labelled '2011-12' style.
CREATE OR REPLACE TEMP MACRO _m_financial_years(earliest, period_end) AS TABLE
    SELECT
        make_date(y, 4, 1) AS fy_start,
        least(make_date(y + 1, 3, 31), CAST(period_end AS DATE)) AS fy_end,
        y || '-' || lpad(CAST((y + 1) % 100 AS VARCHAR), 2, '0') AS label
    FROM (
        SELECT CAST(CAST(earliest AS DATE) + INTERVAL 12 MONTH AS DATE) AS first_eligible
    ) AS b,
    range(
        CAST(year(b.first_eligible) AS BIGINT)
            + CASE WHEN b.first_eligible > make_date(year(b.first_eligible), 4, 1) THEN 1 ELSE 0 END,
        CAST(year(CAST(period_end AS DATE)) AS BIGINT)
            - CASE WHEN month(CAST(period_end AS DATE)) < 4 THEN 1 ELSE 0 END + 1
    ) AS t (y);

-- The periods every measure with a `total` row is computed for (docs/METRICS.md, "Direction of
-- travel"): the reporting period itself (breakdown `total`), the same period a year earlier
-- (`previous_year`) and the 8 calendar quarters ending with the one containing period_end, the
-- last of them cut at period_end (`quarter`, labelled '2012-Q3' style). Each analysis joins its
-- rows to this list once, so one definition of a measure serves every period.
CREATE OR REPLACE TEMP MACRO _m_period_list(period_start, period_end) AS TABLE
    SELECT
        'total' AS breakdown,
        'all' AS category,
        CAST(period_start AS DATE) AS p_start,
        CAST(period_end AS DATE) AS p_end
    UNION ALL
    SELECT
        'previous_year',
        'all',
        CAST(CAST(period_start AS DATE) - INTERVAL 12 MONTH AS DATE),
        CAST(CAST(period_end AS DATE) - INTERVAL 12 MONTH AS DATE)
    UNION ALL
    SELECT
        'quarter',
        year(q) || '-Q' || quarter(q),
        CAST(q AS DATE),
        least(CAST(q + INTERVAL 3 MONTH - INTERVAL 1 DAY AS DATE), CAST(period_end AS DATE))
    FROM range(
        date_trunc('quarter', CAST(period_end AS DATE)) - INTERVAL 21 MONTH,
        date_trunc('quarter', CAST(period_end AS DATE)) + INTERVAL 1 DAY,
        INTERVAL 3 MONTH
    ) AS t (q);

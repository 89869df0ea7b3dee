-- Child Protection Register (docs/METRICS.md, "Child Protection Register", analysis = cpr, scope CPR).
--
-- Calendar months: `date + INTERVAL n MONTH` keeps the day and clamps to the month's last day
-- (2012-02-29 + 12 months = 2013-02-28), cast back to DATE. "Within 3 months" is inclusive.
-- Working-day deadlines come from _m_calendar (see calendar.sql): the Nth working day strictly
-- after the date; met on or before it.
--
-- Re-registration: an earlier registration of the child in the extract (strictly earlier
-- registration_date; registrations of one child do not overlap, so the previous one by date is the
-- latest earlier one) or previous_registrations > 0. Time since deregistration runs from that
-- latest earlier registration's deregistration_date; UNKNOWN when there is none in the extract.

WITH
-- source ---------------------------------------------------------------------------------------
registrations AS (
    SELECT
        registration_id, child_id, strategy_discussion_date, initial_conference_date,
        registration_date, category, first_core_group_date, deregistration_date,
        previous_registrations
    FROM cpr_registrations
),

reviews AS (
    SELECT review_id, registration_id, review_date FROM cpr_reviews
),

-- intermediate ---------------------------------------------------------------------------------
with_previous AS (
    SELECT
        *,
        lag(registration_date) OVER w AS previous_registration_date,
        lag(deregistration_date) OVER w AS previous_deregistration_date
    FROM registrations
    WINDOW w AS (PARTITION BY child_id ORDER BY registration_date, registration_id)
),

enriched AS MATERIALIZED (
    SELECT
        r.*,
        coalesce(r.previous_registration_date < r.registration_date, false) AS has_earlier,
        icpc.d AS icpc_deadline,
        core.d AS core_group_deadline
    FROM with_previous AS r
    -- 15th working day after the strategy discussion
    LEFT JOIN _m_calendar AS sx ON sx.d = r.strategy_discussion_date
    LEFT JOIN _m_calendar AS icpc ON icpc.is_working AND icpc.wd_seq = sx.wd_seq + 15
    -- 10th working day after the initial conference
    LEFT JOIN _m_calendar AS ix ON ix.d = r.initial_conference_date
    LEFT JOIN _m_calendar AS core ON core.is_working AND core.wd_seq = ix.wd_seq + 10
),

classified AS MATERIALIZED (
    SELECT
        *,
        has_earlier OR coalesce(previous_registrations, 0) > 0 AS is_re_registration,
        CASE
            WHEN NOT has_earlier OR previous_deregistration_date IS NULL THEN 'UNKNOWN'
            WHEN registration_date
                < CAST(previous_deregistration_date + INTERVAL 12 MONTH AS DATE) THEN 'UNDER_12M'
            WHEN registration_date
                < CAST(previous_deregistration_date + INTERVAL 24 MONTH AS DATE) THEN '12_TO_24M'
            ELSE 'OVER_24M'
        END AS since_deregistration
    FROM enriched
),

in_period AS MATERIALIZED (
    SELECT * FROM classified
    WHERE registration_date BETWEEN $period_start AND $period_end
),

-- Financial years starting at least 12 months after the earliest registration in the extract (macros.sql).
financial_years AS (
    SELECT * FROM _m_financial_years((SELECT min(registration_date) FROM registrations), $period_end)
),

by_year AS (
    SELECT
        f.label,
        count(r.registration_id) FILTER (WHERE r.is_re_registration) AS numerator,
        count(r.registration_id) AS denominator
    FROM financial_years AS f
    LEFT JOIN classified AS r ON r.registration_date BETWEEN f.fy_start AND f.fy_end
    GROUP BY f.label
),

-- Reviews in order within their registration: the first is due within 3 months of the initial
-- conference, each later one within 6 months of the one before (which may be before the period).
timed_reviews AS (
    SELECT
        v.review_date,
        CASE
            WHEN lag(v.review_date) OVER w IS NULL
                THEN v.review_date <= CAST(r.initial_conference_date + INTERVAL 3 MONTH AS DATE)
            ELSE v.review_date <= CAST(lag(v.review_date) OVER w + INTERVAL 6 MONTH AS DATE)
        END AS on_time
    FROM reviews AS v
    JOIN registrations AS r ON r.registration_id = v.registration_id
    WINDOW w AS (PARTITION BY v.registration_id ORDER BY v.review_date, v.review_id)
),

-- final ----------------------------------------------------------------------------------------
counts AS (
    SELECT 'registrations' AS measure, 'total' AS breakdown, 'all' AS category,
        count(*) AS value
    FROM in_period
    UNION ALL
    SELECT 'on_register', 'total', 'all', count(*)
    FROM registrations
    WHERE registration_date <= $period_end
      AND (deregistration_date IS NULL OR deregistration_date > $period_end)
),

ratios AS (
    SELECT 'registrations' AS measure, 'category' AS breakdown, c.category,
        count(*) AS numerator, (SELECT count(*) FROM in_period) AS denominator
    FROM (SELECT unnest(category) AS category FROM in_period) AS c
    GROUP BY c.category
    UNION ALL
    SELECT 're_registration', 'total', 'all',
        count(*) FILTER (WHERE is_re_registration), count(*)
    FROM in_period
    UNION ALL
    SELECT 're_registration', 'financial_year', label, numerator, denominator
    FROM by_year
    UNION ALL
    SELECT 're_registration', 'time_since_deregistration', since_deregistration, count(*),
        (SELECT count(*) FROM in_period WHERE is_re_registration)
    FROM in_period
    WHERE is_re_registration
    GROUP BY since_deregistration
    UNION ALL
    SELECT 'icpc_timely', 'total', 'all',
        count(*) FILTER (WHERE initial_conference_date <= icpc_deadline), count(*)
    FROM in_period
    WHERE strategy_discussion_date IS NOT NULL
    UNION ALL
    SELECT 'core_group_timely', 'total', 'all',
        count(*) FILTER (WHERE first_core_group_date <= core_group_deadline), count(*)
    FROM in_period
    WHERE core_group_deadline <= $data_as_at
    UNION ALL
    SELECT 'review_timely', 'total', 'all', count(*) FILTER (WHERE on_time), count(*)
    FROM timed_reviews
    WHERE review_date BETWEEN $period_start AND $period_end
)

SELECT measure, 'CPR' AS scope, breakdown, category,
    CAST(NULL AS BIGINT) AS numerator, CAST(NULL AS BIGINT) AS denominator,
    CAST(value AS DOUBLE) AS value, 'count' AS unit
FROM counts
UNION ALL
SELECT measure, 'CPR', breakdown, category, numerator, denominator,
    _m_pct(numerator, denominator), 'percent'
FROM ratios

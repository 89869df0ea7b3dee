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

-- Each registration once for every period it falls in (_m_periods: this period, the same period
-- a year earlier, the 8 quarters); the breakdowns use the reporting period only.
in_periods AS MATERIALIZED (
    SELECT p.breakdown AS p_breakdown, p.category AS p_category, c.*
    FROM classified AS c
    JOIN _m_periods AS p ON c.registration_date BETWEEN p.p_start AND p.p_end
),

in_period AS MATERIALIZED (
    SELECT * FROM in_periods WHERE p_breakdown = 'total'
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

-- The measures with a total row, for every period (empty periods give 0, or 0 of 0).
period_figures AS (
    SELECT
        p.breakdown,
        p.category,
        count(r.registration_id) AS n_registrations,
        count(r.registration_id) FILTER (WHERE r.is_re_registration) AS n_re_registrations,
        count(r.strategy_discussion_date) AS n_with_strategy,
        count(r.strategy_discussion_date)
            FILTER (WHERE r.initial_conference_date <= r.icpc_deadline) AS n_icpc_timely,
        count(r.registration_id) FILTER (WHERE r.core_group_deadline <= $data_as_at) AS n_core_due,
        count(r.registration_id) FILTER (
            WHERE r.core_group_deadline <= $data_as_at
              AND r.first_core_group_date <= r.core_group_deadline
        ) AS n_core_timely
    FROM _m_periods AS p
    LEFT JOIN in_periods AS r ON r.p_breakdown = p.breakdown AND r.p_category = p.category
    GROUP BY p.breakdown, p.category
),

-- On the register at the end of each period.
on_register AS (
    SELECT p.breakdown, p.category, count(r.registration_id) AS n_on_register
    FROM _m_periods AS p
    LEFT JOIN registrations AS r
        ON r.registration_date <= p.p_end
        AND (r.deregistration_date IS NULL OR r.deregistration_date > p.p_end)
    GROUP BY p.breakdown, p.category
),

review_figures AS (
    SELECT
        p.breakdown,
        p.category,
        count(v.review_date) FILTER (WHERE v.on_time) AS n_on_time,
        count(v.review_date) AS n_reviews
    FROM _m_periods AS p
    LEFT JOIN timed_reviews AS v ON v.review_date BETWEEN p.p_start AND p.p_end
    GROUP BY p.breakdown, p.category
),

-- final ----------------------------------------------------------------------------------------
counts AS (
    SELECT 'registrations' AS measure, breakdown, category, n_registrations AS value
    FROM period_figures
    UNION ALL
    SELECT 'on_register', breakdown, category, n_on_register
    FROM on_register
),

ratios AS (
    SELECT 'registrations' AS measure, 'category' AS breakdown, c.category,
        count(*) AS numerator, (SELECT count(*) FROM in_period) AS denominator
    FROM (SELECT unnest(category) AS category FROM in_period) AS c
    GROUP BY c.category
    UNION ALL
    SELECT 're_registration', breakdown, category, n_re_registrations, n_registrations
    FROM period_figures
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
    SELECT 'icpc_timely', breakdown, category, n_icpc_timely, n_with_strategy
    FROM period_figures
    UNION ALL
    SELECT 'core_group_timely', breakdown, category, n_core_timely, n_core_due
    FROM period_figures
    UNION ALL
    SELECT 'review_timely', breakdown, category, n_on_time, n_reviews
    FROM review_figures
)

SELECT measure, 'CPR' AS scope, breakdown, category,
    CAST(NULL AS BIGINT) AS numerator, CAST(NULL AS BIGINT) AS denominator,
    CAST(value AS DOUBLE) AS value, 'count' AS unit
FROM counts
UNION ALL
SELECT measure, 'CPR', breakdown, category, numerator, denominator,
    _m_pct(numerator, denominator), 'percent'
FROM ratios

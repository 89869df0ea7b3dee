-- Re-referrals and decisions (docs/METRICS.md, "Re-referrals and decisions", analysis = re_referrals,
-- scope DAT).
--
-- Calendar months: DuckDB's `date + INTERVAL n MONTH` keeps the day of the month and clamps it to
-- the last day of a shorter month (2012-02-29 + 12 months = 2013-02-28; 2012-08-31 + 6 months =
-- 2013-02-28; 2012-03-15 - 12 months = 2011-03-15). Results are cast back to DATE.
--
-- Re-referral: the child has another referral dated strictly earlier and no more than 12 months
-- earlier. Only the child's latest strictly-earlier date matters, so it is found with lag() over
-- the child's distinct referral dates (same-day referrals share a date and so never count as
-- each other's previous referral). Prior referrals (strictly earlier, any time) are the running
-- count of referrals on the child's earlier dates.
-- Re-referred within N months: the child's next strictly-later referral is no more than N months
-- later; only referrals whose N-month window has closed by data_as_at are counted (censoring).

WITH
-- source ---------------------------------------------------------------------------------------
referrals AS (
    SELECT
        referral_id, child_id, referral_date, decision_date, outcome, lateral_checks, child_seen
    FROM dat_referrals
),

-- intermediate ---------------------------------------------------------------------------------
-- One row per child per referral date: the previous and next distinct dates, and how many of the
-- child's referrals came strictly before (the running count of earlier dates' referrals).
child_dates AS (
    SELECT
        child_id,
        referral_date,
        lag(referral_date) OVER w AS previous_date,
        lead(referral_date) OVER w AS next_date,
        sum(n_on_date) OVER w - n_on_date AS n_prior
    FROM (
        SELECT child_id, referral_date, count(*) AS n_on_date
        FROM referrals
        GROUP BY child_id, referral_date
    )
    WINDOW w AS (PARTITION BY child_id ORDER BY referral_date ROWS UNBOUNDED PRECEDING)
),

enriched AS MATERIALIZED (
    SELECT
        r.*,
        coalesce(
            c.previous_date >= CAST(r.referral_date - INTERVAL 12 MONTH AS DATE), false
        ) AS is_re_referral,
        c.n_prior,
        c.next_date,
        dl.d AS decision_deadline
    FROM referrals AS r
    JOIN child_dates AS c ON c.child_id = r.child_id AND c.referral_date = r.referral_date
    -- the first working day strictly after the referral date (see calendar.sql)
    LEFT JOIN _m_calendar AS cx ON cx.d = r.referral_date
    LEFT JOIN _m_calendar AS dl ON dl.is_working AND dl.wd_seq = cx.wd_seq + 1
),

-- Each referral once for every period it falls in (_m_periods: this period, the same period a
-- year earlier, the 8 quarters); the breakdowns and follow-ups use the reporting period only.
in_periods AS MATERIALIZED (
    SELECT p.breakdown AS p_breakdown, p.category AS p_category, e.*
    FROM enriched AS e
    JOIN _m_periods AS p ON e.referral_date BETWEEN p.p_start AND p.p_end
),

in_period AS MATERIALIZED (
    SELECT
        *,
        CASE
            WHEN n_prior <= 2 THEN CAST(n_prior AS VARCHAR)
            WHEN n_prior <= 4 THEN '3-4'
            ELSE '5+'
        END AS prior_band
    FROM in_periods
    WHERE p_breakdown = 'total'
),

-- The measures with a total row, for every period (empty periods give 0 of 0).
period_figures AS (
    SELECT
        p.breakdown,
        p.category,
        count(r.referral_id) AS n_referrals,
        count(r.referral_id) FILTER (WHERE r.is_re_referral) AS n_re_referrals,
        count(r.referral_id) FILTER (WHERE r.decision_date <= r.decision_deadline) AS n_timely,
        count(r.lateral_checks) AS n_checks_recorded,
        count(r.referral_id) FILTER (WHERE r.lateral_checks) AS n_checks,
        count(r.child_seen) FILTER (WHERE r.outcome IN ('IA', 'S47')) AS n_seen_recorded,
        count(r.referral_id) FILTER (WHERE r.child_seen AND r.outcome IN ('IA', 'S47')) AS n_seen
    FROM _m_periods AS p
    LEFT JOIN in_periods AS r ON r.p_breakdown = p.breakdown AND r.p_category = p.category
    GROUP BY p.breakdown, p.category
),

-- Financial years starting at least 12 months after the earliest referral in the extract (macros.sql).
financial_years AS (
    SELECT * FROM _m_financial_years((SELECT min(referral_date) FROM referrals), $period_end)
),

by_year AS (
    SELECT
        f.label,
        count(r.referral_id) FILTER (WHERE r.is_re_referral) AS numerator,
        count(r.referral_id) AS denominator
    FROM financial_years AS f
    LEFT JOIN enriched AS r ON r.referral_date BETWEEN f.fy_start AND f.fy_end
    GROUP BY f.label
),

followed AS (
    SELECT 'rereferred_6m' AS measure, outcome,
        next_date IS NOT NULL AND next_date <= CAST(referral_date + INTERVAL 6 MONTH AS DATE)
            AS rereferred
    FROM in_period
    WHERE CAST(referral_date + INTERVAL 6 MONTH AS DATE) <= $data_as_at
    UNION ALL
    SELECT 'rereferred_12m', outcome,
        next_date IS NOT NULL AND next_date <= CAST(referral_date + INTERVAL 12 MONTH AS DATE)
    FROM in_period
    WHERE CAST(referral_date + INTERVAL 12 MONTH AS DATE) <= $data_as_at
),

-- final ----------------------------------------------------------------------------------------
ratios AS (
    SELECT 're_referral_12m' AS measure, breakdown, category,
        n_re_referrals AS numerator, n_referrals AS denominator
    FROM period_figures
    UNION ALL
    SELECT 're_referral_12m', 'financial_year', label, numerator, denominator
    FROM by_year
    UNION ALL
    SELECT 'prior_referrals', 'count_band', prior_band, count(*),
        (SELECT count(*) FROM in_period)
    FROM in_period
    GROUP BY prior_band
    UNION ALL
    SELECT 'outcome', 'outcome', outcome, count(*), (SELECT count(*) FROM in_period)
    FROM in_period
    WHERE outcome IS NOT NULL
    GROUP BY outcome
    UNION ALL
    SELECT 'decision_timely', breakdown, category, n_timely, n_referrals
    FROM period_figures
    UNION ALL
    SELECT 'lateral_checks', breakdown, category, n_checks, n_checks_recorded
    FROM period_figures
    UNION ALL
    SELECT 'child_seen', breakdown, category, n_seen, n_seen_recorded
    FROM period_figures
    UNION ALL
    SELECT measure, 'outcome', outcome, count(*) FILTER (WHERE rereferred), count(*)
    FROM followed
    WHERE outcome IS NOT NULL
    GROUP BY measure, outcome
)

SELECT
    measure, 'DAT' AS scope, breakdown, category, numerator, denominator,
    _m_pct(numerator, denominator) AS value, 'percent' AS unit
FROM ratios

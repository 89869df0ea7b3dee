-- Workforce (docs/METRICS.md, "Workforce", analysis = workforce, scope WORKFORCE). Only run when the
-- optional workforce_posts and workforce_leavers tables exist.
--
-- The snapshot is the latest snapshot_date on or before period_end. A post is staffed when its
-- status is FILLED or AGENCY. Caseload figures use staffed posts with a caseload recorded; a team
-- or role with none gets n = 0 and a blank value. Experience bands use calendar months from
-- qualified_date (clamped month ends, as elsewhere): under 12 months, under 24 months, otherwise.
-- Turnover: leavers in the 12 months to period_end over the mean number of FILLED posts across
-- the snapshots in the same 12 months (so its denominator is a mean, not a count).

WITH
-- source ---------------------------------------------------------------------------------------
posts AS (
    SELECT post_id, snapshot_date, team, role, status, qualified_date, caseload
    FROM workforce_posts
),

leavers AS (
    SELECT staff_id, leaving_date FROM workforce_leavers
),

-- intermediate ---------------------------------------------------------------------------------
snapshot AS MATERIALIZED (
    SELECT * FROM posts
    WHERE snapshot_date = (SELECT max(snapshot_date) FROM posts WHERE snapshot_date <= $period_end)
),

-- Long format: every post once under the total and once under its team and its role.
dimensions AS (
    SELECT 'total' AS breakdown, 'all' AS category, * FROM snapshot
    UNION ALL
    SELECT 'team', team, * FROM snapshot
    UNION ALL
    SELECT 'role', role, * FROM snapshot WHERE role IS NOT NULL
),

year_window AS (
    SELECT
        CAST(CAST($period_end AS DATE) - INTERVAL 12 MONTH AS DATE) AS after_date,
        CAST($period_end AS DATE) AS up_to
),

filled_per_snapshot AS (
    SELECT p.snapshot_date, count(*) FILTER (WHERE p.status = 'FILLED') AS n_filled
    FROM posts AS p, year_window AS y
    WHERE p.snapshot_date > y.after_date AND p.snapshot_date <= y.up_to
    GROUP BY p.snapshot_date
),

-- final ----------------------------------------------------------------------------------------
post_figures AS (
    SELECT
        breakdown,
        category,
        count(*) AS n_posts,
        count(*) FILTER (WHERE status IN ('VACANT', 'AGENCY')) AS n_vacant,
        count(*) FILTER (WHERE status = 'AGENCY') AS n_agency,
        count(*) FILTER (WHERE status = 'LTS') AS n_lts,
        count(caseload) FILTER (WHERE status IN ('FILLED', 'AGENCY')) AS n_caseload,
        CAST(sum(caseload) FILTER (WHERE status IN ('FILLED', 'AGENCY')) AS DOUBLE)
            / nullif(count(caseload) FILTER (WHERE status IN ('FILLED', 'AGENCY')), 0)
            AS caseload_mean,
        median(caseload) FILTER (WHERE status IN ('FILLED', 'AGENCY')) AS caseload_median,
        min(caseload) FILTER (WHERE status IN ('FILLED', 'AGENCY')) AS caseload_min,
        max(caseload) FILTER (WHERE status IN ('FILLED', 'AGENCY')) AS caseload_max
    FROM dimensions
    GROUP BY breakdown, category
),

experience AS (
    SELECT
        CASE
            WHEN qualified_date IS NULL THEN 'UNKNOWN'
            WHEN snapshot_date < CAST(qualified_date + INTERVAL 12 MONTH AS DATE) THEN 'UNDER_1Y'
            WHEN snapshot_date < CAST(qualified_date + INTERVAL 24 MONTH AS DATE) THEN '1_TO_2Y'
            ELSE 'OVER_2Y'
        END AS band
    FROM snapshot
    WHERE role = 'SW' AND status = 'FILLED'
),

turnover AS (
    SELECT
        (SELECT count(*) FROM leavers AS l, year_window AS y
         WHERE l.leaving_date > y.after_date AND l.leaving_date <= y.up_to) AS n_leavers,
        (SELECT CAST(sum(n_filled) AS DOUBLE) / nullif(count(*), 0) FROM filled_per_snapshot)
            AS mean_filled
),

figures AS (
    SELECT 'posts' AS measure, breakdown, category,
        CAST(NULL AS DOUBLE) AS numerator, CAST(NULL AS DOUBLE) AS denominator,
        CAST(n_posts AS DOUBLE) AS value, 'count' AS unit
    FROM post_figures
    UNION ALL
    SELECT 'vacancy_rate', breakdown, category, n_vacant, n_posts,
        _m_pct(n_vacant, n_posts), 'percent'
    FROM post_figures
    UNION ALL
    SELECT 'agency_cover', breakdown, category, n_agency, n_vacant,
        _m_pct(n_agency, n_vacant), 'percent'
    FROM post_figures WHERE breakdown = 'total'
    UNION ALL
    SELECT 'long_term_sick', breakdown, category, n_lts, n_posts,
        _m_pct(n_lts, n_posts), 'percent'
    FROM post_figures WHERE breakdown = 'total'
    UNION ALL
    SELECT 'caseload_mean', breakdown, category, NULL, n_caseload, caseload_mean, 'count'
    FROM post_figures WHERE breakdown <> 'total'
    UNION ALL
    SELECT 'caseload_median', breakdown, category, NULL, n_caseload, caseload_median, 'count'
    FROM post_figures WHERE breakdown <> 'total'
    UNION ALL
    SELECT 'caseload_min', breakdown, category, NULL, n_caseload, caseload_min, 'count'
    FROM post_figures WHERE breakdown <> 'total'
    UNION ALL
    SELECT 'caseload_max', breakdown, category, NULL, n_caseload, caseload_max, 'count'
    FROM post_figures WHERE breakdown <> 'total'
    UNION ALL
    SELECT 'experience', 'band', band, count(*),
        (SELECT count(*) FROM experience), _m_pct(count(*), (SELECT count(*) FROM experience)),
        'percent'
    FROM experience
    GROUP BY band
    UNION ALL
    SELECT 'turnover', 'total', 'all', n_leavers, mean_filled,
        CASE WHEN mean_filled > 0 THEN 100.0 * n_leavers / mean_filled END, 'percent'
    FROM turnover
)

SELECT measure, 'WORKFORCE' AS scope, breakdown, category, numerator, denominator, value, unit
FROM figures
WHERE (SELECT count(*) FROM snapshot) > 0

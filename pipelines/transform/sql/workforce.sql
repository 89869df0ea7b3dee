-- Workforce (docs/METRICS.md, "Workforce", analysis = workforce, scope WORKFORCE). Only run when the
-- optional workforce_posts and workforce_leavers tables exist.
--
-- The snapshot is the latest snapshot_date on or before period_end. A post is staffed when its
-- status is FILLED or AGENCY. Caseload figures use staffed posts with a caseload recorded; a team
-- or role with none gets n = 0 and a blank value. Experience bands use calendar months from
-- qualified_date (clamped month ends, as elsewhere): under 12 months, under 24 months, otherwise.
-- Turnover: leavers in the 12 months to period_end over the mean number of FILLED posts across
-- the snapshots in the same 12 months (so its denominator is a mean, not a count). It is not
-- available (numerator, denominator and value blank) when those 12 months start before the
-- workforce history does: the last snapshot on or before the first leaving date in the leavers
-- extract (the first snapshot if the leavers go back further, or there are none). Counting a
-- year that the extracts only partly cover would give a false figure (0% before any leaver).

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
-- The snapshot of each period (_m_periods: this period, the same period a year earlier, the 8
-- quarters): the latest snapshot_date on or before the period's end (NULL when there is none).
period_snapshots AS (
    SELECT
        p.breakdown,
        p.category,
        p.p_end,
        (SELECT max(s.snapshot_date) FROM posts AS s WHERE s.snapshot_date <= p.p_end)
            AS snapshot_date
    FROM _m_periods AS p
),

snapshot AS MATERIALIZED (
    SELECT po.*
    FROM posts AS po
    JOIN period_snapshots AS s ON s.breakdown = 'total' AND po.snapshot_date = s.snapshot_date
),

-- Long format: every post of the reporting period's snapshot under its team and its role.
dimensions AS (
    SELECT 'team' AS breakdown, team AS category, * FROM snapshot
    UNION ALL
    SELECT 'role', role, * FROM snapshot WHERE role IS NOT NULL
),

filled_per_snapshot AS (
    SELECT snapshot_date, count(*) FILTER (WHERE status = 'FILLED') AS n_filled
    FROM posts
    GROUP BY snapshot_date
),

-- final ----------------------------------------------------------------------------------------
-- The measures with a total row, for every period's snapshot (no snapshot: 0 posts).
period_post_figures AS (
    SELECT
        s.breakdown,
        s.category,
        count(po.post_id) AS n_posts,
        count(po.post_id) FILTER (WHERE po.status IN ('VACANT', 'AGENCY')) AS n_vacant,
        count(po.post_id) FILTER (WHERE po.status = 'AGENCY') AS n_agency,
        count(po.post_id) FILTER (WHERE po.status = 'LTS') AS n_lts
    FROM period_snapshots AS s
    LEFT JOIN posts AS po ON po.snapshot_date = s.snapshot_date
    GROUP BY s.breakdown, s.category
),

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

-- Where the leavers (and snapshots) begin: the last snapshot on or before the first leaver, or
-- the first snapshot.
history AS (
    SELECT coalesce(
        (SELECT max(s.snapshot_date) FROM posts AS s
         WHERE s.snapshot_date <= (SELECT min(l.leaving_date) FROM leavers AS l)),
        (SELECT min(s.snapshot_date) FROM posts AS s)
    ) AS history_start
),

-- Turnover of each period: leavers in the 12 months to its end over the mean number of FILLED
-- posts across the snapshots of those 12 months; not available when they start before history.
turnover AS (
    SELECT
        p.breakdown,
        p.category,
        CAST(p.p_end - INTERVAL 12 MONTH AS DATE) >= (SELECT history_start FROM history)
            AS available,
        (SELECT count(*) FROM leavers AS l
         WHERE l.leaving_date > CAST(p.p_end - INTERVAL 12 MONTH AS DATE)
           AND l.leaving_date <= p.p_end) AS n_leavers,
        (SELECT CAST(sum(f.n_filled) AS DOUBLE) / nullif(count(*), 0)
         FROM filled_per_snapshot AS f
         WHERE f.snapshot_date > CAST(p.p_end - INTERVAL 12 MONTH AS DATE)
           AND f.snapshot_date <= p.p_end) AS mean_filled
    FROM _m_periods AS p
),

figures AS (
    SELECT 'posts' AS measure, breakdown, category,
        CAST(NULL AS DOUBLE) AS numerator, CAST(NULL AS DOUBLE) AS denominator,
        CAST(n_posts AS DOUBLE) AS value, 'count' AS unit
    FROM period_post_figures
    UNION ALL
    SELECT 'posts', breakdown, category, NULL, NULL, CAST(n_posts AS DOUBLE), 'count'
    FROM post_figures
    UNION ALL
    SELECT 'vacancy_rate', breakdown, category, n_vacant, n_posts,
        _m_pct(n_vacant, n_posts), 'percent'
    FROM period_post_figures
    UNION ALL
    SELECT 'vacancy_rate', breakdown, category, n_vacant, n_posts,
        _m_pct(n_vacant, n_posts), 'percent'
    FROM post_figures
    UNION ALL
    SELECT 'agency_cover', breakdown, category, n_agency, n_vacant,
        _m_pct(n_agency, n_vacant), 'percent'
    FROM period_post_figures
    UNION ALL
    SELECT 'long_term_sick', breakdown, category, n_lts, n_posts,
        _m_pct(n_lts, n_posts), 'percent'
    FROM period_post_figures
    UNION ALL
    SELECT 'caseload_mean', breakdown, category, NULL, n_caseload, caseload_mean, 'count'
    FROM post_figures
    UNION ALL
    SELECT 'caseload_median', breakdown, category, NULL, n_caseload, caseload_median, 'count'
    FROM post_figures
    UNION ALL
    SELECT 'caseload_min', breakdown, category, NULL, n_caseload, caseload_min, 'count'
    FROM post_figures
    UNION ALL
    SELECT 'caseload_max', breakdown, category, NULL, n_caseload, caseload_max, 'count'
    FROM post_figures
    UNION ALL
    SELECT 'experience', 'band', band, count(*),
        (SELECT count(*) FROM experience), _m_pct(count(*), (SELECT count(*) FROM experience)),
        'percent'
    FROM experience
    GROUP BY band
    UNION ALL
    SELECT 'turnover', breakdown, category,
        CASE WHEN available THEN n_leavers END,
        CASE WHEN available THEN mean_filled END,
        CASE WHEN available AND mean_filled > 0 THEN 100.0 * n_leavers / mean_filled END,
        'percent'
    FROM turnover
)

SELECT measure, 'WORKFORCE' AS scope, breakdown, category, numerator, denominator, value, unit
FROM figures
WHERE (SELECT count(*) FROM snapshot) > 0

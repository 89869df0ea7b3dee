-- Distance travelled (docs/METRICS.md, "Distance travelled", analysis = distance_travelled).
-- Scopes: each IFSS service, and IFSS (all four together). A family is a distinct family_id
-- within the scope.
--
-- Paired referral: has a START and an END assessment, and its latest END is dated in the period.
-- Its start assessment is the earliest START, its end assessment the latest END (ties on the date
-- broken by assessment_id, so the choice is deterministic). Start and end risk are the means over
-- the domains scored in both; a referral with no domain in common has no risk to compare and is
-- not counted as paired. Because both means run over the same n domains,
--   100 * (start risk - end risk) / start risk = 100 * (sum start - sum end) / sum start
-- and "end risk < start risk" is "sum end < sum start": computed on integer sums, exactly.
-- Means of non-integer values use avg(... ORDER BY key) so the floating-point sum is taken in one
-- fixed order and the result is byte-identical from run to run, whatever the thread count.

WITH
-- source ---------------------------------------------------------------------------------------
referrals AS (
    SELECT
        ifss_referral_id, family_id, service, accepted,
        service_start_date, service_end_date, escalated, escalation_date
    FROM ifss_referrals
),

scores AS (
    SELECT assessment_id, ifss_referral_id, assessment_date, stage, domain, risk_score
    FROM ifss_distance_travelled
),

scopes AS (
    SELECT * FROM (VALUES ('PREVENTION'), ('FST'), ('IFST'), ('FASS'), ('IFSS')) AS s (scope)
),

-- intermediate ---------------------------------------------------------------------------------
-- Each referral belongs to its own service's scope and to IFSS.
scoped_referrals AS MATERIALIZED (
    SELECT service AS scope, * FROM referrals
    UNION ALL
    SELECT 'IFSS' AS scope, * FROM referrals
),

families_served AS (
    SELECT
        scope,
        family_id,
        bool_or(escalated AND escalation_date BETWEEN $period_start AND $period_end) AS escalated
    FROM scoped_referrals
    WHERE accepted
      AND service_start_date <= $period_end
      AND (service_end_date IS NULL OR service_end_date >= $period_start)
    GROUP BY scope, family_id
),

assessments AS (
    SELECT DISTINCT assessment_id, ifss_referral_id, assessment_date, stage
    FROM scores
),

ranked AS (
    SELECT
        *,
        row_number() OVER (
            PARTITION BY ifss_referral_id, stage ORDER BY assessment_date, assessment_id
        ) AS first_rank,
        row_number() OVER (
            PARTITION BY ifss_referral_id, stage ORDER BY assessment_date DESC, assessment_id DESC
        ) AS last_rank
    FROM assessments
    WHERE stage IN ('START', 'END')
),

pairs AS (
    SELECT s.ifss_referral_id, s.assessment_id AS start_id, e.assessment_id AS end_id
    FROM ranked AS s
    JOIN ranked AS e ON e.ifss_referral_id = s.ifss_referral_id
    WHERE s.stage = 'START' AND s.first_rank = 1
      AND e.stage = 'END' AND e.last_rank = 1
      AND e.assessment_date BETWEEN $period_start AND $period_end
),

-- One row per paired referral per domain scored at both its start and its end assessment.
domain_pairs AS MATERIALIZED (
    SELECT
        p.ifss_referral_id,
        s.domain,
        s.risk_score AS start_score,
        e.risk_score AS end_score
    FROM pairs AS p
    JOIN scores AS s ON s.ifss_referral_id = p.ifss_referral_id AND s.assessment_id = p.start_id
    JOIN scores AS e
        ON e.ifss_referral_id = p.ifss_referral_id AND e.assessment_id = p.end_id
        AND e.domain = s.domain
),

paired AS (
    SELECT
        r.scope,
        d.ifss_referral_id,
        sum(d.start_score) AS start_sum,
        sum(d.end_score) AS end_sum
    FROM domain_pairs AS d
    JOIN scoped_referrals AS r ON r.ifss_referral_id = d.ifss_referral_id
    GROUP BY r.scope, d.ifss_referral_id
),

-- START assessments (every one, not only the earliest) with their mean domain score.
start_assessments AS MATERIALIZED (
    SELECT
        r.scope,
        s.assessment_id,
        any_value(s.assessment_date) AS assessment_date,
        sum(s.risk_score) / count(*) AS mean_score
    FROM scores AS s
    JOIN scoped_referrals AS r ON r.ifss_referral_id = s.ifss_referral_id
    WHERE s.stage = 'START'
    GROUP BY r.scope, s.ifss_referral_id, s.assessment_id
),

-- Every calendar quarter from the one containing period_start - 12 months to the one containing
-- period_end (listed in full, even when empty).
quarters AS (
    SELECT
        CAST(q AS DATE) AS q_start,
        CAST(q + INTERVAL 3 MONTH - INTERVAL 1 DAY AS DATE) AS q_end,
        year(q) || '-Q' || quarter(q) AS label
    FROM range(
        date_trunc('quarter', CAST($period_start AS DATE) - INTERVAL 12 MONTH),
        date_trunc('quarter', CAST($period_end AS DATE)) + INTERVAL 1 DAY,
        INTERVAL 3 MONTH
    ) AS t (q)
),

-- final ----------------------------------------------------------------------------------------
served_figures AS (
    SELECT
        s.scope,
        count(f.family_id) AS n_families,
        count(f.family_id) FILTER (WHERE f.escalated) AS n_escalated
    FROM scopes AS s
    LEFT JOIN families_served AS f ON f.scope = s.scope
    GROUP BY s.scope
),

paired_figures AS (
    SELECT
        s.scope,
        count(p.ifss_referral_id) AS n_paired,
        count(p.ifss_referral_id) FILTER (WHERE p.end_sum < p.start_sum) AS n_reduced,
        avg(100.0 * (p.start_sum - p.end_sum) / p.start_sum ORDER BY p.ifss_referral_id)
            AS mean_reduction
    FROM scopes AS s
    LEFT JOIN paired AS p ON p.scope = s.scope
    GROUP BY s.scope
),

domain_figures AS (
    SELECT
        r.scope,
        d.domain,
        count(*) AS n_paired,
        CAST(sum(d.end_score - d.start_score) AS DOUBLE) / count(*) AS mean_change
    FROM domain_pairs AS d
    JOIN scoped_referrals AS r ON r.ifss_referral_id = d.ifss_referral_id
    GROUP BY r.scope, d.domain
),

quarter_figures AS (
    SELECT
        s.scope,
        q.label,
        count(a.assessment_id) AS n_assessments,
        avg(a.mean_score ORDER BY a.assessment_id) AS mean_start_risk
    FROM scopes AS s
    CROSS JOIN quarters AS q
    LEFT JOIN start_assessments AS a
        ON a.scope = s.scope AND a.assessment_date BETWEEN q.q_start AND q.q_end
    GROUP BY s.scope, q.label
)

SELECT 'families_served' AS measure, scope, 'total' AS breakdown, 'all' AS category,
    CAST(NULL AS BIGINT) AS numerator, CAST(NULL AS BIGINT) AS denominator,
    CAST(n_families AS DOUBLE) AS value, 'count' AS unit
FROM served_figures
UNION ALL
SELECT 'escalated', scope, 'total', 'all', n_escalated, n_families,
    _m_pct(n_escalated, n_families), 'percent'
FROM served_figures
UNION ALL
SELECT 'paired', scope, 'total', 'all', NULL, NULL, CAST(n_paired AS DOUBLE), 'count'
FROM paired_figures
UNION ALL
SELECT 'mean_risk_reduction', scope, 'total', 'all', NULL, n_paired, mean_reduction, 'percent'
FROM paired_figures
UNION ALL
SELECT 'risk_reduced', scope, 'total', 'all', n_reduced, n_paired,
    _m_pct(n_reduced, n_paired), 'percent'
FROM paired_figures
UNION ALL
SELECT 'domain_change', scope, 'domain', domain, NULL, n_paired, mean_change, 'score'
FROM domain_figures
UNION ALL
SELECT 'mean_start_risk', scope, 'quarter', label, NULL, n_assessments, mean_start_risk, 'score'
FROM quarter_figures

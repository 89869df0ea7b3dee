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

-- Families served in each period (_m_periods: this period, the same period a year earlier, the
-- 8 quarters): an accepted referral whose service overlaps the period.
families_served AS (
    SELECT
        p.breakdown,
        p.category,
        r.scope,
        r.family_id,
        bool_or(r.escalated AND r.escalation_date BETWEEN p.p_start AND p.p_end) AS escalated
    FROM scoped_referrals AS r
    JOIN _m_periods AS p
        ON r.service_start_date <= p.p_end
        AND (r.service_end_date IS NULL OR r.service_end_date >= p.p_start)
    WHERE r.accepted
    GROUP BY p.breakdown, p.category, r.scope, r.family_id
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
    SELECT
        s.ifss_referral_id,
        s.assessment_id AS start_id,
        e.assessment_id AS end_id,
        e.assessment_date AS end_date
    FROM ranked AS s
    JOIN ranked AS e ON e.ifss_referral_id = s.ifss_referral_id
    WHERE s.stage = 'START' AND s.first_rank = 1
      AND e.stage = 'END' AND e.last_rank = 1
),

-- One row per paired referral per domain scored at both its start and its end assessment (any
-- end date: each period below takes the referrals whose end assessment it holds).
domain_pairs AS MATERIALIZED (
    SELECT
        p.ifss_referral_id,
        p.end_date,
        s.domain,
        s.risk_score AS start_score,
        e.risk_score AS end_score
    FROM pairs AS p
    JOIN scores AS s ON s.ifss_referral_id = p.ifss_referral_id AND s.assessment_id = p.start_id
    JOIN scores AS e
        ON e.ifss_referral_id = p.ifss_referral_id AND e.assessment_id = p.end_id
        AND e.domain = s.domain
),

paired_sums AS (
    SELECT
        r.scope,
        d.ifss_referral_id,
        any_value(d.end_date) AS end_date,
        sum(d.start_score) AS start_sum,
        sum(d.end_score) AS end_sum
    FROM domain_pairs AS d
    JOIN scoped_referrals AS r ON r.ifss_referral_id = d.ifss_referral_id
    GROUP BY r.scope, d.ifss_referral_id
),

-- Paired referrals of each period: the latest END assessment is dated in it.
paired AS (
    SELECT p.breakdown, p.category, s.*
    FROM paired_sums AS s
    JOIN _m_periods AS p ON s.end_date BETWEEN p.p_start AND p.p_end
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
        pe.breakdown,
        pe.category,
        count(f.family_id) AS n_families,
        count(f.family_id) FILTER (WHERE f.escalated) AS n_escalated
    FROM scopes AS s
    CROSS JOIN _m_periods AS pe
    LEFT JOIN families_served AS f
        ON f.scope = s.scope AND f.breakdown = pe.breakdown AND f.category = pe.category
    GROUP BY s.scope, pe.breakdown, pe.category
),

paired_figures AS (
    SELECT
        s.scope,
        pe.breakdown,
        pe.category,
        count(p.ifss_referral_id) AS n_paired,
        count(p.ifss_referral_id) FILTER (WHERE p.end_sum < p.start_sum) AS n_reduced,
        avg(100.0 * (p.start_sum - p.end_sum) / p.start_sum ORDER BY p.ifss_referral_id)
            AS mean_reduction
    FROM scopes AS s
    CROSS JOIN _m_periods AS pe
    LEFT JOIN paired AS p
        ON p.scope = s.scope AND p.breakdown = pe.breakdown AND p.category = pe.category
    GROUP BY s.scope, pe.breakdown, pe.category
),

-- Domain changes of the referrals paired in the reporting period.
domain_figures AS (
    SELECT
        r.scope,
        d.domain,
        count(*) AS n_paired,
        CAST(sum(d.end_score - d.start_score) AS DOUBLE) / count(*) AS mean_change
    FROM domain_pairs AS d
    JOIN _m_periods AS pe
        ON pe.breakdown = 'total' AND d.end_date BETWEEN pe.p_start AND pe.p_end
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

SELECT 'families_served' AS measure, scope, breakdown, category,
    CAST(NULL AS BIGINT) AS numerator, CAST(NULL AS BIGINT) AS denominator,
    CAST(n_families AS DOUBLE) AS value, 'count' AS unit
FROM served_figures
UNION ALL
SELECT 'escalated', scope, breakdown, category, n_escalated, n_families,
    _m_pct(n_escalated, n_families), 'percent'
FROM served_figures
UNION ALL
SELECT 'paired', scope, breakdown, category, NULL, NULL, CAST(n_paired AS DOUBLE), 'count'
FROM paired_figures
UNION ALL
SELECT 'mean_risk_reduction', scope, breakdown, category, NULL, n_paired, mean_reduction, 'percent'
FROM paired_figures
UNION ALL
SELECT 'risk_reduced', scope, breakdown, category, n_reduced, n_paired,
    _m_pct(n_reduced, n_paired), 'percent'
FROM paired_figures
UNION ALL
SELECT 'domain_change', scope, 'domain', domain, NULL, n_paired, mean_change, 'score'
FROM domain_figures
UNION ALL
SELECT 'mean_start_risk', scope, 'quarter', label, NULL, n_assessments, mean_start_risk, 'score'
FROM quarter_figures

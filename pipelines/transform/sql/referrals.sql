-- Referral sources (docs/METRICS.md, "Referral sources", analysis = referrals).
-- Grain of the result: one row per figure. Scopes: DAT (dat_referrals) and each IFSS service.
-- A referral counts when its referral_date is in the period. Ratios divide by every referral of the
-- scope in the period, including those whose breakdown value is blank (they get no category row);
-- primary_substance divides by referrals with a substance recorded, accepted by referrals of the
-- same referral_type.

WITH
-- source ---------------------------------------------------------------------------------------
dat AS (
    SELECT
        'DAT' AS scope,
        referral_date,
        referral_source,
        CAST(NULL AS VARCHAR) AS referring_team,
        age_band,
        CAST(NULL AS VARCHAR) AS referral_reason,
        CAST(NULL AS VARCHAR) AS case_status,
        CAST(NULL AS VARCHAR) AS primary_substance,
        CAST(NULL AS VARCHAR) AS referral_type,
        CAST(NULL AS BOOLEAN) AS accepted
    FROM dat_referrals
),

ifss AS (
    SELECT
        service AS scope,
        referral_date,
        referral_source,
        referring_team,
        age_band,
        referral_reason,
        case_status,
        primary_substance,
        referral_type,
        accepted
    FROM ifss_referrals
),

scopes AS (
    SELECT * FROM (VALUES ('DAT'), ('PREVENTION'), ('FST'), ('IFST'), ('FASS')) AS s (scope)
),

-- intermediate ---------------------------------------------------------------------------------
-- Report group of the referral source: 5A (LA social care) is split by referring_team where one
-- is given (docs/EXTRACTS.md); the code -> group map is the contract's code list (_m_source_groups).
grouped AS (
    SELECT
        r.*,
        CASE
            WHEN r.referral_source = '5A' AND r.referring_team IS NOT NULL THEN r.referring_team
            ELSE g.source_group
        END AS source_group
    FROM (SELECT * FROM dat UNION ALL SELECT * FROM ifss) AS r
    LEFT JOIN _m_source_groups AS g ON g.referral_source = r.referral_source
),

-- Each referral once for every period it falls in (_m_periods: this period, the same period a
-- year earlier, the 8 quarters); the breakdowns use the reporting period only.
in_periods AS MATERIALIZED (
    SELECT p.breakdown AS p_breakdown, p.category AS p_category, r.*
    FROM grouped AS r
    JOIN _m_periods AS p ON r.referral_date BETWEEN p.p_start AND p.p_end
),

in_period AS (
    SELECT * FROM in_periods WHERE p_breakdown = 'total'
),

period_totals AS (
    SELECT
        s.scope,
        p.breakdown,
        p.category,
        count(r.scope) AS n_referrals,
        count(r.primary_substance) AS n_with_substance
    FROM scopes AS s
    CROSS JOIN _m_periods AS p
    LEFT JOIN in_periods AS r
        ON r.scope = s.scope AND r.p_breakdown = p.breakdown AND r.p_category = p.category
    GROUP BY s.scope, p.breakdown, p.category
),

totals AS (
    SELECT * FROM period_totals WHERE breakdown = 'total'
),

-- One row per referral per breakdown dimension (long format), blanks dropped.
dimensions AS (
    SELECT scope, 'source_group' AS breakdown, source_group AS category FROM in_period
    UNION ALL
    SELECT scope, 'age_band', age_band FROM in_period
    UNION ALL
    SELECT scope, 'reason', referral_reason FROM in_period WHERE scope <> 'DAT'
    UNION ALL
    SELECT scope, 'case_status', case_status FROM in_period WHERE scope <> 'DAT'
),

-- final ----------------------------------------------------------------------------------------
received_total AS (
    SELECT
        'received' AS measure,
        scope,
        breakdown,
        category,
        CAST(NULL AS BIGINT) AS numerator,
        CAST(NULL AS BIGINT) AS denominator,
        CAST(n_referrals AS DOUBLE) AS value,
        'count' AS unit
    FROM period_totals
),

received_by AS (
    SELECT
        'received' AS measure,
        d.scope,
        d.breakdown,
        d.category,
        count(*) AS numerator,
        any_value(t.n_referrals) AS denominator
    FROM dimensions AS d
    JOIN totals AS t ON t.scope = d.scope
    WHERE d.category IS NOT NULL
    GROUP BY d.scope, d.breakdown, d.category
),

received_by_substance AS (
    SELECT
        'received' AS measure,
        r.scope,
        'primary_substance' AS breakdown,
        r.primary_substance AS category,
        count(*) AS numerator,
        any_value(t.n_with_substance) AS denominator
    FROM in_period AS r
    JOIN totals AS t ON t.scope = r.scope
    WHERE r.scope = 'IFST' AND r.primary_substance IS NOT NULL
    GROUP BY r.scope, r.primary_substance
),

accepted_by_type AS (
    SELECT
        'accepted' AS measure,
        scope,
        'referral_type' AS breakdown,
        referral_type AS category,
        count(*) FILTER (WHERE accepted) AS numerator,
        count(*) AS denominator
    FROM in_period
    WHERE scope <> 'DAT' AND referral_type IS NOT NULL
    GROUP BY scope, referral_type
),

ratios AS (
    SELECT * FROM received_by
    UNION ALL
    SELECT * FROM received_by_substance
    UNION ALL
    SELECT * FROM accepted_by_type
)

SELECT * FROM received_total
UNION ALL
SELECT
    measure, scope, breakdown, category, numerator, denominator,
    _m_pct(numerator, denominator) AS value,
    'percent' AS unit
FROM ratios

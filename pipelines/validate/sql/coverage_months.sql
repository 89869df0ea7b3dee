-- Records a calendar month by one extract's event date (the coverage rules, COV-001 to COV-003).
-- {table} and {column} are filled in by pipelines/validate/coverage.py from rules.yaml
-- (settings.coverage.extracts); $data_as_at is bound. Dates after the extract was taken are left
-- out (the future-date rules report them); blank dates are left out (the not-blank rules do).
SELECT date_trunc('month', "{column}")::DATE AS month,
       count(*)::BIGINT AS n,
       min("{column}") AS first_date,
       max("{column}") AS last_date
FROM "{table}"
WHERE "{column}" IS NOT NULL AND "{column}" <= $data_as_at
GROUP BY 1
ORDER BY 1

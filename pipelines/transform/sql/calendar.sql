-- Working-day calendar, one row per date from $cal_start to $cal_end (a TEMP table, so it works on a
-- read-only warehouse). A working day is Monday to Friday and not an England and Wales bank holiday
-- (the temp table _m_bank_holidays, loaded from the `holidays` package, England subdivision, by
-- pipelines/transform/calendar.py).
--
-- wd_seq is the running count of working days up to and including the date. "N working days after
-- X" (strictly after X) is therefore the working day whose wd_seq equals wd_seq(X) + N: a Friday X
-- gives the following Monday as its 1st working day after, and a bank holiday X counts from the
-- next working day, as it should.
CREATE OR REPLACE TEMP TABLE _m_calendar AS
WITH
days AS (
    SELECT CAST(range AS DATE) AS d
    FROM range(CAST($cal_start AS DATE), CAST($cal_end AS DATE) + INTERVAL 1 DAY, INTERVAL 1 DAY)
),

flagged AS (
    SELECT
        d,
        isodow(d) <= 5 AND d NOT IN (SELECT d FROM _m_bank_holidays) AS is_working
    FROM days
)

SELECT
    d,
    is_working,
    CAST(sum(CASE WHEN is_working THEN 1 ELSE 0 END) OVER (ORDER BY d) AS INTEGER) AS wd_seq
FROM flagged
ORDER BY d

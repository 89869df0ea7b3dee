"""The working-day calendar: weekends and England and Wales bank holidays, as a TEMP table."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import holidays

SQL = Path(__file__).resolve().parent / "sql" / "calendar.sql"

#: Deadlines reach this far past the last date in the data (15 working days is about 3 weeks;
#: the margin also covers Christmas and Easter).
MARGIN_DAYS = 120


def bank_holidays(start_year: int, end_year: int) -> list[tuple[dt.date, str]]:
    """England and Wales bank holidays from the maintained ``holidays`` package (no network call).

    The ``GB`` calendar without a subdivision would add Scottish and Northern Irish days (2 January,
    St Andrew's Day, St Patrick's Day, the Battle of the Boyne); subdivision ``ENG`` is exactly the
    England and Wales list, including one-off days such as 2011-04-29 (royal wedding) and
    2012-06-04/05 (spring bank holiday moved, Diamond Jubilee).
    """
    days = holidays.country_holidays("GB", subdiv="ENG", years=range(start_year, end_year + 1))
    return sorted(days.items())


def build_calendar(con: duckdb.DuckDBPyConnection, start: dt.date, end: dt.date) -> None:
    """Create TEMP tables ``_m_bank_holidays`` and ``_m_calendar`` (start to end + margin)."""
    end = end + dt.timedelta(days=MARGIN_DAYS)
    con.execute("CREATE OR REPLACE TEMP TABLE _m_bank_holidays (d DATE, name VARCHAR)")
    rows = bank_holidays(start.year, end.year)
    if rows:
        con.executemany("INSERT INTO _m_bank_holidays VALUES (?, ?)", rows)
    con.execute(SQL.read_text(encoding="utf-8"), {"cal_start": start, "cal_end": end})

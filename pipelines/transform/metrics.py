"""``compute_metrics``: run the per-analysis SQL files and assemble the ``metrics.csv`` table."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from pipelines.config import RunConfig
from pipelines.contract import METRICS_COLUMNS, code_lists, codes, metrics_shape
from pipelines.sql import bound
from pipelines.transform.calendar import build_calendar

SQL_DIR = Path(__file__).resolve().parent / "sql"


#: Analyses in output order, with the warehouse tables each needs (pipelines/contract/metrics.yaml).
#: An optional analysis (workforce) runs only when all its tables exist.
ANALYSES: dict[str, tuple[str, ...]] = {
    analysis: tuple(metrics_shape()["sources"][analysis])
    for analysis in metrics_shape()["analyses"]
}
OPTIONAL_ANALYSES = set(metrics_shape()["optional_analyses"])

# Row order of metrics.csv: analyses, measures, scopes, breakdowns and categories in the order
# pipelines/contract/metrics.yaml gives them (the order docs/METRICS.md lists them).
SHAPE = metrics_shape()
SCOPE_ORDER: list[str] = SHAPE["scopes"]
MEASURE_ORDER: list[str] = [m for measures in SHAPE["analyses"].values() for m in measures]
BREAKDOWN_ORDER: list[str] = SHAPE["breakdowns"]
#: Category order per breakdown: a contract code list (by name) or a fixed list.
CATEGORY_ORDER: dict[str, str | list[str]] = SHAPE["categories"]

#: TEMP tables made for one computation (the calendar ones by calendar.build_calendar).
TEMP_TABLES = ("_m_source_groups", "_m_bank_holidays", "_m_calendar", "_m_periods")

#: TEMP macros made by sql/macros.sql.
TEMP_MACROS = ("_m_pct", "_m_financial_years", "_m_period_list")


def read_sql(name: str) -> str:
    """The text of ``sql/<name>.sql``."""
    return (SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")


def _run(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, dt.date]) -> pd.DataFrame:
    """Execute one SQL file, passing only the named parameters it uses (DuckDB rejects extras)."""
    return con.execute(sql, bound(sql, params)).df()


def _existing_tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE NOT temporary "
        "UNION SELECT view_name FROM duckdb_views() WHERE NOT temporary AND NOT internal"
    ).fetchall()
    return {r[0] for r in rows}


def _one_row(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[Any, ...]:
    """The single row of an aggregate query (DuckDB types ``fetchone`` as possibly ``None``)."""
    row = con.execute(sql).fetchone()
    if row is None:  # an aggregate without GROUP BY always returns one row
        raise AssertionError(f"no row from: {sql}")
    return row


def _calendar_range(con: duckdb.DuckDBPyConnection, config: RunConfig) -> tuple[dt.date, dt.date]:
    """First and last dates any working-day deadline starts from, widened to the run's dates."""
    lo, hi = _one_row(
        con,
        """
        SELECT least(min(a), min(b), min(c)), greatest(max(a), max(b), max(c))
        FROM (
            SELECT referral_date AS a, NULL::DATE AS b, NULL::DATE AS c FROM dat_referrals
            UNION ALL
            SELECT NULL, strategy_discussion_date, initial_conference_date FROM cpr_registrations
        )
        """,
    )
    start = min(d for d in (lo, config.period_start) if d is not None)
    end = max(d for d in (hi, config.data_as_at) if d is not None)
    return start, end


def _setup(con: duckdb.DuckDBPyConnection, config: RunConfig) -> None:
    con.execute(read_sql("macros"))
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _m_source_groups "
        "(referral_source VARCHAR, source_group VARCHAR)"
    )
    groups = [(code, spec["group"]) for code, spec in code_lists()["referral_source"].items()]
    con.executemany("INSERT INTO _m_source_groups VALUES (?, ?)", groups)
    build_calendar(con, *_calendar_range(con, config))
    # The periods each total-row measure is computed for: this period, a year earlier, 8 quarters.
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _m_periods AS SELECT * FROM _m_period_list(?, ?)",
        [config.period_start, config.period_end],
    )


def _teardown(con: duckdb.DuckDBPyConnection) -> None:
    """Drop the TEMP tables and macros ``_setup`` made, leaving the connection as it was."""
    for name in TEMP_TABLES:
        con.execute(f"DROP TABLE IF EXISTS temp.main.{name}")
    con.execute("DROP MACRO IF EXISTS temp.main._m_pct")
    con.execute("DROP MACRO TABLE IF EXISTS temp.main._m_financial_years")
    con.execute("DROP MACRO TABLE IF EXISTS temp.main._m_period_list")


def _order_keys(df: pd.DataFrame) -> pd.DataFrame:
    """Integer sort keys for the fixed row order (analysis, measure, scope, breakdown, category)."""

    def rank(values: list[str]) -> dict[str, int]:
        return {v: i for i, v in enumerate(values)}

    analyses, measures = rank(list(ANALYSES)), rank(MEASURE_ORDER)
    scopes, breakdowns = rank(SCOPE_ORDER), rank(BREAKDOWN_ORDER)
    category_rank: dict[str, dict[str, int]] = {}
    for breakdown, spec in CATEGORY_ORDER.items():
        category_rank[breakdown] = rank(codes(spec) if isinstance(spec, str) else spec)

    def category_key(row: pd.Series) -> int:
        if row["category"] == "all":
            return -1
        return category_rank.get(row["breakdown"], {}).get(row["category"], 10_000)

    return pd.DataFrame(
        {
            "_a": df["analysis"].map(analyses).fillna(99),
            "_m": df["measure"].map(measures).fillna(999),
            "_s": df["scope"].map(scopes).fillna(99),
            "_b": df["breakdown"].map(breakdowns).fillna(99),
            "_c": df.apply(category_key, axis=1) if len(df) else pd.Series(dtype=int),
            "_k": df["category"],
        },
        index=df.index,
    )


def compute_metrics(con: duckdb.DuckDBPyConnection, config: RunConfig) -> pd.DataFrame:
    """Every docs/METRICS.md figure for the run's period, one row each, in the metrics.csv columns.

    ``con`` may be read-only: only TEMP objects are created. The workforce analysis runs when both
    workforce tables exist and is skipped silently otherwise.
    """
    params = {
        "period_start": config.period_start,
        "period_end": config.period_end,
        "data_as_at": config.data_as_at,
    }
    tables = _existing_tables(con)
    # DuckDB's own progress bar would interleave with the run's progress lines: off while we run,
    # then the caller's setting is put back, and our TEMP objects are dropped.
    progress_bar = _one_row(con, "SELECT current_setting('enable_progress_bar')")[0]
    con.execute("SET enable_progress_bar = false")
    try:
        _setup(con, config)
        frames = []
        for analysis, needs in ANALYSES.items():
            if analysis in OPTIONAL_ANALYSES and not set(needs) <= tables:
                continue
            frame = _run(con, read_sql(analysis), params)
            frame.insert(0, "analysis", analysis)
            frames.append(frame)
    finally:
        _teardown(con)
        con.execute(f"SET enable_progress_bar = {'true' if progress_bar else 'false'}")
    df = pd.concat(frames, ignore_index=True)
    for col in ("numerator", "denominator", "value"):
        df[col] = pd.to_numeric(df[col], errors="raise").astype("float64")
    for col in ("analysis", "measure", "scope", "breakdown", "category", "unit"):
        df[col] = df[col].astype(str)
    df["period_start"] = config.period_start.isoformat()
    df["period_end"] = config.period_end.isoformat()
    keys = _order_keys(df)
    order = keys.sort_values(list(keys.columns), kind="stable").index
    return df.loc[order, METRICS_COLUMNS].reset_index(drop=True)

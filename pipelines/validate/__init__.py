"""Validation: the rules of ``rules.yaml`` over the freshly ingested warehouse, and the data
quality report (offline HTML plus a CSV/XLSX fix list) a data officer works through.

``validate(con, config)`` returns a :class:`ValidationResult`; ``write_dq_report(result, con,
config, out_dir)`` writes the report. ``pipelines.run`` stops the run when there are errors.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import pandas as pd

from pipelines.config import RunConfig
from pipelines.validate.coverage import check_coverage
from pipelines.validate.engine import (
    Collector,
    add_column_letters,
    check_notes,
    check_schema,
    check_set_aside,
    files_by_extract,
    run_gx,
    run_sql,
    sort_findings,
    table_columns,
)
from pipelines.validate.report import write_dq_report
from pipelines.validate.result import FILE_COLUMNS, ValidationResult
from pipelines.validate.rules import load_rules, run_params

__all__ = ["ValidationResult", "validate", "write_dq_report"]


def _files(con: Any, tables: dict[str, dict[str, str]]) -> pd.DataFrame:
    """Per-file row counts from the load log, with whether they reconcile."""
    if "load_log" not in tables:
        return pd.DataFrame(columns=FILE_COLUMNS)
    # rows_blank: blank lines ingest skipped and counted (a warehouse from before it had none).
    blank = "rows_blank" if "rows_blank" in tables["load_log"] else "0"
    df = con.execute(
        "SELECT extract, file, sum(rows_read)::BIGINT AS rows_read, "
        "sum(rows_loaded)::BIGINT AS rows_loaded, sum(rows_set_aside)::BIGINT AS rows_set_aside, "
        f"sum({blank})::BIGINT AS rows_blank "
        "FROM load_log GROUP BY extract, file ORDER BY extract, file"
    ).df()
    df["reconciles"] = (
        df["rows_read"] == df["rows_loaded"] + df["rows_set_aside"] + df["rows_blank"]
    )
    return df[FILE_COLUMNS]


def validate(con: Any, config: RunConfig, only: Iterable[str] | None = None) -> ValidationResult:
    """Run every rule over the warehouse behind ``con``; collect the findings (nothing raised).

    ``only`` limits the run to some rule codes (the tests run each rule's example on its own).
    """
    t0 = time.perf_counter()
    settings, rule_list = load_rules()
    wanted = None if only is None else set(only)
    rules = {
        r.code: r for r in rule_list if wanted is None or r.code in wanted or r.check == "internal"
    }
    params = run_params(settings, config.data_as_at)
    add = Collector(rule_list, params)
    timings: dict[str, float] = {}

    tables = table_columns(con)
    files = files_by_extract(con, tables)
    usable = check_schema(rules, tables, files, add)
    check_set_aside(con, rules, tables, add)
    check_notes(con, rules, tables, add)
    run_gx(con, rules, params, usable, int(settings.get("batch_rows", 200_000)), add, timings)
    t1 = time.perf_counter()
    run_sql(con, rules, params, tables, usable, files, add)
    timings["sql"] = time.perf_counter() - t1
    t1 = time.perf_counter()
    period = (config.period_start, config.period_end)
    coverage = check_coverage(con, rules, settings, usable, files, add, period, config.data_as_at)
    timings["coverage"] = time.perf_counter() - t1

    findings = sort_findings(add_column_letters(add.frame(), con))
    timings["total"] = time.perf_counter() - t0
    return ValidationResult(
        findings=findings,
        files=_files(con, tables),
        rules=rules,
        params=params,
        data_as_at=config.data_as_at,
        timings=timings,
        coverage=coverage,
    )

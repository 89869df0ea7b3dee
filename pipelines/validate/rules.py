"""The data quality rules (``rules.yaml``) as data, with their parameters resolved for one run."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import re
from pathlib import Path
from string import Template
from typing import Any

import yaml

from pipelines.contract import codes, extracts
from pipelines.sql import bound, fill

HERE = Path(__file__).resolve().parent
RULES_FILE = HERE / "rules.yaml"

SEVERITIES = ("error", "warning", "info")
CHECKS = ("gx", "sql", "schema", "set_aside", "note", "coverage", "internal")
_CODE = re.compile(r"^[A-Z]{3}-\d{3}$")


@dataclasses.dataclass(frozen=True)
class Rule:
    """One rule of ``rules.yaml``."""

    code: str
    severity: str
    extract: str  # an extract name, or "*" for rules over every extract
    check: str
    message: str
    how_to_fix: str
    example: str
    columns: tuple[str, ...] = ()
    expectation: str | None = None
    kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)
    sql: str | None = None
    params: dict[str, Any] = dataclasses.field(default_factory=dict)
    reasons: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    part: str | None = None
    tables: tuple[str, ...] = ()
    given: dict[str, Any] | None = None
    expect: dict[str, Any] | None = None


@functools.cache
def load_rules(path: Path = RULES_FILE) -> tuple[dict[str, Any], tuple[Rule, ...]]:
    """(settings, rules) from ``rules.yaml``, checked for shape so a typo fails loudly."""
    with open(path, encoding="utf-8") as fh:
        raw = yaml.safe_load(fh)
    settings = dict(raw.get("settings") or {})
    rules: list[Rule] = []
    seen: set[str] = set()
    contract = extracts()
    for item in raw["rules"]:
        code = item["code"]
        problems = []
        if not _CODE.match(code):
            problems.append("code must look like DAT-001")
        if code in seen:
            problems.append("code used twice")
        if item.get("severity") not in SEVERITIES:
            problems.append(f"severity must be one of {SEVERITIES}")
        if item.get("check") not in CHECKS:
            problems.append(f"check must be one of {CHECKS}")
        extract = item.get("extract")
        if extract != "*" and extract not in contract:
            problems.append(f"unknown extract {extract!r}")
        for column in item.get("columns") or []:
            if extract in contract and column not in contract[extract]["columns"]:
                problems.append(f"{extract} has no column {column!r}")
        if item.get("check") == "gx" and not item.get("expectation"):
            problems.append("a gx rule needs an expectation")
        if item.get("check") == "sql" and not item.get("sql"):
            problems.append("an sql rule needs sql")
        if problems:
            raise ValueError(f"{path.name}, rule {code}: " + "; ".join(problems))
        seen.add(code)
        rules.append(
            Rule(
                code=code,
                severity=item["severity"],
                extract=extract,
                check=item["check"],
                message=" ".join(str(item["message"]).split()),
                how_to_fix=" ".join(str(item["how_to_fix"]).split()),
                example=str(item.get("example") or ""),
                columns=tuple(item.get("columns") or ()),
                expectation=item.get("expectation"),
                kwargs=dict(item.get("kwargs") or {}),
                sql=item.get("sql"),
                params=dict(item.get("params") or {}),
                reasons=tuple(str(r).upper() for r in item.get("reasons") or ()),
                notes=tuple(str(n).upper() for n in item.get("notes") or ()),
                part=item.get("part"),
                tables=tuple(item.get("tables") or ()),
                given=item.get("given"),
                expect=item.get("expect"),
            )
        )
    return settings, tuple(rules)


def run_params(settings: dict[str, Any], data_as_at: dt.date) -> dict[str, Any]:
    """The named values `$name` may refer to in rules: the settings plus run parameters."""
    params = dict(settings)
    params["data_as_at"] = data_as_at
    share = float(settings.get("max_unknown_share", 0.2))
    params["max_unknown_share_pct"] = f"{share * 100:g}%"
    # the coverage thresholds, for the messages of COV-001 to COV-003 ($coverage_<name>)
    for key, value in (settings.get("coverage") or {}).items():
        if not isinstance(value, (dict, list)):
            params[f"coverage_{key}"] = value
    return params


def text(template: str, params: dict[str, Any]) -> str:
    """A message with `$name` filled in (dates as ISO)."""
    return Template(template).safe_substitute(
        {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in params.items()}
    )


def resolve(
    value: Any, params: dict[str, Any], column: str | None = None, extract: str | None = None
) -> Any:
    """A rule argument with `$name` and ``{codes: list}`` resolved (GX kwargs, SQL params)."""
    if isinstance(value, dict) and set(value) == {"codes"}:
        name = value["codes"]
        if name == "$column":
            if extract is None or column is None:
                raise ValueError("a {codes: $column} argument needs the rule's extract and column")
            name = extracts()[extract]["columns"][column]["codes"]
        return codes(name)
    if isinstance(value, str) and value.startswith("$"):
        key = value[1:]
        got = params[key]
        if isinstance(got, dt.date) and not isinstance(got, dt.datetime):
            # pandas compares datetime64 columns with datetimes, not dates
            return dt.datetime.combine(got, dt.time())
        return got
    if isinstance(value, dict):
        return {k: resolve(v, params, column, extract) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, params, column, extract) for v in value]
    return value


def render_sql(
    rule: Rule, params: dict[str, Any], fragments: dict[str, str] | None = None
) -> tuple[str, dict[str, Any]]:
    """The rule's SQL with its ``{name}`` fragments filled, and the values of the `$name`
    parameters it uses, for DuckDB to bind (rule params override settings; pipelines.sql)."""
    values = dict(params)
    for key, value in rule.params.items():
        values[key] = resolve(value, params)
    sql = fill(rule.sql or "", **(fragments or {}))
    return sql, bound(sql, values)

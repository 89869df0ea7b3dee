"""Coverage: do an extract's records run through the reporting period, up to the date it was taken?

Each dated extract has an event date (``rules.yaml`` ``settings.coverage.extracts``): the referral
date, the registration date, the review date ... Records are counted by calendar month of that
date; a month's *typical* count is the median over the full months before the month of the latest
record (``reference_months`` of them; partial first and last months left out). Then:

- **COV-001, early stop.** The latest record is more than ``min_days_without_records`` days before
  ``data_as_at`` and a typical month would have put at least ``min_expected_missing`` records in
  that time. An extract that stops early makes the last months of the period look like a fall.
  The second test keeps a naturally sparse extract (leavers, reviews at a small council) quiet:
  five leavers a month leave six weeks without one now and then.
- **COV-002, gap month.** A calendar month from the start of the period to the month before the
  latest record has fewer than ``low_month_share`` of a typical month; judged only where a
  typical month has at least ``min_typical_month`` records (fewer vary too much by chance).
  Months before the extract's first record are not judged (a service that started in the period).
- **COV-003, stale snapshot.** For a snapshot extract (workforce posts) the latest snapshot on or
  before the period end is more than ``max_snapshot_age_days`` before it; its figures at the
  period end describe that older snapshot.

All three are warnings: the figures that are there are right for what was extracted, and an
extract may stop for a true reason (a service closed); so the run goes on, the data officer is told
(fix list) and the pages say which months are incomplete (``ValidationResult.coverage``, carried
to the pages by ``statement()``). The thresholds are data, in ``rules.yaml``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import statistics
from pathlib import Path
from typing import Any

from pipelines.report.prose import join, long_date
from pipelines.sql import bound, fill
from pipelines.validate.engine import Collector
from pipelines.validate.rules import Rule

SQL = Path(__file__).resolve().parent / "sql" / "coverage_months.sql"
#: Days in an average calendar month, to turn a typical month into a rate a day.
MONTH_DAYS = 365.25 / 12


@dataclasses.dataclass(frozen=True)
class Settings:
    """``settings.coverage`` of rules.yaml (every threshold there, none in code)."""

    extracts: dict[str, dict[str, Any]]
    reference_months: int
    min_reference_months: int
    min_days_without_records: int
    min_expected_missing: float
    min_typical_month: float
    low_month_share: float
    max_snapshot_age_days: int

    @classmethod
    def from_rules(cls, settings: dict[str, Any]) -> Settings:
        raw = dict(settings.get("coverage") or {})
        return cls(
            extracts=dict(raw.get("extracts") or {}),
            reference_months=int(raw["reference_months"]),
            min_reference_months=int(raw["min_reference_months"]),
            min_days_without_records=int(raw["min_days_without_records"]),
            min_expected_missing=float(raw["min_expected_missing"]),
            min_typical_month=float(raw["min_typical_month"]),
            low_month_share=float(raw["low_month_share"]),
            max_snapshot_age_days=int(raw["max_snapshot_age_days"]),
        )


def month_of(d: dt.date) -> dt.date:
    return d.replace(day=1)


def add_months(month: dt.date, n: int) -> dt.date:
    """The first day of the month ``n`` months after ``month`` (before, for negative ``n``)."""
    k = month.year * 12 + month.month - 1 + n
    return dt.date(k // 12, k % 12 + 1, 1)


def months(first: dt.date, last: dt.date) -> list[dt.date]:
    """The first days of the calendar months from ``first``'s to ``last``'s, inclusive."""
    out, m = [], month_of(first)
    while m <= month_of(last):
        out.append(m)
        m = add_months(m, 1)
    return out


def month_end(month: dt.date) -> dt.date:
    return add_months(month, 1) - dt.timedelta(days=1)


def month_span(ms: list[dt.date]) -> str:
    """``February and March 2013``, ``November 2012 to February 2013``, ``May 2012 and August
    2012``: runs of consecutive months as ranges, joined."""
    runs: list[list[dt.date]] = []
    for m in sorted(ms):
        if runs and add_months(runs[-1][-1], 1) == m:
            runs[-1].append(m)
        else:
            runs.append([m])
    parts = []
    for run in runs:
        a, b = run[0], run[-1]
        if a == b:
            parts.append(f"{a:%B %Y}")
            continue
        first = f"{a:%B}" if a.year == b.year else f"{a:%B %Y}"
        parts.append(f"{first} {'and' if len(run) == 2 else 'to'} {b:%B %Y}")
    return join(parts)


def _monthly(con: Any, extract: str, column: str, data_as_at: dt.date) -> list[tuple[Any, ...]]:
    sql = fill(SQL.read_text(encoding="utf-8"), table=f"stg_{extract}", column=column)
    return con.execute(sql, bound(sql, {"data_as_at": data_as_at})).fetchall()


def typical_month(
    counts: dict[dt.date, int], first: dt.date, last: dt.date, cfg: Settings
) -> float:
    """Median records a month over the full months strictly between the first and the latest
    record's months (the last ``reference_months`` of them); 0 when fewer than
    ``min_reference_months`` such months exist (too little history to know a typical month)."""
    inside = [m for m in months(first, last) if first < m < month_of(last)]
    reference = inside[-cfg.reference_months :]
    if len(reference) < cfg.min_reference_months:
        return 0.0
    return float(statistics.median(counts.get(m, 0) for m in reference))


def check_coverage(
    con: Any,
    rules: dict[str, Rule],
    settings: dict[str, Any],
    usable: dict[str, set[str]],
    files: dict[str, list[str]],
    add: Collector,
    period: tuple[dt.date, dt.date],
    data_as_at: dt.date,
) -> list[dict[str, Any]]:
    """Run the coverage rules; add their findings to ``add`` and return what the pages must say:
    one entry per finding's extract and kind, ``{extract, label, column, rule, months (ISO
    months), note}``."""
    by_part = {r.part: r for r in rules.values() if r.check == "coverage"}
    if not by_part:
        return []
    cfg = Settings.from_rules(settings)
    out: list[dict[str, Any]] = []
    for extract, spec in cfg.extracts.items():
        column, label = spec["column"], spec.get("label") or extract
        if column not in usable.get(extract, set()):
            continue  # not delivered (optional), or SCH-001/SCH-002 already say why
        file = "; ".join(files.get(extract, [])) or None
        try:
            rows = _monthly(con, extract, column, data_as_at)
        except Exception as exc:  # duckdb.Error: reported, never skipped silently
            add.internal(extract, file, f"coverage of {extract}.{column}", exc)
            continue
        if not rows:
            continue
        x = _Judged(cfg, label, period, add, {"extract": extract, "file": file, "column": column})
        common = {"extract": extract, "label": label, "column": column}
        if spec.get("snapshots"):
            if rule := by_part.get("stale_snapshot"):
                found = _stale_snapshot(x, rule, rows)
                out += [{**common, **found}] if found else []
            continue
        counts = {r[0]: int(r[1]) for r in rows}
        first, latest = rows[0][2], max(r[3] for r in rows)
        typical = typical_month(counts, month_of(first), latest, cfg)
        if rule := by_part.get("early_stop"):
            found = _early_stop(x, rule, latest, typical, data_as_at)
            out += [{**common, **found}] if found else []
        if rule := by_part.get("gap_month"):
            found = _gap_months(x, rule, counts, first, latest, typical)
            out += [{**common, **found}] if found else []
    return out


@dataclasses.dataclass(frozen=True)
class _Judged:
    """The extract a rule judges: the settings, its name on the pages, the reporting period, and
    where a finding goes (the collector, and the extract, file and column it names)."""

    cfg: Settings
    label: str
    period: tuple[dt.date, dt.date]
    add: Collector
    where: dict[str, Any]


def _early_stop(
    x: _Judged, rule: Rule, latest: dt.date, typical: float, data_as_at: dt.date
) -> dict[str, Any] | None:
    cfg, label, period, add, where = x.cfg, x.label, x.period, x.add, x.where
    days = (data_as_at - latest).days
    expected = typical * days / MONTH_DAYS
    if days <= cfg.min_days_without_records or expected < cfg.min_expected_missing:
        return None
    after = [m for m in months(latest, data_as_at) if month_end(m) > latest]
    column = where["column"]
    add.add(
        rule.code,
        **where,
        value=latest,
        detail=(
            f"The latest {column} is {latest.isoformat()}, {days} days before the extract was "
            f"taken ({data_as_at.isoformat()}); a typical month has {typical:,.0f} records, so "
            f"about {expected:,.0f} would be expected since. No records for "
            f"{month_span([m for m in after if m > latest])}."
            if any(m > latest for m in after)
            else f"The latest {column} is {latest.isoformat()}, {days} days before the extract "
            f"was taken ({data_as_at.isoformat()}); about {expected:,.0f} records would be "
            "expected since."
        ),
    )
    start, end = period
    in_period = [m for m in after if start <= month_end(m) and m <= end]
    tail = f"no records after {long_date(latest.isoformat())}"
    if in_period:
        tail += f"; figures for {month_span(in_period)} are incomplete."
    else:
        tail += (
            f", although the data are as at {long_date(data_as_at.isoformat())}; figures that "
            "follow events up after the period may be incomplete."
        )
    return _said(rule, label, in_period, tail)


def _gap_months(
    x: _Judged,
    rule: Rule,
    counts: dict[dt.date, int],
    first: dt.date,
    latest: dt.date,
    typical: float,
) -> dict[str, Any] | None:
    cfg, label, period, add, where = x.cfg, x.label, x.period, x.add, x.where
    if typical < cfg.min_typical_month:
        return None
    start, end = period
    judged = [m for m in months(start, latest) if month_of(first) < m < month_of(latest)]
    low = [m for m in judged if counts.get(m, 0) < cfg.low_month_share * typical]
    for m in low:
        n = counts.get(m, 0)
        add.add(
            rule.code,
            **where,
            value=m.isoformat()[:7],
            detail=(
                f"{where['column']}: {n:,} records in {m:%B %Y}; a typical month has "
                f"{typical:,.0f}."
            ),
        )
    if not low:
        return None
    in_period = [m for m in low if m <= end]
    none = all(counts.get(m, 0) == 0 for m in low)
    tail = (
        f"no records for {month_span(low)}; "
        if none
        else (f"far fewer records than usual for {month_span(low)}; ")
    )
    if in_period:
        tail += f"figures for {month_span(in_period)} are incomplete."
    else:
        tail += "figures that follow events up after the period may be incomplete."
    return _said(rule, label, in_period, tail)


def _said(rule: Rule, label: str, in_period: list[dt.date], tail: str) -> dict[str, Any]:
    """What the pages say of one extract: "The extract of <label> has <tail>"; ``tail`` is kept so
    that extracts saying the same can be said together (``combined_notes``)."""
    return {
        "rule": rule.code,
        "months": [m.isoformat()[:7] for m in in_period],
        "tail": tail,
        "note": f"The extract of {label} has {tail}",
    }


def combined_notes(coverage: list[dict[str, Any]]) -> list[str]:
    """The notes of ``coverage`` with the extracts that say the same said once, for the
    summary: "The extracts of referrals to the Duty and Assessment Teams and child protection
    reviews have no records after 31 January 2013; figures for February and March 2013 are
    incomplete." First-seen order."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for c in coverage:
        key = (c.get("rule", ""), c.get("tail") or c["note"])
        groups.setdefault(key, []).append(c)
    out = []
    for (_, tail), group in groups.items():
        if len(group) == 1 or not group[0].get("tail"):
            out += [c["note"] for c in group]
        else:
            out.append(f"The extracts of {join([c['label'] for c in group])} have {tail}")
    return out


def _stale_snapshot(x: _Judged, rule: Rule, rows: list[tuple[Any, ...]]) -> dict[str, Any] | None:
    cfg, label, period, add, where = x.cfg, x.label, x.period, x.add, x.where
    _, end = period
    dates = [d for r in rows for d in (r[2], r[3]) if d <= end]
    latest = max(dates) if dates else None
    if latest is not None and (end - latest).days <= cfg.max_snapshot_age_days:
        return None
    if latest is None:
        detail = f"No {where['column']} is on or before the end of the period ({end.isoformat()})."
        note = (
            f"The extract of {label} has no snapshot on or before the end of the period "
            f"({long_date(end.isoformat())}); figures at the period end are missing."
        )
    else:
        age = (end - latest).days
        detail = (
            f"The latest {where['column']} on or before the end of the period "
            f"({end.isoformat()}) is {latest.isoformat()}, {age} days before it."
        )
        note = (
            f"The latest {label} snapshot is dated {long_date(latest.isoformat())}, {age} days "
            f"before the end of the period; figures at the period end are for that snapshot."
        )
    add.add(rule.code, **where, value=latest, detail=detail)
    return {"rule": rule.code, "months": [], "note": note}

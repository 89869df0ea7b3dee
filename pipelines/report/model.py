"""The model of the figures the pages show: metrics rows, comparators, targets and RAG status.

One home for each: ``metrics_public.csv`` read as text (a withheld cell stays the string ``c`` and
is never turned into a number), ``reference/benchmarks.csv`` (comparators) and
``reference/targets.csv`` (targets; the caseload threshold is the target of ``caseload_mean``),
and the RAG rule of ``reference/README.md``. Standard library only, so a notebook kernel that
imports it starts quickly and the model can be tested without pandas or a kernel.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from pipelines import ROOT

REFERENCE_DIR = ROOT / "reference"
#: How metrics_public.csv shows a figure withheld by disclosure control.
WITHHELD = "c"


def to_number(text: str) -> float | None:
    """``'12.5'`` -> 12.5; withheld (``c``), blank or anything not a finite number -> None.

    This is the one rule for "can this figure be shown or drawn": a figure is shown when it has a
    number, and is otherwise withheld (``c``) or not applicable (blank)."""
    text = (text or "").strip()
    if not text or text == WITHHELD:
        return None
    try:
        x = float(text)
    except ValueError:
        return None
    return x if math.isfinite(x) else None


@dataclasses.dataclass(frozen=True)
class Row:
    """One row of metrics_public.csv, every field kept as the text written in the file."""

    analysis: str
    measure: str
    scope: str
    breakdown: str
    category: str
    numerator: str
    denominator: str
    value: str
    unit: str
    period_start: str = ""
    period_end: str = ""

    @property
    def key(self) -> str:
        """Stable key of the figure, used as ``data-key`` on table cells (no values in it)."""
        return "|".join([self.analysis, self.measure, self.scope, self.breakdown, self.category])

    @property
    def number(self) -> float | None:
        """The value as a number; None when withheld or blank (never guessed)."""
        return to_number(self.value)


class Metrics:
    """The rows of one metrics file with simple look-ups; the order of the file is kept."""

    def __init__(self, rows: Iterable[Row]):
        self.rows = list(rows)
        self._by_key = {r.key: r for r in self.rows}

    @classmethod
    def read(cls, path: Path) -> Metrics:
        with open(path, encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh)
            fields = [f.name for f in dataclasses.fields(Row)]
            return cls(Row(**{c: (rec.get(c) or "") for c in fields}) for rec in reader)

    def select(
        self,
        analysis: str | None = None,
        measure: str | None = None,
        scope: str | None = None,
        breakdown: str | None = None,
    ) -> list[Row]:
        return [
            r
            for r in self.rows
            if (analysis is None or r.analysis == analysis)
            and (measure is None or r.measure == measure)
            and (scope is None or r.scope == scope)
            and (breakdown is None or r.breakdown == breakdown)
        ]

    def get(
        self,
        analysis: str,
        measure: str,
        scope: str,
        breakdown: str = "total",
        category: str = "all",
    ) -> Row | None:
        return self._by_key.get("|".join([analysis, measure, scope, breakdown, category]))

    def has(self, analysis: str) -> bool:
        return any(r.analysis == analysis for r in self.rows)


def load_public(out_dir: Path) -> Metrics:
    """Read ``out_dir/metrics_public.csv``: the only source of public pages."""
    return Metrics.read(Path(out_dir) / "metrics_public.csv")


def same_period_last_year(metrics: Metrics, row: Row) -> Row | None:
    """The same figure for the period a year earlier (the ``previous_year`` row of the metrics
    layer: period_start - 12 months to period_end - 12 months), so a change compares like with
    like; None when the metrics layer has no such row."""
    return metrics.get(row.analysis, row.measure, row.scope, "previous_year", "all")


def year_earlier(iso: str) -> str:
    """``2012-12-31`` -> ``2011-12-31`` (29 February -> 28 February): the previous-year period."""
    try:
        d = dt.date.fromisoformat(iso)
    except ValueError:
        return iso
    try:
        return d.replace(year=d.year - 1).isoformat()
    except ValueError:
        return d.replace(year=d.year - 1, day=28).isoformat()


def quarter_end(category: str) -> dt.date | None:
    """``2012-Q3`` -> 30 September 2012; None for anything that is not a calendar quarter."""
    try:
        year, q = category.split("-Q")
        month = 3 * int(q)
        if not 1 <= int(q) <= 4:
            return None
        first_of_next = dt.date(int(year) + month // 12, month % 12 + 1, 1)
    except ValueError:
        return None
    return first_of_next - dt.timedelta(days=1)


def part_quarter(category: str, period_end: str) -> dt.date | None:
    """The date a quarter is cut at when period_end falls inside it before its last day (the
    metrics layer cuts the last quarter of a series at period_end); None for a whole quarter."""
    end = quarter_end(category)
    try:
        cut = dt.date.fromisoformat(period_end)
    except ValueError:
        return None
    if end is None or not (end.replace(month=end.month - 2, day=1) <= cut < end):
        return None
    return cut


def complete_to(coverage: Sequence[dict[str, Any]], extracts: Sequence[str]) -> dt.date | None:
    """The last day of the period whose records are complete in all of ``extracts``: the day
    before the first incomplete month the data quality statement names for any of them (its
    ``coverage`` entries, rules COV-001 to COV-003, each with ``months`` like ``2013-02``);
    None when they cover the whole period. A figure from such an extract counts fewer months
    than the period says, so a count (or a rate whose numerator accumulates) is not compared
    with a whole period and a quarter or year after this day is labelled as a part one."""
    months = [m for c in coverage if c.get("extract") in extracts for m in c.get("months") or []]
    if not months:
        return None
    try:
        year, month = (int(x) for x in min(months).split("-")[:2])
    except ValueError:
        return None
    return dt.date(year, month, 1) - dt.timedelta(days=1)


# ---------------------------------------------------------------------------------------------
# Reference data: comparators and targets


@dataclasses.dataclass(frozen=True)
class Benchmark:
    """A comparator published elsewhere (e.g. the Wales re-referral rate in 2011-12)."""

    measure: str
    scope: str
    breakdown: str
    category: str
    area: str
    value: float


@dataclasses.dataclass(frozen=True)
class Target:
    """RAG levels for a figure; ``lower_better`` when a lower value is better."""

    measure: str
    scope: str
    breakdown: str
    category: str  # "" applies to every category of the breakdown
    green: float
    amber: float | None
    lower_better: bool

    def status(self, value: float | None) -> str | None:
        """``Green``, ``Amber``, ``Red``, or None when there is no value (withheld or blank).

        Green: at or better than the green level. Amber: not green, but at or better than the
        amber level. Red: worse than both (or than green where no amber level is set)."""
        if value is None:
            return None

        def ok(level: float) -> bool:
            return value <= level if self.lower_better else value >= level

        if ok(self.green):
            return "Green"
        if self.amber is not None and ok(self.amber):
            return "Amber"
        return "Red"


#: The RAG rule in words, shown under every headline table (the rule of Target.status).
RAG_RULE = (
    "Green: at or better than the green level of the target. Amber: not green, but at or "
    "better than the amber level. Red: worse than both (or than the green level where no "
    "amber level is set). No status is shown where no target is set or the figure is "
    "withheld. A target may still be a proposal, to be confirmed by the service."
)


@dataclasses.dataclass(frozen=True)
class Reference:
    """The comparators of one area (``comparator``, e.g. Wales) and every target."""

    benchmarks: tuple[Benchmark, ...] = ()
    targets: tuple[Target, ...] = ()

    def benchmarks_for(
        self, measure: str, scope: str, breakdown: str = "total", category: str | None = "all"
    ) -> list[Benchmark]:
        """Comparators for one figure; ``category=None`` gives every category of the breakdown."""
        return [
            b
            for b in self.benchmarks
            if (b.measure, b.scope, b.breakdown) == (measure, scope, breakdown)
            and (category is None or b.category == category)
        ]

    def latest_benchmark(self, measure: str, scope: str) -> tuple[str, Benchmark] | None:
        """The comparator to quote beside a headline figure: the total, else the latest year
        (returned with that year, or "" for the total)."""
        total = self.benchmarks_for(measure, scope)
        if total:
            return "", total[-1]
        years = sorted(
            self.benchmarks_for(measure, scope, "financial_year", None), key=lambda b: b.category
        )
        return (years[-1].category, years[-1]) if years else None

    def target(
        self, measure: str, scope: str, breakdown: str = "total", category: str = "all"
    ) -> Target | None:
        """The target of a figure; a target with a blank category applies to every category."""
        for t in self.targets:
            if (t.measure, t.scope, t.breakdown) == (measure, scope, breakdown) and (
                t.category in ("", category)
            ):
                return t
        return None

    @property
    def caseload_threshold(self) -> float | None:
        """The caseload threshold: the green level of the ``caseload_mean`` target by team."""
        for dim in ("team", "role"):
            t = self.target("caseload_mean", "WORKFORCE", dim, "*")
            if t:
                return t.green
        return None


def _read_csv(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with open(path, encoding="utf-8", newline="") as fh:
        lines = [line for line in fh if not line.lstrip().startswith("#")]
    return [{k: (v or "").strip() for k, v in r.items() if k} for r in csv.DictReader(lines)]


def load_reference(comparator: str, reference_dir: Path = REFERENCE_DIR) -> Reference:
    """``reference/benchmarks.csv`` (rows of the ``comparator`` area only) and
    ``reference/targets.csv``; a missing file is empty and a row without a number is skipped.
    Columns: reference/README.md."""

    def keys(r: dict[str, str]) -> tuple[str, str, str]:
        return r.get("measure", ""), r.get("scope", ""), r.get("breakdown") or "total"

    benchmarks = [
        Benchmark(*keys(b), b.get("category") or "all", b["area"], value)
        for b in _read_csv(reference_dir / "benchmarks.csv")
        if (value := to_number(b.get("value", ""))) is not None and b.get("area") == comparator
    ]
    targets = [
        Target(
            *keys(t),
            t.get("category", ""),
            green,
            to_number(t.get("amber", "")),
            (t.get("direction") or "").lower().startswith("lower"),
        )  # fmt: skip
        for t in _read_csv(reference_dir / "targets.csv")
        if (green := to_number(t.get("green", ""))) is not None
    ]
    return Reference(tuple(benchmarks), tuple(targets))

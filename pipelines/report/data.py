"""The figures the pages show: ``metrics_public.csv`` read as text, labels, definitions, reference.

Public pages are built only from ``metrics_public.csv``: a withheld cell is the string ``c`` and is
never turned into a number. The module uses the standard library only (no pandas), so a notebook
kernel that imports it starts quickly.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from pipelines import ROOT
from pipelines.contract import METRICS_COLUMNS, code_lists, metrics_shape

HERE = Path(__file__).resolve().parent
WITHHELD = "c"
NOT_APPLICABLE = "–"

# breakdown -> code list of the extract contract that labels and orders it (contract/metrics.yaml)
_CODE_LISTS = {b: c for b, c in metrics_shape()["categories"].items() if isinstance(c, str)}


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

    @property
    def withheld(self) -> bool:
        return WITHHELD in (self.value.strip(), self.numerator.strip(), self.denominator.strip())


def to_number(text: str) -> float | None:
    """``'12.5'`` -> 12.5; ``'c'``, ``''`` or anything not a finite number -> None."""
    text = (text or "").strip()
    if not text or text == WITHHELD:
        return None
    try:
        x = float(text)
    except ValueError:
        return None
    return x if math.isfinite(x) else None


class Metrics:
    """The rows of one metrics file with simple look-ups; order of the file is kept."""

    def __init__(self, rows: Iterable[Row]):
        self.rows = list(rows)
        self._by_key = {r.key: r for r in self.rows}

    @classmethod
    def read(cls, path: Path) -> Metrics:
        with open(path, encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh)
            rows = [Row(**{c: (rec.get(c) or "") for c in METRICS_COLUMNS}) for rec in reader]
        return cls(rows)

    def __len__(self) -> int:
        return len(self.rows)

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

    def scopes(self, analysis: str, measure: str) -> list[str]:
        seen: dict[str, None] = {}
        for r in self.select(analysis, measure):
            seen.setdefault(r.scope, None)
        return list(seen)


def load_public(out_dir: Path) -> Metrics:
    """Read ``out_dir/metrics_public.csv``: the only source of public pages."""
    return Metrics.read(Path(out_dir) / "metrics_public.csv")


# ---------------------------------------------------------------------------------------------
# Definitions and labels


@functools.cache
def definitions() -> dict[str, Any]:
    with open(HERE / "definitions.yaml", encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def scope_label(scope: str) -> str:
    return definitions()["scopes"].get(scope, scope)


def measure_name(measure: str) -> str:
    return definitions()["measures"].get(measure, {}).get("name", measure.replace("_", " "))


def category_label(breakdown: str, category: str) -> str:
    """Plain-English label of a category: from the contract's code lists or definitions.yaml."""
    if category == "all":
        return "All"
    own = definitions().get("categories", {}).get(breakdown, {})
    if category in own:
        return own[category]
    lst = code_lists().get(_CODE_LISTS.get(breakdown, ""), {})
    item = lst.get(category)
    if isinstance(item, dict):
        item = item.get("label")
    if item:
        return str(item)
    return category  # free text (team names) and years/quarters are shown as they are


def category_order(breakdown: str, categories: list[str]) -> list[str]:
    """Code-list order where there is one, else as given (files are already ordered)."""
    own = list(definitions().get("categories", {}).get(breakdown, {}))
    lst = own or list(code_lists().get(_CODE_LISTS.get(breakdown, ""), {}))
    if not lst:
        return list(categories)
    pos = {c: i for i, c in enumerate(lst)}
    return sorted(categories, key=lambda c: (pos.get(c, len(pos)), categories.index(c)))


# ---------------------------------------------------------------------------------------------
# Formatting


def fmt_value(text: str, unit: str, decimals: int | None = None) -> str:
    """Format one figure for a table: withheld stays ``c``, blank becomes ``–``."""
    text = (text or "").strip()
    if text == WITHHELD:
        return WITHHELD
    x = to_number(text)
    if x is None:
        return NOT_APPLICABLE
    if unit == "percent":
        return f"{x:.{1 if decimals is None else decimals}f}%"
    if unit == "count" and float(x).is_integer() and decimals is None:
        return f"{int(x):,}"
    return f"{x:,.{1 if decimals is None else decimals}f}"


def fmt_count(text: str) -> str:
    return fmt_value(text, "count")


def pct_words(x: float) -> str:
    """Rounded percentage for prose: ``35%``."""
    return f"{x:.0f}%"


# ---------------------------------------------------------------------------------------------
# Reference data: Wales comparators and targets (the caseload threshold is the target of
# caseload_mean), kept as data by the metrics stage in reference/*.csv. Their columns are the
# contract of reference/README.md, the same files pipelines.transform.load_reference() reads; they
# are read here with the csv module because importing pandas would add seconds to every kernel.

REFERENCE_DIR = ROOT / "reference"


@dataclasses.dataclass(frozen=True)
class Reference:
    benchmarks: list[dict[str, str]]
    targets: list[dict[str, str]]

    def benchmark(
        self, measure: str, scope: str, breakdown: str = "total", category: str | None = "all"
    ) -> list[dict[str, str]]:
        """Comparators for one figure; ``category=None`` gives every category of the breakdown."""
        return [
            b
            for b in self.benchmarks
            if b.get("measure") == measure
            and b.get("scope") == scope
            and (b.get("breakdown") or "total") == breakdown
            and (category is None or (b.get("category") or "all") == category)
            and to_number(b.get("value", "")) is not None
        ]

    def latest_benchmark(self, measure: str, scope: str) -> tuple[str, dict[str, str]] | None:
        """The comparator to quote beside a headline figure: the total, else the latest year."""
        total = self.benchmark(measure, scope)
        if total:
            return "", total[-1]
        years = sorted(
            self.benchmark(measure, scope, "financial_year", None),
            key=lambda b: b.get("category", ""),
        )
        if years:
            return years[-1].get("category", ""), years[-1]
        return None

    def target(
        self, measure: str, scope: str, breakdown: str = "total", category: str = "all"
    ) -> dict[str, str] | None:
        """The target row for a figure; a blank category applies to every category."""
        for t in self.targets:
            if (
                t.get("measure") == measure
                and t.get("scope") == scope
                and (t.get("breakdown") or "total") == breakdown
                and (t.get("category") or category) == category
                and to_number(t.get("green", "")) is not None
            ):
                return t
        return None

    @property
    def caseload_threshold(self) -> float | None:
        """The caseload threshold: the green level of the caseload_mean target by team."""
        for dim in ("team", "role"):
            t = self.target("caseload_mean", "WORKFORCE", dim, "*")
            if t:
                return to_number(t.get("green", ""))
        return None


def _read_csv(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with open(path, encoding="utf-8", newline="") as fh:
        lines = [line for line in fh if not line.lstrip().startswith("#")]
    return [{k: (v or "").strip() for k, v in r.items() if k} for r in csv.DictReader(lines)]


def load_reference(reference_dir: Path = REFERENCE_DIR) -> Reference:
    """``reference/benchmarks.csv`` and ``reference/targets.csv``; a missing file is empty."""
    try:
        return Reference(
            _read_csv(reference_dir / "benchmarks.csv"), _read_csv(reference_dir / "targets.csv")
        )
    except (OSError, csv.Error, UnicodeDecodeError):
        return Reference([], [])


# ---------------------------------------------------------------------------------------------
# RAG against a target (the rule of reference/README.md)

RAG_RULE = (
    "Green: at or better than the green level of the target. Amber: not green, but at or "
    "better than the amber level. Red: worse than both (or than the green level where no "
    "amber level is set). No status is shown where no target is set or the figure is "
    "withheld. Targets marked proposed in the reference data are still to be confirmed "
    "by the service."
)


def _lower_better(target: dict[str, str]) -> bool:
    return (target.get("direction") or "").lower().startswith("lower")


def rag_status(value: float | None, target: dict[str, str] | None) -> str | None:
    """``Green``, ``Amber``, ``Red`` or None (no target or no value)."""
    if value is None or not target:
        return None
    green = to_number(target.get("green", ""))
    amber = to_number(target.get("amber", ""))
    if green is None:
        return None

    def ok(level: float) -> bool:
        return value <= level if _lower_better(target) else value >= level

    if ok(green):
        return "Green"
    if amber is not None and ok(amber):
        return "Amber"
    return "Red"


def target_text(target: dict[str, str] | None, unit: str) -> str:
    """``green ≤ 30%, amber ≤ 35%``."""
    if not target:
        return NOT_APPLICABLE
    sign = "≤" if _lower_better(target) else "≥"
    parts = [f"green {sign} {fmt_value(target.get('green', ''), unit, 0)}"]
    if to_number(target.get("amber", "")) is not None:
        parts.append(f"amber {sign} {fmt_value(target.get('amber', ''), unit, 0)}")
    return ", ".join(parts)

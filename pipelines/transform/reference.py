"""Benchmarks and targets kept as data in ``reference/`` (read by the report stage)."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from pipelines import ROOT

REFERENCE_DIR = ROOT / "reference"


def load_reference(reference_dir: Path = REFERENCE_DIR) -> dict[str, pd.DataFrame]:
    """``{"benchmarks": ..., "targets": ...}`` from ``reference/*.csv`` (see reference/README.md).

    benchmarks: analysis, measure, scope, breakdown, category, area, value, unit, source.
    targets: analysis, measure, scope, breakdown, category, direction, green, amber, unit, source.
    The first five columns match the metrics table, so a merge on them puts the comparator or the
    target beside the council's figure.
    """
    tables = {}
    for name in ("benchmarks", "targets"):
        tables[name] = pd.read_csv(
            reference_dir / f"{name}.csv",
            dtype={"category": str},
            keep_default_na=False,
            na_values={"value": [""], "green": [""], "amber": [""]},
            comment="#",
        )
    return tables


def rag_status(value: float | None, direction: str, green: float, amber: float | None) -> str:
    """``GREEN``, ``AMBER``, ``RED`` for a value against a target row, or ``""`` when no value.

    ``direction`` is ``higher_better`` (green at or above ``green``, amber at or above ``amber``)
    or ``lower_better`` (green at or below ``green``, amber at or below ``amber``). With no amber
    level a value is green or red.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    better = (lambda v, t: v >= t) if direction == "higher_better" else (lambda v, t: v <= t)
    if better(value, green):
        return "GREEN"
    if (
        amber is not None
        and not (isinstance(amber, float) and math.isnan(amber))
        and better(value, amber)
    ):
        return "AMBER"
    return "RED"

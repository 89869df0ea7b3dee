"""The extract contract as data: ``extracts.yaml`` (columns, types) and ``codes.yaml`` (code lists).

Loaded once and shared by ingestion, validation, the generator and the metrics layer.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent

#: The columns of metrics.csv and metrics_public.csv, in order (METRICS.md, "metrics.csv").
METRICS_COLUMNS = [
    "analysis",
    "measure",
    "scope",
    "breakdown",
    "category",
    "numerator",
    "denominator",
    "value",
    "unit",
    "period_start",
    "period_end",
]


@functools.cache
def extracts() -> dict[str, dict[str, Any]]:
    """Extract name -> {prefix, grain, required, key, columns: {name: spec}} in contract order."""
    with open(HERE / "extracts.yaml", encoding="utf-8") as fh:
        return yaml.safe_load(fh)


@functools.cache
def code_lists() -> dict[str, dict[str, Any]]:
    """Code list name -> {code: label or {label, group}} (codes as strings)."""
    with open(HERE / "codes.yaml", encoding="utf-8") as fh:
        raw = yaml.safe_load(fh)
    return {name: {str(k): v for k, v in items.items()} for name, items in raw.items()}


def codes(name: str) -> list[str]:
    """The valid codes of one code list, in file order."""
    return list(code_lists()[name])

"""The contract as data: ``extracts.yaml`` (columns, types), ``codes.yaml`` (code lists) and
``metrics.yaml`` (the shape of metrics.csv).

Loaded once and shared by ingestion, validation, the generator, the metrics layer and the pages.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent


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


@functools.cache
def metrics_shape() -> dict[str, Any]:
    """metrics.yaml: columns, analyses -> measures, scopes, breakdowns, category orders."""
    with open(HERE / "metrics.yaml", encoding="utf-8") as fh:
        return yaml.safe_load(fh)


#: The columns of metrics.csv and metrics_public.csv, in order (docs/METRICS.md, "metrics.csv").
METRICS_COLUMNS: list[str] = metrics_shape()["columns"]


#: The DuckDB type of each contract column type in the staging and curated tables.
SQL_TYPES: dict[str, str] = {
    "record_id": "VARCHAR",
    "id": "VARCHAR",
    "text": "VARCHAR",
    "code": "VARCHAR",
    "code_list": "VARCHAR[]",
    "date": "DATE",
    "yesno": "BOOLEAN",
    "integer": "INTEGER",
}


def codes(name: str) -> list[str]:
    """The valid codes of one code list, in file order."""
    return list(code_lists()[name])


def personal(spec: dict[str, Any], column: str) -> bool:
    """True for a column whose values are never shown in a message, set_aside, fix list or
    output: IDs (pseudonymised in the warehouse) and dates of birth. ``spec`` is the column's
    contract entry (empty when the column is not in the contract)."""
    return column == "date_of_birth" or spec.get("type") == "id" or bool(spec.get("pseudonymise"))

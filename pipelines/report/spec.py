"""``pages.yaml`` read once: the pages, their sections and blocks, and every label.

Labels of codes come from the extract contract's code lists (``pipelines/contract/codes.yaml``,
mapped to breakdowns by ``contract/metrics.yaml``) unless ``pages.yaml`` gives its own.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml

from pipelines.contract import code_lists, metrics_shape

HERE = Path(__file__).resolve().parent


@functools.cache
def spec() -> dict[str, Any]:
    # libyaml's loader where built (about 6 times faster; every notebook kernel reads this file)
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with open(HERE / "pages.yaml", encoding="utf-8") as fh:
        return yaml.load(fh, Loader=loader)  # noqa: S506 - a safe loader


def pages() -> dict[str, dict[str, Any]]:
    """Analysis -> page spec, in index order."""
    return spec()["pages"]


def page_measures(analysis: str) -> list[str]:
    """The measures of an analysis, in the order of contract/metrics.yaml."""
    return list(metrics_shape()["analyses"].get(analysis, []))


def scope_label(scope: str) -> str:
    return spec()["scopes"].get(scope, scope)


def measure(measure_key: str) -> dict[str, Any]:
    """name, numerator, denominator, definition, polarity (what is known of the measure)."""
    return spec()["measures"].get(measure_key, {})


def measure_name(measure_key: str) -> str:
    return measure(measure_key).get("name", measure_key.replace("_", " "))


def polarity(measure_key: str) -> str:
    """``higher`` (a higher value is better), ``lower`` or ``none``."""
    return measure(measure_key).get("polarity", "none")


def dimension_name(dimension: str) -> str:
    return spec()["dimensions"].get(dimension, dimension.replace("_", " "))


def _code_list(breakdown: str) -> dict[str, Any]:
    name = metrics_shape()["categories"].get(breakdown)
    return code_lists().get(name, {}) if isinstance(name, str) else {}


def category_label(breakdown: str, category: str) -> str:
    """Plain-English label of a category: pages.yaml's own, else the contract's code list, else
    the code itself (team names, years and quarters are shown as they are)."""
    if category == "all":
        return "All"
    own = spec()["categories"].get(breakdown, {})
    if category in own:
        return own[category]
    item = _code_list(breakdown).get(category)
    if isinstance(item, dict):
        item = item.get("label")
    label = str(item) if item else category
    # a label that is only an abbreviation of the glossary (a team "CPT", a source "DAT") is
    # written out, so a member never has to decode it: "Child protection teams"
    return spelt_out().get(label, label)


@functools.cache
def spelt_out() -> dict[str, str]:
    """Abbreviation -> its expansion, from the glossary (``pages.yaml`` ``glossary``)."""
    return {
        str(term): str(expansion)
        for term, expansion, _ in spec()["glossary"]
        if expansion and str(term).upper() == str(term)
    }


def category_order(breakdown: str, categories: list[str]) -> list[str]:
    """Code-list order where there is one, else as given (the files are already ordered)."""
    known = list(spec()["categories"].get(breakdown, {})) or list(_code_list(breakdown))
    if not known:
        return list(categories)
    pos = {c: i for i, c in enumerate(known)}
    return sorted(categories, key=lambda c: (pos.get(c, len(pos)), categories.index(c)))

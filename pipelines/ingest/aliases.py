"""Header and code aliases (``pipelines/contract/aliases.yaml``) turned into lookups."""

from __future__ import annotations

import functools
import re
from typing import Any

import yaml

from pipelines.contract import HERE as CONTRACT_DIR
from pipelines.contract import code_lists, extracts

ALIASES_FILE = CONTRACT_DIR / "aliases.yaml"


@functools.cache
def aliases() -> dict[str, Any]:
    """The alias file as data."""
    with open(ALIASES_FILE, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def norm_header(text: str) -> str:
    """Header form for matching: lower case, no BOM, spaces, hyphens or underscores."""
    return re.sub(r"[\s\-_]+", "", str(text).replace("\ufeff", "").strip().lower())


def norm_label(text: str) -> str:
    """Code label form for matching; the same as the SQL macro ``ing_label`` after trimming."""
    text = str(text).replace("–", "-").replace("—", "-").strip()
    return re.sub(r"\s+", " ", text).upper()


@functools.cache
def header_lookup(extract: str) -> dict[str, str]:
    """Normalised header -> contract column of ``extract``.

    Priority: the column's own name, then aliases for this extract, then the general aliases
    (only for columns the extract has).
    """
    columns = list(extracts()[extract]["columns"])
    data = aliases()
    lookup: dict[str, str] = {}
    for column, names in (data.get("headers") or {}).items():
        if column in columns:
            for name in names:
                lookup[norm_header(name)] = column
    for column, names in ((data.get("extract_headers") or {}).get(extract) or {}).items():
        for name in names:
            lookup[norm_header(name)] = column
    for column in columns:
        lookup[norm_header(column)] = column
    return lookup


@functools.cache
def label_lookup(code_list: str) -> dict[str, str]:
    """Normalised label -> canonical code for one code list (codes themselves not included).

    Sources: labels in codes.yaml, labels in aliases.yaml, and codes written with spaces or
    hyphens for underscores. A label that maps to two codes is ambiguous and left out.
    """
    codes = code_lists()[code_list]
    candidates: dict[str, set[str]] = {}

    def add(label: str, code: str) -> None:
        candidates.setdefault(norm_label(label), set()).add(code)

    for code, spec in codes.items():
        label = spec["label"] if isinstance(spec, dict) else spec
        if label is not None:
            add(str(label), code)
        if "_" in code:
            add(code.replace("_", " "), code)
            add(code.replace("_", "-"), code)
    for label, code in ((aliases().get("codes") or {}).get(code_list) or {}).items():
        add(str(label), str(code))
    upper_codes = {c.upper() for c in codes}
    return {
        label: next(iter(found))
        for label, found in candidates.items()
        if len(found) == 1 and label not in upper_codes
    }


def ambiguous_labels(code_list: str) -> list[str]:
    """Labels that map to more than one code of ``code_list`` (left out of the lookup)."""
    codes = code_lists()[code_list]
    seen: dict[str, set[str]] = {}
    for code, spec in codes.items():
        label = spec["label"] if isinstance(spec, dict) else spec
        if label is not None:
            seen.setdefault(norm_label(str(label)), set()).add(code)
    for label, code in ((aliases().get("codes") or {}).get(code_list) or {}).items():
        seen.setdefault(norm_label(str(label)), set()).add(str(code))
    return sorted(label for label, found in seen.items() if len(found) > 1)


def yes_no_values() -> tuple[list[str], list[str]]:
    """Upper-case forms read as yes and as no."""
    data = aliases()["yes_no"]
    return [str(v).upper() for v in data["yes"]], [str(v).upper() for v in data["no"]]


def looks_like_value(header: str) -> bool:
    """A header that could be a cell value (a digit, a date, an e-mail, long text).

    Such a header is never printed: when the header line is missing, the first record is read
    as the header, and its cells are children's IDs and dates of birth.
    """
    text = str(header).strip()
    return bool(re.search(r"[\d@]", text)) or len(text) > 40


def shown_header(header: str) -> str:
    """A header as a message may show it: quoted, or withheld when it looks like a value."""
    text = str(header).replace("\ufeff", "").strip()
    if not text:
        return "(no header)"
    if looks_like_value(text):
        return "(a header that looks like a value, not shown)"
    return repr(text)

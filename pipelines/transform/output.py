"""``write_metrics``: the metrics table as a byte-stable CSV."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import pandas as pd

from pipelines.spreadsheet import safe_cell


def _is_blank(value: object) -> bool:
    if value is None or value is pd.NA:
        return True
    return isinstance(value, float) and math.isnan(value)


def format_cell(value: object, whole: bool = True) -> str:
    """One cell as text.

    Blank for missing; a number as an integer when ``whole`` and it is integral (counts), else
    as ``repr(float)`` (the shortest text that reads back to the same float: unrounded, and the
    same on every run); anything else (codes, dates, the suppression symbol ``c``) as it is.
    """
    if _is_blank(value):
        return ""
    if isinstance(value, str):
        # Free text (team names come from the source system) must not run as a spreadsheet
        # formula when the CSV is opened in Excel: a leading apostrophe makes it plain text.
        return str(safe_cell(value))
    if isinstance(value, bool):
        return str(value)
    try:
        number = float(value)  # type: ignore[arg-type]  # Python and numpy numbers; else caught
    except (TypeError, ValueError):
        return str(value)
    if math.isnan(number):
        return ""
    if whole and number.is_integer() and abs(number) < 2**53:
        return str(int(number))
    return repr(number)


def write_metrics(df: pd.DataFrame, path: Path | str) -> Path:
    """Write ``df`` as UTF-8 CSV, ``\\n`` line endings, minimal quoting, fixed number format.

    numerator and denominator are written as whole numbers when integral (they are counts; the
    turnover denominator, a mean, keeps its fraction). value is a whole number on count rows
    (blank numerator and denominator, unit ``count``) and ``repr(float)`` otherwise, so a
    percentage of exactly 50 is ``50.0`` and an unrounded one ``33.333333333333336``. The same
    frame always gives the same bytes. Text that a spreadsheet would take for a formula (a team
    name starting with ``=``, ``+``, ``-``, ``@``) is written with a leading apostrophe.
    """
    path = Path(path)
    columns = list(df.columns)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow([str(c) for c in columns])
    position = {c: k for k, c in enumerate(columns)}
    for row in df.itertuples(index=False, name=None):
        count_row = (
            "unit" in position
            and row[position["unit"]] == "count"
            and all(
                _is_blank(row[position[c]]) for c in ("numerator", "denominator") if c in position
            )
        )
        cells = []
        for name, value in zip(columns, row, strict=True):
            cells.append(format_cell(value, whole=(name != "value" or count_row)))
        writer.writerow(cells)
    path.write_bytes(buffer.getvalue().encode("utf-8"))
    return path

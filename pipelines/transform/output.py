"""``write_metrics``: the metrics table as a byte-stable CSV."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import pandas as pd


def format_cell(value: object) -> str:
    """One cell as text: blanks for missing, whole numbers without a decimal point, other floats
    as ``repr`` (the shortest string that round-trips, so unrounded and identical on every run),
    anything else (codes, dates, the suppression symbol ``c``) as it is."""
    if value is None or value is pd.NA:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, (int, float)) or hasattr(value, "dtype"):
        number = float(value)  # numpy scalars included
        if math.isnan(number):
            return ""
        if number.is_integer() and abs(number) < 2**53:
            return str(int(number))
        return repr(number)
    return str(value)


def write_metrics(df: pd.DataFrame, path: Path | str) -> Path:
    """Write ``df`` as UTF-8 CSV with ``\\n`` line endings, minimal quoting and fixed number format.

    The same frame always gives the same bytes. Cells that a spreadsheet would read as a formula
    cannot occur: every column is a code, a date or a number.
    """
    path = Path(path)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow([str(c) for c in df.columns])
    for row in df.itertuples(index=False, name=None):
        writer.writerow([format_cell(v) for v in row])
    path.write_bytes(buffer.getvalue().encode("utf-8"))
    return path

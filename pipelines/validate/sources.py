"""Excel column letters of contract columns in the source files, read from each file's header row.

The warehouse keeps the Excel row number of every row (``_row``) but not where each column sat in
the file, and a data officer needs both to find a cell. The raw files are only read, never changed.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from pipelines.contract import extracts


def column_letter(index: int) -> str:
    """Excel letter of a 0-based column index: 0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    n = index + 1
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _norm(text: str) -> str:
    return re.sub(r"[\s\-_]+", "", str(text).replace("\ufeff", "").strip().lower())


def _lookup(extract: str) -> dict[str, str]:
    """Normalised header -> contract column, with ingest's aliases when they are available."""
    try:
        from pipelines.ingest.aliases import header_lookup

        return dict(header_lookup(extract))
    except Exception:  # ingest's alias module absent or broken: canonical names still match
        return {_norm(c): c for c in extracts()[extract]["columns"]}


def _csv_headers(path: Path) -> list[str]:
    data = path.read_bytes()[:65536]
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 (Excel 'Unicode Text', tabs)
        text = data[:65534].decode("utf-16", errors="replace")
        first = text.split("\n", 1)[0].rstrip("\r")
        delimiter = "\t" if first.count("\t") > first.count(",") else ","
        return next(csv.reader([first], delimiter=delimiter), [])
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            # a multi-byte character cut at the 64 KiB boundary: drop the tail and retry
            try:
                text = data[: len(data) - 3].decode(encoding)
                break
            except UnicodeDecodeError:
                continue
    else:
        return []
    return next(csv.reader(io.StringIO(text, newline="")), [])


def _xlsx_headers(path: Path, extract: str) -> list[str]:
    """The header row of the sheet ingest read, from column A (title lines and other sheets
    skipped as ingest skips them; a workbook that could exhaust memory is never opened)."""
    from pipelines.ingest.workbook import workbook_header

    found = workbook_header(path, extract)
    if found is None:
        return []
    first_column, headers = found
    return [""] * first_column + headers


def file_column_letters(raw_dir: Path, extract: str, file: str) -> dict[str, str]:
    """Contract column -> Excel letter for one source file; empty if the file cannot be read."""
    path = raw_dir / file
    try:
        if path.suffix.lower() == ".xlsx":
            headers = _xlsx_headers(path, extract)
        else:
            headers = _csv_headers(path)
    except Exception:  # the letters are a convenience: a finding without one is still reported
        return {}
    lookup = _lookup(extract)
    letters: dict[str, str] = {}
    for i, header in enumerate(headers):
        column = lookup.get(_norm(header))
        if column and column not in letters:
            letters[column] = column_letter(i)
    return letters

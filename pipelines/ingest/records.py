"""A CSV file's records and its physical lines: each record is what the file says it is.

DuckDB splits a file into records; this module makes sure they are the file's records, and that
every record is numbered by the physical line it starts on (what a data officer sees in a text
editor, and Excel's row for a file without multi-line values).

- Line endings: mixed CRLF/LF and old-Mac CR are normalised into the work copy (DuckDB's reader
  raises on a mix); a file with only CRLF or only LF is read as it is.
- Blank lines (empty, or only delimiters and spaces, as Excel writes) are found with one regular
  expression (no Python loop over the lines), left out of the work copy and counted.
- Footer or total lines at the end of the file are found from the last few lines.
- After DuckDB has read the file, the number of records it found is compared with the physical
  lines (``expected_records``). Only on a mismatch is the file read again with Python's csv
  reader (``rescan``) to find which lines were merged: a line break inside a contract column, or
  a value that swallows lines shaped like records, is a broken record and stops the run naming
  the lines (never a value). Legitimate multi-line text in a column outside the contract is kept
  out of the work copy (it is never loaded) so each record is again one line.

A ``line map`` turns a line of the work copy into the file's physical line: a sorted list of
(first work line, offset) pairs; a work line ``c`` is physical line ``c + offset`` of the last pair
with first work line <= c.
"""

from __future__ import annotations

import bisect
import csv
import dataclasses
import functools
import io
import re
from pathlib import Path

from pipelines.ingest.aliases import aliases, shown_header

LineMap = list[tuple[int, int]]

# Python's csv reader refuses a field longer than 131,072 characters by default; a stray quote in
# a large file makes one field of the rest of the file, which must be reported, not raised.
_FIELD_LIMIT = 2**31 - 1
_MAX_BROKEN_LISTED = 5


def line_count(text: str) -> int:
    """Physical lines of ``text`` (LF line ends; a last line without its line end counts)."""
    if not text:
        return 0
    return text.count("\n") + (0 if text.endswith("\n") else 1)


def normalise_newlines(text: str) -> tuple[str, str | None]:
    """``text`` with LF line ends when they were mixed or CR only; and what was found (or None).

    A file with CRLF only (Windows) is left as it is: DuckDB and the csv reader read it.
    """
    cr = text.count("\r")
    if not cr:
        return text, None
    crlf = text.count("\r\n")
    if crlf == cr and crlf == text.count("\n"):
        return text, None
    kind = "CR (old Mac)" if not crlf and "\n" not in text else "mixed CRLF, LF and CR"
    return text.replace("\r\n", "\n").replace("\r", "\n"), kind


@functools.cache
def _blank_pattern(delimiter: str) -> re.Pattern[str]:
    # A blank line: only spaces, tabs and delimiters (\r: a CRLF file). The pattern starts with a
    # literal line end, so the regular expression engine jumps from line end to line end.
    return re.compile(r"\n[ \t\r" + re.escape(delimiter) + r"]*(?=\n|\Z)")


def blank_lines(text: str, delimiter: str) -> list[int]:
    """Physical line numbers (1-based) of the blank lines of ``text``."""
    found: list[int] = []
    if re.match(r"[ \t\r" + re.escape(delimiter) + r"]*(?:\n|\Z)", text) and text:
        found.append(1)
    last_pos, last_line = 0, 1  # the line that starts after position last_pos
    for m in _blank_pattern(delimiter).finditer(text):
        if m.end() == len(text) and m.end() - m.start() == 1:
            break  # the final line end, not a line
        last_line += text.count("\n", last_pos, m.start()) + 1
        last_pos = m.start() + 1
        found.append(last_line)
    return found


def blank_line_map(blanks: list[int]) -> LineMap:
    """Line map of a work copy without the blank lines ``blanks`` (sorted physical numbers)."""
    out: LineMap = []
    for j, b in enumerate(blanks, start=1):
        first = b - j + 1  # the work line that follows the j-th blank line
        if out and out[-1][0] == first:
            out[-1] = (first, j)
        else:
            out.append((first, j))
    return out


def physical_line(line_map: LineMap, work_line: int) -> int:
    """The file's physical line of a work copy's line."""
    i = bisect.bisect_right(line_map, (work_line, float("inf"))) - 1
    return work_line + (line_map[i][1] if i >= 0 else 0)


def without_blank_lines(text: str, delimiter: str) -> str:
    """``text`` without its blank lines (the work copy DuckDB reads)."""
    body = _blank_pattern(delimiter).sub("", text)
    if re.match(r"[ \t\r" + re.escape(delimiter) + r"]*\n", body):
        body = body[body.index("\n") + 1 :]  # a blank first line
    return body


@functools.cache
def _footer_patterns() -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(p, re.IGNORECASE) for p in aliases().get("footer_lines") or [])


def footer_lines(
    text: str, delimiter: str, n_fields: int, n_lines: int, header_line: int
) -> dict[int, str]:
    """Footer or total lines at the end of the file: physical line -> the footer words found.

    A footer line's first field starts with words such as 'Total', 'Count:' or 'End of report'
    (aliases.yaml ``footer_lines``) and at most a quarter of the header's other fields hold
    anything. Only the last lines are looked at, from the end, up to five, skipping blank ones.
    """
    found: dict[int, str] = {}
    tail = text[-20_000:]
    body = tail.rstrip("\r\n")
    newlines = n_lines - (0 if text.endswith("\n") else 1)
    line = newlines - tail[len(body) :].count("\n") + 1  # the last line with anything on it
    for raw in reversed(body.split("\n")[-10:]):
        if line <= header_line:
            break
        if not raw.strip(" \t\r" + delimiter):
            line -= 1
            continue
        if raw.count('"') % 2:
            break
        fields = next(csv.reader([raw.rstrip("\r")], delimiter=delimiter), [])
        first = fields[0].strip() if fields else ""
        match = next((m for p in _footer_patterns() if (m := p.match(first))), None)
        filled = sum(1 for f in fields[1:] if f.strip())
        if match is None or filled > max(n_fields - 1, 1) // 4:
            break
        found[line] = match.group(0).strip()
        line -= 1
        if len(found) >= 5:
            break
    return found


@dataclasses.dataclass
class Rescan:
    """What Python's csv reader found: the work copy written and its line map."""

    path: Path
    line_map: LineMap
    records: int
    blank: list[int]


class BrokenRecords(Exception):
    """Records of a file merged or swallowed by a stray quote: the file cannot be loaded."""


def _column_label(i: int, names: dict[int, str], headers: list[str]) -> str:
    """A column named for a message: its contract name, else its position and (safe) header."""
    if i in names:
        return f"column {names[i]}"
    header = headers[i] if i < len(headers) else ""
    return f"column {i + 1}, {shown_header(header)}, outside the contract"


def rescan(
    text: str,
    *,
    file: str,
    delimiter: str,
    headers: list[str],
    columns: dict[str, int],
    out: Path,
) -> Rescan:
    """Read ``text`` record by record; write a work copy with one record per line to ``out``.

    Raises ``BrokenRecords`` (a message naming the lines and columns, never a value) when a
    record holds a line break in a contract column, or in another column that holds lines shaped
    like records (a quote that swallows the records after it).
    """
    csv.field_size_limit(_FIELD_LIMIT)
    names = {i: c for c, i in columns.items()}
    n_fields = len(headers)
    total_lines = line_count(text)
    unclosed_at_end = text.count('"') % 2 == 1
    broken: list[str] = []
    n_broken = 0
    blank: list[int] = []
    line_map: LineMap = []
    records = 0
    header_seen = False
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    prev = 0
    with open(out, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, delimiter=delimiter, lineterminator="\n")
        for fields in reader:
            start, end = prev + 1, reader.line_num
            prev = end
            if start == end and not any(f.strip() for f in fields):
                blank.append(start)
                continue
            multi = [i for i, f in enumerate(fields) if "\n" in f or "\r" in f]
            bad = [i for i in multi if i in names]
            if not bad:
                # Outside the contract: multi-line text is fine, unless its lines look like
                # records (a stray quote that swallowed them).
                bad = [
                    i
                    for i in multi
                    if any(
                        part.count(delimiter) >= max(n_fields - 1, 1)
                        for part in fields[i].splitlines()[1:]
                    )
                ]
            if bad:
                n_broken += 1
                if len(broken) < _MAX_BROKEN_LISTED:
                    where = _column_label(bad[0], names, headers)
                    if end == total_lines and unclosed_at_end:
                        broken.append(
                            f"lines {start}-{end}: a quote opened in line {start} ({where}) is "
                            f"never closed, so the rest of the file reads as one record"
                        )
                    else:
                        broken.append(
                            f"lines {start}-{end}: a quote opened in line {start} ({where}) is "
                            f"closed in line {end}, merging {end - start + 1} lines into one record"
                        )
                continue
            if not header_seen:
                header_seen = True
                work_line = 1
            else:
                records += 1
                work_line = records + 1
            offset = start - work_line
            if not line_map or line_map[-1][1] != offset:
                line_map.append((work_line, offset))
            if multi:
                fields = [
                    f.replace("\r\n", " ").replace("\n", " ").replace("\r", " ") for f in fields
                ]
            writer.writerow(fields)
    if n_broken:
        more = f"; and {n_broken - len(broken)} more" if n_broken > len(broken) else ""
        raise BrokenRecords(
            f'{file}: {n_broken} record(s) are broken by a stray quote ("), so the lines do not '
            f"read as the records they hold: {'; '.join(broken)}{more}. Open "
            "the file in a text editor at these lines, remove the stray quote or close it on the "
            "same line (no ID, date or code holds a line break), and export again."
        )
    return Rescan(out, line_map, records, blank)

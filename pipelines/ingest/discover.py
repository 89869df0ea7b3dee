"""Finding, decoding and checking the files of a delivery, before anything is loaded.

Every problem with the files themselves (missing, duplicated, unreadable, empty, wrong delimiter,
missing columns) is collected across the whole delivery and reported at once.
"""

from __future__ import annotations

import csv
import dataclasses
import difflib
import hashlib
import re
from pathlib import Path

from pipelines.contract import extracts
from pipelines.ingest import records
from pipelines.ingest.aliases import header_lookup, looks_like_value, norm_header, shown_header

FORMATS = (".csv", ".xlsx")
_DELIMITERS = {";": "semicolons", "\t": "tabs", "|": "vertical bars"}


@dataclasses.dataclass
class Note:
    extract: str | None
    file: str | None
    note_code: str
    message: str


@dataclasses.dataclass
class SourceFile:
    """One file of the delivery, checked and ready to load."""

    extract: str
    path: Path
    format: str  # csv | xlsx
    sha256: str
    encoding: str | None  # utf-8 | utf-8-bom | windows-1252 | utf-16-le | utf-16-be | None
    headers: list[str]
    columns: dict[str, int]  # contract column -> position in the file
    dropped: list[str]  # headers outside the contract, as found
    notes: list[Note]
    utf8_path: Path | None = None  # the work copy DuckDB reads, when not the file itself
    sheet: str | None = None
    xlsx_rows: list[tuple[int, list[str | None]]] | None = None  # (Excel row, cells)
    has_data: bool = True
    # CSV only (records.py): the delimiter, the file's physical lines, the line the header is on,
    # the blank lines after it (left out of the work copy, counted) and footer lines at the end.
    delimiter: str = ","
    line_count: int = 0
    header_line: int = 1
    blank_lines: list[int] = dataclasses.field(default_factory=list)
    footer_lines: dict[int, str] = dataclasses.field(default_factory=dict)
    rows_blank: int = 0  # blank lines (CSV) or rows (xlsx) skipped and counted

    @property
    def name(self) -> str:
        """The file's name as stored in the warehouse and shown to people: bytes of the name that
        are not UTF-8 (an old Windows code page) are shown as U+FFFD."""
        return self.path.name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


class Problems(list[str]):
    """Problems found while checking the files, reported together."""


def discover(raw_dir: Path) -> tuple[dict[str, Path], list[Note], Problems]:
    """Match the folder's files to extracts by name prefix (case-insensitive, .csv or .xlsx)."""
    problems = Problems()
    notes: list[Note] = []
    files = sorted(
        (p for p in raw_dir.iterdir() if p.is_file() and not p.name.startswith((".", "~$"))),
        key=lambda p: p.name.lower(),
    )
    found: dict[str, list[Path]] = {}
    spec = extracts()
    # Longest prefix first, so a prefix that starts another can never steal its files.
    prefixes = sorted(
        ((s["prefix"].lower(), name) for name, s in spec.items()),
        reverse=True,
        key=lambda t: len(t[0]),
    )
    for path in files:
        name = path.name.lower()
        extract = next((e for prefix, e in prefixes if name.startswith(prefix)), None)
        if extract is None or path.suffix.lower() not in FORMATS:
            if extract is not None:
                problems.append(
                    f"{path.name}: looks like the {extract} extract but is a "
                    f"{path.suffix or 'file without extension'}; "
                    "save it as .csv (comma-separated, UTF-8) or .xlsx."
                )
            elif path.name.lower() not in {"readme.md", "readme.txt"}:
                notes.append(
                    Note(
                        None,
                        path.name,
                        "file_ignored",
                        f"{path.name} does not start with an extract prefix: not read.",
                    )
                )
            continue
        found.setdefault(extract, []).append(path)

    chosen: dict[str, Path] = {}
    for extract, s in spec.items():
        paths = found.get(extract, [])
        if len(paths) > 1:
            problems.append(
                f"Two or more files for the {extract} extract: {', '.join(p.name for p in paths)}. "
                "Each extract is a full snapshot: keep only the latest file in the folder."
            )
        elif paths:
            chosen[extract] = paths[0]
        elif s.get("required"):
            problems.append(
                f"No file for the required {extract} extract (a name starting with "
                f"'{s['prefix']}', .csv or .xlsx)."
            )
        else:
            notes.append(
                Note(
                    extract,
                    None,
                    "extract_absent",
                    f"Optional extract {extract} not delivered: no {extract} tables.",
                )
            )
    if any(p.startswith("No file for") for p in problems):
        expected = ", ".join(
            s["prefix"] + ("" if s.get("required") else " (optional)") for s in spec.values()
        )
        present = ", ".join(p.name for p in files) or "none"
        problems.append(
            f"Files are recognised by name prefix: {expected}. Files found in {raw_dir}: {present}."
        )
    return chosen, notes, problems


def _map_headers(
    extract: str, file: str, headers: list[str], problems: Problems, notes: list[Note]
) -> tuple[dict[str, int], list[str]]:
    """Contract column -> position, and the headers dropped.

    Messages show column names, never cell values: when the header line is missing, the first
    record is read as the header, so a header that looks like a value is never printed.
    """
    lookup = header_lookup(extract)
    spec = extracts()[extract]["columns"]
    columns: dict[str, int] = {}
    dropped: list[str] = []
    for i, header in enumerate(headers):
        key = norm_header(header)
        column = lookup.get(key)
        if column is None:
            if looks_like_value(header):
                dropped.append(f"(column {i + 1}: its header looks like a value, not shown)")
            else:
                dropped.append(header.strip() or f"(column {i + 1}, no header)")
            continue
        if column in columns:
            problems.append(
                f"{file}: columns {columns[column] + 1} ('{headers[columns[column]]}') and {i + 1} "
                f"('{header}') both read as {column}. Delete or rename one of them."
            )
            continue
        columns[column] = i
        if key != norm_header(column):
            notes.append(
                Note(extract, file, "header_alias", f"Header '{header.strip()}' read as {column}.")
            )
    missing = [c for c in spec if c not in columns]
    required = [c for c in missing if spec[c].get("required")]
    valuelike = sum(1 for h in headers if looks_like_value(h))
    looks_like_data = bool(required) and (not columns or valuelike * 3 >= len(headers))
    if looks_like_data:
        expected = ", ".join(list(spec)[:4])
        problems.append(
            f"{file}: the first line looks like data, not a header: "
            f"{len(columns)} of its {len(headers)} fields are column names of the {extract} "
            f"extract and {valuelike} look like values (not shown). Add the header line (the "
            f"column names: {expected}, ...) as the first line, or export again with headers."
        )
    for column in [] if looks_like_data else required:
        found = [h for h in headers if norm_header(h) and not looks_like_value(h)]
        close = difflib.get_close_matches(
            norm_header(column), [norm_header(h) for h in found], n=1, cutoff=0.6
        )
        hint = ""
        if close:
            original = next(h for h in found if norm_header(h) == close[0])
            hint = (
                f" The closest header is '{original.strip()}': "
                f"rename it to {column} if that is the one."
            )
        problems.append(
            f"{file}: required column {column} is missing. Columns found: "
            f"{', '.join(shown_header(h) for h in headers)}.{hint} Add the column to the export "
            "(or its header to pipelines/contract/aliases.yaml if it has another name)."
        )
    for column in missing:
        if not spec[column].get("required"):
            notes.append(
                Note(
                    extract,
                    file,
                    "column_missing",
                    f"Optional column {column} is not in the file: loaded as blank.",
                )
            )
    if dropped:
        notes.append(
            Note(
                extract,
                file,
                "columns_dropped",
                f"Columns outside the contract, not loaded: {', '.join(dropped)}.",
            )
        )
    return columns, dropped


_ENCODING_NOTES = {
    "utf-8-bom": "UTF-8 with a byte order mark (BOM): read as UTF-8.",
    "windows-1252": "Not UTF-8: read as Windows-1252 (Excel 'CSV' on Windows).",
    "utf-16-le": "UTF-16 (little-endian, with a byte order mark): read as UTF-16",
    "utf-16-be": "UTF-16 (big-endian, with a byte order mark): read as UTF-16",
}


def _decode(path: Path, data: bytes, problems: Problems) -> tuple[str | None, str | None]:
    """(text, encoding) of a CSV file, or (None, None) with a problem recorded.

    UTF-16 with a byte order mark (Excel's 'Unicode Text') is read; UTF-16 without one cannot be
    told from a binary file and is refused.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) and not data.startswith(b"\xff\xfe\x00\x00"):
        encoding = "utf-16-le" if data.startswith(b"\xff\xfe") else "utf-16-be"
        try:
            return data[2:].decode(encoding), encoding
        except UnicodeDecodeError as exc:
            problems.append(
                f"{path.name}: starts with a UTF-16 mark but byte {exc.start + 2} is not UTF-16. "
                "Save it again from Excel as 'CSV UTF-8 (Comma delimited)'."
            )
            return None, None
    if b"\x00" in data[:4096]:
        kind = (
            "an Excel workbook with a .csv name"
            if data.startswith(b"PK\x03\x04")
            else "a binary file, or UTF-16 text without a byte order mark"
        )
        problems.append(
            f"{path.name}: cannot be read as CSV: it is {kind}. Save it from Excel as "
            "'CSV UTF-8 (Comma delimited)' or as .xlsx."
        )
        return None, None
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data[3:].decode("utf-8"), "utf-8-bom"
        except UnicodeDecodeError as exc:
            problems.append(
                f"{path.name}: starts with a UTF-8 mark but byte {exc.start + 3} is not UTF-8. "
                "Save it again as 'CSV UTF-8'."
            )
            return None, None
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "windows-1252"
    except UnicodeDecodeError as exc:
        problems.append(
            f"{path.name}: unreadable text: byte {exc.start} is neither UTF-8 nor Windows-1252. "
            "Save it from Excel as 'CSV UTF-8 (Comma delimited)'."
        )
        return None, None


def read_text(path: Path) -> tuple[str, str | None]:
    """The text of a CSV file ``inspect`` accepted, decoded, line ends normalised (and how)."""
    text, _ = _decode(path, path.read_bytes(), Problems())
    if text is None:  # the file changed since it was checked
        raise OSError(f"{path.name} changed while it was being loaded")
    return records.normalise_newlines(text)


# Characters DuckDB would read as a pattern in a file name (it expands globs): such a file is read
# through a work copy.
_GLOB = re.compile(r"[*?\[\]{}]")


#: A file of only spaces, line ends and UTF-8 byte order mark bytes is empty.
_ONLY_SPACE_BYTES = re.compile(rb"[ \t\r\n\xef\xbb\xbf]*")


def _inspect_csv(extract: str, path: Path, workdir: Path, problems: Problems) -> SourceFile | None:
    try:
        data = path.read_bytes()
    except OSError as exc:
        problems.append(
            f"{path.name}: cannot be read ({exc.strerror}). Check it is not open in "
            "another program and that you may read it."
        )
        return None
    sha = hashlib.sha256(data).hexdigest()
    if _ONLY_SPACE_BYTES.fullmatch(data):  # no copy of the file, unlike bytes.strip()
        problems.append(f"{path.name}: the file is empty. Export the {extract} extract again.")
        return None
    text, encoding = _decode(path, data, problems)
    del data
    if text is None or encoding is None:
        return None
    text, endings = records.normalise_newlines(text)
    if not text or text.isspace():  # as ``not text.strip()``, without copying the text
        problems.append(f"{path.name}: the file is empty. Export the {extract} extract again.")
        return None
    # Excel's 'Unicode Text' is UTF-16 with tabs between the columns.
    first = next((line for line in text[:65536].split("\n") if line.strip()), "")
    delimiter = (
        "\t" if encoding.startswith("utf-16") and first.count("\t") > first.count(",") else ","
    )
    n_lines = records.line_count(text)
    blanks = records.blank_lines(text, delimiter)
    blank_set = set(blanks)
    header_line = 1
    while header_line in blank_set:
        header_line += 1
    if header_line > n_lines:  # only separators and spaces
        problems.append(f"{path.name}: the file is empty. Export the {extract} extract again.")
        return None
    pos = 0
    for _ in range(header_line - 1):
        pos = text.index("\n", pos) + 1
    stop = text.find("\n", pos)
    header_text = (text[pos:] if stop < 0 else text[pos:stop]).rstrip("\r")
    if header_text.count('"') % 2:
        problems.append(
            f'{path.name}: line {header_line} (the header) has a quote (") that is not closed on '
            "the line, so the header would run on into the records below. Remove the stray "
            "quote from the header line and save the file again."
        )
        return None
    csv.field_size_limit(2**31 - 1)
    headers = next(csv.reader([header_text], delimiter=delimiter), [])
    notes: list[Note] = []
    if encoding != "utf-8":
        message = _ENCODING_NOTES[encoding]
        if encoding.startswith("utf-16"):
            message += (
                ", with tabs between the columns (Excel 'Unicode Text')."
                if delimiter == "\t"
                else ", with commas between the columns."
            )
        notes.append(Note(extract, path.name, "encoding", message))
    if len(headers) == 1:
        for delim, name in _DELIMITERS.items():
            if delim != delimiter and delim in headers[0]:
                problems.append(
                    f"{path.name}: the columns are separated by {name}, not commas (line "
                    f"{header_line}, the header, holds one field with {headers[0].count(delim)} "
                    f"{name} in it). Save it from Excel as 'CSV UTF-8 (Comma delimited)'."
                )
                return None
    after = [b for b in blanks if b > header_line]
    footers = records.footer_lines(text, delimiter, len(headers), n_lines, header_line)
    has_data = n_lines - header_line - len(after) - len(footers) > 0
    if endings:
        notes.append(
            Note(
                extract,
                path.name,
                "line_endings",
                f"Line endings were {endings}: each was read as the end of a line (the file "
                "itself is unchanged).",
            )
        )
    if header_line > 1:
        notes.append(
            Note(
                extract,
                path.name,
                "header_line",
                f"The header is on line {header_line}: the lines above it are blank.",
            )
        )
    if after:
        shown = ", ".join(map(str, after[:10])) + (", ..." if len(after) > 10 else "")
        notes.append(
            Note(
                extract,
                path.name,
                "blank_lines",
                f"{len(after)} blank line(s) (empty, or only separators and spaces) skipped and "
                f"counted as blank, not as rows: line(s) {shown}.",
            )
        )
    columns, dropped = _map_headers(extract, path.name, headers, problems, notes)
    utf8_path = None
    if (
        encoding not in ("utf-8", "utf-8-bom")
        or endings
        or blanks
        or _GLOB.search(str(path))
        or not str(path).isprintable()  # bytes that are not UTF-8 in the name, control chars
    ):
        utf8_path = workdir / f"{extract}.utf8.csv"
        body = records.without_blank_lines(text, delimiter) if blanks else text
        utf8_path.write_text(body, encoding="utf-8", newline="")
    return SourceFile(
        extract,
        path,
        "csv",
        sha,
        encoding,
        headers,
        columns,
        dropped,
        notes,
        utf8_path=utf8_path,
        has_data=has_data,
        delimiter=delimiter,
        line_count=n_lines,
        header_line=header_line,
        blank_lines=after,
        footer_lines=footers,
        rows_blank=len(blanks),  # blank lines above the header too: read = lines - 1
    )


def _inspect_xlsx(extract: str, path: Path, problems: Problems) -> SourceFile | None:
    """A workbook, checked and read by ``workbook.py`` (bounded work, header below title lines)."""
    from pipelines.ingest.workbook import inspect_workbook  # imports this module: import here

    return inspect_workbook(extract, path, problems)


def inspect(chosen: dict[str, Path], workdir: Path, problems: Problems) -> list[SourceFile]:
    """Decode and check each chosen file; problems are appended to ``problems``."""
    out: list[SourceFile] = []
    for extract, path in chosen.items():
        if path.suffix.lower() == ".xlsx":
            source = _inspect_xlsx(extract, path, problems)
        else:
            source = _inspect_csv(extract, path, workdir, problems)
        if source is None:
            continue
        if not source.has_data:
            if extracts()[extract].get("required"):
                problems.append(
                    f"{path.name}: has a header row but no data rows. Export the {extract} "
                    "extract again (a required extract is never empty)."
                )
                continue
            source.notes.append(
                Note(extract, path.name, "no_rows", "Header only: the table is empty.")
            )
        out.append(source)
    return out

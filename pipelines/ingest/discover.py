"""Finding, decoding and checking the files of a delivery, before anything is loaded.

Every problem with the files themselves (missing, duplicated, unreadable, empty, wrong delimiter,
missing columns) is collected across the whole delivery and reported at once.
"""

from __future__ import annotations

import csv
import dataclasses
import difflib
import hashlib
import io
from pathlib import Path

from pipelines.contract import extracts
from pipelines.ingest.aliases import header_lookup, norm_header

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
    encoding: str | None  # utf-8 | utf-8-bom | windows-1252 | None (xlsx)
    headers: list[str]
    columns: dict[str, int]  # contract column -> position in the file
    dropped: list[str]  # headers outside the contract, as found
    notes: list[Note]
    utf8_path: Path | None = None  # transcoded copy (Windows-1252 files)
    sheet: str | None = None
    xlsx_rows: list[tuple[int, list[str | None]]] | None = None  # (Excel row, cells)
    has_data: bool = True

    @property
    def name(self) -> str:
        return self.path.name


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
    """Contract column -> position, and the headers dropped."""
    lookup = header_lookup(extract)
    spec = extracts()[extract]["columns"]
    columns: dict[str, int] = {}
    dropped: list[str] = []
    for i, header in enumerate(headers):
        key = norm_header(header)
        column = lookup.get(key)
        if column is None:
            if key or True:
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
    for column in required:
        found = [h for h in headers if norm_header(h) and h.strip() not in ()]
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
            f"{', '.join(repr(h.strip()) for h in headers)}.{hint} Add the column to the export "
            "(or its header to pipelines/contract/aliases.yaml if it has another name)."
        )
    for column in missing:
        if column not in required:
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


def _decode(path: Path, data: bytes, problems: Problems) -> tuple[str | None, str | None]:
    """(text, encoding) of a CSV file, or (None, None) with a problem recorded."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in data[:4096]:
        kind = (
            "an Excel workbook with a .csv name"
            if data.startswith(b"PK\x03\x04")
            else ("UTF-16 ('Unicode text') or a binary file")
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
    if not data.strip(b" \t\r\n\xef\xbb\xbf"):
        problems.append(f"{path.name}: the file is empty. Export the {extract} extract again.")
        return None
    text, encoding = _decode(path, data, problems)
    del data
    if text is None:
        return None
    reader = csv.reader(io.StringIO(text[:1_000_000], newline=""))
    headers = next(reader, [])
    notes: list[Note] = []
    if encoding != "utf-8":
        notes.append(
            Note(
                extract,
                path.name,
                "encoding",
                {
                    "utf-8-bom": "UTF-8 with a byte order mark (BOM): read as UTF-8.",
                    "windows-1252": "Not UTF-8: read as Windows-1252 (Excel 'CSV' on Windows).",
                }[encoding],
            )
        )
    if len(headers) == 1:
        for delim, name in _DELIMITERS.items():
            if delim in headers[0]:
                problems.append(
                    f"{path.name}: the columns are separated by {name}, not commas (header: "
                    f"'{headers[0][:80]}'). Save it from Excel as 'CSV UTF-8 (Comma delimited)'."
                )
                return None
    has_data = False
    try:
        for record in reader:
            if any(field.strip() for field in record):
                has_data = True
                break
    except csv.Error:
        has_data = True
    if len(text) > 1_000_000:
        has_data = True
    columns, dropped = _map_headers(extract, path.name, headers, problems, notes)
    utf8_path = None
    if encoding == "windows-1252":
        utf8_path = workdir / f"{extract}.utf8.csv"
        utf8_path.write_text(text, encoding="utf-8", newline="")
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

"""Reading an .xlsx workbook safely: checked with the standard library, then read by calamine.

A workbook is a zip of XML parts, and a few kilobytes can ask for gigabytes: python-calamine
builds a sheet as one dense rectangle (a single cell at XFD1048576 is 17 billion cells and aborts
the process), copies a shared string into every cell that uses it, and reserves room for the
number of shared strings the file declares. So before calamine opens a workbook, ``zipfile``
checks the package (sizes, ratios, parts), streams the shared strings (count, length of each) and,
before a sheet is read, its XML (the ``<dimension>``, then where every cell with a value is). The
limits are data (``workbook.yaml``). Shared strings longer than a value may be are replaced by
their length in a temporary copy, so calamine never copies them.

Then the header is looked for in the first rows of each sheet (title lines above it are skipped),
on the sheet named like the extract first, then on the others in order. Cells become the text a
CSV export would hold; control characters are removed; a row whose value is too long, or has a
line break in an ID, date or code, is set aside here with its own reason code (the SQL of
``stage.py`` never sees it).

Every problem is reported as text naming the file (and sheet, cell, column); never a cell value
of an ID or date-of-birth column, never a traceback.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import html
import os
import posixpath
import re
import tempfile
import zipfile
import zlib
from array import array
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import yaml

from pipelines.contract import extracts, personal
from pipelines.ingest.aliases import header_lookup, norm_header
from pipelines.ingest.discover import _DELIMITERS, Note, Problems, SourceFile, _map_headers

LIMITS_FILE = Path(__file__).resolve().with_name("workbook.yaml")
MB = 1024 * 1024
CHUNK = 1 << 20
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls, and password-protected .xlsx

# A shared string too long to be a value is replaced by this marker and its length (private-use
# characters, which no export writes).
MARK = "\ue000"
_MARKER = MARK + "too large:{}" + MARK

# Characters removed from cell text: C0 controls except tab and line breaks, DEL, lone surrogates.
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f\ud800-\udfff]")
# Line breaks (vertical tab and form feed are Word's line and page breaks).
_BREAK = re.compile(r"[\n\r\x0b\x0c\x85\u2028\u2029]")
_BREAKS = re.compile(_BREAK.pattern + "+")
# Spaces and line breaks trimmed from the ends of a cleaned value.
_ENDS = " \n\r\x85\u2028\u2029"
# Anything a row's text must be looked at for, cell by cell (tab is the only control let pass).
_SUSPECT = re.compile(r"[\x00-\x08\x0a-\x1f\x7f\x85\u2028\u2029\ud800-\udfff\ue000]")

# Column types whose values never hold a line break (only free text may).
_NO_BREAK_TYPES = {"record_id", "id", "date", "code", "code_list", "yesno", "integer"}


@dataclasses.dataclass(frozen=True)
class Limits:
    """The limits of ``workbook.yaml`` (the file explains each value)."""

    max_file_mb: int
    max_members: int
    max_total_mb: int
    max_sheet_mb: int
    max_part_mb: int
    max_ratio: float
    ratio_floor_mb: int
    max_rows: int
    max_cells: int
    max_shared_strings: int
    max_shared_text_mb: int
    max_value_chars: int
    header_scan_rows: int
    header_min_columns: int
    outlier_gap_rows: int
    outlier_gap_columns: int


@functools.cache
def limits() -> Limits:
    """The workbook limits, read once from ``workbook.yaml``."""
    with open(LIMITS_FILE, encoding="utf-8") as fh:
        return Limits(**yaml.safe_load(fh))


@dataclasses.dataclass
class RowSetAside:
    """A source row not loaded, decided while reading the workbook (a ``set_aside`` row)."""

    row: int
    column: str | None
    value: str | None
    reason_code: str  # cell_too_large | line_break_in_value
    reason: str
    reference: str | None


@dataclasses.dataclass
class WorkbookSource(SourceFile):
    """A checked workbook: a ``SourceFile`` plus the rows already set aside and the header row."""

    rows_set_aside: list[RowSetAside] = dataclasses.field(default_factory=list)
    header_row: int = 1
    first_column: int = 0  # Excel column (0-based) of headers[0]: columns[c] + first_column


def _safe(exc: BaseException) -> str:
    """An error's type and message for a person, with anything that could be a cell value
    (quoted text, codes mixing letters and digits, long numbers, dates) taken out."""
    text = " ".join(str(exc).split())[:160]
    text = re.sub(r"`(?!</?[\w:.-]+>`)[^`]*`|'[^']*'|\"[^\"]*\"", "(...)", text)
    text = re.sub(r"\b(?=\w*[A-Za-z])(?=\w*\d)\w+|\d[\d/.:-]{3,}\d", "(...)", text)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _reraise_interrupt(exc: BaseException) -> None:
    """Ctrl+C and exits pass; anything else calamine raises (its errors derive from Exception,
    a Rust panic from BaseException) is a damaged workbook."""
    if isinstance(exc, (KeyboardInterrupt, SystemExit, GeneratorExit)):
        raise exc


class Refused(Exception):
    """The workbook cannot be read; the message (without the file name) says why and what to do."""


# --------------------------------------------------------------------------------------------
# Cells


def cell_text(value: Any) -> str | None:
    """An Excel cell as the text a CSV export would hold (dates ISO, whole numbers without .0)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value)
    return text if text.strip() else None


def clean_text(text: str) -> tuple[str, int]:
    """``text`` without control characters (vertical tab and form feed become line breaks), and
    how many characters were removed."""
    text = text.replace("\x0b", "\n").replace("\x0c", "\n")
    cleaned, removed = _CONTROL.subn("", text)
    return cleaned, removed


def shown_name(name: str) -> str:
    """A sheet name fit for a message: no control characters or line breaks, at most 60 long."""
    text = " ".join(_BREAKS.sub(" ", clean_text(name)[0]).split())
    return text[:60] + ("..." if len(text) > 60 else "")


def _too_large(text: str) -> int | None:
    """The length of a marked (replaced) shared string, or None."""
    if text.startswith(MARK) and text.endswith(MARK):
        try:
            return int(text[1:-1].split(":", 1)[1])
        except (IndexError, ValueError):
            return None
    return None


def column_letters(index: int) -> str:
    """Excel letters of a 0-based column: 0 -> A, 16383 -> XFD."""
    letters = ""
    n = index + 1
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _column_index(letters: bytes | str) -> int:
    """0-based column of Excel letters."""
    n = 0
    for ch in letters.upper() if isinstance(letters, str) else letters.decode().upper():
        n = n * 26 + ord(ch) - 64
    return n - 1


_REF = re.compile(r"\$?([A-Za-z]{1,3})\$?([0-9]{1,9})")


def _parse_ref(ref: str) -> tuple[int, int] | None:
    """(row, column), both 0-based, of a cell reference such as 'B7'."""
    m = _REF.fullmatch(ref.strip())
    if not m or int(m.group(2)) == 0:
        return None
    return int(m.group(2)) - 1, _column_index(m.group(1))


def _cell_name(row: int, col: int) -> str:
    return f"{column_letters(col)}{row + 1}"


# --------------------------------------------------------------------------------------------
# The package


@dataclasses.dataclass
class _Sheet:
    name: str
    member: str | None  # path of the sheet XML in the zip; None for chart and dialog sheets


@dataclasses.dataclass
class _Shared:
    """What streaming the shared strings found."""

    count: int = 0
    longest: int = 0  # bytes of XML of the longest string kept (an upper bound of its length)
    oversize: dict[int, int] = dataclasses.field(default_factory=dict)  # index -> characters
    lengths: array = dataclasses.field(default_factory=lambda: array("I"))


def _stream(zf: zipfile.ZipFile, member: str, limit: int) -> Iterator[bytes]:
    """The unpacked bytes of ``member`` in chunks, refusing more than ``limit`` bytes.

    zipfile stops at the size the directory declares and checks the CRC at the end, so a part
    that lies about its size is caught here as damaged.
    """
    total = 0
    try:
        with zf.open(member) as fh:
            while chunk := fh.read(CHUNK):
                total += len(chunk)
                if total > limit:
                    raise Refused(
                        f"the part {member} unpacks to more than {limit // MB:,} MB "
                        "(a damaged or deliberately inflated workbook). Open it in Excel and "
                        "save it again, or export CSV UTF-8."
                    )
                yield chunk
    except Refused:
        raise
    except RuntimeError as exc:  # zipfile: encrypted member
        raise Refused(
            f"the part {member} is encrypted ({_safe(exc)}). Remove the password (File > Info > "
            "Protect Workbook) and save it again."
        ) from None
    except NotImplementedError:
        raise Refused(
            f"the part {member} is packed with a compression method Excel does not use. "
            "Open it in Excel and save it again as .xlsx."
        ) from None
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, OSError) as exc:
        raise Refused(
            f"the part {member} is damaged ({_safe(exc)}). "
            "Open it in Excel and save it again as .xlsx, or export CSV UTF-8."
        ) from None


def _read_part(zf: zipfile.ZipFile, member: str, lim: Limits) -> bytes:
    """A small XML part in full, refused when large or when it declares entities."""
    data = b"".join(_stream(zf, member, lim.max_part_mb * MB))
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise Refused(
            f"the part {member} declares a DOCTYPE or entities, which Excel never writes. "
            "Open it in Excel and save it again as .xlsx."
        )
    return data


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _xml(data: bytes, member: str) -> ET.Element:
    try:
        return ET.fromstring(data)
    except (ET.ParseError, LookupError, ValueError) as exc:  # LookupError: unknown encoding
        raise Refused(
            f"the part {member} is not well-formed XML ({_safe(exc)}). Open it in Excel and save "
            "it again as .xlsx."
        ) from None


def _rels(zf: zipfile.ZipFile, member: str, lim: Limits) -> dict[str, tuple[str, str]]:
    """Relationship Id -> (type, resolved target) of a part's ``_rels`` file."""
    names = set(zf.namelist())
    folder, base = posixpath.split(member)
    rels_name = posixpath.join(folder, "_rels", base + ".rels")
    if rels_name not in names:
        return {}
    out = {}
    for el in _xml(_read_part(zf, rels_name, lim), rels_name).iter():
        if _local(el.tag) != "Relationship" or el.get("TargetMode") == "External":
            continue
        target = el.get("Target") or ""
        if target.startswith("/"):
            resolved = target.lstrip("/")
        else:
            resolved = posixpath.normpath(posixpath.join(folder, target))
        out[el.get("Id") or ""] = (el.get("Type") or "", resolved)
    return out


def _find_member(zf: zipfile.ZipFile, name: str) -> str | None:
    """The zip entry called ``name``, ignoring case (as Excel does)."""
    names = zf.namelist()
    if name in names:
        return name
    lower = name.lower()
    return next((n for n in names if n.lower() == lower), None)


def _check_zip(zf: zipfile.ZipFile, lim: Limits) -> None:
    """Sizes and ratios from the zip directory: refused before anything is unpacked."""
    infos = zf.infolist()
    if len(infos) > lim.max_members:
        raise Refused(
            f"the workbook has {len(infos):,} parts (at most {lim.max_members:,} are read). "
            "Save the sheet with the data on its own as .xlsx, or export CSV UTF-8."
        )
    total = sum(i.file_size for i in infos)
    if total > lim.max_total_mb * MB:
        raise Refused(
            f"the workbook unpacks to {total / MB:,.0f} MB, more than the {lim.max_total_mb:,} "
            "MB read. Remove other sheets, pictures and formatting, or export CSV UTF-8."
        )
    for info in infos:
        if info.flag_bits & 0x1:
            raise Refused(
                f"the part {info.filename} is encrypted. Remove the password (File > Info > "
                "Protect Workbook) and save it again."
            )
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > lim.ratio_floor_mb * MB and ratio > lim.max_ratio:
            raise Refused(
                f"the part {info.filename} unpacks to {info.file_size / MB:,.0f} MB from "
                f"{info.compress_size / MB:,.1f} MB ({ratio:,.0f} times; real sheets pack at "
                f"most about {lim.max_ratio:g} times): a damaged or deliberately inflated "
                "workbook (a zip bomb). It was not read."
            )


def _workbook_parts(zf: zipfile.ZipFile, lim: Limits) -> tuple[list[_Sheet], str | None]:
    """The sheets in workbook order (name, XML part) and the shared strings part, if any."""
    try:  # the package's own relationships: calamine does without them, so may we
        root_rels = _rels(zf, "", lim)
    except Refused:
        root_rels = {}
    wb_member = next(
        (t for typ, t in root_rels.values() if typ.endswith("/officeDocument")), "xl/workbook.xml"
    )
    found = _find_member(zf, wb_member)
    if found is None:
        raise Refused(
            "it is a zip file but not an Excel workbook (it has no xl/workbook.xml): perhaps a "
            ".docx or .zip renamed. Save the extract from Excel as .xlsx, or export CSV UTF-8."
        )
    rels = _rels(zf, found, lim)
    root = _xml(_read_part(zf, found, lim), found)
    sheets: list[_Sheet] = []
    for el in root.iter():
        if _local(el.tag) != "sheet":
            continue
        rid = next((v for k, v in el.attrib.items() if k.startswith("{") and _local(k) == "id"), "")
        typ, target = rels.get(rid, ("", ""))
        member = _find_member(zf, target) if typ.endswith("/worksheet") and target else None
        sheets.append(_Sheet(el.get("name") or f"(sheet {len(sheets) + 1})", member))
    shared = next((t for typ, t in rels.values() if typ.endswith("/sharedStrings")), None)
    shared = _find_member(zf, shared) if shared else _find_member(zf, "xl/sharedStrings.xml")
    for member, limit in [(shared, lim.max_sheet_mb)] + [
        (s.member, lim.max_sheet_mb) for s in sheets
    ]:
        if member and zf.getinfo(member).file_size > limit * MB:
            raise Refused(
                f"the part {member} unpacks to {zf.getinfo(member).file_size / MB:,.0f} MB, more "
                f"than the {limit:,} MB read. Split the extract, or export CSV UTF-8."
            )
    for info in zf.infolist():
        if info.filename not in {shared, *(s.member for s in sheets)}:
            if info.filename.endswith((".xml", ".rels")) and info.file_size > lim.max_part_mb * MB:
                raise Refused(
                    f"the part {info.filename} unpacks to {info.file_size / MB:,.0f} MB, more "
                    f"than the {lim.max_part_mb} MB such a part ever needs. Open it in Excel and "
                    "save it again as .xlsx, or export CSV UTF-8."
                )
    return sheets, shared


def _text_length(item: bytes) -> int:
    """Characters of text in one ``<si>`` item (phonetic runs excluded, entities decoded)."""
    item = re.sub(rb"<(?:[\w.-]+:)?rPh\b.*?</(?:[\w.-]+:)?rPh>", b"", item, flags=re.S)
    text = re.sub(rb"<[^>]*>", b"", item).decode("utf-8", "replace")
    return len(html.unescape(text))


def _shared_strings(zf: zipfile.ZipFile, member: str, lim: Limits, out: Any = None) -> _Shared:
    """Stream the shared strings: how many, the longest kept, those too long to be values.

    With ``out`` (a writable binary file), the part is also written there with every string
    longer than ``max_value_chars`` replaced by a marker holding its length.
    """
    found = _Shared()
    limit = lim.max_sheet_mb * MB
    chunks = _stream(zf, member, limit)
    head = b""
    sst = re.compile(rb"<(?:([\w.-]+):)?sst\b([^>]*)>")
    for chunk in chunks:
        head += chunk
        if sst.search(head) or len(head) > 65536:
            break
    m = sst.search(head)
    if not m:
        raise Refused(f"the shared strings ({member}) are not readable. Save it again in Excel.")
    prefix = (m.group(1) + b":") if m.group(1) else b""
    for attr in (b"count", b"uniqueCount"):
        a = re.search(rb"\b" + attr + rb"""\s*=\s*["']\s*([0-9]+)""", m.group(2))
        if a and int(a.group(1)) > lim.max_shared_strings:
            raise Refused(
                f"the shared strings declare {int(a.group(1)):,} texts ({attr.decode()}), more "
                f"than the {lim.max_shared_strings:,} read (a real national extract has about "
                "2 million). Open it in Excel and save it again, or export CSV UTF-8."
            )
    close = b"</" + prefix + b"si>"
    empty = b"<" + prefix + b"si/>"
    opening = re.compile(rb"<" + re.escape(prefix) + rb"si[\s>]")
    cap = lim.max_value_chars * 8 + 4096  # bytes of XML a kept string can never exceed
    markup = len(b"<si><t></t>") + 3 * len(prefix)  # the least markup around a string
    big = False  # inside a string already known to be too long (its text is not kept)
    big_bytes = 0
    carry = b""

    def item_done(n_chars: int, keep: bool, part: bytes) -> None:
        index = found.count
        found.count += 1
        if found.count > lim.max_shared_strings:
            raise Refused(
                f"the shared strings hold more than {lim.max_shared_strings:,} texts. "
                "Export CSV UTF-8 instead."
            )
        if keep:
            size = max(len(part) - markup, 0)  # bytes of text, at least the characters
            found.longest = max(found.longest, size)
            found.lengths.append(min(size, 2**32 - 1))
        else:
            found.oversize[index] = n_chars
            found.lengths.append(len(_MARKER.format(n_chars).encode()))

    def write(data: bytes) -> None:
        if out is not None:
            out.write(data)

    def marker(n: int) -> bytes:
        t = b"<" + prefix + b"t>" + _MARKER.format(n).encode() + b"</" + prefix + b"t>"
        return t

    for chunk in _prepend(head, chunks):
        buf = carry + chunk
        parts = buf.split(close)
        carry = parts.pop()
        for part in parts:
            # Strings written <si/> (empty) before this one's opening tag.
            for _ in range(part.count(empty)):
                item_done(0, True, b"")
            if big:
                big_bytes += _text_length(part)
                item_done(big_bytes, False, b"")
                write(marker(big_bytes) + close)
                big = False
                continue
            starts = [s.start() for s in opening.finditer(part)]
            start = starts[-1] if starts else 0
            n = len(part) - start
            keep = n <= lim.max_value_chars or _text_length(part[start:]) <= lim.max_value_chars
            n_chars = 0 if keep else _text_length(part[start:])
            item_done(n_chars, keep, part[start:])
            if keep:
                write(part + close)
            else:
                tag_end = part.find(b">", start) + 1
                write(part[:tag_end] + marker(n_chars) + close)
        if not big and len(carry) > cap:
            # A string too long to keep is still open: write its opening, count the rest.
            starts = [s.start() for s in opening.finditer(carry)]
            if starts:
                start = starts[-1]
                tag_end = carry.find(b">", start) + 1
                for _ in range(carry.count(empty, 0, start)):
                    item_done(0, True, b"")
                write(carry[:tag_end])
                big, big_bytes, carry = True, _text_length(carry[tag_end:]), b""
            else:
                raise Refused(
                    f"the shared strings ({member}) are not readable (no string where one "
                    "should start). Open it in Excel and save it again as .xlsx."
                )
        elif big:
            big_bytes += _text_length(carry[:-16]) if len(carry) > 16 else 0
            carry = carry[-16:]
    write(carry)
    return found


def _prepend(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    yield first
    yield from rest


# --------------------------------------------------------------------------------------------
# A sheet's XML


@dataclasses.dataclass
class _Extent:
    """Where the cells with a value are (0-based), from streaming the sheet XML."""

    cells: int = 0
    shared_cells: int = 0
    max_row: int = -1
    max_col: int = -1
    min_row: int = 1 << 40
    min_col: int = 1 << 40
    far_row_cell: str = ""  # the first cell found in the last row
    far_col_cell: str = ""  # the first cell found in the last column
    rows: bytearray = dataclasses.field(default_factory=bytearray)
    cols: bytearray = dataclasses.field(default_factory=bytearray)

    def add(self, row: int, col: int) -> None:
        self.cells += 1
        if row > self.max_row:
            self.max_row, self.far_row_cell = row, _cell_name(row, col)
        if col > self.max_col:
            self.max_col, self.far_col_cell = col, _cell_name(row, col)
        self.min_row = min(self.min_row, row)
        self.min_col = min(self.min_col, col)
        if row < len(self.rows):
            self.rows[row] = 1
        if col < len(self.cols):
            self.cols[col] = 1

    @property
    def area(self) -> int:
        if self.cells == 0:
            return 0
        return (self.max_row - self.min_row + 1) * (self.max_col - self.min_col + 1)


_DIMENSION = re.compile(rb"""<(?:[\w.-]+:)?dimension\b[^>]*\bref\s*=\s*["']([^"']*)["']""")
_ROOT = re.compile(rb"<(?:([\w.-]+):)?worksheet\b")
_ATTR_R = re.compile(rb"""\br\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_ATTR_T_S = re.compile(rb"""\bt\s*=\s*["']s["']""")
_TAG = re.compile(rb"<(/?)(?:[\w.-]+:)?(row|c)\b([^>]*)>")


def _dimension(zf: zipfile.ZipFile, member: str, lim: Limits) -> tuple[str, int, int] | None:
    """The ``<dimension ref>`` at the start of a sheet: (ref, rows to its end, cells in it)."""
    head = b""
    for chunk in _stream(zf, member, lim.max_sheet_mb * MB):
        head += chunk
        if b"sheetData" in head or len(head) > 262144:
            break
    m = _DIMENSION.search(head)
    if not m:
        return None
    ref = m.group(1).decode("ascii", "replace")
    corners = [_parse_ref(r) for r in ref.split(":")]
    if not corners or any(c is None for c in corners):
        return None
    first = corners[0]
    last = corners[-1]
    assert first is not None and last is not None
    rows = abs(last[0] - first[0]) + 1
    cols = abs(last[1] - first[1]) + 1
    return ref, max(first[0], last[0]) + 1, rows * cols


def _extent(zf: zipfile.ZipFile, member: str, lim: Limits) -> _Extent:
    """Stream the sheet XML and find where its cells with a value are.

    The fast path counts ``<c r="..."`` tags with regular expressions (a few seconds for the
    national-scale sheet). A sheet written otherwise (cells without ``r``, single quotes,
    another attribute first, a namespace prefix on cells only) is read tag by tag instead.
    """
    found = _Extent(rows=bytearray(lim.max_rows + 1), cols=bytearray(16384 + 1))
    chunks = _stream(zf, member, lim.max_sheet_mb * MB)
    first = next(chunks, b"")
    root = _ROOT.search(first[:262144])
    if root is None:
        return _extent_exact(_prepend(first, chunks), found)
    p = (root.group(1) + b":") if root.group(1) else b""
    c_open = b"<" + p + b"c "
    c_bare = b"<" + p + b"c>"
    c_ref = re.compile(b"<" + re.escape(p) + rb'c r="([A-Za-z]{1,3})([0-9]{1,9})"[^>/]*(/?)>')
    c_digits = re.compile(b"<" + re.escape(p) + rb'c r="[A-Za-z]{1,3}([0-9]{1,9})"')
    c_letters = re.compile(b"<" + re.escape(p) + rb'c r="([A-Za-z]{1,3})')
    c_empty = re.compile(b"<" + re.escape(p) + rb"c [^>]*/>")
    other_prefix = re.compile(rb"<[\w.-]+:c[\s>/]") if not p else None
    carry = b""
    for chunk in _prepend(first, chunks):
        buf = carry + chunk
        cut = buf.rfind(b"<")
        if cut == -1:
            carry = b""
            continue
        buf, carry = buf[:cut], buf[cut:]
        digits: Any = c_digits.findall(buf)
        if (
            len(digits) != buf.count(c_open)
            or c_bare in buf
            or (other_prefix is not None and b":c" in buf and other_prefix.search(buf))
        ):
            # Not the usual form: start again, tag by tag.
            fresh = _Extent(rows=bytearray(lim.max_rows + 1), cols=bytearray(16384 + 1))
            return _extent_exact(_stream(zf, member, lim.max_sheet_mb * MB), fresh)
        found.shared_cells += buf.count(b't="s"') + buf.count(b"t='s'")
        if not digits:
            continue
        letters: Any
        # Cells without a value (formatting only) are not read by calamine: not counted.
        if b"/>" in buf and c_empty.search(buf):
            every = c_ref.findall(buf)
            if len(every) != len(digits):
                fresh = _Extent(rows=bytearray(lim.max_rows + 1), cols=bytearray(16384 + 1))
                return _extent_exact(_stream(zf, member, lim.max_sheet_mb * MB), fresh)
            kept = [(c, r) for c, r, slash in every if not slash]
            if not kept:
                continue
            letters, digits = zip(*kept, strict=True)
        else:
            letters = c_letters.findall(buf)
        found.cells += len(letters)
        for text in set(letters):
            col = _column_index(text)
            if col > found.max_col:
                found.max_col = col
                m = re.search(b"<" + re.escape(p) + b'c r="' + text + b'([0-9]+)"', buf)
                found.far_col_cell = text.decode().upper() + (m.group(1).decode() if m else "")
            found.min_col = min(found.min_col, col)
            if col < len(found.cols):
                found.cols[col] = 1
        numbers = set(map(int, set(digits)))
        top = max(numbers)
        if top - 1 > found.max_row:
            found.max_row = top - 1
            m = re.search(b"<" + re.escape(p) + b'c r="([A-Za-z]+)' + str(top).encode() + b'"', buf)
            found.far_row_cell = (m.group(1).decode().upper() if m else "") + str(top)
        found.min_row = min(found.min_row, min(numbers) - 1)
        rows = found.rows
        for n in numbers:
            if 0 < n <= len(rows):
                rows[n - 1] = 1
    return found


def _extent_exact(chunks: Iterator[bytes], found: _Extent) -> _Extent:
    """Tag by tag: rows and cells with or without ``r``, as calamine places them."""
    row, col = -1, -1
    carry = b""
    for chunk in chunks:
        buf = carry + chunk
        cut = buf.rfind(b"<")
        if cut == -1:
            carry = b""
            continue
        buf, carry = buf[:cut], buf[cut:]
        for m in _TAG.finditer(buf):
            closing, name, attrs = m.groups()
            if closing:
                continue
            r = _ATTR_R.search(attrs)
            ref = (r.group(1) or r.group(2) or b"").decode("ascii", "replace") if r else ""
            if name == b"row":
                row = int(ref) - 1 if ref.isdigit() and int(ref) > 0 else row + 1
                col = -1
                continue
            pos = _parse_ref(ref) if ref else None
            row, col = pos if pos else (max(row, 0), col + 1)
            if _ATTR_T_S.search(attrs):
                found.shared_cells += 1
            if not attrs.rstrip().endswith(b"/"):
                found.add(row, col)
    return found


def _referenced_text(zf: zipfile.ZipFile, member: str, lim: Limits, shared: _Shared) -> int:
    """Bytes of shared text the sheet's cells copy (each string times the cells using it)."""
    pattern = re.compile(rb"""t\s*=\s*["']s["'][^>]*>\s*<(?:[\w.-]+:)?v>\s*([0-9]+)\s*<""")
    total = 0
    carry = b""
    lengths = shared.lengths
    for chunk in _stream(zf, member, lim.max_sheet_mb * MB):
        buf = carry + chunk
        cut = buf.rfind(b"<c")
        if cut == -1:
            cut = len(buf)
        buf, carry = buf[:cut], buf[cut:]
        for digits in pattern.findall(buf):
            i = int(digits)
            if i < len(lengths):
                total += lengths[i]
    return total


def _gap_end(present: bytearray, start: int, gap: int) -> int:
    """The last index marked in ``present`` before the first run of more than ``gap`` unmarked."""
    last = start
    i = start
    n = len(present)
    while i < n:
        j = present.find(1, i + 1)
        if j == -1 or j - last > gap + 1:
            return last
        last = i = j
    return last


def _check_sheet(zf: zipfile.ZipFile, sheet: _Sheet, lim: Limits, shared: _Shared) -> None:
    """Refuse a sheet calamine could not hold: its dimension, its used range, its shared text."""
    assert sheet.member is not None
    where = f"sheet '{shown_name(sheet.name)}'"
    dim = _dimension(zf, sheet.member, lim)
    if dim is not None:
        ref, last_row, area = dim
        if last_row > lim.max_rows or area > lim.max_cells:
            corner = ref.split(":")[-1]
            raise Refused(
                f"{where} says its used range is {ref}, as far as cell {corner} "
                f"({area:,} cells; at most {lim.max_cells:,} cells and {lim.max_rows:,} rows are "
                "read). Excel counts every cell ever typed in or formatted: delete the empty "
                "rows below the data and the empty columns to its right (select them, right-click "
                "> Delete), check Ctrl+End stops at the last data cell, and save again."
            )
    ext = _extent(zf, sheet.member, lim)
    if ext.cells and (ext.max_row + 1 > lim.max_rows or ext.area > lim.max_cells):
        end_row = _gap_end(ext.rows, ext.min_row, lim.outlier_gap_rows)
        end_col = _gap_end(ext.cols, ext.min_col, lim.outlier_gap_columns)
        far = ext.far_row_cell if ext.max_row > end_row else ext.far_col_cell
        outlying = far if (ext.max_row > end_row or ext.max_col > end_col) else ""
        size = (
            f"its cells with a value span {ext.max_row - ext.min_row + 1:,} rows x "
            f"{ext.max_col - ext.min_col + 1:,} columns ({ext.area:,} cells; at most "
            f"{lim.max_cells:,} cells and {lim.max_rows:,} rows are read)"
        )
        if outlying:
            raise Refused(
                f"{where} has a cell at {outlying} far outside the data (which end near "
                f"{_cell_name(end_row, end_col)}): {size}. Delete the empty rows and columns "
                f"between the data and {outlying} (or clear that cell) and save again."
            )
        raise Refused(f"{where} is too large: {size}. Split the extract, or export CSV UTF-8.")
    budget = lim.max_shared_text_mb * MB
    if ext.shared_cells * shared.longest > budget:
        total = _referenced_text(zf, sheet.member, lim, shared)
        if total > budget:
            raise Refused(
                f"{where} repeats shared texts in so many cells that reading it would copy "
                f"{total / MB:,.0f} MB of text (at most {lim.max_shared_text_mb:,} MB are read): "
                "a damaged or deliberately inflated workbook. Export CSV UTF-8 instead."
            )


# --------------------------------------------------------------------------------------------
# The header and the rows


def _row_texts(row: list[Any], lim: Limits) -> list[str]:
    out = []
    for v in row:
        t = cell_text(v)
        if t is None:
            out.append("")
            continue
        t = clean_text(t)[0]
        n = _too_large(t)
        if n is not None or len(t) > lim.max_value_chars:
            t = f"(a header of {n or len(t):,} characters)"
        out.append(t)
    return out


def _header_score(extract: str, texts: list[str]) -> int:
    """How many contract columns of ``extract`` the row's texts name."""
    lookup = header_lookup(extract)
    return len({lookup[k] for k in map(norm_header, texts) if k in lookup})


def _find_header(extract: str, rows: list[list[Any]], lim: Limits) -> tuple[int, list[str]] | None:
    """(index, texts) of the row naming the most contract columns among the first rows."""
    best: tuple[int, int, list[str]] | None = None
    for i, row in enumerate(rows[: lim.header_scan_rows]):
        texts = _row_texts(row, lim)
        score = _header_score(extract, texts)
        if score and (best is None or score > best[0]):
            best = (score, i, texts)
    needed = min(lim.header_min_columns, len(extracts()[extract]["columns"]))
    if best is None or best[0] < needed:
        return None
    return best[1], best[2]


def _pasted_as_text(extract: str, rows: list[list[Any]], lim: Limits) -> str | None:
    """The delimiter of a header pasted into one cell ('a;b;c'), if the first row is one."""
    for row in rows:
        texts = [t for t in _row_texts(row, lim) if t]
        if not texts:
            continue
        if len(texts) == 1:
            for delim, name in _DELIMITERS.items():
                if delim in texts[0] and _header_score(extract, texts[0].split(delim)) >= 2:
                    return name
        return None
    return None


def _blank(row: list[Any]) -> bool:
    for v in row:
        if v is None or v == "":
            continue
        if isinstance(v, str) and not v.strip():
            continue
        return False
    return True


# --------------------------------------------------------------------------------------------
# Reading


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _sanitised_copy(zf: zipfile.ZipFile, shared_member: str, lim: Limits) -> str:
    """A temporary copy of the workbook with over-long shared strings replaced by markers."""
    fd, name = tempfile.mkstemp(prefix="ingest-", suffix=".xlsx")
    os.close(fd)
    try:
        with zipfile.ZipFile(name, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as dst:
            for info in zf.infolist():
                if info.is_dir():
                    continue
                target = zipfile.ZipInfo(info.filename, date_time=info.date_time)
                target.compress_type = zipfile.ZIP_DEFLATED
                with dst.open(target, "w", force_zip64=True) as out:
                    if info.filename == shared_member:
                        _shared_strings(zf, shared_member, lim, out=out)
                    else:
                        for chunk in _stream(zf, info.filename, lim.max_total_mb * MB):
                            out.write(chunk)
    except BaseException:
        os.unlink(name)
        raise
    return name


def inspect_workbook(
    extract: str, path: Path, problems: Problems, lim: Limits | None = None
) -> WorkbookSource | None:
    """Check and read one .xlsx delivery file; on failure append a problem and return None."""
    copies: list[str] = []  # temporary copies with over-long shared strings replaced
    try:
        try:
            size = path.stat().st_size
            with open(path, "rb") as fh:
                magic = fh.read(8)
        except OSError as exc:
            problems.append(
                f"{path.name}: cannot be read ({exc.strerror}). Close it in Excel and check you "
                "may read it."
            )
            return None
        return _read(extract, path, size, magic, problems, lim or limits(), copies)
    except Refused as exc:
        problems.append(f"{path.name}: {exc}")
        return None
    except OSError as exc:  # the file vanished or became unreadable while it was read
        problems.append(
            f"{path.name}: cannot be read ({exc.strerror or exc}). Close it in Excel and check "
            "you may read it."
        )
        return None
    finally:
        for name in copies:
            Path(name).unlink(missing_ok=True)


def workbook_header(path: Path, extract: str) -> tuple[int, list[str]] | None:
    """(Excel column of the first header, headers) of the sheet ingest reads, or None.

    For the fix list's column letters: the same checks and header search as ``inspect_workbook``
    (so a workbook that could exhaust memory is never opened), without reading the rows.
    """
    copies: list[str] = []
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            magic = fh.read(8)
        source = _read(extract, path, size, magic, Problems(), limits(), copies, True)
    except (Refused, OSError):
        return None
    finally:
        for name in copies:
            Path(name).unlink(missing_ok=True)
    return (source.first_column, source.headers) if source is not None else None


def _read(
    extract: str,
    path: Path,
    size: int,
    magic: bytes,
    problems: Problems,
    lim: Limits,
    copies: list[str],
    header_only: bool = False,
) -> WorkbookSource | None:
    from python_calamine import CalamineWorkbook

    if size == 0:
        problems.append(f"{path.name}: the file is empty. Export the {extract} extract again.")
        return None
    if magic.startswith(OLE_MAGIC):
        raise Refused(
            "is an old-format .xls workbook or a password-protected .xlsx. Save it from Excel "
            "as 'Excel Workbook (.xlsx)' without a password, or as CSV UTF-8."
        )
    if not magic.startswith(b"PK"):
        raise Refused(
            "is not a readable .xlsx workbook (not a zip package: perhaps a CSV or another "
            "file renamed .xlsx). Open it in Excel and save it again as .xlsx, or export CSV "
            "UTF-8."
        )
    if size > lim.max_file_mb * MB:
        raise Refused(
            f"the workbook is {size / MB:,.0f} MB, more than the {lim.max_file_mb:,} MB read. "
            "Export CSV UTF-8 instead."
        )
    try:
        zf = zipfile.ZipFile(path)
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        NotImplementedError,
        ValueError,
        EOFError,
        OSError,
    ) as exc:
        raise Refused(
            f"is not a readable .xlsx workbook (a damaged zip package: {_safe(exc)}). Open it "
            "in Excel and save it again as .xlsx, or export CSV UTF-8."
        ) from None
    with zf:
        _check_zip(zf, lim)
        sheets, shared_member = _workbook_parts(zf, lim)
        shared = _Shared()
        if shared_member:
            shared = _shared_strings(zf, shared_member, lim)
        source_path = str(path)
        if shared.oversize:
            copies.append(_sanitised_copy(zf, shared_member or "", lim))
            source_path = copies[-1]
        worksheets = [s for s in sheets if s.member]
        if not worksheets:
            raise Refused(
                "the workbook has no worksheets. Save the extract from Excel as .xlsx, or "
                "export CSV UTF-8."
            )
        wanted = {norm_header(extract), norm_header(extracts()[extract]["prefix"])}
        order = [s for s in worksheets if norm_header(s.name) in wanted] + [
            s for s in worksheets if norm_header(s.name) not in wanted
        ]
        try:
            workbook = CalamineWorkbook.from_path(source_path)
        except BaseException as exc:  # calamine's own error types, and a Rust panic
            _reraise_interrupt(exc)
            raise Refused(
                f"is not a readable .xlsx workbook ({_safe(exc)}). "
                "Open it in Excel and save it again as .xlsx, or export CSV UTF-8."
            ) from None
        empty: list[str] = []
        pasted: str | None = None
        for sheet in order:
            _check_sheet(zf, sheet, lim, shared)
            start_col, rows_iter = _open_sheet(workbook, sheet.name)
            head: list[list[Any]] = []
            filled = 0
            for row in rows_iter:
                head.append(row)
                filled += not _blank(row)
                if filled >= lim.header_scan_rows:
                    break
            if not filled:
                empty.append(shown_name(sheet.name))
                continue
            found = _find_header(extract, head, lim)
            if found is None:
                pasted = pasted or _pasted_as_text(extract, head, lim)
                continue
            if header_only:  # the rows are not read
                head, rows_iter = head[: found[0] + 1], iter(())
            source = _rows(
                extract,
                path,
                shown_name(sheet.name),
                len(sheets),
                head,
                found,
                rows_iter,
                problems,
                lim,
            )
            if source is not None:
                source.first_column = start_col + next((i for i, t in enumerate(found[1]) if t), 0)
            return source
        names = ", ".join(f"'{shown_name(s.name)}'" for s in worksheets)
        if len(empty) == len(worksheets):
            what = f"sheet {names} is" if len(worksheets) == 1 else f"all its sheets ({names}) are"
            problems.append(f"{path.name}: {what} empty. Export the {extract} extract again.")
            return None
        if pasted:
            raise Refused(
                f"the header is one cell with {pasted} in it: the data were pasted as text. "
                "Split it into columns (Data > Text to Columns) and save again."
            )
        columns = list(extracts()[extract]["columns"])
        required = [c for c in columns if extracts()[extract]["columns"][c].get("required")]
        raise Refused(
            f"no sheet has a header row naming the {extract} columns in its first "
            f"{lim.header_scan_rows} rows (sheets looked at: {names}). Looked for a row with at "
            f"least {min(lim.header_min_columns, len(columns))} of: {', '.join(columns)} "
            f"(required: {', '.join(required)}), or their other names in "
            "pipelines/contract/aliases.yaml. Put the column names in one row above the data."
        )


def _open_sheet(workbook: Any, name: str) -> tuple[int, Iterator[list[Any]]]:
    """The sheet's first column with a value (0-based) and its rows from row 1 (calamine pads
    the rows above its first cell, not the columns left of it); calamine errors as ``Refused``."""

    def refused(exc: BaseException) -> Refused:
        return Refused(
            f"sheet '{shown_name(name)}' cannot be read ({_safe(exc)}). Open it in Excel and "
            "save it again as .xlsx, or export CSV UTF-8."
        )

    try:
        sheet = workbook.get_sheet_by_name(name)
        start = sheet.start
        rows = iter(sheet.iter_rows())
    except BaseException as exc:  # calamine's own error types, and a Rust panic
        _reraise_interrupt(exc)
        raise refused(exc) from None

    def iterate() -> Iterator[list[Any]]:
        while True:
            try:
                row = next(rows)
            except StopIteration:
                return
            except BaseException as exc:  # a cell calamine could not convert, or a panic
                _reraise_interrupt(exc)
                raise refused(exc) from None
            yield list(row)

    return (int(start[1]) if start else 0), iterate()


def _rows(
    extract: str,
    path: Path,
    sheet: str,
    n_sheets: int,
    head: list[list[Any]],
    found: tuple[int, list[str]],
    rest: Iterator[list[Any]],
    problems: Problems,
    lim: Limits,
) -> WorkbookSource | None:
    """Read the rows below the header: cells as text, unreadable rows set aside."""
    index, texts = found
    header_row = index + 1  # calamine's rows start at row 1 even when the sheet starts lower
    first = next((i for i, t in enumerate(texts) if t), 0)
    last = max(i for i, t in enumerate(texts) if t)
    headers = texts[first : last + 1]
    notes = [
        Note(
            extract,
            path.name,
            "sheet",
            f"Read sheet '{sheet}' of {n_sheets}, header in row {header_row}"
            + (f" (the {index} row(s) above it are not read: title lines)." if index else "."),
        )
    ]
    columns, dropped = _map_headers(extract, path.name, headers, problems, notes)
    spec = extracts()[extract]["columns"]
    mapped = sorted((pos + first, pos, col) for col, pos in columns.items())
    width = len(headers)
    key = [c for c in extracts()[extract].get("key") or [] if spec[c]["type"] == "record_id"]
    key_pos = columns.get(key[0]) if key else None
    max_chars = lim.max_value_chars
    xlsx_rows: list[tuple[int, list[str | None]]] = []
    set_aside: list[RowSetAside] = []
    removed: dict[str, int] = {}

    def rows() -> Iterator[tuple[int, list[Any]]]:
        for i, row in enumerate(head[index + 1 :], start=header_row + 1):
            yield i, row
        for i, row in enumerate(rest, start=len(head) + 1):
            yield i, row

    # Blank rows between the header and the last record are skipped and counted (rows read =
    # loaded + set aside + blank); blank rows after the last record are not rows of the table.
    blank = pending = 0
    for excel_row, row in rows():
        if _blank(row):
            pending += 1
            continue
        blank, pending = blank + pending, 0
        cells: list[str | None] = [None] * width
        raw: list[tuple[str, str]] = []
        for j, pos, column in mapped:
            value = row[j] if j < len(row) else None
            text = cell_text(value)
            cells[pos] = text
            if text is not None and isinstance(value, str):
                raw.append((column, text))
        if raw:
            joined = "\t".join(t for _, t in raw)
            if len(joined) > max_chars or _SUSPECT.search(joined):
                problem = _check_cells(
                    spec, columns, cells, raw, removed, max_chars, excel_row, key_pos
                )
                if problem is not None:
                    set_aside.append(problem)
                    continue
        xlsx_rows.append((excel_row, cells))
    if removed:
        notes.append(
            Note(
                extract,
                path.name,
                "control_characters",
                f"{sum(removed.values()):,} invisible control character(s) removed from the "
                f"values of: {', '.join(f'{c} ({n:,})' for c, n in removed.items())}.",
            )
        )
    return WorkbookSource(
        extract,
        path,
        "xlsx",
        _sha256(path),
        None,
        headers,
        columns,
        dropped,
        notes,
        sheet=sheet,
        xlsx_rows=xlsx_rows,
        has_data=bool(xlsx_rows or set_aside),
        rows_set_aside=set_aside,
        header_row=header_row,
        rows_blank=blank,
    )


def _check_cells(
    spec: dict,
    columns: dict[str, int],
    cells: list[str | None],
    raw: list[tuple[str, str]],
    removed: dict[str, int],
    max_chars: int,
    excel_row: int,
    key_pos: int | None,
) -> RowSetAside | None:
    """Clean the row's text cells in place; the row set aside when a value is not data."""
    faults: list[tuple[str, str, str, str]] = []  # column, code, value, reason
    for column, text in raw:
        pos = columns[column]
        n = _too_large(text)
        if n is None and len(text) > max_chars:
            n = len(text)
        if n is not None:
            cells[pos] = None
            value = "<withheld>" if personal(spec[column], column) else f"<{n:,} characters>"
            faults.append(
                (
                    column,
                    "cell_too_large",
                    value,
                    f"{column}: the cell holds {n:,} characters, more than the {max_chars:,} a "
                    "value may have (a pasted document or a damaged export, not data); the value "
                    "was not copied. Correct the cell in the source system and export again.",
                )
            )
            continue
        cleaned, count = clean_text(text)
        if count:
            removed[column] = removed.get(column, 0) + count
        cleaned = cleaned.strip(_ENDS)
        cells[pos] = cleaned if cleaned.strip() else None
        if spec[column]["type"] in _NO_BREAK_TYPES and _BREAK.search(cleaned):
            if personal(spec[column], column):
                value, shown = "<withheld>", "(value withheld)"
            else:
                value = _BREAKS.sub(" | ", cleaned)[:200]
                shown = f"'{value}'"
            faults.append(
                (
                    column,
                    "line_break_in_value",
                    value,
                    f"{column}: {shown} has a line break in it; an ID, date or code never has "
                    "one (two values run together?), so the row was not loaded. Remove the line "
                    "break in the source system and export again.",
                )
            )
    if not faults:
        return None
    order = list(spec)
    faults.sort(key=lambda f: order.index(f[0]))
    column, code, value, reason = faults[0]
    if len(faults) > 1:
        others = ", ".join(f[0] for f in faults[1:])
        reason = f"{reason} Other columns of this row that could not be read: {others}."
    reference = None
    if key_pos is not None and not any(f[0] == _key_column(columns, key_pos) for f in faults):
        ref = cells[key_pos]
        reference = ref.strip().upper() if ref else None
    return RowSetAside(excel_row, column, value, code, reason, reference)


def _key_column(columns: dict[str, int], pos: int) -> str:
    return next(c for c, p in columns.items() if p == pos)

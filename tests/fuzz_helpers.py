"""Random single mutations of the sample's extracts, for the fuzz test (tests/test_fuzz.py).

Real deliveries are damaged one way at a time: a stray quote typed into a team name, a file saved
from Excel as Windows-1252, a workbook whose data sit on the second sheet. Each mutation here is
one such change, a small named function in a family (bytes, quotes, line_endings, cells, headers,
encodings, workbook, file_names). A case is (family, name, extract, seed, verb): it replays
exactly, since every random choice comes from ``random.Random`` seeded with the case itself.

Most cases start from a small copy of the sample (every tenth DAT, CPR and IFSS record, with the
CPR reviews and IFSS assessments of the records kept, so the links hold and it still validates),
which keeps a few hundred runs within the time of ``make test``. A mutation that needs a long
file (a stray quote near the start) starts from the full sample.

The sensitive values the test hunts for in every output are the sample's raw IDs (the columns
the contract pseudonymises) and dates of birth. A date of birth that is also some other date of
the sample (a referral date, say) is left out of the hunt: finding it in a page proves nothing.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import io
import random
import re
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "raw" / "sample"
CONTRACT = ROOT / "pipelines" / "contract" / "extracts.yaml"
RUN_DEFAULTS = ROOT / "config" / "run.yaml"

EVERY = 10  # the small sample keeps every tenth DAT, CPR and IFSS record
VERBS = ("ingest", "validate", "report")
VERB_WEIGHTS = {"ingest": 96, "validate": 3.5, "report": 0.5}
CELL_VERB_WEIGHTS = {"ingest": 84, "validate": 15, "report": 1}  # rows the report must list
CONTROL_CHARS = [chr(c) for c in (*range(1, 9), 11, 12, *range(14, 32), 127)]
FAKE_NAMES = ["Amelia Hartley", "Oliver Pennington", "Grace O'Donnell", "Noah Whitcombe"]
MEGABYTE = 1_000_000


@functools.cache
def contract() -> dict[str, dict]:
    """The extract contract (pipelines/contract/extracts.yaml): extract -> its spec."""
    with open(CONTRACT, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def columns_of(extract: str, *types: str, pseudonymised: bool | None = None) -> list[str]:
    """The extract's columns of the given contract types (all when none are given)."""
    out = []
    for name, spec in contract()[extract]["columns"].items():
        if types and spec["type"] not in types:
            continue
        if pseudonymised is not None and bool(spec.get("pseudonymise")) != pseudonymised:
            continue
        out.append(name)
    return out


def file_of(extract: str) -> str:
    return f"{extract}.csv"


# --- the base deliveries -------------------------------------------------------------------------


@functools.cache
def full_sample() -> dict[str, bytes]:
    """The shipped sample, file name -> bytes."""
    return {p.name: p.read_bytes() for p in sorted(SAMPLE.glob("*.csv"))}


@functools.cache
def small_sample() -> dict[str, bytes]:
    """Every tenth DAT, CPR and IFSS record, with the reviews and assessments that link to them."""
    full = full_sample()

    def split(name: str) -> tuple[str, list[str]]:
        lines = full[name].decode("utf-8").splitlines(keepends=True)
        return lines[0], lines[1:]

    out: dict[str, bytes] = {}
    kept: dict[str, set[str]] = {}
    for name in ("dat_referrals.csv", "cpr_registrations.csv", "ifss_referrals.csv"):
        header, body = split(name)
        chosen = body[::EVERY]
        kept[name] = {line.split(",", 1)[0] for line in chosen}
        out[name] = (header + "".join(chosen)).encode("utf-8")
    for name, parent in (
        ("cpr_reviews.csv", "cpr_registrations.csv"),
        ("ifss_distance_travelled.csv", "ifss_referrals.csv"),
    ):
        header, body = split(name)
        chosen = [line for line in body if line.split(",")[1] in kept[parent]]
        out[name] = (header + "".join(chosen)).encode("utf-8")
    for name in ("workforce_posts.csv", "workforce_leavers.csv"):
        out[name] = full[name]
    return out


@dataclasses.dataclass(frozen=True)
class Sensitive:
    """Raw IDs (upper case) and dates of birth (ISO) that must never reach an output."""

    ids: frozenset[str]
    dobs: frozenset[str]


@functools.cache
def sensitive() -> Sensitive:
    """Every raw ID and date of birth of the full sample (the small one is a subset)."""
    ids: set[str] = set()
    dobs: set[str] = set()
    other_dates: set[str] = set()
    with open(RUN_DEFAULTS, encoding="utf-8") as fh:
        other_dates |= {str(v) for v in (yaml.safe_load(fh) or {}).values()}
    for extract, spec in contract().items():
        df = pd.read_csv(
            SAMPLE / file_of(extract), dtype=str, keep_default_na=False, encoding="utf-8"
        )
        for column, cs in spec["columns"].items():
            values = {v.strip() for v in df[column] if v.strip()}
            if cs.get("pseudonymise"):
                ids |= {v.upper() for v in values}
            elif column == "date_of_birth":
                dobs |= values
            elif cs["type"] == "date":
                other_dates |= values
    return Sensitive(frozenset(ids), frozenset(dobs - other_dates))


_TOKEN = re.compile(r"[A-Za-z0-9]+")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}|\d{2}/\d{2}/\d{4}")


def leaks(
    text: str,
    extra: frozenset[str] = frozenset(),
    dobs: bool = True,
    made: frozenset[str] = frozenset(),
) -> list[str]:
    """The sensitive values found in ``text``: raw IDs as whole tokens (any case), dates of
    birth as ISO dates, and the case's ``extra`` strings (dates as whole dates, else anywhere).
    With ``dobs=False`` only IDs and extra names are sought (staging tables hold dates of birth).
    ``made``: tokens the mutation itself created (see ``made_tokens``), never counted.
    """
    s = sensitive()
    found = {t.upper() for t in _TOKEN.findall(text)} & s.ids
    dates = set(_DATE.findall(text))
    if dobs:
        found |= dates & (s.dobs | extra)
    found |= {e for e in extra if not _DATE.fullmatch(e) and e in text}
    return sorted(found - made)


def _tokens(data: bytes) -> set[str]:
    text = data.decode("latin-1")
    return {t.upper() for t in _TOKEN.findall(text)} | set(_DATE.findall(text))


def made_tokens(before: bytes, after: bytes) -> frozenset[str]:
    """Tokens that appear around the bytes a mutation changed but were not there before.

    A NUL or a quote typed into the record ID IF000191 leaves the token F000191, which is also
    a family ID; a flipped bit can turn a referral date into someone's date of birth. Such a
    value in an output is the mutation's own text, not a leak.
    """
    n = min(len(before), len(after))
    lo = 0
    while lo + 4096 <= n and before[lo : lo + 4096] == after[lo : lo + 4096]:
        lo += 4096
    while lo < n and before[lo] == after[lo]:
        lo += 1
    hi = 0
    while (
        hi + 4096 <= n - lo
        and before[-hi - 4096 : len(before) - hi] == after[-hi - 4096 : len(after) - hi]
    ):
        hi += 4096
    while hi < n - lo and before[-hi - 1] == after[-hi - 1]:
        hi += 1
    start = max(0, lo - 64)
    return frozenset(
        _tokens(after[start : len(after) - hi + 64])
        - _tokens(before[start : len(before) - hi + 64])
    )


def redact(text: str) -> str:
    """``text`` with every raw ID and date of birth of the sample replaced by <withheld>, so a
    failing case can be read without repeating the leak."""
    s = sensitive()
    text = _TOKEN.sub(lambda m: "<withheld>" if m.group(0).upper() in s.ids else m.group(0), text)
    return _DATE.sub(lambda m: "<withheld>" if m.group(0) in s.dobs else m.group(0), text)


# --- a delivery being mutated ---------------------------------------------------------------------


@dataclasses.dataclass
class Delivery:
    """The files of one case and what the test must expect of them.

    ``names``: what a stop must name (the mutated file by default). ``flag_rows``: file -> Excel
    rows a data quality report must list when the run gets that far. ``xlsx_rows``: file -> data
    rows written, for workbooks (None when the mutation makes it unknowable). ``extra``: more
    strings that must not reach any output (names in dropped columns, rewritten dates of birth).
    ``db_under_file``/``out_under_file``: the option's parent folder is a file. ``made``: tokens
    the mutation created (``made_tokens``), not counted as leaks. ``aside_rows``: file -> rows
    a finished run must have set aside (a megabyte value, a total line).
    """

    files: dict[str, bytes]
    target: str
    names: list[str] = dataclasses.field(default_factory=list)
    flag_rows: dict[str, set[int]] = dataclasses.field(default_factory=dict)
    xlsx_rows: dict[str, int | None] = dataclasses.field(default_factory=dict)
    extra: set[str] = dataclasses.field(default_factory=set)
    db_under_file: bool = False
    out_under_file: bool = False
    made: frozenset[str] = frozenset()
    aside_rows: dict[str, set[int]] = dataclasses.field(default_factory=dict)

    # CSV as a table (the sample has no quoted fields, so split is exact on the unmutated files)
    def table(self, name: str | None = None) -> tuple[list[str], list[list[str]]]:
        text = self.files[name or self.target].decode("utf-8")
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        return lines[0].split(","), [line.split(",") for line in lines[1:]]

    def put_table(self, header: list[str], rows: list[list[str]], name: str | None = None) -> None:
        lines = [",".join(header), *(",".join(r) for r in rows)]
        self.files[name or self.target] = ("\n".join(lines) + "\n").encode("utf-8")

    def lines(self) -> list[bytes]:
        return self.files[self.target].splitlines(keepends=True)

    def put_lines(self, lines: list[bytes]) -> None:
        self.files[self.target] = b"".join(lines)

    def rename(self, new: str) -> None:
        self.files[new] = self.files.pop(self.target)
        if self.target in self.xlsx_rows:
            self.xlsx_rows[new] = self.xlsx_rows.pop(self.target)
        self.target = new
        self.names = [new]

    def flag(self, *rows: int) -> None:
        self.flag_rows.setdefault(self.target, set()).update(rows)


def _quote(value: str) -> str:
    return '"' + value.replace('"', '""') + '"' if any(c in value for c in ',"\n\r') else value


def _data_offset(data: bytes) -> int:
    """Byte offset of the first data line (after the header)."""
    return data.index(b"\n") + 1 if b"\n" in data else 0


def _pick_row(rng: random.Random, rows: list) -> int:
    return rng.randrange(len(rows))


def _set_cells(
    d: Delivery, rng: random.Random, column: str, value: Callable[[str], str], n: int = 1
) -> None:
    """Replace ``column`` in ``n`` random rows by value(old); flag those rows."""
    header, rows = d.table()
    i = header.index(column)
    for r in rng.sample(range(len(rows)), min(n, len(rows))):
        rows[r][i] = _quote(value(rows[r][i]))
        d.flag(r + 2)
    d.put_table(header, rows)


# --- the mutations --------------------------------------------------------------------------------

Apply = Callable[[Delivery, random.Random], None]


@dataclasses.dataclass(frozen=True)
class Mutation:
    """One named change. ``legit``: a shape real exports have that must load (a finished run).
    ``isolate``: may exhaust memory or abort the interpreter, so the test runs it in a child
    process with a memory limit. ``verb``: a verb the mutation needs (else chosen at random)."""

    family: str
    name: str
    apply: Apply
    extracts: tuple[str, ...]
    base: str = "small"
    legit: bool = False
    isolate: bool = False
    verb: str | None = None


MUTATIONS: dict[str, Mutation] = {}


def mutation(
    family: str,
    *,
    extracts: Callable[[str], bool] | tuple[str, ...] | None = None,
    base: str = "small",
    legit: bool = False,
    isolate: bool = False,
    verb: str | None = None,
) -> Callable[[Apply], Apply]:
    """Register a mutation; ``extracts`` is a tuple or a predicate (default: every extract)."""

    def register(fn: Apply) -> Apply:
        names = tuple(contract())
        if callable(extracts):
            names = tuple(e for e in names if extracts(e))
        elif extracts is not None:
            names = extracts
        key = f"{family}.{fn.__name__}"
        MUTATIONS[key] = Mutation(family, fn.__name__, fn, names, base, legit, isolate, verb)
        return fn

    return register


def _has(*types: str, pseudonymised: bool | None = None) -> Callable[[str], bool]:
    return lambda e: bool(columns_of(e, *types, pseudonymised=pseudonymised))


def _has_column(name: str) -> Callable[[str], bool]:
    return lambda e: name in contract()[e]["columns"]


# bytes ------------------------------------------------------------------------------------------


def _data_position(d: Delivery, rng: random.Random) -> int:
    data = d.files[d.target]
    return rng.randrange(_data_offset(data), len(data))


@mutation("bytes")
def flip_byte(d: Delivery, rng: random.Random) -> None:
    data = bytearray(d.files[d.target])
    pos = _data_position(d, rng)
    data[pos] ^= 1 << rng.randrange(8)
    d.files[d.target] = bytes(data)


@mutation("bytes")
def insert_byte(d: Delivery, rng: random.Random) -> None:
    data = d.files[d.target]
    pos = _data_position(d, rng)
    d.files[d.target] = data[:pos] + bytes([rng.randrange(256)]) + data[pos:]


@mutation("bytes")
def delete_byte(d: Delivery, rng: random.Random) -> None:
    data = d.files[d.target]
    pos = _data_position(d, rng)
    d.files[d.target] = data[:pos] + data[pos + 1 :]


@mutation("bytes")
def nul_byte(d: Delivery, rng: random.Random) -> None:
    data = d.files[d.target]
    pos = _data_position(d, rng)
    d.files[d.target] = data[:pos] + b"\x00" + data[pos:]


@mutation("bytes", extracts=_has("code", "text"))
def control_char(d: Delivery, rng: random.Random) -> None:
    """A control character inside a code or text value (it reaches set_aside and the fix list)."""
    column = rng.choice(columns_of(d.target[:-4], "code", "text"))
    char = rng.choice(CONTROL_CHARS)
    _set_cells(d, rng, column, lambda v: (v or "X")[:1] + char + (v or "X")[1:])
    d.flag_rows.clear()  # a control character in a text value may load as it is


@mutation("bytes")
def invalid_utf8(d: Delivery, rng: random.Random) -> None:
    data = d.files[d.target]
    pos = _data_position(d, rng)
    bad = rng.choice([b"\x81", b"\x8d", b"\xe9", b"\xc3\x28", b"\xed\xa0\x80", b"\xf8\x88"])
    d.files[d.target] = data[:pos] + bad + data[pos:]


@mutation("bytes")
def megabyte_value(d: Delivery, rng: random.Random) -> None:
    """One value of a megabyte (a pasted document): it must be set aside, not copied around."""
    header, rows = d.table()
    column = rng.choice(header)
    _set_cells(d, rng, column, lambda v: (v or "X") * (MEGABYTE // max(1, len(v or "X"))))
    d.aside_rows, d.flag_rows = d.flag_rows, {}


# quotes -----------------------------------------------------------------------------------------


@mutation("quotes")
def stray_quote_field(d: Delivery, rng: random.Random) -> None:
    """One `"` typed somewhere inside a data line."""
    lines = d.lines()
    i = rng.randrange(1, len(lines))
    line = lines[i]
    pos = rng.randrange(len(line.rstrip(b"\r\n")) + 1)
    lines[i] = line[:pos] + b'"' + line[pos:]
    d.put_lines(lines)


@mutation("quotes")
def quote_across_lines(d: Delivery, rng: random.Random) -> None:
    """A `"` opening a field on one line and another closing a field on the next (two records
    merged into one, the rest intact)."""
    header, rows = d.table()
    r = rng.randrange(len(rows) - 1)
    text = [header.index(c) for c in columns_of(d.target[:-4], "text")]
    i = rng.choice(text) if text and rng.random() < 0.7 else rng.randrange(len(header))
    j = i if rng.random() < 0.7 else rng.randrange(len(header))  # same column: counts match
    rows[r][i] = '"' + rows[r][i]
    rows[r + 1][j] = rows[r + 1][j] + '"'
    d.put_table(header, rows)


@mutation("quotes", base="full")
def stray_quote_header(d: Delivery, rng: random.Random) -> None:
    header, rows = d.table()
    i = rng.randrange(len(header))
    header[i] = '"' + header[i] if rng.random() < 0.5 else header[i] + '"'
    d.put_table(header, rows)


@mutation(
    "quotes", base="full", extracts=("dat_referrals", "ifss_distance_travelled", "ifss_referrals")
)
def stray_quote_near_start_long(d: Delivery, rng: random.Random) -> None:
    """A field opened by `"` in the first 2% of a long file, never closed on its line."""
    header, rows = d.table()
    r = rng.randrange(max(1, len(rows) // 50))
    i = rng.randrange(len(header))
    rows[r][i] = '"' + rows[r][i]
    d.put_table(header, rows)


@mutation("quotes")
def unclosed_quote_at_end(d: Delivery, rng: random.Random) -> None:
    header, rows = d.table()
    i = rng.randrange(len(header))
    rows[-1][i] = '"' + rows[-1][i]
    d.put_table(header, rows)


# line endings -----------------------------------------------------------------------------------


@mutation("line_endings")
def crlf_lf_mix(d: Delivery, rng: random.Random) -> None:
    """Lines pasted from another export: some end in CRLF, the rest in LF."""
    lines = d.lines()
    start = rng.randrange(len(lines))
    stop = rng.randrange(start, len(lines)) + 1
    for k in range(start, stop):
        if lines[k].endswith(b"\n") and not lines[k].endswith(b"\r\n"):
            lines[k] = lines[k][:-1] + b"\r\n"
    if all(x.endswith(b"\r\n") for x in lines):  # keep it a mix
        lines[0] = lines[0][:-2] + b"\n"
    d.put_lines(lines)


@mutation("line_endings", legit=True)
def all_crlf(d: Delivery, rng: random.Random) -> None:
    d.files[d.target] = d.files[d.target].replace(b"\n", b"\r\n")


@mutation("line_endings")
def lone_cr(d: Delivery, rng: random.Random) -> None:
    """One line ended by a lone CR (old Mac, or a CR typed in a cell)."""
    lines = d.lines()
    i = rng.randrange(1, len(lines) - 1) if len(lines) > 2 else 0
    lines[i] = lines[i][:-1] + b"\r"
    d.put_lines(lines)


@mutation("line_endings", legit=True)
def missing_final_newline(d: Delivery, rng: random.Random) -> None:
    d.files[d.target] = d.files[d.target].rstrip(b"\n")


@mutation("line_endings", legit=True)
def blank_lines(d: Delivery, rng: random.Random) -> None:
    """Empty lines between records and at the end (skipped and counted, rows numbered right)."""
    lines = d.lines()
    for _ in range(rng.randint(1, 3)):
        lines.insert(rng.randrange(1, len(lines) + 1), b"\n")
    d.put_lines(lines)


@mutation("line_endings", legit=True)
def comma_only_lines(d: Delivery, rng: random.Random) -> None:
    """Lines of only commas (Excel's 'blank' rows within the used range)."""
    header, _ = d.table()
    lines = d.lines()
    for _ in range(rng.randint(1, 3)):
        lines.insert(rng.randrange(1, len(lines) + 1), b"," * (len(header) - 1) + b"\n")
    d.put_lines(lines)


# cells ------------------------------------------------------------------------------------------

_ID_EXTRACTS = _has("id", pseudonymised=True)


def _id_column(d: Delivery, rng: random.Random) -> str:
    return rng.choice(columns_of(d.target[:-4], "id", pseudonymised=True))


@mutation("cells", extracts=_ID_EXTRACTS)
def id_na(d: Delivery, rng: random.Random) -> None:
    """`#N/A` in an ID column of a few rows (a failed VLOOKUP): they must not link as one child."""
    _set_cells(d, rng, _id_column(d, rng), lambda v: "#N/A", n=rng.randint(1, 3))


@mutation("cells", extracts=_ID_EXTRACTS)
def id_null_error(d: Delivery, rng: random.Random) -> None:
    _set_cells(d, rng, _id_column(d, rng), lambda v: "#NULL!", n=rng.randint(1, 3))


@mutation("cells", extracts=_ID_EXTRACTS)
def id_hyperlink(d: Delivery, rng: random.Random) -> None:
    _set_cells(d, rng, _id_column(d, rng), lambda v: f'=HYPERLINK("https://cms.example/{v}","{v}")')


@mutation("cells", extracts=_ID_EXTRACTS)
def id_formula(d: Delivery, rng: random.Random) -> None:
    _set_cells(d, rng, _id_column(d, rng), lambda v: rng.choice(["=B2", "=A1+1", "=VLOOKUP(A2)"]))


@mutation("cells", extracts=_has("code", "text"))
def formula_in_value(d: Delivery, rng: random.Random) -> None:
    """A formula (or text Excel would read as one) in a code or text value."""
    column = rng.choice(columns_of(d.target[:-4], "code", "text"))
    formula = rng.choice(["=1+1", "=SUM(A1:A9)", "+44 20 7946 0000", "-2+3", "@SUM(A1)"])
    _set_cells(d, rng, column, lambda v: formula)
    d.flag_rows.clear()  # a formula-shaped team name may load (the guards are on output)


@mutation("cells", extracts=_has_column("date_of_birth"))
def dob_2099(d: Delivery, rng: random.Random) -> None:
    _set_cells(d, rng, "date_of_birth", lambda v: f"2099-{rng.randint(1, 12):02d}-15")


@mutation("cells", extracts=_has("date"))
def month_first_dates(d: Delivery, rng: random.Random) -> None:
    """A whole date column written month first (US locale): days over 12 cannot be read."""
    column = rng.choice(columns_of(d.target[:-4], "date"))
    header, rows = d.table()
    i = header.index(column)
    read_as = set()
    for row in rows:
        v = row[i]
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", v):
            row[i] = f"{v[5:7]}/{v[8:10]}/{v[0:4]}"
            if column == "date_of_birth":
                d.extra.add(row[i])
            else:  # read day first, it is another date of this column: the mutation's own value
                read_as.add(f"{v[0:4]}-{v[8:10]}-{v[5:7]}")
    d.made = d.made | frozenset(read_as)
    d.put_table(header, rows)


@mutation("cells", extracts=_has("date"), legit=True)
def excel_serial_dates(d: Delivery, rng: random.Random) -> None:
    """Dates as Excel serial day numbers in some rows (read as dates, with a note)."""
    column = rng.choice(columns_of(d.target[:-4], "date"))
    header, rows = d.table()
    i = header.index(column)
    base = pd.Timestamp("1899-12-30")
    for r in rng.sample(range(len(rows)), min(len(rows), rng.randint(1, 20))):
        v = rows[r][i]
        if v:
            rows[r][i] = str((pd.Timestamp(v) - base).days)
    d.put_table(header, rows)


@mutation("cells", extracts=_has("integer"))
def text_in_integer(d: Delivery, rng: random.Random) -> None:
    column = rng.choice(columns_of(d.target[:-4], "integer"))
    _set_cells(d, rng, column, lambda v: rng.choice(["seven", "12a", "1,5", "n/a", "3.5"]))


@mutation("cells", extracts=_has("integer"))
def out_of_range_number(d: Delivery, rng: random.Random) -> None:
    """A score or count outside its contract range (risk 1-10, caseload 0-60, >= 0)."""
    column = rng.choice(columns_of(d.target[:-4], "integer"))
    spec = contract()[d.target[:-4]]["columns"][column]
    choices = [str(spec.get("min", 0) - 1)]
    if "max" in spec:
        choices.append(str(spec["max"] + rng.randint(1, 50)))
    _set_cells(d, rng, column, lambda v: rng.choice(choices))


@mutation("cells", extracts=lambda e: bool(contract()[e].get("key")))
def duplicate_row(d: Delivery, rng: random.Random) -> None:
    header, rows = d.table()
    r = _pick_row(rng, rows)
    rows.insert(r + 1, list(rows[r]))
    d.put_table(header, rows)
    d.flag(r + 3)


@mutation("cells")
def deleted_row(d: Delivery, rng: random.Random) -> None:
    header, rows = d.table()
    del rows[_pick_row(rng, rows)]
    d.put_table(header, rows)


@mutation("cells")
def truncated_last_line(d: Delivery, rng: random.Random) -> None:
    """The export stopped mid-line: the last record is cut short, with no final newline."""
    data = d.files[d.target].rstrip(b"\n")
    start = data.rindex(b"\n") + 1
    cut = rng.randrange(start + 1, len(data))
    d.files[d.target] = data[:cut]
    d.flag(data.count(b"\n") + 1)


@mutation("cells")
def total_line(d: Delivery, rng: random.Random) -> None:
    """A footer the report tool adds: 'Total' and a count (set aside, never data)."""
    header, rows = d.table()
    footer = [""] * len(header)
    footer[0] = rng.choice(["Total", "TOTAL RECORDS", "Count"])
    footer[-1] = str(len(rows))
    rows.append(footer)
    d.put_table(header, rows)
    d.flag(len(rows) + 1)
    d.aside_rows = {d.target: {len(rows) + 1}}


# headers ----------------------------------------------------------------------------------------


@mutation("headers")
def rename_column(d: Delivery, rng: random.Random) -> None:
    header, rows = d.table()
    i = rng.randrange(len(header))
    header[i] = rng.choice([f"Column{i + 1}", header[i] + "_old", "Unnamed: 3", "x"])
    d.put_table(header, rows)


@mutation("headers")
def delete_column(d: Delivery, rng: random.Random) -> None:
    header, rows = d.table()
    i = rng.randrange(len(header))
    d.put_table(header[:i] + header[i + 1 :], [r[:i] + r[i + 1 :] for r in rows])


@mutation("headers")
def duplicate_column(d: Delivery, rng: random.Random) -> None:
    header, rows = d.table()
    i = rng.randrange(len(header))
    d.put_table(header + [header[i]], [r + [r[i]] for r in rows])


@mutation("headers")
def header_missing(d: Delivery, rng: random.Random) -> None:
    lines = d.lines()
    d.put_lines(lines[1:])


@mutation("headers")
def title_line_above_header(d: Delivery, rng: random.Random) -> None:
    header, rows = d.table()
    title = rng.choice(
        [
            f"{d.target[:-4]} extract run 31/01/2013",
            "Report: children's services,,,",
            "Generated by CareFirst 6" + "," * (len(header) - 1),
        ]
    )
    d.files[d.target] = (title + "\n").encode("utf-8") + d.files[d.target]


@mutation("headers", legit=True)
def label_aliases(d: Delivery, rng: random.Random) -> None:
    """Headers as the labels real exports use (aliases.yaml, Title Case, UPPER, hyphens)."""
    from pipelines.generate.write import _header, load_aliases

    style = rng.choice(["alias", "title", "upper", "hyphen"])
    header, rows = d.table()
    extract = d.target[:-4]
    aliases = load_aliases()
    d.put_table([_header(extract, h, style, aliases) for h in header], rows)


@mutation("headers", legit=True)
def extra_columns_with_names(d: Delivery, rng: random.Random) -> None:
    """Columns outside the contract holding people's names: dropped, never copied anywhere."""
    header, rows = d.table()
    extra = rng.sample(["child_name", "Worker Name", "Address", "Notes"], rng.randint(1, 2))
    for row in rows:
        for _ in extra:
            name = rng.choice(FAKE_NAMES)
            row.append(_quote(name))
            d.extra.add(name)
    d.put_table(header + extra, rows)


# encodings --------------------------------------------------------------------------------------


@mutation("encodings", legit=True)
def windows_1252(d: Delivery, rng: random.Random) -> None:
    """Saved by Excel as 'CSV' on Windows, with an accented team name where there is one."""
    header, rows = d.table()
    if "team" in header:
        i = header.index("team")
        for r in rng.sample(range(len(rows)), min(5, len(rows))):
            rows[r][i] = rows[r][i] + rng.choice([" Équipe", " St Mary’s", " Café"])
        d.put_table(header, rows)
    d.files[d.target] = d.files[d.target].decode("utf-8").encode("cp1252")


@mutation("encodings", legit=True)
def bom(d: Delivery, rng: random.Random) -> None:
    d.files[d.target] = b"\xef\xbb\xbf" + d.files[d.target]


@mutation("encodings", legit=True)
def utf16_unicode_text(d: Delivery, rng: random.Random) -> None:
    """Excel's 'Unicode Text': UTF-16 LE with a BOM, tab-delimited, CRLF."""
    header, rows = d.table()
    text = "\r\n".join("\t".join(r) for r in [header, *rows]) + "\r\n"
    d.files[d.target] = text.encode("utf-16")  # little-endian with BOM on every platform we use
    d.rename(d.target[:-4] + ".csv")


# workbooks --------------------------------------------------------------------------------------


def to_xlsx(d: Delivery, frame: Callable[[pd.DataFrame], pd.DataFrame] | None = None) -> None:
    """The target as a workbook, written by the project's own writer (dates as date cells)."""
    from pipelines.generate.write import write_xlsx

    extract = d.target[:-4]
    df = pd.read_csv(io.BytesIO(d.files[d.target]), dtype=str, keep_default_na=False)
    for column, cs in contract()[extract]["columns"].items():
        if column not in df:
            continue
        if cs["type"] == "date":
            df[column] = pd.to_datetime(df[column], format="%Y-%m-%d", errors="coerce")
        elif cs["type"] == "integer":
            df[column] = [int(v) if v.strip().lstrip("-").isdigit() else None for v in df[column]]
    if frame is not None:
        df = frame(df)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x.xlsx"
        write_xlsx(extract, df, path)
        data = path.read_bytes()
    del d.files[d.target]
    d.target = extract + ".xlsx"
    d.names = [d.target]
    d.files[d.target] = data
    d.xlsx_rows[d.target] = len(df)


def _edit_zip(data: bytes, edit: Callable[[str, bytes], bytes]) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(data))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info, edit(info.filename, src.read(info.filename)))
    return buf.getvalue()


@mutation("workbook", legit=True)
def xlsx_clean(d: Delivery, rng: random.Random) -> None:
    to_xlsx(d)


@contextlib.contextmanager
def _edited_workbook(d: Delivery) -> Iterator[Any]:
    """The target as an openpyxl workbook to edit; written back when the block ends."""
    to_xlsx(d)
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(d.files[d.target]))
    yield wb
    buf = io.BytesIO()
    wb.save(buf)
    d.files[d.target] = buf.getvalue()


@mutation("workbook", legit=True)
def data_on_second_sheet(d: Delivery, rng: random.Random) -> None:
    """A cover sheet first, the data on sheet 2 (named 'Export', not like the extract)."""
    with _edited_workbook(d) as wb:
        wb.active.title = rng.choice(["Export", "Data", "Sheet2"])
        cover = wb.create_sheet("Cover", 0)
        cover["A1"] = "Children's services extract"
        cover["A2"] = "Run 31/01/2013 by the performance team"


@mutation("workbook", legit=True)
def title_rows(d: Delivery, rng: random.Random) -> None:
    """One to three title lines above the header row."""
    with _edited_workbook(d) as wb:
        ws = wb.active
        n = rng.randint(1, 3)
        ws.insert_rows(1, n)
        ws["A1"] = f"{d.target[:-5]} extract"
        if n > 1:
            ws["A2"] = "Run on 31/01/2013"


@mutation("workbook", isolate=True)
def outlying_cell(d: Delivery, rng: random.Random) -> None:
    """One stray cell at XFD1048576 (the sheet's last cell): a 16,384 x 1,048,576 used range."""
    to_xlsx(d)
    cell = rng.choice(["XFD1048576", "XFD1", "A1048576"])
    row = re.sub(r"\D", "", cell)

    def edit(name: str, content: bytes) -> bytes:
        if not name.startswith("xl/worksheets/sheet"):
            return content
        text = content.decode("utf-8")
        text = re.sub(r'<dimension ref="[^"]*"', f'<dimension ref="A1:{cell}"', text)
        stray = f'<row r="{row}"><c r="{cell}" t="inlineStr"><is><t>x</t></is></c></row>'
        if row == "1":
            text = text.replace(
                "</c></row>", f'</c><c r="{cell}" t="inlineStr"><is><t>x</t></is></c></row>', 1
            )
        else:
            text = text.replace("</sheetData>", stray + "</sheetData>")
        return text.encode("utf-8")

    d.files[d.target] = _edit_zip(d.files[d.target], edit)
    d.xlsx_rows[d.target] = None


@mutation("workbook", isolate=True)
def huge_shared_string(d: Delivery, rng: random.Random) -> None:
    """One 1 MB shared string used by 6,000 cells (in columns outside the contract): a file of
    a few kilobytes more that expands to 6 GB when every cell is read as text."""
    marker = "SHARED-STRING-MARKER"

    def frame(df: pd.DataFrame) -> pd.DataFrame:
        per_column = min(len(df), 6000)
        for k in range(-(-6000 // per_column)):
            df[f"Notes {k + 1}"] = [marker if i < per_column else None for i in range(len(df))]
        return df

    inline = f"<is><t>{marker}</t></is>".encode()
    shared = (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns="http://schemas.'
        b'openxmlformats.org/spreadsheetml/2006/main" count="6000" uniqueCount="1"><si><t>'
        + b"N" * MEGABYTE
        + b"</t></si></sst>"
    )

    def edit(name: str, content: bytes) -> bytes:
        if name.startswith("xl/worksheets/sheet"):
            return re.sub(
                rb'(<c r="[A-Z]+\d+") t="inlineStr">' + re.escape(inline),
                rb'\1 t="s"><v>0</v>',
                content,
            )
        if name == "[Content_Types].xml":
            return content.replace(
                b"</Types>",
                b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.'
                b'openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
            )
        if name == "xl/_rels/workbook.xml.rels":
            return content.replace(
                b"</Relationships>",
                b'<Relationship Id="rIdSST" Type="http://schemas.openxmlformats.org/'
                b'officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>'
                b"</Relationships>",
            )
        return content

    to_xlsx(d, frame)
    data = _edit_zip(d.files[d.target], edit)
    buf = io.BytesIO(data)
    with zipfile.ZipFile(buf, "a", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/sharedStrings.xml", shared)
    d.files[d.target] = buf.getvalue()


@mutation("workbook")
def not_a_zip(d: Delivery, rng: random.Random) -> None:
    """A file named .xlsx that is not a workbook (a CSV renamed, or a damaged download)."""
    data = d.files.pop(d.target)
    d.target = d.target[:-4] + ".xlsx"
    d.names = [d.target]
    d.files[d.target] = rng.choice([data, data[:2000], b"PK\x03\x04" + data[:500], b""])


# file names -------------------------------------------------------------------------------------


def _stem(d: Delivery) -> str:
    return d.target[:-4]


@mutation("file_names")
def braces(d: Delivery, rng: random.Random) -> None:
    d.rename(_stem(d) + rng.choice(["_{file}", "{x}", "_{table}_{source}"]) + ".csv")


@mutation("file_names", legit=True)
def spaces(d: Delivery, rng: random.Random) -> None:
    d.rename(_stem(d) + rng.choice([" 2013 01 31.csv", " (1).csv", " - Copy.csv"]))


@mutation("file_names")
def quotes_in_name(d: Delivery, rng: random.Random) -> None:
    d.rename(_stem(d) + rng.choice(["_o'neil.csv", '_"final".csv', "_it's.csv", "_';--.csv"]))


@mutation("file_names", legit=True)
def unicode_name(d: Delivery, rng: random.Random) -> None:
    d.rename(_stem(d) + rng.choice(["_é.csv", "_2013–01.csv", "_résumé_ü.csv", "_日本.csv"]))


@mutation("file_names", legit=True)
def upper_case(d: Delivery, rng: random.Random) -> None:
    d.rename(rng.choice([d.target.upper(), _stem(d) + ".CSV", _stem(d).title() + ".csv"]))


@mutation("file_names")
def two_files_one_extract(d: Delivery, rng: random.Random) -> None:
    other = _stem(d) + rng.choice(["_old.csv", " (2).csv", ".xlsx"])
    d.files[other] = d.files[d.target]
    d.names = [d.target, other]


@mutation("file_names", extracts=("workforce_posts", "workforce_leavers"), legit=True)
def missing_optional_file(d: Delivery, rng: random.Random) -> None:
    del d.files[d.target]
    d.names = []


@mutation("file_names", extracts=lambda e: bool(contract()[e].get("required")))
def missing_required_file(d: Delivery, rng: random.Random) -> None:
    del d.files[d.target]
    d.names = [d.target[:-4]]


@mutation("file_names")
def db_under_file(d: Delivery, rng: random.Random) -> None:
    """--db inside a folder that is a file."""
    d.db_under_file = True
    d.names = []


@mutation("file_names", verb="report")
def out_under_file(d: Delivery, rng: random.Random) -> None:
    """--out inside a folder that is a file (the run must stop before changing anything)."""
    d.out_under_file = True
    d.names = []


# --- cases ---------------------------------------------------------------------------------------

DEFAULT_SEED = 20130131


@dataclasses.dataclass(frozen=True)
class Case:
    """One replayable run: the mutation, the extract it hits, its seed and the CLI verb."""

    family: str
    name: str
    extract: str
    seed: int
    verb: str

    @property
    def id(self) -> str:
        return f"{self.family}:{self.name}:{self.extract}:{self.seed}:{self.verb}"

    @classmethod
    def parse(cls, text: str) -> Case:
        family, name, extract, seed, verb = text.split(":")
        return cls(family, name, extract, int(seed), verb)

    @property
    def mutation(self) -> Mutation:
        return MUTATIONS[f"{self.family}.{self.name}"]

    def build(self) -> Delivery:
        """The mutated delivery (deterministic for the case)."""
        m = self.mutation
        base = full_sample() if m.base == "full" else small_sample()
        target = file_of(self.extract)
        d = Delivery(files=dict(base), target=target, names=[target])
        m.apply(d, random.Random(f"{self.id}"))
        if d.target in d.files and not d.target.endswith(".xlsx"):
            d.made = d.made | made_tokens(base[target], d.files[d.target])
        return d


# The defects issue 9 found, each as a case run by every campaign (the rest are random).
ANCHORS = [
    Case("quotes", "quote_across_lines", "workforce_posts", 1, "report"),
    Case("quotes", "quote_across_lines", "dat_referrals", 1, "ingest"),
    Case("quotes", "stray_quote_near_start_long", "ifss_distance_travelled", 1, "ingest"),
    Case("quotes", "stray_quote_header", "dat_referrals", 1, "ingest"),
    Case("headers", "header_missing", "dat_referrals", 1, "ingest"),
    Case("line_endings", "crlf_lf_mix", "dat_referrals", 1, "ingest"),
    Case("bytes", "control_char", "dat_referrals", 1, "validate"),
    Case("file_names", "braces", "cpr_reviews", 1, "ingest"),
    Case("file_names", "out_under_file", "dat_referrals", 1, "report"),
    Case("workbook", "outlying_cell", "workforce_leavers", 1, "ingest"),
    Case("workbook", "huge_shared_string", "workforce_leavers", 1, "ingest"),
    Case("cells", "id_na", "dat_referrals", 1, "validate"),
    Case("cells", "dob_2099", "ifss_referrals", 1, "validate"),
    Case("line_endings", "blank_lines", "cpr_registrations", 1, "validate"),
    Case("encodings", "utf16_unicode_text", "cpr_reviews", 1, "ingest"),
    Case("workbook", "title_rows", "cpr_reviews", 1, "ingest"),
]


def campaign(n: int, seed: int = DEFAULT_SEED) -> list[Case]:
    """``n`` cases: the anchors, then every mutation in turn (so a short campaign still covers
    them all), each on a random extract it applies to, with a random seed and verb."""
    rng = random.Random(seed)
    mutations = sorted(MUTATIONS.values(), key=lambda m: (m.family, m.name))
    cases = list(ANCHORS[:n])
    for k in range(n - len(cases)):
        m = mutations[k % len(mutations)]
        weights = CELL_VERB_WEIGHTS if m.family == "cells" else VERB_WEIGHTS
        verb = m.verb or rng.choices(list(weights), weights=list(weights.values()))[0]
        cases.append(Case(m.family, m.name, rng.choice(m.extracts), rng.randrange(10**6), verb))
    return cases

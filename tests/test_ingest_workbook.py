"""Workbooks (.xlsx) read safely: bounded work, header below title lines or on another sheet,
oversized cells and broken values set aside, control characters removed, no value in a message.

The zip-level cases (a cell at XFD1048576, a shared-string bomb, a lying count, an inflated part)
are written as XML straight into a zip, so each file is a few kilobytes and each test takes
seconds; the others are written with openpyxl, as Excel users' workbooks are.
"""

from __future__ import annotations

import dataclasses
import re
import time
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from pipelines.errors import PipelineError
from pipelines.ingest.workbook import _CONTROL, column_letters, inspect_workbook, limits
from tests.ingest_helpers import DAT_HEADER, delivery, rows, run_ingest

HEADER = DAT_HEADER.split(",")


def dat_values(i: int, **change: str) -> list[str]:
    """One valid dat_referrals record as cell texts, with ``change`` applied by column."""
    values = dict(
        zip(
            HEADER,
            [
                f"R{i}",
                f"C{i}",
                "2010-05-01",
                "M",
                "2012-04-03",
                "2A",
                "N1",
                "Y",
                "N",
                "N",
                "N",
                "2012-04-04",
                "IA",
                "Y",
                "Y",
                "DAT1",
            ],
            strict=True,
        )
    )
    values.update(change)
    return list(values.values())


# --- a workbook written by hand ---------------------------------------------------------------

NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG = "http://schemas.openxmlformats.org/package/2006/relationships"


def column(i: int) -> str:
    letters = ""
    n = i + 1
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def sheet_xml(
    table: list[list[str | None]],
    extra: str = "",
    dimension: str | None = None,
    shared: dict[str, int] | None = None,
    first_row: int = 1,
) -> str:
    """Sheet XML: texts inline (or as shared strings when in ``shared``), then ``extra`` cells."""
    out = []
    for r, values in enumerate(table, start=first_row):
        cells = []
        for c, v in enumerate(values):
            if v is None:
                continue
            ref = f"{column(c)}{r}"
            if shared is not None and v in shared:
                cells.append(f'<c r="{ref}" t="s"><v>{shared[v]}</v></c>')
            else:
                cells.append(f'<c r="{ref}" t="inlineStr"><is><t>{escape(v)}</t></is></c>')
        out.append(f'<row r="{r}">{"".join(cells)}</row>')
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{NS}">{dim}<sheetData>'
        + "".join(out)
        + extra
        + "</sheetData></worksheet>"
    )


def write_workbook(
    path: Path,
    sheets: dict[str, str],
    strings: list[str] | None = None,
    sst_attrs: str = "",
    deflate: bool = True,
) -> Path:
    """A minimal .xlsx: the sheets' XML in order, and the shared strings if given."""
    names = list(sheets)
    rels = "".join(
        f'<Relationship Id="rId{i}" Type="{REL}/worksheet" Target="worksheets/sheet{i}.xml"/>'
        for i in range(1, len(names) + 1)
    )
    if strings is not None:
        rels += f'<Relationship Id="rIdS" Type="{REL}/sharedStrings" Target="sharedStrings.xml"/>'
    workbook = (
        f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{NS}" xmlns:r="{REL}"><sheets>'
        + "".join(
            f'<sheet name="{escape(n)}" sheetId="{i + 1}" r:id="rId{i + 1}"/>'
            for i, n in enumerate(names)
        )
        + "</sheets></workbook>"
    )
    method = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
    with zipfile.ZipFile(path, "w", method) as z:
        z.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            'content-types"><Default Extension="xml" ContentType="application/xml"/></Types>',
        )
        z.writestr(
            "_rels/.rels",
            f'<?xml version="1.0"?><Relationships xmlns="{PKG}"><Relationship Id="rId1" '
            f'Type="{REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        )
        z.writestr("xl/workbook.xml", workbook)
        z.writestr(
            "xl/_rels/workbook.xml.rels",
            f'<?xml version="1.0"?><Relationships xmlns="{PKG}">{rels}</Relationships>',
        )
        for i, name in enumerate(names):
            z.writestr(f"xl/worksheets/sheet{i + 1}.xml", sheets[name])
        if strings is not None:
            z.writestr(
                "xl/sharedStrings.xml",
                f'<?xml version="1.0"?><sst xmlns="{NS}"{sst_attrs}>'
                + "".join(f"<si><t>{escape(s)}</t></si>" for s in strings)
                + "</sst>",
            )
    return path


def dat_delivery(tmp_path: Path, workbook: Path | None = None) -> Path:
    """The basic delivery with dat_referrals as a workbook (the caller writes it)."""
    return delivery(tmp_path, {"dat_referrals.csv": None})


def inspect(path: Path, extract: str = "dat_referrals", lim=None):
    problems: list[str] = []
    started = time.perf_counter()
    source = inspect_workbook(extract, path, problems, lim)  # type: ignore[arg-type]
    return source, problems, time.perf_counter() - started


def ingest_problem(raw: Path, tmp_path: Path) -> str:
    with pytest.raises(PipelineError) as err:
        run_ingest(raw, tmp_path)
    return str(err.value)


# --- bounded work ------------------------------------------------------------------------------


def test_a_cell_far_outside_the_data_is_refused_in_seconds(tmp_path):
    raw = dat_delivery(tmp_path)
    table = [HEADER, dat_values(1), dat_values(2)]
    far = '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'
    path = write_workbook(raw / "dat_referrals.xlsx", {"dat_referrals": sheet_xml(table, far)})
    assert path.stat().st_size < 10_000
    source, problems, seconds = inspect(path)
    assert source is None and seconds < 5
    (msg,) = problems
    assert "dat_referrals.xlsx" in msg and "sheet 'dat_referrals'" in msg
    assert "XFD1048576 far outside the data" in msg and "near P3" in msg
    # Through the whole ingest: a clear stop, nothing loaded, no child ID in the message.
    msg = ingest_problem(raw, tmp_path)
    assert "XFD1048576" in msg and "nothing was loaded" in msg and "C1" not in msg


def test_a_used_range_as_large_as_the_sheet_is_refused_from_its_dimension(tmp_path):
    xml = sheet_xml([HEADER, dat_values(1)], dimension="A1:XFD1048576")
    path = write_workbook(tmp_path / "dat_referrals.xlsx", {"Sheet1": xml})
    source, (msg,), seconds = inspect(path)
    assert source is None and seconds < 5
    assert "used range is A1:XFD1048576" in msg and "delete the empty rows" in msg


@pytest.mark.parametrize(
    "extra",
    [
        # cells without r: calamine places them after the previous one
        '<row r="4">' + "<c><v>1</v></c>" * 3 + "</row>"
        '<row r="1048576"><c r="XFA1048576"><v>1</v></c><c><v>1</v></c></row>',
        # another attribute before r, single quotes
        "<row r='900000'><c t='n' r='ZZ900000'><v>1</v></c></row>",
    ],
)
def test_an_outlying_cell_written_in_another_form_is_found_too(tmp_path, extra):
    xml = sheet_xml([HEADER, dat_values(1), dat_values(2)], extra)
    path = write_workbook(tmp_path / "dat_referrals.xlsx", {"Sheet1": xml})
    source, (msg,), seconds = inspect(path)
    assert source is None and seconds < 5
    assert "far outside the data" in msg


def test_a_namespace_prefix_does_not_hide_an_outlying_cell(tmp_path):
    xml = (
        sheet_xml([HEADER, dat_values(1)])
        .replace(f'<worksheet xmlns="{NS}">', f'<x:worksheet xmlns:x="{NS}">')
        .replace("</worksheet>", "</x:worksheet>")
        .replace("<sheetData>", "<x:sheetData>")
        .replace(
            "</sheetData>",
            '<x:row r="70000"><x:c r="XFD70000"><x:v>1</x:v></x:c></x:row></x:sheetData>',
        )
    )
    xml = xml.replace("<row", "<x:row").replace("</row>", "</x:row>")
    xml = xml.replace("<c ", "<x:c ").replace("</c>", "</x:c>").replace("<is>", "<x:is>")
    xml = xml.replace("</is>", "</x:is>").replace("<t>", "<x:t>").replace("</t>", "</x:t>")
    path = write_workbook(tmp_path / "dat_referrals.xlsx", {"Sheet1": xml})
    source, (msg,), seconds = inspect(path)
    assert source is None and seconds < 5
    assert "XFD70000" in msg


def test_formatted_empty_cells_far_away_do_not_stop_a_read(tmp_path):
    """Calamine skips cells with no value, so the check does too (Excel writes such cells)."""
    extra = '<row r="1048576"><c r="XFD1048576" s="1"/></row>'
    path = write_workbook(
        tmp_path / "dat_referrals.xlsx", {"Sheet1": sheet_xml([HEADER, dat_values(1)], extra)}
    )
    source, problems, _ = inspect(path)
    assert problems == [] and source is not None and len(source.xlsx_rows or []) == 1


def test_a_shared_string_bomb_is_set_aside_in_seconds_never_copied(tmp_path):
    """One 1 MB shared string in 6,000 cells: 6 GB once copied. Each row is set aside instead."""
    raw = dat_delivery(tmp_path)
    bomb = "a" * 1_048_576
    texts = sorted({v for i in range(2) for v in dat_values(i)} | set(HEADER) | {bomb})
    shared = {t: i for i, t in enumerate(texts)}
    table = [HEADER] + [dat_values(1, referral_id=f"R{i}", team=bomb) for i in range(6000)]
    path = write_workbook(
        raw / "dat_referrals.xlsx",
        {"dat_referrals": sheet_xml(table, shared=shared)},
        strings=texts,
    )
    assert path.stat().st_size < 400_000  # 6,000 rows of other values; the bomb is ~1 KB
    source, problems, seconds = inspect(path)
    assert problems == [] and seconds < 5
    assert source is not None and len(source.rows_set_aside) == 6000
    first = source.rows_set_aside[0]
    assert (first.row, first.column, first.reason_code) == (2, "team", "cell_too_large")
    assert first.value == "<1,048,576 characters>" and first.reference == "R0"

    summary, con = run_ingest(raw, tmp_path)
    f = summary.file("dat_referrals")
    assert (f.rows_read, f.rows_loaded, f.rows_set_aside) == (6000, 0, 6000)
    # The fix list's column letters are what ingest recorded: the workbook is not opened again.
    assert rows(con, "SELECT letter FROM source_columns WHERE \"column\" = 'team'") == [("P",)]
    longest = rows(con, "SELECT max(length(value)), max(length(reason)) FROM set_aside")[0]
    assert max(longest) < 400


def test_a_false_shared_string_count_is_refused(tmp_path):
    """Calamine reserves room for the count the file declares: billions abort it."""
    path = write_workbook(
        tmp_path / "dat_referrals.xlsx",
        {"Sheet1": sheet_xml([HEADER], shared={})},
        strings=["x"],
        sst_attrs=' count="4000000000" uniqueCount="4000000000"',
    )
    source, (msg,), seconds = inspect(path)
    assert source is None and seconds < 5 and "4,000,000,000 texts" in msg


def test_shared_text_copied_into_many_cells_is_refused(tmp_path):
    """Strings short enough to be values, in so many cells that the copies exceed the limit."""
    long_text = "b" * 900
    texts = [*HEADER, long_text]
    shared = {t: i for i, t in enumerate(texts)}
    table = [HEADER] + [[long_text] * 16 for _ in range(200)]
    path = write_workbook(
        tmp_path / "dat_referrals.xlsx", {"Sheet1": sheet_xml(table, shared=shared)}, texts
    )
    lim = dataclasses.replace(limits(), max_shared_text_mb=2)
    source, (msg,), _ = inspect(path, lim=lim)
    assert source is None and "copy 3 MB of text" in msg
    assert inspect(path)[1] == []  # within the real limit


def test_a_zip_bomb_part_is_refused_from_the_directory(tmp_path):
    xml = sheet_xml([HEADER, dat_values(1)]).replace("<sheetData>", " " * 3_000_000 + "<sheetData>")
    path = write_workbook(tmp_path / "dat_referrals.xlsx", {"Sheet1": xml})
    lim = dataclasses.replace(limits(), ratio_floor_mb=1)
    source, (msg,), seconds = inspect(path, lim=lim)
    assert source is None and seconds < 5
    assert "xl/worksheets/sheet1.xml unpacks to 3 MB" in msg and "zip bomb" in msg


def test_a_part_larger_than_the_limit_is_refused_before_it_is_unpacked(tmp_path):
    xml = sheet_xml([HEADER, dat_values(1)]).replace("<sheetData>", " " * 3_000_000 + "<sheetData>")
    path = write_workbook(tmp_path / "dat_referrals.xlsx", {"Sheet1": xml}, deflate=False)
    lim = dataclasses.replace(limits(), max_sheet_mb=2)
    source, (msg,), _ = inspect(path, lim=lim)
    assert source is None and "more than the 2 MB read" in msg
    lim = dataclasses.replace(limits(), max_total_mb=2)
    assert "unpacks to 3 MB" in inspect(path, lim=lim)[1][0]


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"referral_id,child_id\nR1,C1\n", "not a zip package"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "old-format .xls"),
        (b"PK\x03\x04" + b"\0" * 100, "damaged zip package"),
        (b"", "the file is empty"),
    ],
)
def test_files_that_are_not_workbooks_are_named_and_explained(tmp_path, data, words):
    path = tmp_path / "dat_referrals.xlsx"
    path.write_bytes(data)
    source, (msg,), _ = inspect(path)
    assert source is None and msg.startswith("dat_referrals.xlsx: ") and words in msg


def test_a_zip_that_is_not_a_workbook_is_named(tmp_path):
    path = tmp_path / "dat_referrals.xlsx"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("word/document.xml", "<w/>")
    assert "not an Excel workbook" in inspect(path)[1][0]


def test_a_damaged_sheet_is_a_problem_not_a_traceback(tmp_path):
    xml = sheet_xml([HEADER, dat_values(1)]).replace("</sheetData>", "<row><c r=")
    path = write_workbook(tmp_path / "dat_referrals.xlsx", {"Sheet1": xml})
    source, (msg,), _ = inspect(path)
    assert source is None and msg.startswith("dat_referrals.xlsx: ")


# --- where the header is -------------------------------------------------------------------------


def _openpyxl_workbook(path: Path, sheets: dict[str, list[list]]) -> Path:
    import openpyxl

    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, table in sheets.items():
        ws = wb.create_sheet(name)
        for r, values in enumerate(table, start=1):
            for c, v in enumerate(values, start=1):
                if v is not None:
                    ws.cell(r, c, v)
    wb.save(path)
    return path


def test_title_lines_above_the_header_keep_excel_row_numbers(tmp_path):
    raw = dat_delivery(tmp_path)
    table = [
        ["Children's services: DAT referrals"],
        ["Produced 01/02/2013"],
        [],
        [None, *HEADER],  # the header in row 4, from column B
        [None, *dat_values(1)],
        [],
        [None, *dat_values(2, referral_date="31/02/2012")],
        [None, *dat_values(3)],
    ]
    _openpyxl_workbook(raw / "DAT_referrals.xlsx", {"Export": table})
    summary, con = run_ingest(raw, tmp_path)
    assert rows(con, "SELECT referral_id, _row FROM dat_referrals ORDER BY _row") == [
        ("R1", 5),
        ("R3", 8),
    ]
    assert rows(con, 'SELECT "row", "column", reason_code FROM set_aside') == [
        (7, "referral_date", "invalid_date")
    ]
    f = summary.file("dat_referrals")
    # read = 2 loaded + 1 set aside + 1 blank (row 6); the title lines are not rows of the table
    assert (f.sheet, f.rows_read, f.rows_loaded, f.rows_blank) == ("Export", 4, 2, 1)
    assert f.columns_dropped == ()
    letters = dict(rows(con, 'SELECT "column", letter FROM source_columns'))
    assert (letters["referral_id"], letters["team"]) == ("B", "Q")
    (note,) = rows(con, "SELECT message FROM ingest_notes WHERE note_code = 'sheet'")
    assert "sheet 'Export'" in note[0] and "header in row 4" in note[0] and "title" in note[0]


def test_data_on_the_second_sheet_is_read(tmp_path):
    raw = dat_delivery(tmp_path)
    _openpyxl_workbook(
        raw / "dat_referrals_2013.xlsx",
        {
            "Read me": [["About this extract"], ["Columns are described in the data dictionary"]],
            "Data": [HEADER, dat_values(1), dat_values(2)],
        },
    )
    summary, con = run_ingest(raw, tmp_path)
    f = summary.file("dat_referrals")
    assert (f.sheet, f.rows_read, f.rows_loaded) == ("Data", 2, 2)
    assert rows(con, "SELECT _row FROM dat_referrals ORDER BY 1") == [(2,), (3,)]


def test_the_sheet_named_like_the_extract_is_preferred(tmp_path):
    path = _openpyxl_workbook(
        tmp_path / "dat_referrals.xlsx",
        {"Old": [HEADER, dat_values(9)], "DAT Referrals": [HEADER, dat_values(1), dat_values(2)]},
    )
    source, problems, _ = inspect(path)
    assert problems == [] and source is not None
    assert source.sheet == "DAT Referrals" and len(source.xlsx_rows or []) == 2


def test_no_sheet_with_the_header_names_the_sheets_never_a_value(tmp_path):
    path = _openpyxl_workbook(
        tmp_path / "dat_referrals.xlsx",
        {
            "Summary": [["Total", 12]],
            "Children": [["CHILD-123456", "2010-05-01", "DAT1"], ["CHILD-654321", "2011-01-01"]],
        },
    )
    source, (msg,), _ = inspect(path)
    assert source is None
    assert "'Summary', 'Children'" in msg and "referral_id" in msg and "first 20 rows" in msg
    assert "CHILD-" not in msg and "2010-05-01" not in msg


def test_an_empty_workbook_says_so(tmp_path):
    path = _openpyxl_workbook(tmp_path / "dat_referrals.xlsx", {"Sheet1": []})
    assert "sheet 'Sheet1' is empty" in inspect(path)[1][0]


def test_a_header_pasted_as_text_is_explained(tmp_path):
    path = _openpyxl_workbook(
        tmp_path / "dat_referrals.xlsx", {"Sheet1": [[";".join(HEADER)], [";".join(dat_values(1))]]}
    )
    msg = inspect(path)[1][0]
    assert "pasted as text" in msg and "semicolons" in msg and "C1" not in msg


# --- values ---------------------------------------------------------------------------------------


def test_a_megabyte_cell_is_set_aside_and_never_copied(tmp_path):
    raw = dat_delivery(tmp_path)
    big = "x" * 2_000_000  # written as XML: openpyxl itself cuts text at 32,767 characters
    table = [
        HEADER,
        dat_values(1),
        dat_values(2, team=big),
        dat_values(3, child_id="C" * 5000),
        dat_values(4, team="y" * 1000),  # at the limit: a value
    ]
    write_workbook(raw / "dat_referrals.xlsx", {"dat_referrals": sheet_xml(table)})
    summary, con = run_ingest(raw, tmp_path)
    assert rows(con, 'SELECT "row", "column", value, reason_code, reference FROM set_aside') == [
        (3, "team", "<2,000,000 characters>", "cell_too_large", "R2"),
        (4, "child_id", "<withheld>", "cell_too_large", "R3"),
    ]
    assert rows(con, "SELECT referral_id FROM dat_referrals ORDER BY 1") == [("R1",), ("R4",)]
    (reason,) = rows(con, 'SELECT reason FROM set_aside WHERE "row" = 3')[0]
    assert "2,000,000 characters" in reason and "xxx" not in reason
    assert rows(con, "SELECT count(*) FROM ingest_notes WHERE message LIKE '%xxxxx%'") == [(0,)]
    f = summary.file("dat_referrals")
    assert (f.rows_read, f.rows_loaded, f.rows_set_aside) == (4, 2, 2)


def test_control_characters_are_removed_and_line_breaks_in_ids_set_aside(tmp_path):
    raw = dat_delivery(tmp_path)
    table = [
        HEADER,
        dat_values(1, team="Team_x0007_ A"),  # Excel's escape for BEL, decoded by the reader
        dat_values(2, child_id="C2\nC3"),
        dat_values(3, referral_date="2012-04-03\r\n2012-04-05", outcome="IA\nNFA"),
        dat_values(4, team="Team\nB"),  # a line break in free text is kept
        dat_values(5, referral_id="R5_x001F_"),
        dat_values(6, team="\x0bTeam C"),
    ]
    xml = sheet_xml(table).replace("\x0b", "_x000B_")
    write_workbook(raw / "dat_referrals.xlsx", {"dat_referrals": xml})
    summary, con = run_ingest(raw, tmp_path)
    assert rows(con, "SELECT referral_id, team FROM dat_referrals ORDER BY 1") == [
        ("R1", "Team A"),
        ("R4", "Team\nB"),
        ("R5", "DAT1"),
        ("R6", "Team C"),
    ]
    aside = rows(con, 'SELECT "row", "column", value, reason_code, reason FROM set_aside')
    assert [a[:4] for a in aside] == [
        (3, "child_id", "<withheld>", "line_break_in_value"),
        (4, "referral_date", "2012-04-03 | 2012-04-05", "line_break_in_value"),
    ]
    assert "C2" not in aside[0][4] and "Other columns of this row" in aside[1][4]
    assert "outcome" in aside[1][4]
    (note,) = rows(con, "SELECT message FROM ingest_notes WHERE note_code = 'control_characters'")
    assert "team (1)" in note[0] and "referral_id (1)" in note[0]
    f = summary.file("dat_referrals")
    assert (f.rows_read, f.rows_loaded, f.rows_set_aside) == (6, 4, 2)


def test_the_limits_are_data_with_a_reason_for_each():
    """Every limit is in workbook.yaml under a comment (its block) saying why the value."""
    lines = (Path(__file__).resolve().parent.parent / "pipelines/ingest/workbook.yaml").read_text()
    lines = lines.splitlines()
    for field in dataclasses.fields(limits()):
        at = next(i for i, line in enumerate(lines) if line.startswith(f"{field.name}:"))
        block = []
        while at > 0 and lines[at - 1].strip():
            at -= 1
            block.append(lines[at])
        assert any(line.startswith("#") for line in block), field.name


# --- any damage: a problem, never a traceback -----------------------------------------------------


def _mutations(seed: int, parts: dict[str, bytes]) -> dict[str, bytes]:
    """One random damage to one part of a workbook (seeded)."""
    import random

    rnd = random.Random(seed)
    name = rnd.choice(sorted(parts))
    data = bytearray(parts[name])
    i = rnd.randrange(len(data))
    j = min(len(data), i + rnd.randrange(1, 200))
    kind = rnd.randrange(8)
    if kind == 0:
        del data[i:j]
    elif kind == 1:
        data[i:i] = data[i:j]
    elif kind == 2:
        data[i] = rnd.randrange(256)
    elif kind == 3:
        data[i:i] = rnd.choice([b"_x0001_", b"&#10;", b"\n", b"<", b">", b'"', b"&amp;"])
    elif kind == 4:
        data[i:i] = b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'
    elif kind == 5:
        numbers = list(re.finditer(rb"[0-9]+", data)) or [re.match(rb"", data)]
        m = rnd.choice(numbers)
        assert m is not None
        data[m.start() : m.end()] = str(rnd.randrange(10**9)).encode()
    elif kind == 6:
        data = data[:i]
    else:
        data[i:i] = b'<c r="B2" t="s"><v>99999</v></c>'
    return {**parts, name: bytes(data)}


@pytest.mark.parametrize("seed", range(120))
def test_a_damaged_workbook_is_a_problem_or_a_read_never_a_traceback(tmp_path, seed):
    base = write_workbook(
        tmp_path / "base.xlsx",
        {
            "Notes": sheet_xml([["Extract of 01/02/2013"]]),
            "dat_referrals": sheet_xml(
                [["DAT referrals"], HEADER]
                + [dat_values(i, child_id=f"CHILD{i}") for i in range(1, 4)],
                shared={"DAT1": 0, "IA": 1, "2A": 2},
            ),
        },
        strings=["DAT1", "IA", "2A"],
    )
    with zipfile.ZipFile(base) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    path = tmp_path / "dat_referrals.xlsx"
    if seed % 10 == 9:  # damage the zip itself
        data = bytearray(base.read_bytes())
        k = seed * 7919 % len(data)
        path.write_bytes(bytes(data[:k]) if seed % 20 == 9 else bytes(data[:k]) + b"\0" + data[k:])
    else:
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
            for name, data in _mutations(seed, parts).items():
                z.writestr(name, data)
    source, problems, seconds = inspect(path)
    assert seconds < 5
    assert source is not None or problems  # a read may still find header problems
    for msg in problems:
        assert msg.startswith("dat_referrals.xlsx: ") and "CHILD" not in msg
    if source is not None:
        for row, cells in source.xlsx_rows or []:
            assert row >= 2 and all(c is None or not _CONTROL.search(c) for c in cells)


def test_a_table_that_starts_below_and_right_of_a1_keeps_its_cells(tmp_path):
    """Nothing in column A or rows 1-2: calamine's range starts at C3, Excel's numbers stay."""
    table = [[], [], [None, None, *HEADER], [None, None, *dat_values(1)]]
    path = _openpyxl_workbook(tmp_path / "dat_referrals.xlsx", {"Sheet1": table})
    source, problems, _ = inspect(path)
    assert problems == [] and source is not None
    assert (source.header_row, source.first_column) == (3, 2)
    ((row, cells),) = source.xlsx_rows or []
    assert row == 4 and cells[source.columns["referral_id"]] == "R1"
    assert cells[source.columns["team"]] == "DAT1"
    assert column_letters(source.first_column + source.columns["referral_id"]) == "C"


def test_a_sheet_name_with_a_line_break_is_shown_on_one_line(tmp_path):
    name = "Data\u2028sheet"  # a line separator (XML allows no C0 control in a name)
    path = write_workbook(
        tmp_path / "dat_referrals.xlsx", {name: sheet_xml([HEADER, dat_values(1)])}
    )
    source, problems, _ = inspect(path)
    assert problems == [] and source is not None and source.sheet == "Data sheet"
    assert all(not _CONTROL.search(n.message) for n in source.notes)

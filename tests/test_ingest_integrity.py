"""Ingestion is safe with any CSV file: records are what the file says, lines are counted.

Hand-written messy files of the shapes real exports take: stray quotes that merge or swallow
records, missing or broken header lines, blank lines, footer lines, Excel error values in ID
columns, UTF-16 'Unicode Text', mixed line endings and odd file names. Each asserts what a data
officer sees (the file's line numbers) and that no raw ID or date of birth reaches a message or a
table outside staging.
"""

from __future__ import annotations

import pytest

from pipelines.errors import PipelineError
from pipelines.ingest import records
from pipelines.ingest.stage import fill
from tests.ingest_helpers import DAT_HEADER, dat_file, dat_row, delivery, rows, run_ingest

# Raw values that must never leave staging: child IDs and dates of birth (distinctive, so a
# substring search over every table and message cannot miss them).
KIDS = [(f"R{i}", f"CHILD9{i:03d}", f"2011-03-{i:02d}") for i in range(1, 9)]
RAW = [c for _, c, _ in KIDS] + [d for _, _, d in KIDS]


def kid_rows(**changes: dict[str, str]) -> list[str]:
    """One DAT row per child of KIDS; ``changes`` maps a referral ID to dat_row arguments."""
    return [
        dat_row(r, c, dob=d, **changes.get(r, {}))  # type: ignore[arg-type]
        for r, c, d in KIDS
    ]


def assert_no_raw(text: str) -> None:
    for value in RAW:
        assert value not in text, value


def load_error(raw, tmp_path) -> str:
    with pytest.raises(PipelineError) as exc:
        run_ingest(raw, tmp_path)
    message = str(exc.value)
    assert "Traceback" not in message
    assert_no_raw(message)
    return message


# ---------------------------------------------------------------------------------------------
# Stray quotes: merged and swallowed records stop the run, naming the lines


def test_stray_quote_merging_two_records_stops_the_run(tmp_path):
    # A quote opens the team field on line 3 (R2) and closes on line 4 (R3): one record of two.
    lines = kid_rows(R2={"team": '"DAT1'}, R3={"team": 'DAT2"'})
    raw = delivery(tmp_path, {"dat_referrals.csv": dat_file(*lines)})
    message = load_error(raw, tmp_path)
    assert "dat_referrals.csv" in message
    assert "lines 3-4" in message and "closed in line 4" in message and "team" in message
    # The run stopped before writing a curated table with the merged value, and the message says
    # nothing was loaded: no warehouse is kept at all.
    assert "nothing was loaded" in message
    assert not (tmp_path / "w.duckdb").exists()


def test_stray_quote_in_workforce_team_never_publishes_staff_ids(tmp_path):
    header = "post_id,snapshot_date,team,role,status,staff_id,qualified_date,caseload"
    text = (
        f"{header}\n"
        'P1,2012-03-31,"DAT1,SW,FILLED,STAFF9001,2009-07-01,12\n'
        'P2,2012-03-31,DAT2",SW,FILLED,STAFF9002,2010-07-01,14\n'
        "P3,2012-03-31,DAT3,SW,FILLED,STAFF9003,2011-07-01,9\n"
    )
    raw = delivery(tmp_path, {"workforce_posts.csv": text})
    with pytest.raises(PipelineError) as exc:
        run_ingest(raw, tmp_path)
    message = str(exc.value)
    assert "workforce_posts.csv" in message and "lines 2-3" in message
    assert "STAFF900" not in message and "2009-07-01" not in message


def test_stray_quote_swallowing_the_rest_of_a_long_file(tmp_path):
    many = [dat_row(f"R{i}", f"CHILD{i:05d}", dob="2011-03-01") for i in range(1, 2001)]
    many[3] = dat_row("R4", "CHILD00004", dob="2011-03-01", team='"DAT1')  # line 5
    raw = delivery(tmp_path, {"dat_referrals.csv": dat_file(*many)})
    with pytest.raises(PipelineError) as exc:
        run_ingest(raw, tmp_path)
    message = str(exc.value)
    assert "lines 5-2001" in message and "never closed" in message
    assert "CHILD0" not in message and "2011-03-01" not in message


def test_quote_swallowing_records_in_a_column_outside_the_contract(tmp_path):
    # Multi-line text outside the contract is allowed, but not when its lines look like records.
    lines = [f"{row},ok" for row in kid_rows()]
    lines[2] = kid_rows()[2] + ',"never closed'
    raw = delivery(tmp_path, {"dat_referrals.csv": dat_file(*lines, header=DAT_HEADER + ",notes")})
    message = load_error(raw, tmp_path)
    assert "lines 4-9" in message and "column 17" in message and "'notes'" in message


def test_multi_line_text_outside_the_contract_loads_with_true_line_numbers(tmp_path):
    lines = [f"{row}," for row in kid_rows(R6={"referral_date": "bad"})]
    lines[1] = kid_rows()[1] + ',"first line\nsecond, line\n\nfourth"'  # lines 3-6
    raw = delivery(tmp_path, {"dat_referrals.csv": dat_file(*lines, header=DAT_HEADER + ",notes")})
    summary, con = run_ingest(raw, tmp_path)
    got = rows(con, "SELECT referral_id, _row FROM stg_dat_referrals")
    assert got == [("R1", 2), ("R2", 3), ("R3", 7), ("R4", 8), ("R5", 9), ("R7", 11), ("R8", 12)]
    assert rows(con, 'SELECT "row", reason_code FROM set_aside') == [(10, "invalid_date")]
    f = summary.file("dat_referrals")
    assert (f.rows_read, f.rows_loaded, f.rows_set_aside, f.rows_blank) == (8, 7, 1, 0)


def test_several_broken_files_are_reported_together(tmp_path):
    reviews = 'review_id,registration_id,review_date\nV1,G1,"2012-07-20\nV2,G1,2012-08-20\n'
    lines = kid_rows(R2={"team": '"DAT1'}, R3={"team": 'DAT2"'})
    raw = delivery(tmp_path, {"dat_referrals.csv": dat_file(*lines), "cpr_reviews.csv": reviews})
    message = load_error(raw, tmp_path)
    assert "dat_referrals.csv" in message and "cpr_reviews.csv" in message
    assert "column review_date" in message


# ---------------------------------------------------------------------------------------------
# Header lines: never printed when they hold values


@pytest.mark.parametrize("content", [",,,,", ",,,\n  \n,,,\n", "\t\n", "\r\n\r\n"])
def test_file_of_only_separators_is_empty(tmp_path, content):
    raw = delivery(tmp_path, {"cpr_reviews.csv": content})
    message = load_error(raw, tmp_path)
    assert "cpr_reviews.csv: the file is empty" in message


def test_missing_header_line_is_named_without_printing_the_line(tmp_path):
    lines = kid_rows()
    raw = delivery(tmp_path, {"dat_referrals.csv": dat_file(*lines[1:], header=lines[0])})
    message = load_error(raw, tmp_path)
    assert "looks like data, not a header" in message and "dat_referrals.csv" in message
    assert "R1" not in message.replace("R1,", "")  # the first record is not printed


def test_stray_quote_in_the_header_of_a_large_file(tmp_path):
    big = [dat_row(f"R{i}", f"CHILD{i:05d}", dob="2011-03-01") for i in range(1, 3001)]
    header = DAT_HEADER.replace("sex", '"sex')
    raw = delivery(tmp_path, {"dat_referrals.csv": dat_file(*big, header=header)})
    message = load_error(raw, tmp_path)
    assert "line 1 (the header)" in message and "quote" in message
    assert "CHILD0" not in message and "2011-03-01" not in message


def test_headers_that_look_like_values_are_not_printed(tmp_path):
    header = DAT_HEADER + ",CHILD9001,2011-03-01"
    lines = [f"{row},x,y" for row in kid_rows()]
    raw = delivery(tmp_path, {"dat_referrals.csv": dat_file(*lines, header=header)})
    _, con = run_ingest(raw, tmp_path)
    dropped = rows(con, "SELECT columns_dropped FROM load_log WHERE extract = 'dat_referrals'")
    notes = rows(con, "SELECT message FROM ingest_notes WHERE note_code = 'columns_dropped'")
    assert_no_raw(str(dropped) + str(notes))
    assert "column 17" in dropped[0][0] and "column 18" in dropped[0][0]


def test_missing_required_column_lists_names_not_values(tmp_path):
    header = DAT_HEADER.replace("referral_date", "CHILD9001")
    raw = delivery(tmp_path, {"dat_referrals.csv": dat_file(*kid_rows(), header=header)})
    message = load_error(raw, tmp_path)
    assert "required column referral_date is missing" in message
    assert "'child_id'" in message and "looks like a value, not shown" in message


def test_wrong_delimiter_message_shows_no_value(tmp_path):
    text = "\n".join(row.replace(",", ";") for row in kid_rows()) + "\n"
    raw = delivery(tmp_path, {"dat_referrals.csv": text})
    message = load_error(raw, tmp_path)
    assert "semicolons" in message


# ---------------------------------------------------------------------------------------------
# Real export shapes: blank lines, footers, Excel errors in IDs


def test_blank_lines_are_skipped_counted_and_rows_keep_their_line_numbers(tmp_path):
    lines = kid_rows(R4={"referral_date": "31/02/2012"})
    text = (
        "\n"  # line 1: blank, the header is on line 2
        + DAT_HEADER
        + "\n"
        + lines[0]
        + "\n\n"  # line 4: empty
        + ",,,,,,,,,,,,,,,\n"  # line 5: only commas, as Excel writes
        + lines[1]
        + "\n   \n"  # line 7: spaces
        + lines[2]
        + "\n"
        + lines[3]  # line 9: set aside
        + "\n\n\n"  # lines 10, 11: blank at the end
    )
    raw = delivery(tmp_path, {"dat_referrals.csv": text})
    summary, con = run_ingest(raw, tmp_path)
    assert rows(con, "SELECT referral_id, _row FROM stg_dat_referrals") == [
        ("R1", 3),
        ("R2", 6),
        ("R3", 8),
    ]
    assert rows(con, 'SELECT "row", "column", reason_code FROM set_aside') == [
        (9, "referral_date", "invalid_date")
    ]
    f = summary.file("dat_referrals")
    # every line after line 1 is read: 11 lines, 4 records and 6 blank lines (one above the header)
    assert (f.rows_read, f.rows_loaded, f.rows_set_aside, f.rows_blank) == (10, 3, 1, 6)
    log = rows(
        con,
        "SELECT rows_read, rows_loaded, rows_set_aside, rows_blank FROM load_log "
        "WHERE extract = 'dat_referrals'",
    )
    assert log == [(10, 3, 1, 6)]
    for read, loaded, aside, blank in rows(
        con, "SELECT rows_read, rows_loaded, rows_set_aside, rows_blank FROM load_log"
    ):
        assert read == loaded + aside + blank
    notes = dict(rows(con, "SELECT note_code, message FROM ingest_notes"))
    assert "4, 5, 7, 10, 11" in notes["blank_lines"]
    assert "line 2" in notes["header_line"]
    assert "blank" in summary.describe()


def test_blank_lines_and_malformed_rows_together(tmp_path):
    lines = kid_rows()
    text = dat_file(lines[0], "", "R9,C9", "", lines[1], lines[2] + ",extra", lines[3])
    raw = delivery(tmp_path, {"dat_referrals.csv": text})
    summary, con = run_ingest(raw, tmp_path)
    assert rows(con, "SELECT referral_id, _row FROM stg_dat_referrals") == [
        ("R1", 2),
        ("R2", 6),
        ("R4", 8),
    ]
    assert rows(con, 'SELECT "row", reason_code FROM set_aside ORDER BY "row"') == [
        (4, "wrong_field_count"),
        (7, "wrong_field_count"),
    ]
    f = summary.file("dat_referrals")
    assert f.rows_read == f.rows_loaded + f.rows_set_aside + f.rows_blank == 7


@pytest.mark.parametrize(
    "footer",
    ["Total: 8", "Total,8", "Count: 8,,,,,,,,,,,,,,,", "End of report", "Number of records 8"],
)
def test_footer_line_is_set_aside_as_a_warning(tmp_path, footer):
    raw = delivery(tmp_path, {"dat_referrals.csv": dat_file(*kid_rows(), footer, "")})
    summary, con = run_ingest(raw, tmp_path)
    assert rows(con, "SELECT count(*) FROM stg_dat_referrals") == [(8,)]
    got = rows(con, 'SELECT "row", "column", value, reason_code, reason FROM set_aside')
    assert [g[:4] for g in got] == [(10, None, None, "footer_line")]
    assert "Line 10" in got[0][4] and "footer" in got[0][4]
    f = summary.file("dat_referrals")
    assert (f.rows_read, f.rows_loaded, f.rows_set_aside, f.rows_blank) == (10, 8, 1, 1)


def test_footer_words_inside_the_file_are_not_footers(tmp_path):
    lines = kid_rows()
    raw = delivery(tmp_path, {"dat_referrals.csv": dat_file(lines[0], "Total: 1", *lines[1:])})
    _, con = run_ingest(raw, tmp_path)
    assert rows(con, 'SELECT "row", reason_code FROM set_aside') == [(3, "wrong_field_count")]


def test_excel_errors_and_formulas_in_id_columns_are_set_aside(tmp_path):
    lines = kid_rows()
    text = dat_file(
        dat_row("R1", "#N/A"),
        dat_row("R2", "#n/a"),
        dat_row("R3", "#REF!"),
        dat_row("=A4", "CHILD9004"),
        dat_row("R5", '"=VLOOKUP(A5,Sheet2!A:B,2,FALSE)"'),
        *lines[5:],
    )
    raw = delivery(tmp_path, {"dat_referrals.csv": text})
    _, con = run_ingest(raw, tmp_path)
    got = rows(con, 'SELECT "row", "column", value, reason_code FROM set_aside ORDER BY "row"')
    assert got == [
        (2, "child_id", "<withheld>", "not_an_id"),
        (3, "child_id", "<withheld>", "not_an_id"),
        (4, "child_id", "<withheld>", "not_an_id"),
        (5, "referral_id", "=A4", "not_an_id"),
        (6, "child_id", "<withheld>", "not_an_id"),
    ]
    assert rows(con, "SELECT referral_id FROM dat_referrals") == [("R6",), ("R7",), ("R8",)]
    assert all("Excel error" in r for (r,) in rows(con, "SELECT reason FROM set_aside"))


def test_ids_that_merely_start_with_a_hash_load(tmp_path):
    raw = delivery(tmp_path, {"dat_referrals.csv": dat_file(dat_row("R1", "#12345"))})
    _, con = run_ingest(raw, tmp_path)
    assert rows(con, "SELECT count(*) FROM dat_referrals") == [(1,)]


# ---------------------------------------------------------------------------------------------
# Encodings and line endings


def test_excel_unicode_text_utf16_tab_delimited(tmp_path):
    text = dat_file(*kid_rows(R2={"team": "Équipe – Est"})).replace(",", "\t")
    raw = delivery(tmp_path, {"dat_referrals.csv": text.encode("utf-16")})  # LE with a BOM
    summary, con = run_ingest(raw, tmp_path)
    assert rows(con, "SELECT team FROM dat_referrals WHERE referral_id = 'R2'") == [
        ("Équipe – Est",)
    ]
    f = summary.file("dat_referrals")
    assert f.encoding == "utf-16-le" and f.rows_loaded == 8
    note = rows(con, "SELECT message FROM ingest_notes WHERE note_code = 'encoding'")[0][0]
    assert "UTF-16" in note and "tabs" in note and "Unicode Text" in note


def test_utf16_big_endian_with_commas(tmp_path):
    data = b"\xfe\xff" + dat_file(*kid_rows()).encode("utf-16-be")
    raw = delivery(tmp_path, {"dat_referrals.csv": data})
    summary, _ = run_ingest(raw, tmp_path)
    f = summary.file("dat_referrals")
    assert f.encoding == "utf-16-be" and f.rows_loaded == 8


@pytest.mark.parametrize(
    "ends", [["\r\n", "\n", "\r\n", "\n"], ["\r", "\r", "\r", "\r"], ["\n", "\r", "\r\n", "\r"]]
)
def test_mixed_and_old_mac_line_endings(tmp_path, ends):
    lines = [DAT_HEADER, *kid_rows(R3={"referral_date": "bad"})[:4]]
    text = "".join(line + end for line, end in zip(lines, [*ends, "\n"], strict=True))
    raw = delivery(tmp_path, {"dat_referrals.csv": text})
    summary, con = run_ingest(raw, tmp_path)
    assert rows(con, "SELECT referral_id, _row FROM stg_dat_referrals") == [
        ("R1", 2),
        ("R2", 3),
        ("R4", 5),
    ]
    assert rows(con, 'SELECT "row" FROM set_aside') == [(4,)]
    assert rows(con, "SELECT count(*) FROM ingest_notes WHERE note_code = 'line_endings'") == [(1,)]
    assert (raw / "dat_referrals.csv").read_bytes() == text.encode()  # the file is unchanged


def test_windows_1252_with_blank_lines_and_crlf(tmp_path):
    lines = kid_rows(R2={"team": "Équipe"})
    text = "\r\n".join([DAT_HEADER, lines[0], "", lines[1], ",,,", lines[2]]) + "\r\n"
    raw = delivery(tmp_path, {"dat_referrals.csv": text.encode("cp1252")})
    summary, con = run_ingest(raw, tmp_path)
    assert rows(con, "SELECT referral_id, team, _row FROM stg_dat_referrals") == [
        ("R1", "DAT1", 2),
        ("R2", "Équipe", 4),
        ("R3", "DAT1", 6),
    ]
    assert summary.file("dat_referrals").rows_blank == 2


# ---------------------------------------------------------------------------------------------
# File names and SQL templates


@pytest.mark.parametrize(
    "name",
    ["dat_referrals_{table}.csv", "dat_referrals {file}'s copy [1].csv", "dat_referrals*?.csv"],
)
def test_odd_file_names_load(tmp_path, name):
    raw = delivery(tmp_path, {"dat_referrals.csv": None, name: dat_file(*kid_rows())})
    summary, con = run_ingest(raw, tmp_path)
    assert summary.file("dat_referrals").file == name
    assert rows(con, "SELECT DISTINCT _file FROM dat_referrals") == [(name,)]
    assert rows(con, "SELECT count(*) FROM dat_referrals") == [(8,)]


def test_fill_is_one_pass_and_refuses_unknown_placeholders():
    assert fill("SELECT {a}, {b}", a="'{b}'", b="2") == "SELECT '{b}', 2"
    assert fill(r"regexp '\d{4}' {a}", a="x") == r"regexp '\d{4}' x"
    with pytest.raises(ValueError, match="missing"):
        fill("SELECT {missing}", a="1")


# ---------------------------------------------------------------------------------------------
# The line bookkeeping on its own


def test_blank_lines_and_line_map():
    text = "h\n\na\n,,\n  \nb\nc\n\n"
    assert records.line_count(text) == 8
    blanks = records.blank_lines(text, ",")
    assert blanks == [2, 4, 5, 8]
    body = records.without_blank_lines(text, ",")
    assert body.split("\n")[:4] == ["h", "a", "b", "c"]
    line_map = records.blank_line_map(blanks)
    # work copy lines: h=1 a=2 b=3 c=4 -> physical 1, 3, 6, 7
    assert [records.physical_line(line_map, c) for c in (1, 2, 3, 4)] == [1, 3, 6, 7]
    assert records.blank_lines("\n\nh\nx", ",") == [1, 2]
    assert records.blank_lines("h\r\n\r\nx\r\n", ",") == [2]
    assert records.blank_lines("h\tx\n\t\t\n", "\t") == [2]


def test_line_endings_normalised_only_when_mixed():
    assert records.normalise_newlines("a\r\nb\r\n") == ("a\r\nb\r\n", None)
    assert records.normalise_newlines("a\nb\n") == ("a\nb\n", None)
    assert records.normalise_newlines("a\rb\r")[0] == "a\nb\n"
    assert records.normalise_newlines("a\r\nb\nc\r")[0] == "a\nb\nc\n"


def test_row_numbers_stay_true_when_a_large_file_is_read_in_parallel(tmp_path):
    # Over about 16 MB DuckDB reads a file in parallel; the rows must still reach staging in file
    # order, since the table's rowid gives each record its line (the code columns once made a
    # join that reordered them). Long values in a column outside the contract make the file
    # large with few rows.
    pad = "x" * 1200
    n = 15_000
    lines = ["assessment_id,ifss_referral_id,assessment_date,stage,domain,risk_score,notes"]
    for i in range(2, n + 2):
        date = "bad" if i == n - 5 else "2012-05-12"
        lines.append(f"A{i},I1,{date},START,PARENTING,5,{pad}")
    lines.insert(n - 100, "")  # a blank line near the end shifts the lines after it
    raw = delivery(tmp_path, {"ifss_distance_travelled.csv": "\n".join(lines) + "\n"})
    summary, con = run_ingest(raw, tmp_path)
    got = rows(con, "SELECT assessment_id, _row FROM stg_ifss_distance_travelled")
    assert len(got) == n - 1
    wrong = [(v, r) for v, r in got if int(v[1:]) + (1 if int(v[1:]) > n - 100 else 0) != r]
    assert not wrong, wrong[:5]
    assert rows(con, 'SELECT "row", reference FROM set_aside') == [(n - 4, f"A{n - 5}")]
    assert summary.file("ifss_distance_travelled").rows_blank == 1


def test_a_megabyte_value_is_set_aside_and_never_copied(tmp_path):
    huge = "x" * 1_048_576
    raw = delivery(
        tmp_path,
        {"dat_referrals.csv": dat_file(dat_row("R1", "C1"), dat_row("R2", "C2", team=huge))},
    )
    summary, con = run_ingest(raw, tmp_path)
    f = summary.file("dat_referrals")
    assert (f.rows_read, f.rows_loaded, f.rows_set_aside) == (2, 1, 1)
    ((row, column, value, code, reference),) = rows(
        con, 'SELECT "row", "column", value, reason_code, reference FROM set_aside'
    )
    assert (row, column, code, reference) == (3, "team", "cell_too_large", "R2")
    assert value == "<1,048,576 characters>"
    longest = rows(con, "SELECT max(length(reason)) FROM set_aside")[0][0]
    assert longest < 400

"""Ingestion: value formats, encodings, aliases, pseudonymisation, reconciliation, errors."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import subprocess
import sys

import pytest

from pipelines.errors import PipelineError
from tests.ingest_helpers import DAT_HEADER, ROOT, dat_file, dat_row, delivery, rows, run_ingest

# ---------------------------------------------------------------------------------------------
# Basic load: the warehouse interface of docs/ARCHITECTURE.md


def test_basic_delivery_loads_every_table(tmp_path):
    summary, con = run_ingest(delivery(tmp_path), tmp_path)
    tables = {r[0] for r in rows(con, "SELECT table_name FROM information_schema.tables")}
    for extract in [
        "dat_referrals",
        "cpr_registrations",
        "cpr_reviews",
        "ifss_referrals",
        "ifss_distance_travelled",
    ]:
        assert {extract, f"stg_{extract}"} <= tables
    assert {"load_log", "set_aside", "ingest_notes"} <= tables
    assert not any(t.startswith("workforce") for t in tables)  # optional and absent: no tables
    types = dict(
        rows(
            con,
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_name = 'stg_cpr_registrations'",
        )
    )
    assert types["category"] == "VARCHAR[]"
    assert types["registration_date"] == "DATE"
    assert types["previous_registrations"] == "INTEGER"
    assert types["_row"] == "INTEGER"
    dat_types = dict(
        rows(
            con,
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_name = 'dat_referrals'",
        )
    )
    assert dat_types["domestic_abuse"] == "BOOLEAN"
    assert "date_of_birth" not in dat_types
    assert list(dat_types)[-4:] == ["age_years", "age_band", "_file", "_row"]
    assert rows(con, "SELECT category FROM cpr_registrations") == [(["NEG", "EMO"],)]
    assert summary.file("dat_referrals").rows_loaded == 2
    assert "dat_referrals.csv" in summary.describe()


def test_staging_columns_in_contract_order(tmp_path):
    from pipelines.contract import extracts

    _, con = run_ingest(delivery(tmp_path), tmp_path)
    for extract, spec in extracts().items():
        if not spec["required"]:
            continue
        cols = [
            r[0]
            for r in rows(
                con,
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_name = ? ORDER BY ordinal_position",
                [f"stg_{extract}"],
            )
        ]
        assert cols == [*spec["columns"], "_file", "_row"]


# ---------------------------------------------------------------------------------------------
# Dates


DATE_FORMS = [
    ("2012-04-03", dt.date(2012, 4, 3)),
    ("03/04/2012", dt.date(2012, 4, 3)),  # day first, never month first
    ("3/4/2012", dt.date(2012, 4, 3)),
    ("13/04/2012", dt.date(2012, 4, 13)),
    ("03-04-2012", dt.date(2012, 4, 3)),
    (" 2012-04-03 ", dt.date(2012, 4, 3)),
    ("2012-04-03 00:00:00", dt.date(2012, 4, 3)),
    ("41002", dt.date(1899, 12, 30) + dt.timedelta(days=41002)),  # Excel serial day number
]
BAD_DATES = [
    "31/02/2012",
    "13/25/2012",
    "2012-02-30",
    "03/04/12",
    "April 2012",
    "123",
    "2012/04/03x",
]


@pytest.fixture(scope="module")
def dates_db(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dates")
    lines = [
        dat_row(f"D{i}", referral_date=text, decision_date="2012-05-01")
        for i, (text, _) in enumerate(DATE_FORMS)
    ]
    lines += [dat_row(f"B{i}", referral_date=text) for i, text in enumerate(BAD_DATES)]
    summary, con = run_ingest(delivery(tmp, {"dat_referrals.csv": dat_file(*lines)}), tmp)
    return summary, con


@pytest.mark.parametrize("i, text, expected", [(i, t, e) for i, (t, e) in enumerate(DATE_FORMS)])
def test_date_forms(dates_db, i, text, expected):
    _, con = dates_db
    assert rows(
        con, "SELECT referral_date FROM dat_referrals WHERE referral_id = ?", [f"D{i}"]
    ) == [(expected,)]


def test_excel_serial_is_reported(dates_db):
    _, con = dates_db
    assert rows(
        con, "SELECT count(*) FROM ingest_notes WHERE note_code = 'excel_serial_dates'"
    ) == [(1,)]


@pytest.mark.parametrize("i, text", list(enumerate(BAD_DATES)))
def test_impossible_dates_are_set_aside(dates_db, i, text):
    _, con = dates_db
    row = len(DATE_FORMS) + i + 2
    assert rows(
        con, 'SELECT "column", value, reason_code FROM set_aside WHERE "row" = ?', [row]
    ) == [("referral_date", text.strip(), "invalid_date")]


def test_dates_reconcile(dates_db):
    summary, con = dates_db
    f = summary.file("dat_referrals")
    assert (f.rows_read, f.rows_loaded, f.rows_set_aside) == (
        len(DATE_FORMS) + len(BAD_DATES),
        len(DATE_FORMS),
        len(BAD_DATES),
    )


def test_date_of_birth_is_withheld_in_set_aside(tmp_path):
    raw = delivery(tmp_path, {"dat_referrals.csv": dat_file(dat_row(dob="31/02/2010"))})
    _, con = run_ingest(raw, tmp_path)
    ((value, reason),) = rows(con, "SELECT value, reason FROM set_aside")
    assert value == "<withheld>"
    assert "31/02/2010" not in reason


# ---------------------------------------------------------------------------------------------
# Encodings


def test_utf8_bom(tmp_path):
    raw = delivery(tmp_path, {"dat_referrals.csv": b"\xef\xbb\xbf" + dat_file(dat_row()).encode()})
    summary, con = run_ingest(raw, tmp_path)
    assert rows(con, "SELECT referral_id FROM dat_referrals") == [("R9",)]
    assert summary.file("dat_referrals").encoding == "utf-8-bom"


def test_windows_1252(tmp_path):
    content = dat_file(dat_row(team="Équipe Caerphilly – East")).encode("cp1252")
    raw = delivery(tmp_path, {"dat_referrals.csv": content})
    summary, con = run_ingest(raw, tmp_path)
    assert rows(con, "SELECT team FROM dat_referrals") == [("Équipe Caerphilly – East",)]
    assert summary.file("dat_referrals").encoding == "windows-1252"
    assert rows(con, "SELECT encoding FROM load_log WHERE extract = 'dat_referrals'") == [
        ("windows-1252",)
    ]
    notes = rows(con, "SELECT message FROM ingest_notes WHERE note_code = 'encoding'")
    assert notes and "Windows-1252" in notes[0][0]
    assert (raw / "dat_referrals.csv").read_bytes() == content  # raw files never modified


def test_crlf_and_quoted_commas_and_newlines(tmp_path):
    # A line break is legitimate only outside the contract (here a notes column, never loaded).
    text = (
        DAT_HEADER
        + ",notes\r\n"
        + dat_row("R1", team='"DAT1, north"')
        + ",\r\n"
        + dat_row("R2")
        + ',"multi\r\nline"\r\n'
        + dat_row("R3", referral_date="bad")
        + ",\r\n"
    )
    raw = delivery(tmp_path, {"dat_referrals.csv": text})
    _, con = run_ingest(raw, tmp_path)
    assert rows(con, "SELECT referral_id, team, _row FROM stg_dat_referrals") == [
        ("R1", "DAT1, north", 2),
        ("R2", "DAT1", 3),
    ]
    assert rows(con, 'SELECT "row" FROM set_aside') == [(5,)]  # the physical line, not record + 1


# ---------------------------------------------------------------------------------------------
# Headers


@pytest.mark.parametrize(
    "renames",
    [
        {
            "referral_id": "Referral ID",
            "child_id": "Child ID",
            "date_of_birth": "DOB",
            "referral_date": "Date of Referral",
            "referral_source": "Source of Referral",
            "outcome": "Referral Outcome",
            "domestic_abuse": "Domestic-Abuse",
        },
        {
            "date_of_birth": "Date of Birth",
            "referral_date": "REFERRAL-DATE",
            "child_seen": " child  seen ",
            "team": "Team Name",
        },
    ],
)
def test_header_alias_forms(tmp_path, renames):
    header = ",".join(renames.get(h, h) for h in DAT_HEADER.split(","))
    raw = delivery(tmp_path, {"dat_referrals.csv": dat_file(dat_row(), header=header)})
    _, con = run_ingest(raw, tmp_path)
    assert rows(
        con,
        "SELECT referral_id, child_id IS NOT NULL, referral_date, outcome, domestic_abuse, "
        "team, age_years "
        "FROM dat_referrals",
    ) == [("R9", True, dt.date(2012, 4, 3), "IA", True, "DAT1", 1)]
    aliased = {
        r[0] for r in rows(con, "SELECT message FROM ingest_notes WHERE note_code = 'header_alias'")
    }
    assert len(aliased) == sum(
        1
        for k, v in renames.items()
        if v.lower().replace(" ", "").replace("-", "") != k.replace("_", "")
    )


def test_extra_columns_dropped_and_reported(tmp_path):
    header = DAT_HEADER + ",Child Name,Address"
    raw = delivery(
        tmp_path,
        {
            "dat_referrals.csv": dat_file(
                dat_row() + ',Alice Smith,"1 High Street, Newport"',
                dat_row("R8", referral_date="bad") + ",Bob Jones,2 Low Road",
                header=header,
            )
        },
    )
    summary, con = run_ingest(raw, tmp_path)
    assert summary.file("dat_referrals").columns_dropped == ("Child Name", "Address")
    assert rows(con, "SELECT columns_dropped FROM load_log WHERE extract = 'dat_referrals'") == [
        ("Child Name, Address",)
    ]
    assert rows(con, "SELECT count(*) FROM ingest_notes WHERE note_code = 'columns_dropped'") == [
        (1,)
    ]
    assert _find_anywhere(con, ["Alice", "Smith", "High Street", "Bob Jones", "Low Road"]) == []


def test_missing_optional_column_loads_as_blank(tmp_path):
    header = DAT_HEADER.replace(",team", "")
    raw = delivery(
        tmp_path, {"dat_referrals.csv": dat_file(dat_row().rsplit(",", 1)[0], header=header)}
    )
    _, con = run_ingest(raw, tmp_path)
    assert rows(con, "SELECT team FROM dat_referrals") == [(None,)]
    assert rows(con, "SELECT count(*) FROM ingest_notes WHERE note_code = 'column_missing'") == [
        (1,)
    ]


# ---------------------------------------------------------------------------------------------
# Yes/no, codes, IDs


YES_NO = [
    ("Y", True),
    ("y", True),
    ("Yes", True),
    ("YES", True),
    ("TRUE", True),
    ("true", True),
    ("1", True),
    ("N", False),
    ("no", False),
    ("False", False),
    ("0", False),
    ("", None),
    ("  ", None),
]
CODES = [
    ("2A", "IA", "M", ("2A", "IA", "M")),
    (" 2a ", "ia", "f", ("2A", "IA", "F")),
    ("Schools", "No further action", "Male", ("2A", "NFA", "M")),
    ("POLICE", "no  further action", "female", ("6", "NFA", "F")),
    ("Individual – self", "NFA letter", "Unknown", ("1C", "NFA_LETTER", "U")),
    ("Individual - self", "nfa_letter", "u", ("1C", "NFA_LETTER", "U")),
    ("Housing", "Section 47", "U", ("4", "S47", "U")),
]
AGES = [
    ("2012-04-03", 0, "0-2"),  # born on the referral date
    ("2012-04-04", None, "UNBORN"),
    ("", None, "UNKNOWN"),
    ("2009-04-03", 3, "3-5"),
    ("2009-04-04", 2, "0-2"),  # birthday tomorrow
    ("2000-04-03", 12, "12-17"),
    ("1994-04-03", 18, "18+"),
    ("1994-04-04", 17, "12-17"),
    ("2004-02-29", 8, "6-8"),
]


@pytest.fixture(scope="module")
def values_db(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("values")
    lines = [dat_row(f"Y{i}", yesno=text) for i, (text, _) in enumerate(YES_NO)]
    lines += [dat_row(f"K{i}", source=s, outcome=o, sex=x) for i, (s, o, x, _) in enumerate(CODES)]
    lines += [dat_row(f"A{i}", dob=dob) for i, (dob, _, _) in enumerate(AGES)]
    return run_ingest(delivery(tmp, {"dat_referrals.csv": dat_file(*lines)}), tmp)[1]


@pytest.mark.parametrize("i, text, expected", [(i, t, e) for i, (t, e) in enumerate(YES_NO)])
def test_yes_no_forms(values_db, i, text, expected):
    assert rows(
        values_db, "SELECT domestic_abuse FROM dat_referrals WHERE referral_id = ?", [f"Y{i}"]
    ) == [(expected,)]


@pytest.mark.parametrize(
    "i, source, outcome, sex, expected", [(i, *c) for i, c in enumerate(CODES)]
)
def test_codes_and_labels(values_db, i, source, outcome, sex, expected):
    assert rows(
        values_db,
        "SELECT referral_source, outcome, sex FROM dat_referrals WHERE referral_id = ?",
        [f"K{i}"],
    ) == [expected]


@pytest.mark.parametrize("i, dob, years, band", [(i, *a) for i, a in enumerate(AGES)])
def test_age_at_referral(values_db, i, dob, years, band):
    assert rows(
        values_db, "SELECT age_years, age_band FROM dat_referrals WHERE referral_id = ?", [f"A{i}"]
    ) == [(years, band)]


def test_values_all_loaded(values_db):
    assert rows(values_db, "SELECT count(*) FROM set_aside") == [(0,)]


def test_yes_no_unreadable_is_set_aside(tmp_path):
    raw = delivery(tmp_path, {"dat_referrals.csv": dat_file(dat_row(yesno="maybe"))})
    _, con = run_ingest(raw, tmp_path)
    assert rows(con, 'SELECT "column", value, reason_code FROM set_aside') == [
        ("domestic_abuse", "maybe", "invalid_yesno")
    ]


def test_unknown_code_is_set_aside(tmp_path):
    raw = delivery(
        tmp_path, {"dat_referrals.csv": dat_file(dat_row("R1"), dat_row("R2", source="Zebra"))}
    )
    _, con = run_ingest(raw, tmp_path)
    ((row, column, value, code, reason),) = rows(
        con, 'SELECT "row", "column", value, reason_code, reason FROM set_aside'
    )
    assert (row, column, value, code) == (3, "referral_source", "Zebra", "unknown_code")
    assert "aliases.yaml" in reason


def test_code_list_labels_sorted_and_deduplicated(tmp_path):
    header, row = (
        BASIC_CPR := (ROOT / "tests/fixtures/ingest/basic/cpr_registrations.csv")
        .read_text()
        .splitlines()
    )[:2]
    del BASIC_CPR
    row2 = row.replace("G1,", "G2,").replace("NEG;EMO", "emotional abuse; neg ;NEG;Financial")
    row3 = row.replace("G1,", "G3,").replace("NEG;EMO", "NEG;XYZ")
    raw = delivery(tmp_path, {"cpr_registrations.csv": "\n".join([header, row, row2, row3]) + "\n"})
    _, con = run_ingest(raw, tmp_path)
    assert rows(con, "SELECT registration_id, category FROM cpr_registrations") == [
        ("G1", ["NEG", "EMO"]),
        ("G2", ["NEG", "EMO", "FIN"]),
    ]
    assert rows(con, 'SELECT "row", reason_code FROM set_aside') == [(4, "unknown_code")]


def test_aliases_are_unambiguous_and_valid():
    from pipelines.contract import code_lists, extracts
    from pipelines.ingest.aliases import aliases, ambiguous_labels, norm_header

    data = aliases()
    for code_list, labels in data["codes"].items():
        assert code_list in code_lists()
        # A label that is also a code of the list is never read as a label (VACANT in post_status).
        assert [a for a in ambiguous_labels(code_list) if a not in code_lists()[code_list]] == []
        for code in labels.values():
            assert str(code) in code_lists()[code_list]
    for extract, spec in extracts().items():
        seen: dict[str, str] = {}
        for column, names in data["headers"].items():
            if column in spec["columns"]:
                for name in names:
                    assert seen.setdefault(norm_header(name), column) == column, (extract, name)


def test_ids_trimmed_and_upper_cased(tmp_path):
    raw = delivery(
        tmp_path, {"dat_referrals.csv": dat_file(dat_row(" r1 ", "ab12 "), dat_row("R2", "AB12"))}
    )
    _, con = run_ingest(raw, tmp_path)
    (id1, c1), (id2, c2) = rows(
        con, "SELECT referral_id, child_id FROM dat_referrals ORDER BY _row"
    )
    assert (id1, id2) == ("R1", "R2")
    assert c1 == c2


def test_blank_required_value_is_set_aside(tmp_path):
    raw = delivery(
        tmp_path, {"dat_referrals.csv": dat_file(dat_row("R1", child_id="  "), dat_row("R2"))}
    )
    _, con = run_ingest(raw, tmp_path)
    assert rows(con, 'SELECT "row", "column", value, reason_code FROM set_aside') == [
        (2, "child_id", "<withheld>", "blank_required")
    ]


def test_integers_out_of_range_loaded_text_set_aside(tmp_path):
    text = (
        "assessment_id,ifss_referral_id,assessment_date,stage,domain,risk_score\n"
        "A1,I1,2012-05-12,START,PARENTING,11\nA1,I1,2012-05-12,START,ANGER,six\n"
        "A1,I1,2012-05-12,START,BOUNDARIES,3.5\nA1,I1,2012-05-12,Start,Home conditions,4.0\n"
    )
    raw = delivery(tmp_path, {"ifss_distance_travelled.csv": text})
    _, con = run_ingest(raw, tmp_path)
    assert rows(con, "SELECT domain, risk_score FROM ifss_distance_travelled") == [
        ("PARENTING", 11),
        ("HOME_CONDITIONS", 4),
    ]
    assert rows(con, 'SELECT "row", value, reason_code FROM set_aside') == [
        (3, "six", "invalid_integer"),
        (4, "3.5", "invalid_integer"),
    ]


def test_duplicate_ids_are_loaded(tmp_path):
    raw = delivery(tmp_path, {"dat_referrals.csv": dat_file(dat_row("R1"), dat_row("R1"))})
    _, con = run_ingest(raw, tmp_path)
    assert rows(con, "SELECT count(*) FROM dat_referrals") == [(2,)]


# ---------------------------------------------------------------------------------------------
# Pseudonymisation


def _find_anywhere(con, needles: list[str]) -> list[tuple[str, str, str]]:
    """(table, column, needle) for every needle found in any VARCHAR or VARCHAR[] column."""
    hits = []
    cols = rows(
        con,
        "SELECT table_name, column_name, data_type FROM information_schema.columns "
        "WHERE data_type IN ('VARCHAR', 'VARCHAR[]')",
    )
    for table, column, dtype in cols:
        expr = f'"{column}"' if dtype == "VARCHAR" else f"array_to_string(\"{column}\", ';')"
        for needle in needles:
            n = rows(
                con,
                f'SELECT count(*) FROM "{table}" WHERE upper({expr}) LIKE ?',
                [f"%{needle.upper()}%"],
            )[0][0]
            if n:
                hits.append((table, column, needle))
    return hits


def test_no_raw_ids_anywhere(tmp_path):
    raw = delivery(
        tmp_path,
        {
            "dat_referrals.csv": dat_file(
                dat_row("R1", "CHILDQX1"),
                dat_row("R2", "childqx2 ", referral_date="31/02/2012"),
                dat_row("R3", "CHILDQX3", dob="1/13/2010"),
            )
        },
    )
    _, con = run_ingest(raw, tmp_path)
    assert rows(con, "SELECT count(*) FROM set_aside") == [(2,)]
    raw_ids = [
        "CHILDQX1",
        "CHILDQX2",
        "CHILDQX3",
        "C1",
        "F1",
    ]  # C1, F1 from the basic fixture files
    hits = [
        h for h in _find_anywhere(con, raw_ids) if not (h[2] in {"C1", "F1"} and h[1] in {"sha256"})
    ]
    # C1/F1 are short: check exact matches for them instead of substrings of hex pseudonyms.
    hits = [h for h in hits if h[2] not in {"C1", "F1"}]
    assert hits == []
    for table, column, _ in rows(
        con,
        "SELECT table_name, column_name, data_type FROM information_schema.columns "
        "WHERE data_type = 'VARCHAR'",
    ):
        assert rows(
            con, f"SELECT count(*) FROM \"{table}\" WHERE \"{column}\" IN ('C1', 'F1')"
        ) == [(0,)], (table, column)


def test_pseudonyms_stable_keyed_and_hmac(tmp_path):
    raw = delivery(tmp_path)
    key_a = tmp_path / "a.key"
    _, con1 = run_ingest(raw, tmp_path, "one.duckdb", key=key_a)
    _, con2 = run_ingest(raw, tmp_path, "two.duckdb", key=key_a)
    _, con3 = run_ingest(raw, tmp_path, "three.duckdb", key=tmp_path / "b.key")
    q = "SELECT child_id FROM dat_referrals ORDER BY _row"
    assert rows(con1, q) == rows(con2, q)
    assert rows(con1, q) != rows(con3, q)
    key = bytes.fromhex(key_a.read_text().strip())
    assert len(key) == 32
    expected = hmac.new(key, b"C1", hashlib.sha256).hexdigest()[:16]
    assert rows(con1, q)[0] == (expected,)
    # child C1 links across extracts
    assert rows(con1, "SELECT child_id FROM cpr_registrations") == [(expected,)]


def test_key_created_with_message(tmp_path, capsys):
    key = tmp_path / "secrets" / "k.key"
    run_ingest(delivery(tmp_path), tmp_path, key=key)
    out = capsys.readouterr().out
    assert str(key) in out and "Keep this file safe" in out
    assert key.stat().st_mode & 0o077 == 0
    capsys.readouterr()
    run_ingest(delivery(tmp_path, name="raw2"), tmp_path, "again.duckdb", key=key)
    assert "Created" not in capsys.readouterr().out


# ---------------------------------------------------------------------------------------------
# Reconciliation, malformed rows, idempotence


def test_reconciliation_with_bad_rows(tmp_path):
    text = (
        dat_file(
            dat_row("R1"),
            dat_row("R2", team='"two, lines"'),
            dat_row("R3", referral_date="31/02/2012"),
            dat_row("R4", source="Zebra", referral_date="nope"),
            "R5,C5,2010-01-01,M",  # too few fields
            dat_row("R6") + ",extra",  # too many fields
            dat_row("R7"),
        )
        + "R8,C8,2010-01-01,M,2012-0"
    )  # truncated last line, no newline
    raw = delivery(tmp_path, {"dat_referrals.csv": text})
    summary, con = run_ingest(raw, tmp_path)
    f = summary.file("dat_referrals")
    assert f.rows_read == 8
    assert f.rows_read == f.rows_loaded + f.rows_set_aside
    assert rows(con, "SELECT referral_id, _row FROM stg_dat_referrals") == [
        ("R1", 2),
        ("R2", 3),
        ("R7", 8),
    ]
    got = rows(con, 'SELECT "row", "column", reason_code FROM set_aside ORDER BY "row"')
    assert got == [
        (4, "referral_date", "invalid_date"),
        (5, "referral_date", "invalid_date"),
        (6, None, "wrong_field_count"),
        (7, None, "wrong_field_count"),
        (9, None, "wrong_field_count"),
    ]
    reason = rows(con, 'SELECT reason FROM set_aside WHERE "row" = 5')[0][0]
    assert "referral_source" in reason  # the other problem of the row is named
    log = rows(
        con,
        "SELECT rows_read, rows_loaded, rows_set_aside FROM load_log WHERE extract = "
        "'dat_referrals'",
    )
    assert log == [(8, 3, 5)]
    for read, loaded, aside in rows(
        con, "SELECT rows_read, rows_loaded, rows_set_aside FROM load_log"
    ):
        assert read == loaded + aside


def test_reload_gives_identical_tables(tmp_path):
    text = dat_file(
        dat_row("R1"), dat_row("R2", referral_date="bad"), dat_row("R3", team='"a, b"'), "R4,C4"
    )
    raw = delivery(tmp_path, {"dat_referrals.csv": text})
    _, con1 = run_ingest(raw, tmp_path, "one.duckdb")
    _, con2 = run_ingest(raw, tmp_path, "two.duckdb")
    tables = [
        r[0] for r in rows(con1, "SELECT table_name FROM information_schema.tables ORDER BY 1")
    ]
    assert tables == [
        r[0] for r in rows(con2, "SELECT table_name FROM information_schema.tables ORDER BY 1")
    ]
    for table in tables:
        cols = "*" if table != "load_log" else "* EXCLUDE (run_id, loaded_at, code_version)"
        assert rows(con1, f"SELECT {cols} FROM {table}") == rows(
            con2, f"SELECT {cols} FROM {table}"
        ), table


def test_existing_database_is_replaced(tmp_path):
    db = tmp_path / "w.duckdb"
    db.write_bytes(b"not a database")
    run_ingest(delivery(tmp_path), tmp_path)
    assert db.stat().st_size > 1000


# ---------------------------------------------------------------------------------------------
# XLSX


def _write_xlsx(path, header, data_rows, sheet="Sheet1", first_sheet=None):
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    if first_sheet:
        ws.title = first_sheet
        ws.append(["notes"])
        ws = wb.create_sheet(sheet)
    else:
        ws.title = sheet
    ws.append(header)
    for r in data_rows:
        ws.append(r)
    wb.save(path)


def test_xlsx_with_date_cells_and_numbers(tmp_path):
    header = DAT_HEADER.split(",")
    data = [
        [
            "R1",
            "c1 ",
            dt.datetime(2010, 5, 1),
            "M",
            dt.datetime(2012, 4, 3),
            "2A",
            "N1",
            True,
            "N",
            "N",
            "N",
            dt.date(2012, 4, 4),
            "IA",
            "Y",
            "Y",
            "DAT1",
        ],
        [
            "R2",
            "C2",
            None,
            "F",
            "03/04/2012",
            6,
            None,
            "no",
            0,
            0,
            0,
            41003,
            "NFA",
            "N",
            None,
            "DAT2",
        ],
        [
            "R3",
            "C3",
            None,
            "F",
            "31/02/2012",
            6,
            None,
            "no",
            0,
            0,
            0,
            41003,
            "NFA",
            "N",
            None,
            "DAT2",
        ],
    ]
    raw = delivery(tmp_path, {"dat_referrals.csv": None})
    _write_xlsx(
        raw / "DAT_Referrals_2013.xlsx", header, data, sheet="dat_referrals", first_sheet="Read me"
    )
    summary, con = run_ingest(raw, tmp_path)
    assert rows(
        con,
        "SELECT referral_id, child_id IS NOT NULL, referral_date, referral_source, domestic_abuse, "
        "decision_date, _file, _row FROM dat_referrals",
    ) == [
        (
            "R1",
            True,
            dt.date(2012, 4, 3),
            "2A",
            True,
            dt.date(2012, 4, 4),
            "DAT_Referrals_2013.xlsx",
            2,
        ),
        (
            "R2",
            True,
            dt.date(2012, 4, 3),
            "6",
            False,
            dt.date(2012, 4, 4),
            "DAT_Referrals_2013.xlsx",
            3,
        ),
    ]
    assert rows(con, 'SELECT "row", reason_code FROM set_aside') == [(4, "invalid_date")]
    f = summary.file("dat_referrals")
    assert (f.format, f.sheet, f.rows_read) == ("xlsx", "dat_referrals", 3)
    _, con_csv = run_ingest(
        delivery(
            tmp_path,
            {"dat_referrals.csv": dat_file(dat_row("R1", "C1", dob="2010-05-01"))},
            name="csv",
        ),
        tmp_path,
        "csv.duckdb",
    )
    assert rows(con, "SELECT child_id FROM dat_referrals WHERE referral_id = 'R1'") == rows(
        con_csv, "SELECT child_id FROM dat_referrals"
    )


# ---------------------------------------------------------------------------------------------
# Optional extracts


def test_workforce_extracts_load_when_present(tmp_path):
    raw = delivery(
        tmp_path,
        {
            "Workforce_Posts.csv": "Post ID,Snapshot Date,Team,Role,Status,Staff ID,"
            "Date Qualified,Open Cases\n"
            "P1,31/03/2012,DAT1,Social worker,Filled,s001 ,2005-06-30,22\n"
            "P2,31/03/2012,DAT1,SW,VACANT,,,\n",
            "workforce_leavers.csv": "staff_id,team,role,leaving_date\nS001,DAT1,SW,2012-09-30\n",
        },
    )
    _, con = run_ingest(raw, tmp_path)
    got = rows(
        con,
        "SELECT post_id, snapshot_date, role, status, staff_id IS NULL, caseload FROM "
        "workforce_posts",
    )
    assert got == [
        ("P1", dt.date(2012, 3, 31), "SW", "FILLED", False, 22),
        ("P2", dt.date(2012, 3, 31), "SW", "VACANT", True, None),
    ]
    assert rows(
        con,
        "SELECT l.staff_id = p.staff_id FROM workforce_leavers l, workforce_posts p WHERE "
        "p.post_id = 'P1'",
    ) == [(True,)]
    assert _find_anywhere(con, ["S001"]) == []


def test_optional_header_only_loads_empty(tmp_path):
    raw = delivery(tmp_path, {"workforce_leavers.csv": "staff_id,team,role,leaving_date\n"})
    _, con = run_ingest(raw, tmp_path)
    assert rows(con, "SELECT count(*) FROM workforce_leavers") == [(0,)]
    assert rows(con, "SELECT rows_read FROM load_log WHERE extract = 'workforce_leavers'") == [(0,)]


# ---------------------------------------------------------------------------------------------
# Errors: a clear message naming the file and what to do, never a traceback


def _error(raw, tmp_path) -> str:
    with pytest.raises(PipelineError) as exc:
        run_ingest(raw, tmp_path)
    return str(exc.value)


def test_error_raw_dir_missing(tmp_path):
    msg = _error(tmp_path / "nowhere", tmp_path)
    assert "nowhere" in msg and "does not exist" in msg


def test_error_missing_required_extract(tmp_path):
    msg = _error(delivery(tmp_path, {"cpr_reviews.csv": None}), tmp_path)
    assert "cpr_reviews" in msg and "dat_referrals.csv" in msg  # expected prefixes and files found
    assert "workforce_posts (optional)" in msg


def test_error_two_files_for_one_extract(tmp_path):
    raw = delivery(tmp_path, {"DAT_referrals_v2.csv": dat_file(dat_row())})
    msg = _error(raw, tmp_path)
    assert "DAT_referrals_v2.csv" in msg and "dat_referrals.csv" in msg and "keep only" in msg


def test_error_empty_file(tmp_path):
    msg = _error(delivery(tmp_path, {"cpr_reviews.csv": ""}), tmp_path)
    assert "cpr_reviews.csv" in msg and "empty" in msg


def test_error_header_only_required(tmp_path):
    msg = _error(
        delivery(tmp_path, {"cpr_reviews.csv": "review_id,registration_id,review_date\n"}), tmp_path
    )
    assert "cpr_reviews.csv" in msg and "no data rows" in msg


def test_error_missing_required_column_with_closest_match(tmp_path):
    raw = delivery(
        tmp_path, {"cpr_reviews.csv": "review_id,registration_id,reveiw_dte\nV1,G1,2012-07-20\n"}
    )
    msg = _error(raw, tmp_path)
    assert "cpr_reviews.csv" in msg and "review_date is missing" in msg
    assert "'reveiw_dte'" in msg and "closest" in msg


@pytest.mark.parametrize("delim, word", [(";", "semicolons"), ("\t", "tabs")])
def test_error_wrong_delimiter(tmp_path, delim, word):
    raw = delivery(
        tmp_path,
        {
            "cpr_reviews.csv": f"review_id{delim}registration_id{delim}review_date\n"
            f"V1{delim}G1{delim}2012-07-20\n"
        },
    )
    msg = _error(raw, tmp_path)
    assert "cpr_reviews.csv" in msg and word in msg and "Comma delimited" in msg


def test_error_unreadable_file(tmp_path):
    # UTF-16 without a byte order mark cannot be told from a binary file (with one it is read:
    # tests/test_ingest_integrity.py).
    raw = delivery(
        tmp_path,
        {
            "cpr_reviews.csv": "review_id,registration_id,review_date\nV1,G1,2012-07-20\n".encode(
                "utf-16-le"
            )
        },
    )
    msg = _error(raw, tmp_path)
    assert "cpr_reviews.csv" in msg and "UTF-16" in msg


def test_error_damaged_xlsx(tmp_path):
    raw = delivery(
        tmp_path, {"cpr_reviews.csv": None, "cpr_reviews.xlsx": b"PK\x03\x04 not really a workbook"}
    )
    msg = _error(raw, tmp_path)
    assert "cpr_reviews.xlsx" in msg and "not a readable .xlsx" in msg


def test_errors_are_collected(tmp_path):
    raw = delivery(
        tmp_path, {"cpr_reviews.csv": "", "ifss_distance_travelled.csv": "a;b;c\n1;2;3\n"}
    )
    msg = _error(raw, tmp_path)
    assert (
        "cpr_reviews.csv" in msg and "ifss_distance_travelled.csv" in msg and "2 problem(s)" in msg
    )


def test_checks_ahead_of_loading_still_report_every_problem_and_keep_nothing(tmp_path):
    """With a key already there, files are checked on a thread while the checked ones load:
    problems in two files (the first and a later one) are both reported, and the files loaded
    before the check failed are not kept (the message says nothing was loaded)."""
    from pipelines.ingest import ingest

    raw = delivery(
        tmp_path, {"cpr_reviews.csv": "", "ifss_distance_travelled.csv": "a;b;c\n1;2;3\n"}
    )
    key = tmp_path / "k.key"
    key.write_text("0123456789abcdef" * 4 + "\n")
    before = key.read_bytes()
    db = tmp_path / "w.duckdb"
    with pytest.raises(PipelineError) as exc:
        ingest(raw, db, key, "test-run")
    msg = str(exc.value)
    assert "cpr_reviews.csv" in msg and "ifss_distance_travelled.csv" in msg
    assert "2 problem(s)" in msg and "nothing was loaded" in msg
    assert not db.exists() and not db.with_name(db.name + ".wal").exists()
    assert key.read_bytes() == before


@pytest.mark.subprocess
def test_cli_reports_error_without_traceback(tmp_path):
    raw = delivery(
        tmp_path, {"cpr_reviews.csv": "review_id;registration_id;review_date\nV1;G1;2012-07-20\n"}
    )
    env = {"PIPELINES_KEY_FILE": str(tmp_path / "cli.key"), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipelines",
            "ingest",
            "--raw-dir",
            str(raw),
            "--db",
            str(tmp_path / "cli.duckdb"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 2
    assert (
        "ERROR:" in proc.stderr and "cpr_reviews.csv" in proc.stderr and "semicolons" in proc.stderr
    )
    assert "Traceback" not in proc.stderr + proc.stdout
    assert not (tmp_path / "cli.duckdb").exists()


@pytest.mark.subprocess
def test_cli_ingest_succeeds(tmp_path):
    env = {"PIPELINES_KEY_FILE": str(tmp_path / "cli.key"), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipelines",
            "ingest",
            "--raw-dir",
            str(delivery(tmp_path)),
            "--db",
            str(tmp_path / "cli.duckdb"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "dat_referrals.csv" in proc.stdout and (tmp_path / "cli.duckdb").exists()


def test_error_unwritable_key_location(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(PipelineError) as exc:
        run_ingest(delivery(tmp_path), tmp_path, key=blocker / "k.key")
    assert "pseudonymisation key" in str(exc.value)


def test_error_unwritable_warehouse(tmp_path):
    from pipelines.ingest import ingest

    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(PipelineError) as exc:
        ingest(delivery(tmp_path), blocker / "w.duckdb", tmp_path / "k.key", "r")
    assert "Cannot create the warehouse" in str(exc.value)

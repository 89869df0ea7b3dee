"""Unit tests of the validation stage against small hand-written warehouses.

The baseline warehouse below is one valid row per extract (Excel row 2), consistent across extracts,
written by hand from docs/EXTRACTS.md. Each rule in rules.yaml has a failing example (`given`):
the test applies it to the baseline and expects the rule to fire at `expect` (extract, row, column).
"""

from __future__ import annotations

import copy
import csv
import datetime as dt
import json
from pathlib import Path
from typing import Any

import duckdb
import openpyxl
import pandas as pd
import pytest

from pipelines.contract import extracts
from pipelines.ingest.workbook import column_letters as column_letter
from pipelines.spreadsheet import safe_cell
from pipelines.validate import validate, write_dq_report
from pipelines.validate.engine import FINDING_COLUMNS, WITHHELD
from pipelines.validate.rules import load_rules

D = dt.date

# One valid row per extract (Excel row 2). IDs of type id are stand-ins for pseudonymised hashes.
BASELINE: dict[str, dict[str, Any]] = {
    "dat_referrals": {
        "referral_id": "R1",
        "child_id": "C0FFEE0000000001",
        "date_of_birth": D(2010, 5, 1),
        "sex": "F",
        "referral_date": D(2012, 4, 3),
        "referral_source": "2A",
        "primary_need": "N1",
        "domestic_abuse": True,
        "parental_substance_misuse": False,
        "parental_mental_health": False,
        "parental_learning_disability": False,
        "decision_date": D(2012, 4, 5),
        "outcome": "IA",
        "lateral_checks": True,
        "child_seen": True,
        "team": "DAT1",
    },
    "cpr_registrations": {
        "registration_id": "REG1",
        "child_id": "C0FFEE0000000001",
        "date_of_birth": D(2010, 5, 1),
        "strategy_discussion_date": D(2012, 5, 1),
        "initial_conference_date": D(2012, 5, 10),
        "registration_date": D(2012, 5, 10),
        "category": ["NEG"],
        "first_core_group_date": D(2012, 5, 20),
        "deregistration_date": D(2012, 11, 1),
        "deregistration_reason": "PLAN_ACHIEVED",
        "previous_registrations": 0,
    },
    "cpr_reviews": {"review_id": "RV1", "registration_id": "REG1", "review_date": D(2012, 8, 1)},
    "ifss_referrals": {
        "ifss_referral_id": "IF1",
        "family_id": "FA00000000000001",
        "child_id": "C0FFEE0000000001",
        "date_of_birth": D(2010, 5, 1),
        "service": "FST",
        "referral_date": D(2012, 4, 10),
        "referral_source": "2A",
        "referring_team": None,
        "referral_type": "NEW",
        "referral_reason": "PARENTING",
        "accepted": True,
        "case_status": "CIN",
        "primary_substance": None,
        "service_start_date": D(2012, 4, 20),
        "service_end_date": D(2012, 10, 20),
        "escalated": False,
        "escalation_date": None,
    },
    "ifss_distance_travelled": {
        "assessment_id": "A1",
        "ifss_referral_id": "IF1",
        "assessment_date": D(2012, 4, 25),
        "stage": "START",
        "domain": "PARENTING",
        "risk_score": 7,
    },
    "workforce_posts": {
        "post_id": "P1",
        "snapshot_date": D(2012, 12, 31),
        "team": "DAT1",
        "role": "SW",
        "status": "FILLED",
        "staff_id": "57AFF00000000001",
        "qualified_date": D(2005, 7, 1),
        "caseload": 20,
    },
    "workforce_leavers": {
        "staff_id": "57AFF00000000002",
        "team": "DAT1",
        "role": "SW",
        "leaving_date": D(2012, 9, 30),
    },
}

DUCK_TYPES = {
    "text": "VARCHAR",
    "id": "VARCHAR",
    "record_id": "VARCHAR",
    "code": "VARCHAR",
    "code_list": "VARCHAR[]",
    "date": "DATE",
    "yesno": "BOOLEAN",
    "integer": "INTEGER",
}


def _value(v: Any) -> Any:
    if isinstance(v, dt.date):
        return v
    return v


def build_warehouse(path: Path, tables: dict[str, list[dict[str, Any]]], **kwargs: Any) -> Path:
    """A warehouse file shaped like ingest's (docs/ARCHITECTURE.md), from rows given as dicts."""
    con = duckdb.connect(str(path))
    con.begin()  # one transaction, not a commit per statement
    fill_warehouse(con, tables, **kwargs)
    con.commit()
    con.close()
    return path


def memory_warehouse(tables: dict[str, list[dict[str, Any]]], **kwargs: Any) -> Any:
    """The same warehouse in memory, as an open connection: validation needs only a connection,
    and creating, closing and reopening a file costs more than a rule check itself."""
    con = duckdb.connect()
    fill_warehouse(con, tables, **kwargs)
    return con


def fill_warehouse(
    con: Any,
    tables: dict[str, list[dict[str, Any]]],
    *,
    set_aside=(),
    notes=(),
    retype: dict[str, dict[str, str]] | None = None,
    drop_columns: dict[str, list[str]] | None = None,
    load_log_override: dict[str, dict[str, int]] | None = None,
) -> None:
    """Create ingest's tables (load_log, set_aside, ingest_notes, stg_<extract>) in ``con``."""
    con.execute(
        "CREATE TABLE load_log (run_id VARCHAR, extract VARCHAR, file VARCHAR, sha256 VARCHAR, "
        "format VARCHAR, encoding VARCHAR, rows_read INTEGER, rows_loaded INTEGER, "
        "rows_set_aside INTEGER, rows_blank INTEGER, columns_dropped VARCHAR, "
        "loaded_at TIMESTAMP, "
        "code_version VARCHAR)"
    )
    con.execute(
        'CREATE TABLE set_aside (extract VARCHAR, file VARCHAR, "row" INTEGER, "column" VARCHAR, '
        "value VARCHAR, reason_code VARCHAR, reason VARCHAR, reference VARCHAR)"
    )
    con.execute(
        "CREATE TABLE ingest_notes (extract VARCHAR, file VARCHAR, note_code VARCHAR, "
        "message VARCHAR)"
    )
    for s in set_aside:
        con.execute(
            "INSERT INTO set_aside VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                s["extract"],
                f"{s['extract']}.csv",
                s["row"],
                s.get("column"),
                s.get("value"),
                s["reason_code"],
                s.get("reason", "could not be read"),
                s.get("reference"),
            ],
        )
    for n in notes:
        con.execute(
            "INSERT INTO ingest_notes VALUES (?, ?, ?, ?)",
            [
                n["extract"],
                n.get("file") or f"{n['extract'] or 'other'}.csv",
                n["note_code"],
                n["message"],
            ],
        )
    for extract, rows in tables.items():
        spec = extracts()[extract]["columns"]
        cols = {c: DUCK_TYPES[s["type"]] for c, s in spec.items()}
        cols.update((retype or {}).get(extract, {}))
        for c in (drop_columns or {}).get(extract, []):
            cols.pop(c)
        ddl = ", ".join(f'"{c}" {t}' for c, t in cols.items())
        con.execute(f'CREATE TABLE "stg_{extract}" ({ddl}, _file VARCHAR, _row INTEGER)')
        for i, row in enumerate(rows):
            values = [
                row.get(c) if t != "VARCHAR" or row.get(c) is None else str(row.get(c))
                for c, t in cols.items()
            ]
            con.execute(
                f'INSERT INTO "stg_{extract}" VALUES ({", ".join("?" * (len(cols) + 2))})',
                [*values, f"{extract}.csv", i + 2],
            )
        n_aside = sum(1 for s in set_aside if s["extract"] == extract)
        counts = {
            "rows_read": len(rows) + n_aside,
            "rows_loaded": len(rows),
            "rows_set_aside": n_aside,
            "rows_blank": 0,
        }
        counts.update((load_log_override or {}).get(extract, {}))
        con.execute(
            "INSERT INTO load_log VALUES ('test', ?, ?, 'x', 'csv', 'utf-8', ?, ?, ?, ?, '', "
            "TIMESTAMP '2013-02-01 09:00:00', 'test')",
            [
                extract,
                f"{extract}.csv",
                counts["rows_read"],
                counts["rows_loaded"],
                counts["rows_set_aside"],
                counts["rows_blank"],
            ],
        )


def baseline_tables() -> dict[str, list[dict[str, Any]]]:
    return {e: [copy.deepcopy(row)] for e, row in BASELINE.items()}


def monthly_rows(
    extract: str,
    column: str,
    per_month: int,
    skip: list[str] | tuple[str, ...] = (),
    counts: dict[str, int] | None = None,
    **span: Any,
) -> list[dict[str, Any]]:
    """Copies of the extract's baseline row, ``per_month`` of them in each calendar month from
    ``span['from']`` to ``span['to']`` (dates spread over the month, the last month stopping at
    ``to``), none in the ``skip`` months ('2012-08') and ``counts[month]`` where given; record
    references numbered so each row is its own record (a coverage rule's example)."""
    first, last = span["from"], span["to"]
    base = BASELINE[extract]
    keys = [c for c, s in extracts()[extract]["columns"].items() if s["type"] == "record_id"]
    out: list[dict[str, Any]] = []
    month = first.replace(day=1)
    while month <= last:
        label = month.isoformat()[:7]
        n = 0 if label in skip else (counts or {}).get(label, per_month)
        for i in range(n):
            day = month + dt.timedelta(days=(i * 28) // max(n, 1))
            if day > last:
                break
            row = {**copy.deepcopy(base), column: day}
            for k in keys:
                row[k] = f"{base[k]}-{len(out)}"
            out.append(row)
        month = (month + dt.timedelta(days=32)).replace(day=1)
    return out


def apply_given(given: dict[str, Any]) -> dict[str, Any]:
    """Baseline tables plus one rule's failing example, as build_warehouse arguments."""
    tables = baseline_tables()
    kwargs: dict[str, Any] = {
        "set_aside": [],
        "notes": [],
        "retype": {},
        "drop_columns": {},
        "load_log_override": {},
    }
    extract = given.get("extract")
    if "set" in given:
        tables[extract][0].update(given["set"])
    if "add" in given:
        row = copy.deepcopy(tables[extract][0])
        row.update(given["add"])
        tables[extract].append(row)
    if "monthly" in given:
        tables[extract] = monthly_rows(extract, **given["monthly"])
    if given.get("drop_table"):
        del tables[extract]
    if "drop_column" in given:
        kwargs["drop_columns"][extract] = [given["drop_column"]]
    if "retype" in given:
        kwargs["retype"][extract] = given["retype"]
    if "set_aside" in given:
        kwargs["set_aside"].append(given["set_aside"])
    if "note" in given:
        kwargs["notes"].append(given["note"])
    if "load_log" in given:
        ll = dict(given["load_log"])
        kwargs["load_log_override"][ll.pop("extract")] = ll
    return {"tables": tables, **kwargs}


def run_validate(path: Path, config, only=None) -> Any:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return validate(con, config, only=only)
    finally:
        con.close()


SETTINGS, RULES = load_rules()
EXAMPLE_RULES = [r for r in RULES if r.given is not None]


# ---------------------------------------------------------------------------------------------


def test_rules_file_is_complete():
    """Every rule has a message, a fix, a one-line example and (but VAL-001) a test case."""
    assert len(RULES) >= 60
    for rule in RULES:
        assert rule.message and rule.how_to_fix and rule.example, rule.code
        assert "\n" not in rule.example, rule.code
        if rule.check != "internal":
            assert rule.given is not None and rule.expect is not None, rule.code


def test_every_extract_column_rule_types_are_covered():
    """Each required contract column is checked for blanks, each code column against its list."""
    covered_required = {
        (r.extract, c)
        for r in RULES
        if r.expectation == "ExpectColumnValuesToNotBeNull" and not r.kwargs.get("row_condition")
        for c in r.columns
    }
    covered_codes = {
        (r.extract, c)
        for r in RULES
        if r.expectation == "ExpectColumnValuesToBeInSet"
        for c in r.columns
    } | {("cpr_registrations", "category")}
    for extract, spec in extracts().items():
        for column, cspec in spec["columns"].items():
            if cspec.get("required"):
                assert (extract, column) in covered_required, (extract, column)
            if cspec["type"] in ("code", "code_list"):
                assert (extract, column) in covered_codes, (extract, column)


def test_baseline_passes_with_no_findings(tmp_path, config):
    path = build_warehouse(tmp_path / "w.duckdb", baseline_tables())
    result = run_validate(path, config)
    assert result.findings.empty, result.findings.to_dict("records")
    assert result.n_errors == 0 and result.n_warnings == 0
    assert list(result.findings.columns) == FINDING_COLUMNS
    assert result.verdict == "passed"


@pytest.mark.parametrize("rule", EXAMPLE_RULES, ids=[r.code for r in EXAMPLE_RULES])
def test_rule_fires_on_its_failing_example(rule, config):
    con = memory_warehouse(**apply_given(rule.given))
    # the rule on its own (test_baseline_passes_with_no_findings runs them all together)
    try:
        result = validate(con, config, only=[rule.code])
    finally:
        con.close()
    f = result.findings
    mine = f[f["rule"] == rule.code]
    assert not mine.empty, (
        f"{rule.code} did not fire; findings: {f[['rule', 'row', 'column']].to_dict('records')}"
    )
    expect = rule.expect
    hit = mine[
        (mine["extract"] == expect["extract"]) & (mine["column"] == (expect["column"] or ""))
    ]
    if expect["row"] is None:
        assert hit["row"].isna().any(), mine.to_dict("records")
    else:
        assert (hit["row"] == expect["row"]).any(), mine.to_dict("records")
    assert set(mine["severity"]) == {rule.severity}
    # the check ran cleanly: nothing internal failed, no other rule reported
    assert set(f["rule"]) == {rule.code}, f[["rule", "message"]].to_dict("records")
    n_err = int((f["severity"] == "error").sum())
    assert result.n_errors == n_err


def test_internal_failure_is_an_error_not_silence(tmp_path, config, monkeypatch):
    """A rule that cannot run is reported (VAL-001), never skipped silently."""
    import dataclasses

    from pipelines.validate import rules as rules_mod

    settings, rules = load_rules()
    broken = tuple(
        dataclasses.replace(r, sql=r.sql.replace("referral_id", "no_such_column"))
        if r.code == "DAT-002"
        else r
        for r in rules
    )
    monkeypatch.setattr(rules_mod, "load_rules", lambda *a, **k: (settings, broken))
    import pipelines.validate as v

    monkeypatch.setattr(v, "load_rules", lambda *a, **k: (settings, broken))
    path = build_warehouse(tmp_path / "w.duckdb", baseline_tables())
    result = run_validate(path, config)
    val = result.findings[result.findings["rule"] == "VAL-001"]
    assert len(val) == 1 and "DAT-002" in val.iloc[0]["message"]
    assert result.n_errors == 1


def test_ids_and_dates_of_birth_never_appear_in_findings(tmp_path, config):
    tables = baseline_tables()
    tables["dat_referrals"][0].update(date_of_birth=D(2013, 6, 1))  # DAT-005
    tables["cpr_registrations"].append(
        {
            **tables["cpr_registrations"][0],
            "registration_id": "REG2",
            "registration_date": D(2012, 6, 1),
            "initial_conference_date": D(2012, 6, 1),
            "deregistration_date": None,
            "deregistration_reason": None,
            "strategy_discussion_date": None,
            "first_core_group_date": None,
        }
    )
    tables["workforce_leavers"][0]["staff_id"] = None  # WFL-001 on an id column
    path = build_warehouse(
        tmp_path / "w.duckdb",
        tables,
        set_aside=[
            {
                "extract": "dat_referrals",
                "row": 3,
                "column": "child_id",
                "value": "AB12 RAW",
                "reason_code": "X",
            }
        ],
    )
    result = run_validate(path, config)
    text = result.findings.to_csv()
    for secret in ("C0FFEE0000000001", "2010-05-01", "2013-06-01", "AB12 RAW"):
        assert secret not in text
    assert (result.findings.loc[result.findings["rule"] == "DAT-005", "value"] == WITHHELD).all()
    assert set(result.findings["rule"]) >= {"DAT-005", "CPR-010", "WFL-001", "ING-099"}


def test_findings_are_batched_across_the_whole_table(tmp_path, config, monkeypatch):
    """With tiny batches, findings in every batch and duplicates across batches are found."""
    import pipelines.validate as v

    settings, rules = load_rules()
    monkeypatch.setattr(v, "load_rules", lambda *a, **k: ({**settings, "batch_rows": 3}, rules))
    base = BASELINE["dat_referrals"]
    rows = [{**base, "referral_id": f"R{i}"} for i in range(10)]
    rows[1]["decision_date"] = D(2012, 1, 1)  # row 3, first batch
    rows[8]["decision_date"] = D(2012, 1, 1)  # row 10, last batch
    rows[9]["referral_id"] = "R0"  # row 11 duplicates row 2, across batches
    tables = {**baseline_tables(), "dat_referrals": rows}
    result = run_validate(
        build_warehouse(tmp_path / "w.duckdb", tables), config, only=["DAT-002", "DAT-004"]
    )
    f = result.findings
    assert sorted(f.loc[f["rule"] == "DAT-004", "row"].tolist()) == [3, 10]
    assert sorted(f.loc[f["rule"] == "DAT-002", "row"].tolist()) == [2, 11]
    assert result.timings["gx_dat_referrals_batches"] == 4


def test_findings_are_the_same_in_one_batch_or_many(tmp_path, config, monkeypatch):
    """How validation is cut into batches (``batch_rows``) never changes a finding: every GX
    rule's failing example, repeated along the tables, with dates outside pandas' nanosecond range
    in some batches only (those columns are compared value by value there, vectorised elsewhere).
    """
    import pipelines.validate as v

    tables = baseline_tables()
    for rule in EXAMPLE_RULES:
        given = rule.given or {}
        if rule.check != "gx" or not ({"set", "add"} & set(given)):
            continue
        extract = given["extract"]
        row = {**copy.deepcopy(BASELINE[extract]), **given.get("set", {}), **given.get("add", {})}
        tables[extract].append(row)
    for extract, rows in tables.items():
        tables[extract] = [copy.deepcopy(r) for _ in range(3) for r in rows]  # across batches
    late, early = BASELINE["dat_referrals"], BASELINE["cpr_registrations"]
    tables["dat_referrals"].append({**late, "decision_date": D(9999, 12, 31)})
    tables["dat_referrals"].append({**late, "referral_date": D(1066, 10, 14)})
    tables["cpr_registrations"].append({**early, "deregistration_date": D(2500, 1, 1)})
    path = build_warehouse(tmp_path / "w.duckdb", tables)
    settings, rules = load_rules()

    def findings(batch_rows: int) -> tuple[pd.DataFrame, dict[str, float]]:
        with_batch = {**settings, "batch_rows": batch_rows}
        monkeypatch.setattr(v, "load_rules", lambda *a, **k: (with_batch, rules))
        result = run_validate(path, config)
        return result.findings, result.timings

    whole, whole_t = findings(1_000_000)
    # three batches of the longest table: the out-of-range dates (appended last) fall in the last
    # batch only; every batch costs GX's fixed overhead, so more would only slow the test
    many, many_t = findings(len(tables["dat_referrals"]) // 3 + 1)
    assert many_t["gx_dat_referrals_batches"] == 3 > whole_t["gx_dat_referrals_batches"] == 1
    pd.testing.assert_frame_equal(many, whole)
    gx_codes = {r.code for r in RULES if r.check == "gx"}
    assert len(set(whole["rule"]) & gx_codes) >= 20
    assert {"DAT-004", "DAT-007"} <= set(whole["rule"])


def test_optional_extracts_absent_is_fine(tmp_path, config):
    tables = baseline_tables()
    del tables["workforce_posts"], tables["workforce_leavers"]
    result = run_validate(build_warehouse(tmp_path / "w.duckdb", tables), config)
    assert result.findings.empty
    statement = result.statement()
    posts = next(e for e in statement["extracts"] if e["extract"] == "workforce_posts")
    assert posts["delivered"] is False


def test_column_letters_come_from_what_ingest_recorded(tmp_path, config):
    # ingest recorded where each column sat in the data officer's file (source_columns); the
    # raw files are not read again (the raw folder is empty here)
    tables = baseline_tables()
    tables["dat_referrals"][0]["decision_date"] = D(2012, 4, 1)
    path = build_warehouse(tmp_path / "w.duckdb", tables)
    con = duckdb.connect(str(path))
    con.execute(
        'CREATE TABLE source_columns (extract VARCHAR, file VARCHAR, "column" VARCHAR, '
        "letter VARCHAR)"
    )
    con.execute(
        "INSERT INTO source_columns VALUES ('dat_referrals', 'dat_referrals.csv', "
        "'decision_date', 'C'), ('dat_referrals', 'dat_referrals.csv', 'team', 'A')"
    )
    con.close()
    result = run_validate(path, config, only=["DAT-004"])
    hit = result.findings[result.findings["rule"] == "DAT-004"].iloc[0]
    assert (hit["file"], hit["row"], hit["column_letter"], hit["column"], hit["value"]) == (
        "dat_referrals.csv",
        2,
        "C",
        "decision_date",
        "2012-04-01",
    )
    assert hit["reference"] == "R1"
    assert "referral_date is 2012-04-03" in hit["message"]
    assert [column_letter(i) for i in (0, 25, 26, 701, 702)] == ["A", "Z", "AA", "ZZ", "AAA"]


def test_share_threshold_is_data(tmp_path, config):
    """The blank/unknown share rule fires above the threshold in rules.yaml, not at or below it."""
    base = BASELINE["dat_referrals"]
    share = SETTINGS["max_unknown_share"]
    n = 10
    k = int(share * n)  # exactly at the threshold: no warning
    rows = [
        {**base, "referral_id": f"R{i}", "referral_source": "10" if i < k else "2A"}
        for i in range(n)
    ]
    result = run_validate(
        build_warehouse(tmp_path / "a.duckdb", {**baseline_tables(), "dat_referrals": rows}),
        config,
        only=["DAT-008"],
    )
    assert "DAT-008" not in set(result.findings["rule"])
    rows[k]["referral_source"] = "9"
    result = run_validate(
        build_warehouse(tmp_path / "b.duckdb", {**baseline_tables(), "dat_referrals": rows}),
        config,
        only=["DAT-008"],
    )
    hit = result.findings[result.findings["rule"] == "DAT-008"]
    assert len(hit) == 1 and hit.iloc[0]["value"].startswith("30%")


def test_assessment_tolerance_boundary(tmp_path, config):
    days = SETTINGS["assessment_tolerance_days"]
    start = BASELINE["ifss_referrals"]["service_start_date"]
    for offset, expected in [(0, set()), (days, {"DTR-008"}), (days + 1, {"DTR-007"})]:
        tables = baseline_tables()
        tables["ifss_distance_travelled"][0]["assessment_date"] = start - dt.timedelta(days=offset)
        result = run_validate(
            build_warehouse(tmp_path / f"w{offset}.duckdb", tables),
            config,
            only=["DTR-007", "DTR-008"],
        )
        assert set(result.findings["rule"]) & {"DTR-007", "DTR-008"} == expected, offset


# ---------------------------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------------------------


def _bad_result(tmp_path, config):
    tables = baseline_tables()
    tables["dat_referrals"][0].update(decision_date=D(2012, 4, 1), team='=HYPERLINK("x")')
    tables["cpr_registrations"][0]["previous_registrations"] = -1
    tables["ifss_distance_travelled"][0]["risk_score"] = 11
    path = build_warehouse(
        tmp_path / "w.duckdb",
        tables,
        set_aside=[
            {
                "extract": "dat_referrals",
                "row": 3,
                "column": "team",
                "value": "@SUM(A1)",
                "reason_code": "ODD",
            },
            {
                "extract": "dat_referrals",
                "row": 4,
                "column": "referral_date",
                "value": "31/02/2012",
                "reason_code": "invalid_date",
            },
        ],
        notes=[
            {
                "extract": "dat_referrals",
                "note_code": "encoding",
                "message": "Read as Windows-1252.",
            }
        ],
    )
    return run_validate(path, config), path


def test_report_files_html_is_offline_and_accessible(tmp_path, config):
    result, path = _bad_result(tmp_path, config)
    out = tmp_path / "dq"
    con = duckdb.connect(str(path), read_only=True)
    paths = write_dq_report(result, con, config, out)
    con.close()
    assert [p.name for p in paths] == [
        "data_quality.html",
        "data_quality_fixlist.csv",
        "data_quality_fixlist.xlsx",
        "data_quality.json",
    ]
    summary = json.loads(paths[3].read_text(encoding="utf-8"))
    assert summary["statement"]["errors"] == result.n_errors
    assert {r["rule"] for r in summary["by_rule"]} == set(result.findings["rule"])
    html = paths[0].read_text(encoding="utf-8")
    assert '<html lang="en-GB">' in html and "<title>" in html
    assert html.count("<h1") == 1
    assert "<script" not in html and "http://" not in html and "https://" not in html
    assert "@import" not in html and "url(" not in html
    # headings in order: h1, then h2s, h3s only under h2s
    import re

    levels = [int(m) for m in re.findall(r"<h([1-6])", html)]
    assert levels[0] == 1 and all(b - a <= 1 for a, b in zip(levels, levels[1:], strict=False))
    assert html.count("<table") == html.count("<caption>")
    assert 'scope="col"' in html
    for code in ("DAT-004", "CPR-009", "DTR-004", "ING-001", "ING-099", "ING-199"):
        assert f'id="rule-{code}"' in html
    assert "&#10003; Yes" in html  # reconciliation shown with text, not only a symbol
    assert "31/02/2012" in html


def test_fixlist_is_safe_and_complete(tmp_path, config):
    result, path = _bad_result(tmp_path, config)
    out = tmp_path / "dq"
    paths = write_dq_report(result, None, config, out)
    with open(paths[1], encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(result.findings)
    assert rows[0]["Severity"] == "error"
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), value
    assert any(r["Value found"] == "'@SUM(A1)" for r in rows)
    assert any(r["Value found"] == "'-1" for r in rows)
    wb = openpyxl.load_workbook(paths[2])
    ws = wb.active
    values = [[c.value for c in r] for r in ws.iter_rows()]
    assert len(values) == len(rows) + 1
    for r in ws.iter_rows(min_row=2):
        for c in r:
            assert c.data_type != "f"
            if c.column != 2:
                assert c.data_type in ("s", "inlineStr", "n") and (
                    c.value is None or isinstance(c.value, str)
                )
    assert any(v == "'@SUM(A1)" for row in values for v in row)
    # deterministic: the same result writes the same CSV
    first = paths[1].read_bytes()
    write_dq_report(result, None, config, out)
    assert paths[1].read_bytes() == first
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


def test_statement_and_describe(tmp_path, config):
    result, _ = _bad_result(tmp_path, config)
    st = result.statement()
    json.dumps(st)
    assert st["verdict"] == "failed" and st["errors"] == result.n_errors
    dat = next(e for e in st["extracts"] if e["extract"] == "dat_referrals")
    assert (dat["rows_read"], dat["rows_loaded"], dat["rows_set_aside"]) == (3, 1, 2)
    assert dat["reconciles"] is True
    text = result.describe()
    assert "DAT-004" in text and "ING-001" in text and "failed" in text
    assert "ING-199" not in text  # notes are not problems


def test_safe_cell():
    assert safe_cell("=1+1") == "'=1+1"
    assert safe_cell("\tx") == "'\tx"
    assert safe_cell("plain") == "plain"
    assert safe_cell(3) == 3


@pytest.mark.slow  # runs every rule twice over the bad warehouse
def test_findings_frame_order_is_deterministic(tmp_path, config):
    result, path = _bad_result(tmp_path, config)
    again = run_validate(path, config)
    pd.testing.assert_frame_equal(result.findings, again.findings)
    sev = result.findings["severity"].tolist()
    assert sev == sorted(sev, key={"error": 0, "warning": 1, "info": 2}.get)


def test_html_listing_is_capped_per_rule_but_fixlist_has_all(tmp_path, config, monkeypatch):
    import pipelines.validate.report as report

    settings, rules = load_rules()
    monkeypatch.setattr(
        report, "load_rules", lambda *a, **k: ({**settings, "html_max_rows_per_rule": 2}, rules)
    )
    base = BASELINE["ifss_distance_travelled"]
    rows = [{**base, "domain": d, "risk_score": 12} for d in ("PARENTING", "ANGER", "BOUNDARIES")]
    tables = {**baseline_tables(), "ifss_distance_travelled": rows}
    result = run_validate(build_warehouse(tmp_path / "w.duckdb", tables), config, only=["DTR-004"])
    paths = write_dq_report(result, None, config, tmp_path / "dq")
    html = paths[0].read_text(encoding="utf-8")
    assert "Only the first 2 of 3 rows are listed here" in html
    assert html.count('<td class="value">12</td>') == 2
    with open(paths[1], encoding="utf-8-sig", newline="") as fh:
        assert sum(1 for r in csv.DictReader(fh) if r["Rule"] == "DTR-004") == 3

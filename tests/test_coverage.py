"""Coverage rules COV-001 to COV-003 (pipelines/validate/coverage.py): hand-made warehouses with
an early stop, a gap month, a sparse extract and a seasonal dip; the thresholds read from
rules.yaml; the note the committee pages carry; and CSV deliveries (the sample, and a copy cut off
early) through ingest and validation.

The default run configuration is used: period 2012-04-01 to 2012-12-31, data as at 2013-01-31.
"""

from __future__ import annotations

import copy
import csv
import dataclasses
import datetime as dt
import shutil
from pathlib import Path

import pytest
from report_helpers import FAKE_DQ, fake_rows, suppress_rows
from test_validate import baseline_tables, memory_warehouse, monthly_rows

from pipelines import ROOT
from pipelines.config import load_config
from pipelines.contract import METRICS_COLUMNS
from pipelines.report import blocks
from pipelines.report.blocks import Page
from pipelines.report.markup import render
from pipelines.report.model import Metrics, Row
from pipelines.report.params import ReportParameters
from pipelines.validate import validate
from pipelines.validate.coverage import month_span
from pipelines.validate.rules import load_rules

D = dt.date
COV = ["COV-001", "COV-002", "COV-003"]


def _referrals(**kw) -> dict:
    """The baseline tables with DAT referrals from April 2011 (monthly_rows arguments)."""
    tables = baseline_tables()
    args = {"column": "referral_date", "from": D(2011, 4, 1), "to": D(2013, 1, 31)} | kw
    tables["dat_referrals"] = monthly_rows("dat_referrals", **args)
    return tables


def _run(tables: dict, config, only=COV):
    con = memory_warehouse(tables)
    try:
        return validate(con, config, only=only)
    finally:
        con.close()


def _cov(result):
    f = result.findings
    return f[f["rule"].isin(COV)]


def test_an_extract_that_stops_early_is_a_warning_naming_extract_column_and_months(config):
    result = _run(_referrals(per_month=20, to=D(2012, 10, 31)), config)
    f = _cov(result)
    assert f[["rule", "extract", "column", "severity"]].values.tolist() == [
        ["COV-001", "dat_referrals", "referral_date", "warning"]
    ]
    hit = f.iloc[0]
    assert hit["value"] == "2012-10-27" and pd_isna(hit["row"])
    assert "96 days before" in hit["message"] and "November 2012 to January 2013" in hit["message"]
    assert result.verdict == "passed with warnings" and result.n_errors == 0
    (cover,) = result.statement()["coverage"]
    assert cover["extract"] == "dat_referrals" and cover["months"] == [
        "2012-10",
        "2012-11",
        "2012-12",
    ]
    assert cover["note"] == (
        "The extract of referrals to the Duty and Assessment Teams has no records after 27 "
        "October 2012; figures for October to "
        "December 2012 are incomplete."
    )
    assert cover["note"] in result.describe()  # the terminal says it too


def test_a_month_with_no_records_or_far_fewer_is_a_warning(config):
    result = _run(_referrals(per_month=20, skip=["2012-08"], counts={"2012-10": 3}), config)
    f = _cov(result)
    assert f["rule"].tolist() == ["COV-002", "COV-002"]
    assert f["value"].tolist() == ["2012-08", "2012-10"]
    assert "0 records in August 2012; a typical month has 20" in f.iloc[0]["message"]
    (cover,) = result.statement()["coverage"]
    assert cover["months"] == ["2012-08", "2012-10"]
    assert cover["note"] == (
        "The extract of referrals to the Duty and Assessment Teams has far fewer records than "
        "usual for August 2012 and October "
        "2012; figures for August 2012 and October 2012 are incomplete."
    )
    # the line the about page and the data quality statement give for the extract
    dat = next(e for e in result.statement()["extracts"] if e["extract"] == "dat_referrals")
    assert any(
        "[COV-002]" in line and "2012-08; 2012-10" in line for line in dat["warnings_summary"]
    )


def test_complete_months_a_seasonal_dip_and_the_month_of_the_extract_are_fine(config):
    # August at half a typical month, and January 2013 (the month the extract was taken) cut
    # at the 10th: neither is a gap; the latest record 21 days before data_as_at is no stop
    tables = _referrals(per_month=20, counts={"2012-08": 10}, to=D(2013, 1, 10))
    assert _cov(_run(tables, config)).empty


def test_sparse_extracts_raise_no_alarm(config):
    """Leavers at two a month, stopping two months before data_as_at; referrals at four a
    month with a month missing: too few a month to tell a gap from chance."""
    tables = _referrals(per_month=4, skip=["2012-07"])
    tables["workforce_leavers"] = monthly_rows(
        "workforce_leavers", "leaving_date", 2, **{"from": D(2011, 4, 1), "to": D(2012, 11, 30)}
    )
    assert _cov(_run(tables, config)).empty


def test_a_sparse_extract_that_stops_for_long_is_still_told(config):
    """Four referrals a month and none in the last six months: 24 expected, none found."""
    tables = _referrals(per_month=4, to=D(2012, 7, 31))
    assert _cov(_run(tables, config))["rule"].tolist() == ["COV-001"]


def test_too_little_history_is_not_judged(config):
    """A new extract (two full months before its latest) has no typical month."""
    tables = _referrals(per_month=30, **{"from": D(2012, 6, 1), "to": D(2012, 9, 30)})
    assert _cov(_run(tables, config)).empty


def test_a_stale_workforce_snapshot_is_a_warning_and_a_quarter_old_one_is_not(config):
    tables = baseline_tables()
    posts = tables["workforce_posts"][0]
    tables["workforce_posts"] = [{**posts, "snapshot_date": D(2012, 9, 30)}]  # 92 days
    assert _cov(_run(tables, config)).empty
    tables["workforce_posts"] = [{**posts, "snapshot_date": D(2012, 9, 29)}]  # 93 days
    f = _cov(_run(tables, config))
    assert f[["rule", "extract", "column", "value"]].values.tolist() == [
        ["COV-003", "workforce_posts", "snapshot_date", "2012-09-29"]
    ]


def test_thresholds_are_data(config, monkeypatch):
    import pipelines.validate as v

    settings, rules = load_rules()
    tables = _referrals(per_month=20, to=D(2012, 10, 31))
    assert _cov(_run(tables, config))["rule"].tolist() == ["COV-001"]
    looser = copy.deepcopy(settings)
    looser["coverage"]["min_days_without_records"] = 120
    monkeypatch.setattr(v, "load_rules", lambda *a, **k: (looser, rules))
    assert _cov(_run(tables, config)).empty
    stricter = copy.deepcopy(settings)
    stricter["coverage"]["low_month_share"] = 0.6  # August at half a month becomes a gap
    monkeypatch.setattr(v, "load_rules", lambda *a, **k: (stricter, rules))
    dip = _referrals(per_month=20, counts={"2012-08": 10})
    assert _cov(_run(dip, config))["value"].tolist() == ["2012-08"]


def test_baseline_and_optional_extracts_absent_give_nothing(config):
    tables = baseline_tables()
    del tables["workforce_posts"], tables["workforce_leavers"]
    result = _run(tables, config)
    assert _cov(result).empty and result.statement()["coverage"] == []


def test_month_span_words():
    assert month_span([D(2013, 2, 1), D(2013, 3, 1)]) == "February and March 2013"
    assert month_span([D(2012, 11, 1), D(2012, 12, 1), D(2013, 1, 1)]) == (
        "November 2012 to January 2013"
    )
    assert month_span([D(2012, 5, 1), D(2012, 8, 1)]) == "May 2012 and August 2012"
    assert month_span([D(2013, 3, 1)]) == "March 2013"


# ---------------------------------------------------------------------------------------------
# The pages: the summary and the annex pages of the extract say which months are incomplete


NOTE = (
    "The extract of referrals to the Duty and Assessment Teams has no records after 31 January "
    "2013; figures for February and "
    "March 2013 are incomplete."
)


def _page(analysis: str) -> Page:
    dq = {**FAKE_DQ, "coverage": [{"extract": "dat_referrals", "label": "DAT referrals",
                                   "column": "referral_date", "rule": "COV-001",
                                   "months": ["2013-02", "2013-03"], "note": NOTE}]}  # fmt: skip
    params = dataclasses.replace(ReportParameters.from_config(load_config()), dq_statement=dq)
    rows = suppress_rows(fake_rows(True))
    metrics = Metrics(Row(**dict(zip(METRICS_COLUMNS, r, strict=True))) for r in rows)
    return Page.open(analysis, params, metrics)


def test_pages_say_which_months_an_extract_does_not_cover():
    from pipelines.report.summary import summary_blocks

    summary = render(summary_blocks(_page("index"), ["referrals", "re_referrals", "cpr"]))
    assert f'<p class="notice">{NOTE}</p>' in summary
    referrals = render([b for part in blocks.page_blocks(_page("re_referrals")) for b in part])
    assert NOTE in referrals
    cpr = render([b for part in blocks.page_blocks(_page("cpr")) for b in part])
    assert NOTE not in cpr  # the CPR page does not use the referrals extract
    # a statement without coverage (an older run's) shows nothing
    page = _page("cpr")
    plain = dataclasses.replace(page.params, dq_statement=FAKE_DQ)
    assert blocks.coverage_notes(dataclasses.replace(page, params=plain), summary=True) == []


def test_the_summary_says_once_what_several_extracts_share(config):
    tables = _referrals(per_month=20, to=D(2012, 10, 31))
    tables["cpr_reviews"] = monthly_rows(
        "cpr_reviews", "review_date", 20, **{"from": D(2011, 4, 1), "to": D(2012, 10, 31)}
    )
    tables["ifss_referrals"] = monthly_rows(
        "ifss_referrals", "referral_date", 20, skip=["2012-06"],
        **{"from": D(2011, 4, 1), "to": D(2013, 1, 31)},
    )  # fmt: skip
    st = _run(tables, config).statement()
    assert [c["extract"] for c in st["coverage"]] == [
        "dat_referrals", "cpr_reviews", "ifss_referrals"
    ]  # fmt: skip
    assert st["coverage_summary"] == [
        "The extracts of referrals to the Duty and Assessment Teams and child protection reviews "
        "have no records after 27 October 2012; "
        "figures for October to December 2012 are incomplete.",
        "The extract of referrals to the Integrated Family Support Services has no records for "
        "June 2012; figures for June 2012 are "
        "incomplete.",
    ]


# ---------------------------------------------------------------------------------------------
# CSV deliveries through ingest and validation


@pytest.fixture(scope="module")
def sample_copy(tmp_path_factory):
    """The shipped sample, and a copy whose referrals are cut after October 2012 and written
    the way Excel saves a CSV on Windows (day-first dates, Windows-1252, CRLF)."""
    tmp = tmp_path_factory.mktemp("coverage")
    cut = tmp / "cut"
    shutil.copytree(ROOT / "data" / "raw" / "sample", cut)
    path = cut / "dat_referrals.csv"
    with open(path, encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    at = rows[0].index("referral_date")
    kept = [rows[0]]
    for r in rows[1:]:
        if r[at] <= "2012-10-31":
            for i, value in enumerate(r):
                if len(value) == 10 and value[4] == "-" and value[7] == "-":
                    r[i] = f"{value[8:]}/{value[5:7]}/{value[:4]}"
            kept.append(r)
    with open(path, "w", encoding="cp1252", newline="") as fh:
        csv.writer(fh, lineterminator="\r\n").writerows(kept)
    return tmp, cut


def _ingest_validate(raw: Path, tmp: Path, name: str):
    import duckdb

    from pipelines.ingest import ingest

    db = tmp / f"{name}.duckdb"
    ingest(raw, db, tmp / "key", f"test-{name}")
    config = dataclasses.replace(load_config({"key_file": str(tmp / "key")}), raw_dir=raw)
    con = duckdb.connect(str(db), read_only=True)
    try:
        return validate(con, config, only=COV)
    finally:
        con.close()


def test_the_sample_gives_no_coverage_finding(sample_copy):
    tmp, _ = sample_copy
    result = _ingest_validate(ROOT / "data" / "raw" / "sample", tmp, "sample")
    assert result.findings.empty and result.coverage == []


def test_a_delivery_cut_off_early_is_told(sample_copy):
    tmp, cut = sample_copy
    result = _ingest_validate(cut, tmp, "cut")
    f = _cov(result)
    assert f[["rule", "extract", "file", "column", "value"]].values.tolist() == [
        ["COV-001", "dat_referrals", "dat_referrals.csv", "referral_date", "2012-10-31"]
    ]
    assert f.iloc[0]["column_letter"] == "E"
    (cover,) = result.statement()["coverage"]
    assert cover["note"] == (
        "The extract of referrals to the Duty and Assessment Teams has no records after 31 "
        "October 2012; figures for November "
        "and December 2012 are incomplete."
    )


def pd_isna(value) -> bool:
    import pandas as pd

    return bool(pd.isna(value))


def test_dq_report_counts_one_warning_in_the_singular(config):
    """The data quality report counts through prose.plural: "1 warning", never "1 warnings"."""
    from pipelines.validate.report import render_html

    tables = baseline_tables()
    tables["workforce_posts"][0]["snapshot_date"] = D(2012, 6, 30)
    con = memory_warehouse(tables)
    try:
        result = validate(con, config)
    finally:
        con.close()
    assert (result.n_errors, result.n_warnings) == (0, 1)
    page = render_html(result, config)
    assert "<title>Data quality report: passed with warnings (0 errors, 1 warning)</title>" in page
    assert "Passed with 1 warning:" in page and "<caption>COV-003: 1 row</caption>" in page
    assert "1 warnings" not in page and "1 rows" not in page
    assert "The latest workforce posts snapshot is dated 30 June 2012, 184 days before" in page

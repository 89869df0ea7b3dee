"""Integration: the shipped sample, ingested, reproduces the inspection report's figures.

docs/METRICS.md, "Reference figures": counts exactly, percentages within one percentage point of the
report's rounded figure. Runs the real ingest into a temporary warehouse, then the metrics for
2012-04-01..2012-12-31 and 2011-04-01..2012-03-31, both as at 2013-01-31.
"""

from __future__ import annotations

import pytest

from pipelines import ROOT
from pipelines.transform import compute_metrics, suppress, write_metrics
from tests.fixtures.metrics.helpers import assert_no_disclosure, config

SAMPLE = ROOT / "data" / "raw" / "sample"


@pytest.fixture(scope="module")
def runs(sample_warehouse):
    """The sample's metrics for two periods, from the session's sample warehouse (conftest.py)."""
    con = sample_warehouse
    return {
        "2012-13": compute_metrics(con, config("2012-04-01", "2012-12-31", "2013-01-31")),
        "2011-12": compute_metrics(con, config("2011-04-01", "2012-03-31", "2013-01-31")),
    }


def _row(df, analysis, measure, scope, breakdown="total", category="all"):
    sel = df[
        (df["analysis"] == analysis)
        & (df["measure"] == measure)
        & (df["scope"] == scope)
        & (df["breakdown"] == breakdown)
        & (df["category"] == category)
    ]
    assert len(sel) == 1, (analysis, measure, scope, breakdown, category)
    return sel.iloc[0]


def _count(df, analysis, measure, scope):
    return int(_row(df, analysis, measure, scope)["value"])


def _pct(df, analysis, measure, scope, breakdown="total", categories=("all",), scopes=None):
    """The percentage, summing numerators (and denominators) over categories and scopes."""
    num = den = 0
    for s in scopes or (scope,):
        dens = set()
        for c in categories:
            r = _row(df, analysis, measure, s, breakdown, c)
            num += r["numerator"]
            dens.add(r["denominator"])
        assert len(dens) == 1  # categories of one breakdown share their denominator
        den += dens.pop()
    return 100 * num / den


def _within_a_point(measured: float, report: float) -> None:
    assert abs(measured - report) <= 1, f"measured {measured:.2f}%, report {report}%"


def test_referral_sources(runs):
    df = runs["2012-13"]
    assert _count(df, "referrals", "received", "PREVENTION") == 434
    for group, report in (("SCHOOLS", 35), ("POLICE", 22)):
        _within_a_point(
            _pct(df, "referrals", "received", "PREVENTION", "source_group", (group,)), report
        )
    _within_a_point(
        _pct(df, "referrals", "received", "PREVENTION", "age_band", ("9-11", "12-17")), 63
    )
    _within_a_point(
        _pct(df, "referrals", "received", "PREVENTION", "age_band", ("0-2", "3-5", "6-8")), 36
    )
    for reason, report in (
        ("PREVENTATIVE", 37),
        ("ANGER_BEHAVIOUR", 19),
        ("RESTORATIVE_JUSTICE", 13),
    ):
        _within_a_point(
            _pct(df, "referrals", "received", "PREVENTION", "reason", (reason,)), report
        )

    assert _count(df, "referrals", "received", "FST") == 205
    for group, report in (("DAT", 56), ("CPT", 24), ("CDT", 8), ("LAC", 5)):
        _within_a_point(_pct(df, "referrals", "received", "FST", "source_group", (group,)), report)
    _within_a_point(_pct(df, "referrals", "received", "FST", "case_status", ("CPR",)), 18)
    _within_a_point(
        _pct(
            df, "referrals", "received", "FST", "age_band", ("UNBORN", "0-2", "3-5", "6-8", "9-11")
        ),
        71,
    )


def test_ifst_and_fass(runs):
    df = runs["2012-13"]
    assert _count(df, "referrals", "received", "IFST") == 47
    assert _count(df, "referrals", "received", "FASS") == 36
    for scope, expected in (
        ("IFST", {"NEW": (27, 30), "CONSULTATION": (8, 9), "RE_REFERRAL": (6, 8)}),
        ("FASS", {"NEW": (26, 29), "ADVICE": (6, 6), "RE_REFERRAL": (1, 1)}),
    ):
        for rtype, (num, den) in expected.items():
            r = _row(df, "referrals", "accepted", scope, "referral_type", rtype)
            assert (r["numerator"], r["denominator"]) == (num, den), (scope, rtype)
    for substance, report in (
        ("ALCOHOL", 45),
        ("HEROIN", 32),
        ("CANNABIS", 10),
        ("AMPHETAMINE", 7),
        ("COCAINE", 6),
    ):
        _within_a_point(
            _pct(df, "referrals", "received", "IFST", "primary_substance", (substance,)), report
        )
    both = ("IFST", "FASS")
    for status, report in (("CIN", 63), ("CPR", 24), ("LAC", 13)):
        _within_a_point(
            _pct(df, "referrals", "received", None, "case_status", (status,), scopes=both), report
        )
    for bands, report in ((("UNBORN", "0-2"), 30), (("3-5",), 17), (("6-8", "9-11"), 29)):
        _within_a_point(
            _pct(df, "referrals", "received", None, "age_band", bands, scopes=both), report
        )


def test_distance_travelled(runs):
    df = runs["2012-13"]
    assert _count(df, "distance_travelled", "families_served", "PREVENTION") == 160
    assert _row(df, "distance_travelled", "escalated", "PREVENTION")["numerator"] == 23
    _within_a_point(_pct(df, "distance_travelled", "escalated", "PREVENTION"), 14)
    _within_a_point(
        _row(df, "distance_travelled", "mean_risk_reduction", "PREVENTION")["value"], 30
    )
    _within_a_point(_pct(df, "distance_travelled", "risk_reduced", "PREVENTION"), 91)


def test_re_referrals_by_financial_year(runs):
    df = runs["2012-13"]
    for year, report in (("2010-11", 25), ("2011-12", 44), ("2012-13", 40)):
        _within_a_point(
            _pct(df, "re_referrals", "re_referral_12m", "DAT", "financial_year", (year,)), report
        )


def test_child_protection_2011_12(runs):
    df = runs["2011-12"]
    _within_a_point(_pct(df, "cpr", "icpc_timely", "CPR"), 96)
    _within_a_point(_pct(df, "cpr", "review_timely", "CPR"), 99)
    _within_a_point(_pct(df, "cpr", "core_group_timely", "CPR"), 56)
    # "about 110 children on the register at 31 March 2012"
    assert _count(df, "cpr", "on_register", "CPR") == 110


def test_public_file_of_the_sample_discloses_nothing(runs, tmp_path):
    for metrics in runs.values():
        public = suppress(metrics, 4)
        assert assert_no_disclosure(metrics, public, 4) >= 20
        write_metrics(public, tmp_path / "metrics_public.csv")
        text = (tmp_path / "metrics_public.csv").read_text(encoding="utf-8")
        assert ",c," in text  # the sample has small cells: suppression is exercised


def test_public_file_of_the_sample_shows_posts_and_withholds_staff_off_sick(runs):
    """In 2012-13 the sample has 1 to 3 vacant posts in 5 teams and 3 roles (posts, not people:
    shown) and 4 post holders on long-term sick leave (people: withheld)."""
    metrics = runs["2012-13"]
    public = suppress(metrics, 4)
    vacancy = (public["measure"] == "vacancy_rate") & public["breakdown"].isin(["team", "role"])
    small = vacancy & metrics["numerator"].between(1, 4)
    assert small.sum() == 8
    assert (public.loc[small, "numerator"] == metrics.loc[small, "numerator"]).all()
    assert (public.loc[vacancy, "value"] != "c").all()
    sick = _row(public, "workforce", "long_term_sick", "WORKFORCE")
    assert (sick["numerator"], sick["denominator"], sick["value"]) == ("c", 81, "c")
    assert _row(metrics, "workforce", "long_term_sick", "WORKFORCE")["numerator"] == 4

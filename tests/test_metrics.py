"""Unit tests of the metrics layer on small hand-written warehouses.

Every expected figure below is worked out by hand from the rows in the test (the comments show the
working); none is copied from the code's output.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from pipelines.transform import METRICS_COLUMNS, compute_metrics
from pipelines.transform.calendar import bank_holidays
from tests.fixtures.metrics.helpers import config, figure, insert, rows, shares, warehouse

approx = pytest.approx


def dat(ref, child, date, decision=None, outcome="NFA", source="2A", band="0-2", **kw):
    return {
        "referral_id": ref,
        "child_id": child,
        "referral_date": date,
        "decision_date": decision or date,
        "outcome": outcome,
        "referral_source": source,
        "age_band": band,
        **kw,
    }


def ifss(ref, family, service, date, source="2A", rtype="NEW", **kw):
    return {
        "ifss_referral_id": ref,
        "family_id": family,
        "service": service,
        "referral_date": date,
        "referral_source": source,
        "referral_type": rtype,
        "age_band": kw.pop("band", "6-8"),
        **kw,
    }


# --------------------------------------------------------------------------------- calendar ---


def test_bank_holidays_are_england_and_wales_only():
    days = {d for d, _ in bank_holidays(2011, 2013)}
    for d in (
        "2011-04-29",
        "2012-05-07",
        "2012-06-04",
        "2012-06-05",
        "2012-08-27",
        "2012-12-25",
        "2012-12-26",
        "2013-01-01",
    ):
        assert dt.date.fromisoformat(d) in days, d
    # the usual late-May spring holiday moved to 4 June in 2012; Scottish and NI days are absent
    for d in ("2012-05-28", "2012-01-03", "2012-03-19", "2012-07-12", "2012-11-30", "2012-08-06"):
        assert dt.date.fromisoformat(d) not in days, d


def test_decision_on_next_working_day_weekends_and_jubilee():
    con = warehouse()
    insert(
        con,
        "dat_referrals",
        [
            # Fri 1 June 2012: Mon 4 and Tue 5 June are bank holidays, so the deadline is Wed 6 June
            dat("D1", "C1", "2012-06-01", "2012-06-06", "IA", child_seen=True, lateral_checks=True),
            dat(
                "D2",
                "C2",
                "2012-06-01",
                "2012-06-07",
                "S47",
                child_seen=False,
                lateral_checks=False,
            ),
            # Sat 2 June: the first working day after is also Wed 6 June
            dat("D3", "C3", "2012-06-02", "2012-06-06", "IA"),
            # Fri 4 May: Mon 7 May is the early May bank holiday, so Tue 8 May is in time
            dat("D4", "C4", "2012-05-04", "2012-05-08", "NFA", child_seen=True),
            # Thu 3 May: Fri 4 May in time; same day in time; Tue 8 May late
            dat("D5", "C5", "2012-05-03", "2012-05-04", "NFA_LETTER"),
            dat("D6", "C6", "2012-05-03", "2012-05-03", "NFA_LETTER"),
            dat("D7", "C7", "2012-05-03", "2012-05-08", "PREVENTION"),
        ],
    )
    df = compute_metrics(con, config())
    assert figure(df, "re_referrals", "decision_timely", "DAT") == (5, 7, approx(500 / 7))
    # lateral checks: yes on D1, no on D2, blank elsewhere (not in the denominator)
    assert figure(df, "re_referrals", "lateral_checks", "DAT") == (1, 2, 50.0)
    # child seen: IA/S47 with child_seen recorded: D1 yes, D2 no (D3 blank; D4 is NFA)
    assert figure(df, "re_referrals", "child_seen", "DAT") == (1, 2, 50.0)
    # outcome shares in code-list order
    assert shares(df, "re_referrals", "outcome", "DAT", "outcome") == {
        "NFA": (1, 7),
        "NFA_LETTER": (2, 7),
        "PREVENTION": (1, 7),
        "IA": (2, 7),
        "S47": (1, 7),
    }


def test_royal_wedding_2011_is_not_a_working_day():
    con = warehouse()
    insert(
        con,
        "dat_referrals",
        [
            # Thu 28 April 2011: Fri 29 April (royal wedding) and Mon 2 May (May Day) are holidays
            dat("W1", "C1", "2011-04-28", "2011-05-03"),
            dat("W2", "C2", "2011-04-28", "2011-05-04"),
        ],
    )
    df = compute_metrics(con, config("2011-04-01", "2012-03-31", "2013-01-31"))
    assert figure(df, "re_referrals", "decision_timely", "DAT") == (1, 2, 50.0)


# ----------------------------------------------------------------------------- re-referrals ---


def test_re_referral_twelve_month_boundary_and_same_day():
    con = warehouse()
    insert(
        con,
        "dat_referrals",
        [
            dat("A1", "A", "2011-05-10"),
            dat("A2", "A", "2012-05-10"),  # exactly 12 months: yes
            dat("B1", "B", "2011-05-09"),
            dat("B2", "B", "2012-05-10"),  # 12 months + 1 day: no
            dat("C1", "C", "2012-06-01"),
            dat("C2", "C", "2012-06-01"),  # same day: no
        ],
    )
    df = compute_metrics(con, config())
    assert figure(df, "re_referrals", "re_referral_12m", "DAT") == (1, 4, 25.0)
    # prior referrals (strictly earlier, any time): A2 1, B2 1, C1 0, C2 0
    assert shares(df, "re_referrals", "prior_referrals", "DAT", "count_band") == {
        "0": (2, 4),
        "1": (2, 4),
    }
    # earliest referral 2011-05-09: the first year starting 12 months later is 2013-14, after
    # period_end, so there is no financial-year row at all
    assert rows(df, "re_referrals", "re_referral_12m", "DAT", "financial_year").empty


def test_re_referral_leap_day():
    con = warehouse()
    insert(
        con,
        "dat_referrals",
        [
            # 2013-02-28 - 12 months = 2012-02-28 (clamped): 2012-02-29 is within, 2012-02-27 not
            dat("L1", "L", "2012-02-29"),
            dat("L2", "L", "2013-02-28"),
            dat("M1", "M", "2012-02-27"),
            dat("M2", "M", "2013-02-28"),
        ],
    )
    df = compute_metrics(con, config("2012-04-01", "2013-03-31", "2013-04-30"))
    assert figure(df, "re_referrals", "re_referral_12m", "DAT") == (1, 2, 50.0)


def test_re_referral_financial_years():
    con = warehouse()
    insert(
        con,
        "dat_referrals",
        [
            dat("W1", "W", "2008-03-01"),  # earliest: years starting on/after 2009-03-01 qualify
            dat("X1", "X", "2009-06-15"),
            dat("X2", "X", "2010-04-01"),  # re-referral (2009-06-15 is within 12 months)
            dat("Y1", "Y", "2010-05-01"),
            dat("Y2", "Y", "2011-04-30"),  # re-referral
            dat("Z1", "Z", "2012-03-01"),
            dat("Z2", "Z", "2013-01-15"),  # re-referral, but after period_end: not counted
        ],
    )
    df = compute_metrics(con, config())
    years = rows(df, "re_referrals", "re_referral_12m", "DAT", "financial_year")
    assert list(years["category"]) == ["2009-10", "2010-11", "2011-12", "2012-13"]
    assert figure(df, "re_referrals", "re_referral_12m", "DAT", "financial_year", "2009-10") == (
        0,
        1,
        0.0,
    )
    assert figure(df, "re_referrals", "re_referral_12m", "DAT", "financial_year", "2010-11") == (
        1,
        2,
        50.0,
    )
    assert figure(df, "re_referrals", "re_referral_12m", "DAT", "financial_year", "2011-12") == (
        1,
        2,
        50.0,
    )
    # 2012-13 has no referral up to period_end: listed, zero denominator, blank value
    assert figure(df, "re_referrals", "re_referral_12m", "DAT", "financial_year", "2012-13") == (
        0,
        0,
        None,
    )
    assert figure(df, "re_referrals", "re_referral_12m", "DAT") == (0, 0, None)

    # A period ending in March stops at the year containing it.
    df = compute_metrics(con, config("2011-04-01", "2012-03-31", "2013-01-31"))
    years = rows(df, "re_referrals", "re_referral_12m", "DAT", "financial_year")
    assert list(years["category"]) == ["2009-10", "2010-11", "2011-12"]


def test_rereferred_within_6_and_12_months_censored_at_data_as_at():
    con = warehouse()
    insert(
        con,
        "dat_referrals",
        [
            # E1 followed exactly 6 months later: re-referred within 6 months
            dat("E1", "E", "2012-04-15", outcome="NFA_LETTER"),
            dat("E2", "E", "2012-10-15", outcome="NFA_LETTER"),  # window ends 2013-04-15: censored
            # F1 followed 6 months and 1 day later (2012-05-31 + 6 months = 2012-11-30): not
            dat("F1", "F", "2012-05-31", outcome="NFA_LETTER"),
            dat("F2", "F", "2012-12-01", outcome="NFA"),  # censored
            # G1's window ends exactly on data_as_at: counted, not followed
            dat("G1", "G", "2012-07-31", outcome="NFA_LETTER"),
            dat("H1", "H", "2012-08-01", outcome="NFA_LETTER"),  # ends 2013-02-01: censored
            # same-day referrals are not "later"
            dat("I1", "I", "2012-06-01", outcome="NFA_LETTER"),
            dat("I2", "I", "2012-06-01", outcome="NFA_LETTER"),
            # J1 followed exactly 12 months later, K1 12 months and a day later
            dat("J1", "J", "2011-06-30", outcome="NFA"),
            dat("J2", "J", "2012-06-30", outcome="NFA"),
            dat("K1", "K", "2011-07-31", outcome="NFA"),
            dat("K2", "K", "2012-08-01", outcome="NFA"),
        ],
    )
    df = compute_metrics(con, config())
    # NFA_LETTER, 6 months: E1, F1, G1, I1, I2 counted; E1 followed
    assert figure(df, "re_referrals", "rereferred_6m", "DAT", "outcome", "NFA_LETTER") == (
        1,
        5,
        20.0,
    )
    # NFA, 6 months: J2 only (F2 and K2 censored); not followed
    assert figure(df, "re_referrals", "rereferred_6m", "DAT", "outcome", "NFA") == (0, 1, 0.0)
    # 12-month windows of 2012-13 referrals have not closed by 2013-01-31
    assert rows(df, "re_referrals", "rereferred_12m", "DAT").empty

    df = compute_metrics(con, config("2011-04-01", "2012-03-31", "2013-01-31"))
    assert figure(df, "re_referrals", "rereferred_12m", "DAT", "outcome", "NFA") == (1, 2, 50.0)
    assert figure(df, "re_referrals", "rereferred_6m", "DAT", "outcome", "NFA") == (0, 2, 0.0)


# -------------------------------------------------------------------------------- referrals ---


def test_referral_sources_ages_and_acceptance():
    con = warehouse()
    insert(
        con,
        "dat_referrals",
        [
            dat("R1", "C1", "2012-04-01", source="2A", band="0-2"),
            dat("R2", "C2", "2012-05-01", source="6", band="9-11"),
            dat("R3", "C3", "2012-06-01", source="5A", band="UNBORN"),
            dat("R4", "C4", "2012-07-01", source="1A", band="UNKNOWN"),
            dat("R5", "C5", "2012-12-31", source="1C", band="12-17"),
            dat("R0", "C6", "2012-03-31", source="6", band="3-5"),  # before the period
        ],
    )
    insert(
        con,
        "ifss_referrals",
        [
            ifss(
                "I1",
                "F1",
                "IFST",
                "2012-05-01",
                "5A",
                "NEW",
                referring_team="DAT",
                accepted=True,
                referral_reason="SUBSTANCE_MISUSE",
                case_status="CIN",
                primary_substance="ALCOHOL",
                band="UNBORN",
            ),
            ifss(
                "I2",
                "F2",
                "IFST",
                "2012-05-02",
                "5A",
                "NEW",
                accepted=False,
                case_status="CPR",
                primary_substance="HEROIN",
                band="0-2",
            ),
            ifss(
                "I3",
                "F3",
                "IFST",
                "2012-05-03",
                "3B",
                "CONSULTATION",
                accepted=True,
                referral_reason="SUBSTANCE_MISUSE",
                case_status="CIN",
                band="3-5",
            ),
            ifss(
                "I4",
                "F4",
                "IFST",
                "2012-05-04",
                "6",
                "NEW",
                referral_reason="PARENTING",
                primary_substance="ALCOHOL",
                band="0-2",
            ),  # accepted blank: pending
        ],
    )
    df = compute_metrics(con, config())
    assert figure(df, "referrals", "received", "DAT") == (None, None, 5.0)
    assert shares(df, "referrals", "received", "DAT", "source_group") == {
        "FAMILY_SELF": (2, 5),
        "SCHOOLS": (1, 5),
        "SOCIAL_CARE": (1, 5),
        "POLICE": (1, 5),
    }
    assert shares(df, "referrals", "received", "DAT", "age_band") == {
        "UNBORN": (1, 5),
        "0-2": (1, 5),
        "9-11": (1, 5),
        "12-17": (1, 5),
        "UNKNOWN": (1, 5),
    }
    assert rows(df, "referrals", "received", "DAT", "reason").empty

    assert figure(df, "referrals", "received", "IFST") == (None, None, 4.0)
    # 5A splits by referring_team where given (I1 -> DAT), else social care (I2)
    assert shares(df, "referrals", "received", "IFST", "source_group") == {
        "HEALTH": (1, 4),
        "SOCIAL_CARE": (1, 4),
        "DAT": (1, 4),
        "POLICE": (1, 4),
    }
    # blank reason (I2) stays in the denominator
    assert shares(df, "referrals", "received", "IFST", "reason") == {
        "PARENTING": (1, 4),
        "SUBSTANCE_MISUSE": (2, 4),
    }
    assert shares(df, "referrals", "received", "IFST", "case_status") == {
        "CIN": (2, 4),
        "CPR": (1, 4),
    }
    # substances: over the 3 referrals with one recorded
    assert shares(df, "referrals", "received", "IFST", "primary_substance") == {
        "ALCOHOL": (2, 3),
        "HEROIN": (1, 3),
    }
    assert figure(df, "referrals", "received", "IFST", "primary_substance", "ALCOHOL")[2] == approx(
        200 / 3
    )
    # accepted over received of that type (pending I4 counts as received, not accepted)
    assert shares(df, "referrals", "accepted", "IFST", "referral_type") == {
        "NEW": (1, 3),
        "CONSULTATION": (1, 1),
    }
    for scope in ("PREVENTION", "FST", "FASS"):
        assert figure(df, "referrals", "received", scope) == (None, None, 0.0)
        # no breakdown rows for a scope with no referrals; only the total and its time series
        assert set(rows(df, "referrals", "received", scope)["breakdown"]) == {
            "total",
            "previous_year",
            "quarter",
        }


# ----------------------------------------------------------------------- distance travelled ---


def _scores(assessment, referral, date, stage, **domains):
    return [
        {
            "assessment_id": assessment,
            "ifss_referral_id": referral,
            "assessment_date": date,
            "stage": stage,
            "domain": d,
            "risk_score": s,
        }
        for d, s in domains.items()
    ]


def test_distance_travelled():
    con = warehouse()
    insert(
        con,
        "ifss_referrals",
        [
            # family F1: served by PREVENTION twice (counted once) and by FST; escalated in the
            # period on P2 (P1's escalation was before the period)
            ifss(
                "P1",
                "F1",
                "PREVENTION",
                "2012-02-20",
                accepted=True,
                service_start_date="2012-03-01",
                service_end_date="2012-05-01",
                escalated=True,
                escalation_date="2012-03-15",
            ),
            ifss(
                "P2",
                "F1",
                "PREVENTION",
                "2012-05-20",
                accepted=True,
                service_start_date="2012-06-01",
                escalated=True,
                escalation_date="2012-07-01",
            ),
            ifss(
                "P3",
                "F2",
                "PREVENTION",
                "2011-01-01",
                accepted=True,
                service_start_date="2011-01-01",
                service_end_date="2012-03-31",
            ),  # ended the day before the period
            ifss("P4", "F3", "PREVENTION", "2012-05-01", accepted=False),
            ifss(
                "P5",
                "F4",
                "PREVENTION",
                "2012-12-20",
                accepted=True,
                service_start_date="2013-01-05",
            ),  # starts after the period
            ifss(
                "P8",
                "F6",
                "PREVENTION",
                "2012-03-20",
                accepted=True,
                service_start_date="2012-04-01",
                service_end_date="2012-04-01",
            ),
            ifss("P6", "F5", "FST", "2012-12-01", accepted=True, service_start_date="2012-12-31"),
            ifss("P7", "F1", "FST", "2012-03-25", accepted=True, service_start_date="2012-04-01"),
            ifss("P9", "F7", "FASS", "2013-01-10", accepted=True, service_start_date="2013-01-10"),
        ],
    )
    insert(
        con,
        "ifss_distance_travelled",
        [
            # P1: earliest START A1, latest END A5 (in the period); common domains PARENTING, ANGER:
            # start risk (8+6)/2 = 7, end risk (4+5)/2 = 4.5, reduction 100 * 2.5 / 7 = 250/7
            *_scores("A1", "P1", "2012-03-01", "START", PARENTING=8, ANGER=6, BOUNDARIES=5),
            *_scores("A2", "P1", "2012-03-10", "START", PARENTING=1, ANGER=1, BOUNDARIES=1),
            *_scores("A3", "P1", "2012-04-01", "REVIEW", PARENTING=7),
            *_scores("A4", "P1", "2012-04-20", "END", PARENTING=6, ANGER=4),
            *_scores("A5", "P1", "2012-05-01", "END", PARENTING=4, ANGER=5, HOME_CONDITIONS=3),
            # P2: start (5+4)/2 = 4.5, end (6+4)/2 = 5: reduction 100 * -0.5 / 4.5 = -100/9
            *_scores("A6", "P2", "2012-06-01", "START", PARENTING=5, SCHOOL_ATTENDANCE=4),
            *_scores("A7", "P2", "2012-11-30", "END", PARENTING=6, SCHOOL_ATTENDANCE=4),
            # P7: latest END after the period: not paired (an earlier END in the period is ignored)
            *_scores("A8", "P7", "2012-04-02", "START", ANGER=3),
            *_scores("A9", "P7", "2012-06-01", "END", ANGER=2),
            *_scores("A10", "P7", "2013-01-10", "END", ANGER=1),
            # P9: START only, dated in 2012-Q2 for the quarterly mean
            *_scores("A11", "P9", "2012-05-01", "START", ANGER=5),
        ],
    )
    df = compute_metrics(con, config())
    dtr = "distance_travelled"
    assert figure(df, dtr, "families_served", "PREVENTION") == (None, None, 2.0)  # F1, F6
    assert figure(df, dtr, "escalated", "PREVENTION") == (1, 2, 50.0)
    assert figure(df, dtr, "families_served", "FST") == (None, None, 2.0)  # F5, F1
    assert figure(df, dtr, "escalated", "FST") == (0, 2, 0.0)
    assert figure(df, dtr, "families_served", "IFSS") == (None, None, 3.0)  # F1, F5, F6
    assert figure(df, dtr, "escalated", "IFSS") == (1, 3, approx(100 / 3))
    assert figure(df, dtr, "families_served", "IFST") == (None, None, 0.0)
    assert figure(df, dtr, "escalated", "IFST") == (0, 0, None)

    assert figure(df, dtr, "paired", "PREVENTION") == (None, None, 2.0)
    assert figure(df, dtr, "paired", "FST") == (None, None, 0.0)
    assert figure(df, dtr, "mean_risk_reduction", "PREVENTION") == (
        None,
        2,
        approx((250 / 7 - 100 / 9) / 2),
    )
    assert figure(df, dtr, "mean_risk_reduction", "FST") == (None, 0, None)
    assert figure(df, dtr, "risk_reduced", "PREVENTION") == (1, 2, 50.0)
    assert figure(df, dtr, "paired", "IFSS") == (None, None, 2.0)

    change = rows(df, dtr, "domain_change", "PREVENTION", "domain")
    assert list(change["category"]) == ["PARENTING", "ANGER", "SCHOOL_ATTENDANCE"]
    assert figure(df, dtr, "domain_change", "PREVENTION", "domain", "PARENTING") == (
        None,
        2,
        -1.5,
    )  # (4-8 + 6-5) / 2
    assert figure(df, dtr, "domain_change", "PREVENTION", "domain", "ANGER") == (None, 1, -1.0)
    assert figure(df, dtr, "domain_change", "PREVENTION", "domain", "SCHOOL_ATTENDANCE") == (
        None,
        1,
        0.0,
    )

    quarters = rows(df, dtr, "mean_start_risk", "PREVENTION", "quarter")
    assert list(quarters["category"]) == [
        "2011-Q2",
        "2011-Q3",
        "2011-Q4",
        "2012-Q1",
        "2012-Q2",
        "2012-Q3",
        "2012-Q4",
    ]
    # 2012-Q1: A1 mean 19/3 and A2 mean 1; 2012-Q2: A6 mean 4.5
    assert figure(df, dtr, "mean_start_risk", "PREVENTION", "quarter", "2012-Q1") == (
        None,
        2,
        approx(11 / 3),
    )
    assert figure(df, dtr, "mean_start_risk", "PREVENTION", "quarter", "2012-Q2") == (None, 1, 4.5)
    assert figure(df, dtr, "mean_start_risk", "PREVENTION", "quarter", "2011-Q2") == (None, 0, None)
    # IFSS 2012-Q2: A6 4.5, A8 3, A11 5
    assert figure(df, dtr, "mean_start_risk", "IFSS", "quarter", "2012-Q2") == (
        None,
        3,
        approx(12.5 / 3),
    )


# ------------------------------------------------------------------------------------- CPR ---


def _reg(rid, child, reg, icpc=None, strategy=None, core=None, dereg=None, prev=None, cats=()):
    return {
        "registration_id": rid,
        "child_id": child,
        "registration_date": reg,
        "initial_conference_date": icpc or reg,
        "strategy_discussion_date": strategy,
        "first_core_group_date": core,
        "deregistration_date": dereg,
        "deregistration_reason": "PLAN_ACHIEVED" if dereg else None,
        "previous_registrations": prev,
        "category": list(cats),
    }


def _cpr_warehouse() -> duckdb.DuckDBPyConnection:
    con = warehouse()
    insert(
        con,
        "cpr_registrations",
        [
            _reg("S0", "S", "2009-06-01", dereg="2010-06-13", cats=["NEG"]),  # earliest
            _reg("R1", "P", "2010-01-10", dereg="2011-05-15", cats=["NEG"]),
            _reg("R0", "X", "2011-11-30", prev=0, cats=["NEG"]),  # open since before the period
            _reg("T0", "T", "2012-01-01", dereg="2012-03-01", cats=["NEG"]),
            # exactly 12 months after deregistration: 12_TO_24M. Strategy Tue 24 April: the 15th
            # working day after is Wed 16 May (7 May is a holiday): conference 15 May in time.
            # Core group due 10 working days after 15 May = Tue 29 May: held that day, in time.
            _reg(
                "R2",
                "P",
                "2012-05-15",
                strategy="2012-04-24",
                core="2012-05-29",
                dereg="2012-12-31",
                cats=["NEG", "EMO"],
            ),
            # no earlier registration in the extract but previous_registrations 2: UNKNOWN band.
            # Strategy Fri 18 May: 15th working day after, past the Jubilee, is Tue 12 June.
            # The conference that day is in time.
            # Core group due Tue 26 June; held on the 11th working day, 27 June: late.
            _reg(
                "R3",
                "Q",
                "2012-06-12",
                strategy="2012-05-18",
                core="2012-06-27",
                prev=2,
                cats=["PHY"],
            ),
            # exactly 24 months after deregistration: OVER_24M; conference on the 16th working day
            _reg("R5", "S", "2012-06-13", strategy="2012-05-18", dereg="2013-01-10", cats=["EMO"]),
            # under 12 months; conference on a Sunday, core group due Fri 13 July, held then
            _reg("R6", "T", "2012-07-01", core="2012-07-13", cats=["NEG"]),
            # first registration (previous_registrations 0); deregistered within the period
            _reg(
                "R7",
                "U",
                "2012-08-01",
                strategy="2012-07-20",
                core="2012-08-10",
                dereg="2012-10-01",
                prev=0,
                cats=["SAB", "FIN"],
            ),
            # strategy Fri 10 Aug: 15th working day after (27 Aug a holiday) is Mon 3 Sept
            _reg("R8", "V", "2012-09-03", strategy="2012-08-10", core="2012-09-10", cats=["NEG"]),
            # conference Thu 20 Dec: core group due Tue 8 Jan 2013 (Christmas and New Year)
            _reg("R9", "W", "2012-12-20", prev=0, cats=["PHY"]),
        ],
    )
    insert(
        con,
        "cpr_reviews",
        [
            {"review_id": "V1", "registration_id": "R2", "review_date": "2012-08-15"},  # 3 months
            {"review_id": "V2", "registration_id": "R2", "review_date": "2012-12-31"},  # < 6 months
            {"review_id": "V3", "registration_id": "R3", "review_date": "2012-09-13"},  # 3m + 1 day
            {"review_id": "V4", "registration_id": "R0", "review_date": "2012-02-29"},  # before
            {"review_id": "V5", "registration_id": "R0", "review_date": "2012-08-29"},  # 6 months
            {"review_id": "V6", "registration_id": "R6", "review_date": "2012-10-02"},  # 3m + 1 day
        ],
    )
    return con


def test_cpr_registrations_and_re_registrations():
    df = compute_metrics(_cpr_warehouse(), config())
    # in the period: R2, R3, R5, R6, R7, R8, R9
    assert figure(df, "cpr", "registrations", "CPR") == (None, None, 7.0)
    # several categories count in each
    assert shares(df, "cpr", "registrations", "CPR", "category") == {
        "NEG": (3, 7),
        "PHY": (2, 7),
        "EMO": (2, 7),
        "SAB": (1, 7),
        "FIN": (1, 7),
    }
    assert figure(df, "cpr", "re_registration", "CPR") == (4, 7, approx(400 / 7))
    assert shares(df, "cpr", "re_registration", "CPR", "time_since_deregistration") == {
        "UNDER_12M": (1, 4),
        "12_TO_24M": (1, 4),
        "OVER_24M": (1, 4),
        "UNKNOWN": (1, 4),
    }
    # earliest registration 2009-06-01: years from 2011-12; 2011-12 has R0 and T0, neither a
    # re-registration
    years = rows(df, "cpr", "re_registration", "CPR", "financial_year")
    assert list(years["category"]) == ["2011-12", "2012-13"]
    assert figure(df, "cpr", "re_registration", "CPR", "financial_year", "2011-12") == (0, 2, 0.0)
    assert figure(df, "cpr", "re_registration", "CPR", "financial_year", "2012-13") == (
        4,
        7,
        approx(400 / 7),
    )
    # on the register at 31 Dec 2012: R0, R3, R5 (deregistered after), R6, R8, R9; R2 came off
    # on period_end itself
    assert figure(df, "cpr", "on_register", "CPR") == (None, None, 6.0)


def test_cpr_timeliness():
    con = _cpr_warehouse()
    df = compute_metrics(con, config())
    # conferences: R2, R3, R7, R8 in time, R5 late; R6 and R9 have no strategy discussion
    assert figure(df, "cpr", "icpc_timely", "CPR") == (4, 5, 80.0)
    # core groups: R2, R6, R7, R8 in time; R3 late (11th day), R5 and R9 none held
    assert figure(df, "cpr", "core_group_timely", "CPR") == (4, 7, approx(400 / 7))
    # reviews in the period: V1, V2, V5 on time; V3, V6 late (V4 is before the period but is
    # the one before V5)
    assert figure(df, "cpr", "review_timely", "CPR") == (3, 5, 60.0)
    # R9's core group deadline (8 Jan 2013) is after a data_as_at of 7 Jan: left out
    df = compute_metrics(con, config(as_at="2013-01-07"))
    assert figure(df, "cpr", "core_group_timely", "CPR") == (4, 6, approx(400 / 6))
    df = compute_metrics(con, config(as_at="2013-01-08"))
    assert figure(df, "cpr", "core_group_timely", "CPR") == (4, 7, approx(400 / 7))


# ------------------------------------------------------------------------------- workforce ---


def _post(pid, snap, team, role, status, qualified=None, caseload=None):
    return {
        "post_id": pid,
        "snapshot_date": snap,
        "team": team,
        "role": role,
        "status": status,
        "qualified_date": qualified,
        "caseload": caseload,
        "staff_id": None if status == "VACANT" else f"S{pid}",
    }


def _workforce_warehouse(leavers: bool = True) -> duckdb.DuckDBPyConnection:
    con = warehouse(workforce=True)
    snap = "2012-09-30"
    insert(
        con,
        "workforce_posts",
        [
            # the snapshot used for a period ending 2012-12-31 (latest on or before it)
            _post("P1", snap, "DAT1", "SW", "FILLED", "2011-10-01", 20),  # under 1 year
            _post("P2", snap, "DAT1", "SW", "FILLED", "2010-09-30", 25),  # exactly 2 years
            _post("P3", snap, "DAT1", "SW", "AGENCY", None, 15),
            _post("P4", snap, "DAT1", "SW", "VACANT"),
            _post("P5", snap, "DAT1", "TM", "FILLED"),  # no caseload recorded
            _post("P6", snap, "DAT2", "SW", "FILLED", "2011-09-30", 18),  # exactly 1 year
            _post("P7", snap, "DAT2", "SW", "LTS", "2005-01-01", 10),  # not staffed
            _post("P8", snap, "DAT2", "SW", "FILLED", None, 12),  # unknown experience
            _post("P9", snap, "IFSS", "FSW", "VACANT"),  # a team of vacant posts only
            _post("P10", snap, "IFSS", "TM", "VACANT"),
            # earlier and later snapshots
            *[
                _post(f"Q{i}", "2012-06-30", "DAT1", "SW", "FILLED", "2000-01-01", 20)
                for i in range(3)
            ],
            _post("Q9", "2012-06-30", "DAT1", "SW", "VACANT"),
            *[
                _post(f"O{i}", "2011-12-31", "DAT1", "SW", "FILLED", "2000-01-01", 20)
                for i in range(10)
            ],
            _post("N1", "2013-01-31", "DAT1", "SW", "FILLED", "2000-01-01", 20),
        ],
    )
    if leavers:
        insert(
            con,
            "workforce_leavers",
            [
                {"staff_id": "L1", "leaving_date": "2011-12-31"},  # 12 months before: out
                {"staff_id": "L2", "leaving_date": "2012-01-01"},
                {"staff_id": "L3", "leaving_date": "2012-12-31"},
                {"staff_id": "L4", "leaving_date": "2013-01-02"},  # after period_end: out
            ],
        )
    return con


def test_workforce():
    df = compute_metrics(_workforce_warehouse(), config())
    wf = "workforce"
    assert figure(df, wf, "posts", "WORKFORCE") == (None, None, 10.0)
    assert figure(df, wf, "posts", "WORKFORCE", "team", "IFSS") == (None, None, 2.0)
    assert figure(df, wf, "posts", "WORKFORCE", "role", "SW") == (None, None, 7.0)
    assert figure(df, wf, "vacancy_rate", "WORKFORCE") == (4, 10, 40.0)
    assert shares(df, wf, "vacancy_rate", "WORKFORCE", "team") == {
        "DAT1": (2, 5),
        "DAT2": (0, 3),
        "IFSS": (2, 2),
    }
    assert shares(df, wf, "vacancy_rate", "WORKFORCE", "role") == {
        "TM": (1, 2),
        "SW": (2, 7),
        "FSW": (1, 1),
    }
    assert figure(df, wf, "agency_cover", "WORKFORCE") == (1, 4, 25.0)
    assert figure(df, wf, "long_term_sick", "WORKFORCE") == (1, 10, 10.0)
    # caseloads of staffed posts (FILLED, AGENCY) with one recorded
    assert figure(df, wf, "caseload_mean", "WORKFORCE", "team", "DAT1") == (None, 3, 20.0)
    assert figure(df, wf, "caseload_median", "WORKFORCE", "team", "DAT2") == (None, 2, 15.0)
    assert figure(df, wf, "caseload_min", "WORKFORCE", "team", "DAT1") == (None, 3, 15.0)
    assert figure(df, wf, "caseload_max", "WORKFORCE", "team", "DAT1") == (None, 3, 25.0)
    assert figure(df, wf, "caseload_mean", "WORKFORCE", "team", "IFSS") == (None, 0, None)
    assert figure(df, wf, "caseload_mean", "WORKFORCE", "role", "SW") == (None, 5, 18.0)
    assert figure(df, wf, "caseload_median", "WORKFORCE", "role", "SW") == (None, 5, 18.0)
    assert figure(df, wf, "caseload_mean", "WORKFORCE", "role", "TM") == (None, 0, None)
    assert shares(df, wf, "experience", "WORKFORCE", "band") == {
        "UNDER_1Y": (1, 4),
        "1_TO_2Y": (1, 4),
        "OVER_2Y": (1, 4),
        "UNKNOWN": (1, 4),
    }
    # leavers L2, L3 over the mean FILLED posts of the 2012-06-30 (3) and 2012-09-30 (5)
    # snapshots (2011-12-31 is not after period_end - 12 months)
    assert figure(df, wf, "turnover", "WORKFORCE") == (2, 4, 50.0)


def test_workforce_snapshot_with_no_leavers_and_absent_tables():
    df = compute_metrics(_workforce_warehouse(leavers=False), config())
    assert figure(df, "workforce", "turnover", "WORKFORCE") == (0, 4, 0.0)
    # a period ending before any snapshot: no workforce figures
    df = compute_metrics(_workforce_warehouse(), config("2011-04-01", "2011-12-30"))
    assert (df["analysis"] == "workforce").sum() == 0
    # period ending on a snapshot date uses that snapshot
    df = compute_metrics(_workforce_warehouse(), config("2011-04-01", "2011-12-31"))
    assert figure(df, "workforce", "posts", "WORKFORCE") == (None, None, 10.0)
    # no workforce tables: skipped silently
    df = compute_metrics(warehouse(), config())
    assert (df["analysis"] == "workforce").sum() == 0


# ------------------------------------------------------------------------ shape and order ---


def test_columns_order_and_read_only_connection(tmp_path):
    con = _cpr_warehouse()
    path = tmp_path / "w.duckdb"
    con.execute(f"ATTACH '{path}' AS f")
    con.execute("COPY FROM DATABASE memory TO f")
    con.execute("DETACH f")
    ro = duckdb.connect(str(path), read_only=True)
    df = compute_metrics(ro, config())
    assert list(df.columns) == METRICS_COLUMNS
    assert list(df["analysis"].unique()) == [
        "referrals",
        "distance_travelled",
        "re_referrals",
        "cpr",
    ]
    assert set(df["period_start"]) == {"2012-04-01"} and set(df["period_end"]) == {"2012-12-31"}
    cpr = df[df["analysis"] == "cpr"]
    assert list(cpr["measure"].unique()) == [
        "registrations",
        "re_registration",
        "on_register",
        "icpc_timely",
        "core_group_timely",
        "review_timely",
    ]
    # counts have blank numerator and denominator; ratios never divide by zero
    counts = df[df["unit"] == "count"]
    assert counts["numerator"].isna().all()
    assert df.loc[df["denominator"] == 0, "value"].isna().all()


def test_connection_left_as_it_was():
    con = _cpr_warehouse()
    con.execute("SET enable_progress_bar = true")
    compute_metrics(con, config())
    assert con.execute("SELECT current_setting('enable_progress_bar')").fetchone()[0] is True
    temp = con.execute("SELECT table_name FROM duckdb_tables() WHERE temporary").fetchall()
    assert temp == []

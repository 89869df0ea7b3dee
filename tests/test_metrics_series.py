"""The direction-of-travel rows: each total-row measure for 8 quarters and for a year earlier.

Every expected figure is worked out by hand from the rows in the test (the comments show the
working). The edges: a quarter with no records, the last quarter cut at period_end, the workforce
snapshot and turnover of each quarter, on_register at each quarter's end, and follow-up windows
that still end at data_as_at.
"""

from __future__ import annotations

from pipelines.transform import compute_metrics
from tests.fixtures.metrics.helpers import config, figure, insert, rows, warehouse

QUARTERS_2011Q1_2012Q4 = [f"{y}-Q{q}" for y in (2011, 2012) for q in (1, 2, 3, 4)]


def series(df, analysis, measure, scope):
    """{quarter: (numerator, denominator, value)} of a measure's quarter rows, in output order."""
    sel = rows(df, analysis, measure, scope, "quarter")
    return {
        r.category: tuple(
            None if v != v else float(v) for v in (r.numerator, r.denominator, r.value)
        )
        for r in sel.itertuples(index=False)
    }


def _dat(ref, child, date):
    return {
        "referral_id": ref,
        "child_id": child,
        "referral_date": date,
        "decision_date": date,
        "outcome": "NFA",
        "referral_source": "2A",
        "age_band": "3-5",
    }


def test_referral_quarters_listed_in_full_and_cut_at_period_end():
    con = warehouse()
    insert(
        con,
        "dat_referrals",
        [
            _dat("D1", "C1", "2011-12-01"),
            _dat("D2", "C1", "2012-05-01"),  # re-referral: D1 is 5 months earlier
            _dat("D3", "C2", "2012-06-01"),
            _dat("D4", "C3", "2012-11-10"),
            _dat("D5", "C3", "2012-11-20"),  # after period_end: in no quarter
            _dat("D6", "C4", "2011-07-01"),
        ],
    )
    df = compute_metrics(con, config("2012-04-01", "2012-11-15", "2013-01-31"))
    received = series(df, "referrals", "received", "DAT")
    # the 8 calendar quarters ending with the one holding period_end, every one listed
    assert list(received) == QUARTERS_2011Q1_2012Q4
    counts = {q: v[2] for q, v in received.items()}
    assert counts == {
        "2011-Q1": 0.0,  # a quarter with no records is a count of 0
        "2011-Q2": 0.0,
        "2011-Q3": 1.0,  # D6
        "2011-Q4": 1.0,  # D1
        "2012-Q1": 0.0,
        "2012-Q2": 2.0,  # D2, D3
        "2012-Q3": 0.0,
        "2012-Q4": 1.0,  # D4; D5 falls after period_end, where the last quarter is cut
    }
    assert all(v[0] is None and v[1] is None for v in received.values())
    re_ref = series(df, "re_referrals", "re_referral_12m", "DAT")
    assert re_ref["2012-Q2"] == (1.0, 2.0, 50.0)  # D2 of D2, D3
    assert re_ref["2011-Q1"] == (0.0, 0.0, None)  # empty: a ratio with a blank value
    assert re_ref["2012-Q4"] == (0.0, 1.0, 0.0)
    # the same period a year earlier: 2011-04-01 to 2011-11-15 holds D6 only
    assert figure(df, "referrals", "received", "DAT", "previous_year") == (None, None, 1.0)
    assert figure(df, "re_referrals", "re_referral_12m", "DAT", "previous_year") == (1 - 1, 1, 0)
    assert figure(df, "re_referrals", "decision_timely", "DAT", "previous_year") == (1, 1, 100)
    # the total row is unchanged by the series: D2, D3, D4
    assert figure(df, "referrals", "received", "DAT") == (None, None, 3.0)
    # measures without a total row get no series
    assert rows(df, "re_referrals", "outcome", "DAT", "quarter").empty
    assert rows(df, "re_referrals", "rereferred_6m", "DAT", "previous_year").empty


def _registration(reg, child, date, dereg=None, core=None, strategy=None):
    return {
        "registration_id": reg,
        "child_id": child,
        "strategy_discussion_date": strategy,
        "initial_conference_date": date,
        "registration_date": date,
        "first_core_group_date": core,
        "deregistration_date": dereg,
        "category": ["NEG"],
    }


def test_cpr_on_register_at_each_quarter_end_and_follow_up_to_data_as_at():
    con = warehouse()
    insert(
        con,
        "cpr_registrations",
        [
            _registration("R1", "A", "2011-05-02", dereg="2012-08-01", strategy="2011-04-20"),
            # Mon 1 Oct 2012: the core group is due by the 10th working day after, Mon 15 Oct
            _registration("R2", "B", "2012-10-01", core="2012-10-12"),
            # Fri 25 Jan 2013: due Fri 8 Feb, after data_as_at, so not yet counted
            _registration("R3", "C", "2013-01-25"),
        ],
    )
    df = compute_metrics(con, config("2012-02-01", "2013-01-31", "2013-01-31"))
    on_register = {q: v[2] for q, v in series(df, "cpr", "on_register", "CPR").items()}
    assert on_register == {
        "2011-Q2": 1.0,  # R1 from 2 May 2011
        "2011-Q3": 1.0,
        "2011-Q4": 1.0,
        "2012-Q1": 1.0,
        "2012-Q2": 1.0,
        "2012-Q3": 0.0,  # R1 left on 1 Aug; R2 not yet registered on 30 Sep
        "2012-Q4": 1.0,  # R2
        "2013-Q1": 2.0,  # R2 and R3 at 31 Jan 2013, where the quarter is cut
    }
    registrations = {q: v[2] for q, v in series(df, "cpr", "registrations", "CPR").items()}
    assert registrations["2011-Q2"] == 1.0 and registrations["2012-Q3"] == 0.0
    core = series(df, "cpr", "core_group_timely", "CPR")
    assert core["2012-Q4"] == (1.0, 1.0, 100.0)
    assert core["2013-Q1"] == (0.0, 0.0, None)  # R3's deadline is after data_as_at
    assert core["2011-Q2"] == (0.0, 1.0, 0.0)  # R1 never had a core group
    icpc = series(df, "cpr", "icpc_timely", "CPR")
    assert icpc["2011-Q2"] == (1.0, 1.0, 100.0)  # strategy 20 Apr, conference 2 May: 8 days
    # a year earlier: 2011-02-01 to 2012-01-31 holds R1; on the register at 31 Jan 2012
    assert figure(df, "cpr", "registrations", "CPR", "previous_year") == (None, None, 1.0)
    assert figure(df, "cpr", "on_register", "CPR", "previous_year") == (None, None, 1.0)


def test_workforce_snapshot_and_turnover_of_each_quarter():
    con = warehouse(workforce=True)

    def post(pid, date, status):
        return {
            "post_id": pid,
            "snapshot_date": date,
            "team": "DAT1",
            "role": "SW",
            "status": status,
        }

    insert(
        con,
        "workforce_posts",
        [post(f"P{i}", "2011-03-31", "FILLED") for i in range(4)]
        + [post(f"P{i}", "2012-03-31", "FILLED") for i in range(3)]
        + [post("P3", "2012-03-31", "VACANT")]
        + [post(f"P{i}", "2012-09-30", "FILLED") for i in range(2)]
        + [post("P2", "2012-09-30", "AGENCY"), post("P3", "2012-09-30", "VACANT")],
    )
    insert(
        con,
        "workforce_leavers",
        [
            {"staff_id": "S1", "leaving_date": "2011-10-01"},
            {"staff_id": "S2", "leaving_date": "2012-10-05"},
        ],
    )
    df = compute_metrics(con, config())
    posts = {q: v[2] for q, v in series(df, "workforce", "posts", "WORKFORCE").items()}
    # each quarter uses the latest snapshot on or before its end
    assert posts == {
        "2011-Q1": 4.0,  # 2011-03-31
        "2011-Q2": 4.0,
        "2011-Q3": 4.0,
        "2011-Q4": 4.0,
        "2012-Q1": 4.0,  # 2012-03-31: 3 filled, 1 vacant
        "2012-Q2": 4.0,
        "2012-Q3": 4.0,  # 2012-09-30
        "2012-Q4": 4.0,
    }
    vacancy = series(df, "workforce", "vacancy_rate", "WORKFORCE")
    assert vacancy["2011-Q4"] == (0.0, 4.0, 0.0)
    assert vacancy["2012-Q1"] == (1.0, 4.0, 25.0)
    assert vacancy["2012-Q3"] == (2.0, 4.0, 50.0)  # vacant + agency
    agency = series(df, "workforce", "agency_cover", "WORKFORCE")
    assert agency["2012-Q1"] == (0.0, 1.0, 0.0)
    assert agency["2011-Q1"] == (0.0, 0.0, None)
    turnover = series(df, "workforce", "turnover", "WORKFORCE")
    # 12 months to 2011-12-31 start before the history (the 2011-03-31 snapshot, the last one
    # before the first leaver): not available, rather than S1 over 4 filled posts
    assert turnover["2011-Q4"] == (None, None, None)
    # 12 months to 2012-09-30: S1 (1 Oct 2011) over the mean of 3 and 2 filled posts
    assert turnover["2012-Q3"] == (1.0, 2.5, 40.0)
    # 12 months to 2012-12-31: S2 only; same two snapshots
    assert turnover["2012-Q4"] == (1.0, 2.5, 40.0)
    # a year earlier (to 2011-12-31): the 2011-03-31 snapshot
    assert figure(df, "workforce", "posts", "WORKFORCE", "previous_year") == (None, None, 4.0)
    # the team and role breakdowns stay on the reporting period's snapshot only
    assert rows(df, "workforce", "caseload_mean", "WORKFORCE", "quarter").empty


def test_distance_travelled_quarters_follow_service_and_end_dates():
    con = warehouse()
    insert(
        con,
        "ifss_referrals",
        [
            {
                "ifss_referral_id": "I1",
                "family_id": "F1",
                "service": "PREVENTION",
                "referral_date": "2012-01-20",
                "referral_source": "2A",
                "referral_type": "NEW",
                "accepted": True,
                "service_start_date": "2012-02-01",
                "service_end_date": "2012-08-15",
                "escalated": True,
                "escalation_date": "2012-07-01",
                "age_band": "6-8",
            }
        ],
    )
    insert(
        con,
        "ifss_distance_travelled",
        [
            {
                "assessment_id": "A1",
                "ifss_referral_id": "I1",
                "assessment_date": "2012-02-05",
                "stage": "START",
                "domain": "PARENTING",
                "risk_score": 8,
            },
            {
                "assessment_id": "A2",
                "ifss_referral_id": "I1",
                "assessment_date": "2012-08-10",
                "stage": "END",
                "domain": "PARENTING",
                "risk_score": 4,
            },
        ],
    )
    df = compute_metrics(con, config())
    served = {
        q: v[2]
        for q, v in series(df, "distance_travelled", "families_served", "PREVENTION").items()
    }
    # served while the service overlaps the quarter: February to 15 August 2012
    assert [q for q, n in served.items() if n] == ["2012-Q1", "2012-Q2", "2012-Q3"]
    escalated = series(df, "distance_travelled", "escalated", "PREVENTION")
    assert escalated["2012-Q3"] == (1.0, 1.0, 100.0)  # escalated on 1 July
    assert escalated["2012-Q2"] == (0.0, 1.0, 0.0)
    assert escalated["2011-Q1"] == (0.0, 0.0, None)
    reduction = series(df, "distance_travelled", "mean_risk_reduction", "IFSS")
    # paired in the quarter of its END assessment: (8 - 4) / 8
    assert reduction["2012-Q3"] == (None, 1.0, 50.0)
    assert reduction["2012-Q2"] == (None, 0.0, None)
    # a year earlier (April to December 2011) the family was not yet served
    assert figure(df, "distance_travelled", "families_served", "PREVENTION", "previous_year") == (
        None,
        None,
        0.0,
    )


def test_turnover_not_available_before_the_leavers_history_begins():
    """A 12-month window that starts before the workforce history (the last snapshot on or before
    the first leaver) counts leavers the extract cannot have: 0% for a year before any leaver is
    false. Such a turnover is blank (not available); one whose window starts on that snapshot is
    counted. Earlier snapshots do not make a window available: the leavers do not go back."""
    con = warehouse(workforce=True)

    def post(pid: str, date: str, status: str = "FILLED") -> dict:
        return {"post_id": pid, "snapshot_date": date, "team": "T", "role": "SW", "status": status}

    snapshots = ["2010-03-31", "2011-03-31", "2011-09-30", "2012-03-31", "2012-09-30"]
    insert(con, "workforce_posts", [post(f"P{i}", d) for d in snapshots for i in range(4)])
    insert(
        con,
        "workforce_leavers",
        [
            {"staff_id": "S1", "leaving_date": "2011-04-15"},  # the first leaver
            {"staff_id": "S2", "leaving_date": "2012-02-01"},
        ],
    )
    df = compute_metrics(con, config())
    turnover = series(df, "workforce", "turnover", "WORKFORCE")
    for q in ("2011-Q1", "2011-Q2", "2011-Q3", "2011-Q4"):  # start before 2011-03-31
        assert turnover[q] == (None, None, None), q
    assert figure(df, "workforce", "turnover", "WORKFORCE", "previous_year") == (None, None, None)
    # 12 months to 2012-03-31 start on 2011-03-31: S1 and S2 over the 2011-09-30 and 2012-03-31
    # snapshots' 4 filled posts
    assert turnover["2012-Q1"] == (2.0, 4.0, 50.0)
    # the reporting period's 12 months (to 2012-12-31): S2
    assert figure(df, "workforce", "turnover", "WORKFORCE") == (1.0, 4.0, 25.0)

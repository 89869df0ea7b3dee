"""Public outputs: suppression (docs/DISCLOSURE.md) and byte-stable CSV."""

from __future__ import annotations

import random

import pandas as pd
import pytest

from pipelines.contract import codes, metrics_shape
from pipelines.transform import METRICS_COLUMNS, compute_metrics, suppress, write_metrics
from pipelines.transform.suppression import DISCLOSURE, disclosure_classes
from tests.fixtures.metrics.helpers import assert_no_disclosure, config, insert, warehouse

C = "c"


def _frame(rows: list[tuple]) -> pd.DataFrame:
    """Rows of (measure, breakdown, category, numerator, denominator, value, unit)."""
    df = pd.DataFrame(
        [
            ("referrals", m, "DAT", b, c, n, d, v, u, "2012-04-01", "2012-12-31")
            for m, b, c, n, d, v, u in rows
        ],
        columns=METRICS_COLUMNS,
    )
    for col in ("numerator", "denominator", "value"):
        df[col] = df[col].astype("float64")
    return df


def _share_rows(measure, breakdown, parts: dict[str, int], denominator: int):
    return [
        (measure, breakdown, k, n, denominator, 100 * n / denominator, "percent")
        for k, n in parts.items()
    ]


def test_primary_and_secondary_suppression_by_hand():
    nan = float("nan")
    df = _frame(
        [
            ("received", "total", "all", nan, nan, 40, "count"),
            *_share_rows(
                "received",
                "source_group",
                {"SCHOOLS": 10, "HEALTH": 3, "POLICE": 7, "LEGAL": 20, "HOUSING": 0},
                40,
            ),
            *_share_rows("received", "age_band", {"0-2": 2, "3-5": 2, "6-8": 36}, 40),
            *_share_rows("received", "reason", {"PARENTING": 15, "OTHER": 25}, 40),
            *_share_rows("received", "case_status", {"CIN": 15, "CPR": 23}, 40),
        ]
    )
    before = df.copy()
    out = suppress(df, 4)
    pd.testing.assert_frame_equal(df, before)  # the argument is not changed
    sg = out[out["breakdown"] == "source_group"].set_index("category")
    # HEALTH 3 is withheld; the next smallest non-zero (POLICE 7) too; zero stays 0
    assert sg.loc["HEALTH", "numerator"] == C and sg.loc["HEALTH", "value"] == C
    assert sg.loc["POLICE", "numerator"] == C and sg.loc["POLICE", "value"] == C
    assert sg.loc["SCHOOLS", "numerator"] == 10 and sg.loc["LEGAL", "numerator"] == 20
    assert sg.loc["HOUSING", "numerator"] == 0 and sg.loc["HOUSING", "value"] == 0
    assert (sg["denominator"] == 40).all()
    # two cells of 2 add up to 4, itself a small count: the 36 is withheld as well
    ab = out[out["breakdown"] == "age_band"]
    assert list(ab["numerator"]) == [C, C, C]
    # nothing small: nothing withheld
    assert list(out[out["breakdown"] == "reason"]["numerator"]) == [15, 25]
    # 2 referrals with no case status recorded (40 - 15 - 23): "total minus the others" would
    # give them away, so the smallest category goes too
    cs = out[out["breakdown"] == "case_status"]
    assert list(cs["numerator"]) == [C, 23] and list(cs["value"]) == [C, 100 * 23 / 40]
    assert out.loc[0, "value"] == 40


def test_small_denominators_and_count_breakdowns():
    nan = float("nan")
    df = _frame(
        [
            ("received", "total", "all", nan, nan, 3, "count"),
            *_share_rows("received", "source_group", {"SCHOOLS": 3}, 3),
            ("accepted", "referral_type", "NEW", 27, 30, 90.0, "percent"),
            ("accepted", "referral_type", "CONSULTATION", 8, 9, 800 / 9, "percent"),
            ("accepted", "referral_type", "ADVICE", 2, 2, 100.0, "percent"),
            # children registered, as counts by a breakdown that adds up to the total
            ("registrations", "total", "all", nan, nan, 17, "count"),
            ("registrations", "category", "NEG", nan, nan, 5, "count"),
            ("registrations", "category", "PHY", nan, nan, 3, "count"),
            ("registrations", "category", "EMO", nan, nan, 9, "count"),
            ("lateral_checks", "total", "all", 0, 3, 0.0, "percent"),
        ]
    )
    out = suppress(df, 4).set_index(["measure", "breakdown", "category"])
    assert out.loc[("received", "total", "all"), "value"] == C
    assert list(
        out.loc[("received", "source_group", "SCHOOLS")][["numerator", "denominator", "value"]]
    ) == [C, C, C]
    # ADVICE 2 of 2 withheld; the smallest other denominator (9) goes too, with its value
    assert out.loc[("accepted", "referral_type", "ADVICE"), "value"] == C
    assert out.loc[("accepted", "referral_type", "CONSULTATION"), "denominator"] == C
    assert out.loc[("accepted", "referral_type", "CONSULTATION"), "value"] == C
    assert out.loc[("accepted", "referral_type", "NEW"), "value"] == 90.0
    # PHY (3 children) withheld and NEG (5) as well, so 17 - 9 reveals neither
    assert out.loc[("registrations", "category", "PHY"), "value"] == C
    assert out.loc[("registrations", "category", "NEG"), "value"] == C
    assert out.loc[("registrations", "category", "EMO"), "value"] == 9
    # 0 of 3: the zero stays, the small denominator and the value go
    row = out.loc[("lateral_checks", "total", "all")]
    assert (row["numerator"], row["denominator"], row["value"]) == (0, C, C)


def _random_warehouse(seed: int, shuffle: bool = False):
    """A random but valid warehouse of a few dozen referrals: small counts everywhere."""
    rnd = random.Random(seed)
    sources, bands = codes("referral_source"), codes("age_band")
    dat_rows, ifss_rows = [], []
    for i in range(rnd.randint(20, 80)):
        date = f"2012-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}"
        dat_rows.append(
            {
                "referral_id": f"D{i}",
                "child_id": f"C{rnd.randint(0, 30)}",
                "referral_date": date,
                "decision_date": date,
                "referral_source": rnd.choice(sources),
                "age_band": rnd.choice(bands),
                "outcome": rnd.choice(codes("dat_outcome")),
                "lateral_checks": rnd.choice([True, False, None]),
            }
        )
    for i in range(rnd.randint(10, 50)):
        date = f"2012-{rnd.randint(4, 12):02d}-{rnd.randint(1, 28):02d}"
        service = rnd.choice(codes("ifss_service"))
        ifss_rows.append(
            {
                "ifss_referral_id": f"I{i}",
                "family_id": f"F{i}",
                "service": service,
                "referral_date": date,
                "referral_source": rnd.choice(sources),
                "referring_team": rnd.choice([None, *codes("referring_team")]),
                "referral_type": rnd.choice(codes("referral_type")),
                "referral_reason": rnd.choice([None, *codes("referral_reason")]),
                "case_status": rnd.choice(codes("case_status")),
                "primary_substance": rnd.choice(codes("primary_substance"))
                if service == "IFST"
                else None,
                "accepted": rnd.choice([True, False]),
                "age_band": rnd.choice(bands),
            }
        )
    if shuffle:
        rnd.shuffle(dat_rows)
        rnd.shuffle(ifss_rows)
    con = warehouse()
    insert(con, "dat_referrals", dat_rows)
    insert(con, "ifss_referrals", ifss_rows)
    return con


# Two random warehouses per threshold in `make check`; all eight in `make test`.
SEEDS = [*range(2), *(pytest.param(seed, marks=pytest.mark.slow) for seed in range(2, 8))]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("threshold", [2, 4])
def test_no_withheld_cell_can_be_recovered(seed, threshold):
    metrics = compute_metrics(_random_warehouse(seed), config())
    public = suppress(metrics, threshold)
    assert list(public.columns) == METRICS_COLUMNS
    assert assert_no_disclosure(metrics, public, threshold) >= 5


def test_write_twice_same_bytes_whatever_the_input_order(tmp_path):
    a = compute_metrics(_random_warehouse(7), config())
    b = compute_metrics(_random_warehouse(7, shuffle=True), config())
    write_metrics(a, tmp_path / "a.csv")
    write_metrics(a, tmp_path / "a2.csv")
    write_metrics(b, tmp_path / "b.csv")
    raw = (tmp_path / "a.csv").read_bytes()
    assert raw == (tmp_path / "a2.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    write_metrics(suppress(a, 4), tmp_path / "p.csv")
    write_metrics(suppress(b, 4), tmp_path / "q.csv")
    assert (tmp_path / "p.csv").read_bytes() == (tmp_path / "q.csv").read_bytes()
    text = raw.decode("utf-8")
    assert "\r" not in text and text.endswith("\n")
    assert text.splitlines()[0] == ",".join(METRICS_COLUMNS)


def test_number_format(tmp_path):
    nan = float("nan")
    df = _frame(
        [
            ("received", "total", "all", nan, nan, 434, "count"),
            ("received", "source_group", "SCHOOLS", 1, 3, 100 / 3, "percent"),
            ("received", "source_group", "POLICE", 1, 2, 50.0, "percent"),
            ("received", "age_band", "0-2", 0, 0, nan, "percent"),
        ]
    )
    write_metrics(df, tmp_path / "m.csv")
    lines = (tmp_path / "m.csv").read_text(encoding="utf-8").splitlines()
    assert lines[1] == "referrals,received,DAT,total,all,,,434,count,2012-04-01,2012-12-31"
    assert lines[2].split(",")[5:9] == ["1", "3", "33.333333333333336", "percent"]
    assert lines[3].split(",")[5:9] == ["1", "2", "50.0", "percent"]
    assert lines[4].split(",")[5:9] == ["0", "0", "", "percent"]
    write_metrics(suppress(df, 4), tmp_path / "p.csv")
    lines = (tmp_path / "p.csv").read_text(encoding="utf-8").splitlines()
    assert lines[2].split(",")[5:8] == ["c", "c", "c"]
    assert lines[1].split(",")[7] == "434"


def test_free_text_cannot_become_a_formula(tmp_path):
    nan = float("nan")
    df = _frame(
        [
            ("posts", "team", '=HYPERLINK("http://x")', nan, nan, 12, "count"),
            ("posts", "team", "@SUM(A1)", nan, nan, 10, "count"),
            ("domain_change", "domain", "ANGER", nan, 10, -1.5, "score"),
        ]
    )
    write_metrics(df, tmp_path / "m.csv")
    lines = (tmp_path / "m.csv").read_text(encoding="utf-8").splitlines()
    assert lines[1].split(",")[4] == '"\'=HYPERLINK(""http://x"")"'
    assert lines[2].split(",")[4] == "'@SUM(A1)"
    assert lines[3].split(",")[7] == "-1.5"  # numbers are numbers, not text


def test_quarters_inside_the_period_are_protected_against_its_total():
    nan = float("nan")
    # April to December 2012 is exactly Q2 + Q3 + Q4: the total 30 = 12 + 3 + 15, so Q3's 3
    # would be 30 - 12 - 15 if only Q3 were withheld; the smallest visible quarter goes too.
    # Quarters of 2011 lie outside the period (but Q2-Q4 2011 inside the previous year: 9 = 5 + 0
    # + 4, where 4 is withheld and 5 must follow). Children on the register at a date are a stock:
    # never protected this way.
    df = _frame(
        [
            ("received", "total", "all", nan, nan, 30, "count"),
            ("received", "previous_year", "all", nan, nan, 9, "count"),
            ("received", "quarter", "2011-Q1", nan, nan, 20, "count"),
            ("received", "quarter", "2011-Q2", nan, nan, 5, "count"),
            ("received", "quarter", "2011-Q3", nan, nan, 0, "count"),
            ("received", "quarter", "2011-Q4", nan, nan, 4, "count"),
            ("received", "quarter", "2012-Q1", nan, nan, 8, "count"),
            ("received", "quarter", "2012-Q2", nan, nan, 12, "count"),
            ("received", "quarter", "2012-Q3", nan, nan, 3, "count"),
            ("received", "quarter", "2012-Q4", nan, nan, 15, "count"),
            ("on_register", "total", "all", nan, nan, 30, "count"),
            ("on_register", "quarter", "2012-Q2", nan, nan, 12, "count"),
            ("on_register", "quarter", "2012-Q3", nan, nan, 3, "count"),
            ("on_register", "quarter", "2012-Q4", nan, nan, 15, "count"),
        ]
    )
    out = suppress(df, 4).set_index(["measure", "breakdown", "category"])["value"]
    assert out[("received", "quarter", "2012-Q3")] == C
    assert out[("received", "quarter", "2012-Q2")] == C  # the smallest visible inside
    assert out[("received", "quarter", "2012-Q4")] == 15
    assert out[("received", "quarter", "2012-Q1")] == 8  # outside the period
    assert out[("received", "quarter", "2011-Q4")] == C
    assert out[("received", "quarter", "2011-Q2")] == C  # previous year: 9 - 0 - 4
    assert out[("received", "quarter", "2011-Q1")] == 20
    assert out[("received", "total", "all")] == 30
    assert out[("on_register", "quarter", "2012-Q3")] == C
    assert out[("on_register", "quarter", "2012-Q2")] == 12  # a stock does not add up over time


def _workforce(rows: list[tuple]) -> pd.DataFrame:
    """Like ``_frame``, for the workforce analysis."""
    df = _frame(rows)
    df["analysis"], df["scope"] = "workforce", "WORKFORCE"
    return df


def test_posts_and_vacancies_are_shown_staff_counts_are_withheld():
    """Posts are not people: small counts of posts, vacancies and agency cover are published.
    Leavers, staff off sick and social workers by qualification length are people: withheld
    like children's counts, with the cells that would give them away."""
    nan = float("nan")
    df = _workforce(
        [
            ("posts", "total", "all", nan, nan, 17, "count"),
            ("posts", "team", "A", nan, nan, 5, "count"),
            ("posts", "team", "B", nan, nan, 3, "count"),
            ("posts", "team", "C", nan, nan, 9, "count"),
            ("vacancy_rate", "total", "all", 3, 17, 100 * 3 / 17, "percent"),
            ("vacancy_rate", "team", "A", 1, 5, 20.0, "percent"),
            ("vacancy_rate", "team", "B", 0, 3, 0.0, "percent"),
            ("vacancy_rate", "team", "C", 2, 9, 100 * 2 / 9, "percent"),
            ("agency_cover", "total", "all", 1, 3, 100 / 3, "percent"),
            ("long_term_sick", "total", "all", 2, 17, 100 * 2 / 17, "percent"),
            ("turnover", "total", "all", 3, 14.5, 100 * 3 / 14.5, "percent"),
            *_share_rows("experience", "band", {"UNDER_1Y": 2, "1_TO_2Y": 10, "OVER_2Y": 8}, 20),
            # one worker in team B: the mean is that worker's caseload, a post's workload
            ("caseload_mean", "team", "B", nan, 1, 35.0, "count"),
        ]
    )
    out = suppress(df, 4).set_index(["measure", "breakdown", "category"])
    cells = ["numerator", "denominator", "value"]

    def row(*key: str) -> list:
        return list(out.loc[key][cells])

    # posts of 3 and 5 are shown, and so is every vacancy count of 0 to 3 posts
    assert list(out.loc["posts"]["value"]) == [17, 5, 3, 9]
    assert row("vacancy_rate", "team", "A") == [1, 5, 20.0]
    assert row("vacancy_rate", "team", "B") == [0, 3, 0.0]
    assert row("vacancy_rate", "total", "all") == [3, 17, 100 * 3 / 17]
    assert row("agency_cover", "total", "all") == [1, 3, 100 / 3]
    assert row("caseload_mean", "team", "B") == [None, 1, 35.0]
    # 2 post holders on long-term sick leave, 3 leavers: withheld with their rates; the posts
    # they are out of stay shown
    assert row("long_term_sick", "total", "all") == [C, 17, C]
    assert row("turnover", "total", "all") == [C, 14.5, C]
    # 2 social workers qualified under a year: withheld, and 8 (the smallest other band) with
    # them, so 20 - 10 = 10 is the sum of two withheld cells, not one
    assert list(out.loc["experience"]["numerator"]) == [C, 10, C]
    assert list(out.loc["experience"]["denominator"]) == [20, 20, 20]


def _turnover(label: str, leavers: float, filled: float) -> tuple:
    return ("turnover", *label.split(":"), leavers, filled, 100 * leavers / filled, "percent")


def test_overlapping_turnover_windows_are_withheld():
    """Turnover is leavers in the 12 months to each period's end over the mean filled posts:
    two windows that overlap give, by difference, one quarter's leavers (and filled posts). Only
    the reporting period (12 months to 2012-12-31), the previous year's (to 2011-12-31) and the
    quarters with the same windows are shown; a window of 0 leavers stays 0."""
    df = _workforce(
        [
            _turnover("total:all", 21, 64),
            _turnover("previous_year:all", 35, 64),
            _turnover("quarter:2011-Q1", 0, 68),
            _turnover("quarter:2011-Q4", 35, 64),
            _turnover("quarter:2012-Q1", 38, 63.25),
            _turnover("quarter:2012-Q3", 23, 64.25),
            _turnover("quarter:2012-Q4", 21, 64),
        ]
    )
    out = suppress(df, 4).set_index(["breakdown", "category"])[["numerator", "denominator"]]
    shown = {k: list(v) for k, v in out.iterrows()}
    assert shown[("total", "all")] == [21, 64]
    assert shown[("quarter", "2012-Q4")] == [21, 64]  # the same window as the total
    assert shown[("previous_year", "all")] == [35, 64]  # 12 months before: no month shared
    assert shown[("quarter", "2011-Q4")] == [35, 64]
    assert shown[("quarter", "2012-Q3")] == [C, C]  # overlaps the total by 9 months
    assert shown[("quarter", "2012-Q1")] == [C, C]
    assert shown[("quarter", "2011-Q1")] == [0, C]
    assert list(suppress(df, 0)["denominator"]) == list(df["denominator"])  # threshold 0


def test_turnover_denominator_withheld_when_it_gives_sickness_counts_away():
    """The mean filled posts over a window's snapshots, with the posts and vacancies shown, give
    the sum of the post holders off sick at those snapshots: the denominator (and the rate) is
    withheld when the withheld sickness counts in the window are one, or add up to the threshold
    or less; a sum above the threshold of two or more withheld counts is not one of them."""
    nan = float("nan")
    rows = []
    for q, sick in zip(["2011-Q1", "2011-Q2", "2011-Q3", "2011-Q4"], [1, 1, 1, 1], strict=True):
        rows.append(("long_term_sick", "quarter", q, sick, 20, 100 * sick / 20, "percent"))
    for q, sick in zip(["2012-Q1", "2012-Q2", "2012-Q3", "2012-Q4"], [3, 4, 4, 4], strict=True):
        rows.append(("long_term_sick", "quarter", q, sick, 20, 100 * sick / 20, "percent"))
    rows += [
        ("posts", "quarter", "2012-Q4", nan, nan, 20, "count"),
        _turnover("total:all", 9, 14.25),
        _turnover("previous_year:all", 8, 17),
    ]
    out = suppress(_workforce(rows), 4).set_index(["breakdown", "category", "measure"])
    cells = ["numerator", "denominator", "value"]
    assert list(out.loc[("total", "all", "turnover")][cells]) == [9, 14.25, 100 * 9 / 14.25]
    # 2011: four withheld counts of 1 add up to 4, a small count of their own
    assert list(out.loc[("previous_year", "all", "turnover")][cells]) == [8, C, C]


def test_a_quarter_repeating_the_snapshot_before_counts_once():
    """A period ending 15 November: the part quarter 2012-Q4 has no snapshot of its own and
    repeats 2012-Q3's figures, so the 12 months to 15 November hold one withheld sickness count
    (3), not two adding up to 6: the turnover denominator, which gives it, is withheld. When the
    part quarter's figures differ (its own snapshot), there are two and it is shown."""
    nan = float("nan")

    def rows(vacant_q4: int) -> pd.DataFrame:
        out = [_turnover("total:all", 9, 15.5), _turnover("quarter:2012-Q4", 9, 15.5)]
        for q, vacant in (("2012-Q3", 2), ("2012-Q4", vacant_q4)):
            out += [
                ("posts", "quarter", q, nan, nan, 20, "count"),
                ("vacancy_rate", "quarter", q, vacant, 20, 100 * vacant / 20, "percent"),
                ("long_term_sick", "quarter", q, 3, 20, 15.0, "percent"),
            ]
        df = _workforce(out)
        df["period_end"] = "2012-11-15"
        return df

    def shown(df: pd.DataFrame) -> list:
        out = suppress(df, 4)
        return list(out[out["measure"] == "turnover"]["denominator"])

    assert shown(rows(vacant_q4=2)) == [C, C]
    assert shown(rows(vacant_q4=1)) == [15.5, 15.5]


def test_experience_denominator_withheld_when_it_gives_social_workers_off_sick_away():
    """The experience denominator is the social workers' filled posts: their posts (36) minus
    their vacancies (7) minus it (25) is 4 social workers off sick. It is withheld with the
    percentages, and one more band (the smallest, 6), so posts - vacancies - the visible bands
    (29 - 19 = 10) is the sum of two hidden counts. Posts and vacancies stay shown. With 0 off
    sick nothing more is withheld."""
    nan = float("nan")

    def rows(filled_bands: dict[str, int]) -> pd.DataFrame:
        return _workforce(
            [
                ("posts", "role", "SW", nan, nan, 36, "count"),
                ("vacancy_rate", "role", "SW", 7, 36, 100 * 7 / 36, "percent"),
                *_share_rows("experience", "band", filled_bands, sum(filled_bands.values())),
            ]
        )

    out = suppress(rows({"UNDER_1Y": 11, "1_TO_2Y": 6, "OVER_2Y": 8}), 4)
    exp = out[out["measure"] == "experience"]
    assert list(exp["numerator"]) == [11, C, 8]
    assert list(exp["denominator"]) == [C, C, C]
    assert list(exp["value"]) == [C, C, C]
    assert list(out[out["measure"] == "posts"]["value"]) == [36]
    assert list(out[out["measure"] == "vacancy_rate"]["numerator"]) == [7]
    none_off_sick = suppress(rows({"UNDER_1Y": 11, "1_TO_2Y": 10, "OVER_2Y": 8}), 4)
    assert list(none_off_sick[none_off_sick["measure"] == "experience"]["denominator"]) == [29] * 3


def test_agency_cover_withheld_when_caseload_counts_pin_sickness():
    """Taking every staffed senior practitioner, social worker and family support worker to
    hold a caseload, their agency-covered posts minus those off sick are 12 - (13 - 3) = 2,
    29 - 29 = 0 and 22 - 22 = 0; managers (no caseloads) have at most 2 agency-covered posts;
    so with 8 agency-covered posts in all, at least 8 - 2 - 2 = 4 are off sick, and a withheld
    count is at most 4: it is 4. The agency cover of that snapshot is withheld (the vacancies
    stay shown). With 6 agency-covered posts the bound is 2, and agency cover is shown."""
    nan = float("nan")

    def rows(agency: int) -> pd.DataFrame:
        out = [
            ("long_term_sick", "total", "all", 4, 81, 100 * 4 / 81, "percent"),
            ("agency_cover", "total", "all", agency, 15, 100 * agency / 15, "percent"),
            ("agency_cover", "quarter", "2012-Q4", agency, 15, 100 * agency / 15, "percent"),
            ("agency_cover", "quarter", "2012-Q3", 6, 11, 100 * 6 / 11, "percent"),
        ]
        for role, posts, vacant, held in (
            ("TM", 7, 2, 0),
            ("SP", 13, 3, 12),
            ("SW", 36, 7, 29),
            ("FSW", 25, 3, 22),
        ):
            out.append(("posts", "role", role, nan, nan, posts, "count"))
            out.append(
                ("vacancy_rate", "role", role, vacant, posts, 100 * vacant / posts, "percent")
            )
            out.append(("caseload_mean", "role", role, nan, held, 15.0 if held else nan, "count"))
        return _workforce(out)

    out = suppress(rows(8), 4)
    agency = out[out["measure"] == "agency_cover"]
    assert list(agency["numerator"]) == [C, C, 6]  # the reporting snapshot's only
    assert list(agency["denominator"]) == [15, 15, 11]
    assert list(out[out["measure"] == "vacancy_rate"]["numerator"]) == [2, 3, 7, 3]
    shown = suppress(rows(6), 4)
    assert list(shown[shown["measure"] == "agency_cover"]["numerator"]) == [6, 6, 6]


def test_staff_counts_withheld_cannot_be_recovered_from_shown_posts():
    """Children's and staff counts next to published post counts: the public file still gives
    no withheld cell away by subtraction (checked by the same oracle as the sample)."""
    nan = float("nan")
    metrics = pd.concat(
        [
            _frame(
                [
                    ("received", "total", "all", nan, nan, 40, "count"),
                    *_share_rows(
                        "received", "source_group", {"HEALTH": 3, "POLICE": 7, "SCHOOLS": 30}, 40
                    ),
                ]
            ),
            _workforce(
                [
                    ("posts", "total", "all", nan, nan, 12, "count"),
                    ("posts", "team", "A", nan, nan, 2, "count"),
                    ("posts", "team", "B", nan, nan, 10, "count"),
                    *_share_rows("experience", "band", {"UNDER_1Y": 1, "OVER_2Y": 6}, 9),
                ]
            ),
        ],
        ignore_index=True,
    )
    public = suppress(metrics, 4)
    sg = public[public["breakdown"] == "source_group"].set_index("category")["numerator"]
    assert list(sg) == [C, C, 30]  # 40 - 30 = 3 + 7: two withheld cells, never one
    assert list(public[public["measure"] == "posts"]["value"]) == [12, 2, 10]
    # 1 under a year, 6 over two years, 2 with no band: 9 - 6 would be 1 + 2, a small sum
    assert list(public[public["measure"] == "experience"]["numerator"]) == [C, C]
    assert assert_no_disclosure(metrics, public, 4) == 2  # source group and experience


def test_every_measure_says_what_its_counts_protect():
    """metrics.yaml gives every measure a disclosure class, and no entry names a measure that
    does not exist; a mistyped class or cell is an error naming the file and measure."""
    shape = metrics_shape()
    measures = [m for ms in shape["analyses"].values() for m in ms]
    assert sorted(shape["disclosure"]) == sorted(measures)
    assert DISCLOSURE["posts"]["value"] == "none"
    assert DISCLOSURE["turnover"] == {
        "numerator": "staff",
        "denominator": "none",
        "value": "staff",  # a percentage of leavers
    }
    with pytest.raises(ValueError, match="metrics.yaml, disclosure, measure posts"):
        disclosure_classes({"disclosure": {"posts": "nobody"}})
    with pytest.raises(ValueError, match="measure turnover"):
        disclosure_classes({"disclosure": {"turnover": {"numerators": "staff"}}})

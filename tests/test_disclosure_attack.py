"""An attacker on the public file: can a protected staff count be worked out from it?

docs/DISCLOSURE.md: counts of staff who left or were on long-term sick leave are protected; posts
and vacancies are not people and are shown. The workforce measures are tied to each other by
their definitions (docs/METRICS.md), so a withheld count can hide in plain sight:

- a post is filled, vacant (perhaps covered by agency staff) or held by someone on long-term sick
  leave, so at every snapshot  sick = posts - vacant - filled;
- the ``turnover`` denominator is the mean of the filled posts over the snapshots in the 12 months
  to a quarter's end, so overlapping windows give the filled posts snapshot by snapshot;
- the ``experience`` denominator is the social workers' filled posts at the reporting snapshot
  (so social workers off sick = their posts - their vacancies - it), and the bands add up to it;
- the ``turnover`` numerator is the leavers of the 4 quarters to a quarter's end, so overlapping
  windows give one quarter's leavers (minus those of the quarter a year before);
- a percentage shown beside one hidden count gives it back (value x the other count);
- posts and vacancies by team and role add up to the totals (all shown: they add no unknown).

The attacker reads only ``metrics_public.csv`` of a real run (written by the pipeline's own
writer), writes every identity above as a linear equation in the unknown counts, and, with what
every reader knows (counts are not negative, a withheld sickness count lies between 1 and the
threshold: sickness counts are withheld only when small; social workers off sick are some of
all those off sick), finds the least and greatest value each count can take. It assumes what
the run shows: one snapshot per quarter, the first at the first quarter shown. A count is
*recovered* when one whole number is left and it is the true one; the test fails when a
withheld or small (1 to the threshold) staff count is recovered. The truth comes from the
unsuppressed file and the warehouse, never from what the attacker read.
"""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linprog

from pipelines.transform import compute_metrics, suppress, write_metrics
from tests.fixtures.metrics.helpers import config

THRESHOLD = 4
BIG = Fraction(10**6)


# --- the runs -------------------------------------------------------------------------------


def _run(con, tmp: Path) -> dict:
    """metrics.csv and metrics_public.csv of the default period, as the pipeline writes them,
    and the true staff counts the public file must not give away (from the warehouse)."""
    metrics = compute_metrics(con, config(threshold=THRESHOLD))
    write_metrics(metrics, tmp / "metrics.csv")
    write_metrics(suppress(metrics, THRESHOLD), tmp / "metrics_public.csv")
    leavers = con.execute(
        "SELECT year(leaving_date) || '-Q' || quarter(leaving_date) AS q, count(*) "
        "FROM workforce_leavers GROUP BY q"
    ).fetchall()
    sw_sick = con.execute(
        "SELECT count(*) FROM workforce_posts WHERE role = 'SW' AND status = 'LTS' "
        "AND snapshot_date = (SELECT max(snapshot_date) FROM workforce_posts "
        "WHERE snapshot_date <= DATE '2012-12-31')"
    ).fetchone()[0]
    return {
        "public": tmp / "metrics_public.csv",
        "metrics": tmp / "metrics.csv",
        "leavers": dict(leavers),
        "sw_sick": sw_sick,
    }


@pytest.fixture(scope="module")
def runs(sample_warehouse, other_council_warehouse, tmp_path_factory) -> dict[str, dict]:
    return {
        "sample": _run(sample_warehouse, tmp_path_factory.mktemp("attack_sample")),
        "Torfaen": _run(other_council_warehouse, tmp_path_factory.mktemp("attack_other")),
    }


# --- exact solving ----------------------------------------------------------------------------


class System:
    """Linear equations over named unknowns (counts) with bounds."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.lo: dict[str, Fraction] = {}
        self.hi: dict[str, Fraction] = {}
        self.eqs: list[tuple[dict[str, Fraction], Fraction]] = []

    def var(self, name: str, lo: float = 0, hi: Fraction = BIG) -> str:
        if name not in self.lo:
            self.names.append(name)
            self.lo[name], self.hi[name] = Fraction(lo), Fraction(hi)
        else:
            self.lo[name] = max(self.lo[name], Fraction(lo))
            self.hi[name] = min(self.hi[name], Fraction(hi))
        return name

    def eq(self, terms: dict[str, Fraction | int], rhs: Fraction | float) -> None:
        self.eqs.append(({k: Fraction(v) for k, v in terms.items()}, Fraction(rhs)))

    def solve(self) -> dict[str, Fraction]:
        """Unknowns pinned to one whole number by the equations and bounds together: for each,
        the least and greatest value the equations allow (two linear programmes over the reals);
        a count is pinned when one whole number lies between them. This is complete for what
        the equations and bounds imply, however many figures it takes to combine."""
        names = self.names
        col = {n: k for k, n in enumerate(names)}
        a_eq = np.zeros((len(self.eqs), len(names)))
        b_eq = np.zeros(len(self.eqs))
        for r, (terms, rhs) in enumerate(self.eqs):
            for n, a in terms.items():
                a_eq[r, col[n]] += float(a)
            b_eq[r] = float(rhs)
        bounds = [(float(self.lo[n]), float(self.hi[n])) for n in names]
        pinned = {}
        for n in names:
            ends = []
            for sign in (1, -1):
                c = np.zeros(len(names))
                c[col[n]] = sign
                res = linprog(c, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
                assert res.status == 0, (n, res.message)  # the true counts always fit
                ends.append(sign * res.fun)
            lo, hi = math.ceil(ends[0] - 1e-6), math.floor(ends[1] + 1e-6)
            if lo == hi:
                pinned[n] = Fraction(lo)
        return pinned


# --- the attack -------------------------------------------------------------------------------


def _num(x: str) -> Fraction | None:
    """A published number, or None when withheld (``c``) or blank. Counts and means of a few
    snapshots are ratios of small whole numbers, so the written float is read back exactly."""
    return None if x in ("", "c") else Fraction(x).limit_denominator(10_000)


def _quarter_index(label: str) -> int:
    return int(label[:4]) * 4 + int(label[-1]) - 1


def _label(k: int) -> str:
    return f"{k // 4}-Q{k % 4 + 1}"


def attack(public_csv: Path, threshold: int, caseloads: bool = False) -> dict[str, Fraction]:
    """Every staff count the public file pins, by name: ``sick <quarter>`` (post holders on
    long-term sick leave at the quarter's snapshot), ``leavers <quarter>`` (who left in that
    calendar quarter) and ``sw sick`` (social workers off sick at the reporting snapshot).

    ``caseloads``: also assume that every staffed post of a role with caseloads holds one, so a
    role's staffed posts with a caseload = its posts - its vacancies + its agency-covered posts
    - its post holders off sick (an assumption the file cannot confirm, but true of the sample:
    with the agency cover total it gave the 4 off sick at 2012-12-31)."""
    pub = pd.read_csv(public_csv, dtype=str, keep_default_na=False)
    wf = pub[pub["analysis"] == "workforce"]
    assert (wf["period_end"] == "2012-12-31").all()  # quarter-end period: windows are quarters

    def cell(measure: str, breakdown: str, category: str, col: str) -> Fraction | None:
        r = wf[(wf["measure"] == measure) & (wf["breakdown"] == breakdown)]
        r = r[r["category"] == category]
        return _num(r.iloc[0][col]) if len(r) else None

    quarters = sorted(wf[wf["breakdown"] == "quarter"]["category"].unique(), key=_quarter_index)
    ks = [_quarter_index(q) for q in quarters]
    first, last = ks[0], ks[-1]
    s = System()

    # Snapshots: one per quarter shown; posts and vacancies are public.
    free = {}  # quarter index -> posts - vacant (filled + off sick)
    for q, k in zip(quarters, ks, strict=True):
        posts = cell("posts", "quarter", q, "value")
        vacant = cell("vacancy_rate", "quarter", q, "numerator")
        free[k] = posts - vacant
        sick = s.var(f"sick {q}", 0, free[k])
        shown = cell("long_term_sick", "quarter", q, "numerator")
        if shown is not None:
            s.eq({sick: 1}, shown)
        else:  # withheld: from 1 to the threshold
            s.var(sick, 1, threshold)
            value = cell("long_term_sick", "quarter", q, "value")
            den = cell("long_term_sick", "quarter", q, "denominator")
            if value is not None and den is not None:
                s.eq({sick: 1}, value * den / 100)

    # Turnover: the 12 months to each quarter's end (total = the last quarter, previous_year =
    # the quarter a year before): leavers of the 4 calendar quarters; filled posts averaged over
    # the snapshots in them.
    windows = {q: k for q, k in zip(quarters, ks, strict=True)}
    rows = [("quarter", q, k) for q, k in windows.items()]
    rows += [("total", "all", last), ("previous_year", "all", last - 4)]
    for breakdown, category, k in rows:
        num = cell("turnover", breakdown, category, "numerator")
        den = cell("turnover", breakdown, category, "denominator")
        value = cell("turnover", breakdown, category, "value")
        if value is not None and num is not None and den is None and value != 0:
            den = num * 100 / value
        if value is not None and den is not None and num is None:
            num = value * den / 100
        if num is not None:
            s.eq({s.var(f"leavers {_label(j)}"): 1 for j in range(k - 3, k + 1)}, num)
        snaps = [j for j in range(k - 3, k + 1) if first <= j <= last]
        if den is not None and snaps:
            # sum over snapshots of (free - sick) = n * mean filled
            s.eq(
                {f"sick {_label(j)}": 1 for j in snaps},
                sum(free[j] for j in snaps) - len(snaps) * den,
            )

    # Experience: the social workers' filled posts at the reporting snapshot.
    bands = wf[wf["measure"] == "experience"]
    sw_free = cell("posts", "role", "SW", "value") - cell("vacancy_rate", "role", "SW", "numerator")
    sw_sick = s.var("sw sick", 0, sw_free)
    others = s.var("other roles sick")  # social workers off sick are some of all those off sick
    s.eq({f"sick {_label(last)}": 1, sw_sick: -1, others: -1}, 0)
    band_terms: dict[str, Fraction | int] = {}
    for r in bands.itertuples(index=False):
        num, den, value = _num(r.numerator), _num(r.denominator), _num(r.value)
        if num is None and den is not None and value is not None:
            num = value * den / 100
        if den is None and num is not None and value:
            den = num * 100 / value
        if den is not None:
            s.eq({sw_sick: 1}, sw_free - den)
        name = s.var(f"band {r.category}")
        band_terms[name] = 1
        if num is not None:
            s.eq({name: 1}, num)
    # Filled social workers = the sum of the bands (a band with no row has none).
    s.eq({**band_terms, sw_sick: 1}, sw_free)
    if caseloads:
        roles = wf[(wf["measure"] == "posts") & (wf["breakdown"] == "role")]["category"]
        agency, sick_by_role = {}, {}
        for role in roles:
            posts = cell("posts", "role", role, "value")
            vacant = cell("vacancy_rate", "role", role, "numerator")
            agency[role] = s.var(f"agency {role}", 0, vacant)
            sick_by_role[role] = s.var(f"sick {role}", 0, posts - vacant)
            n = cell("caseload_mean", "role", role, "denominator")
            if n:  # staffed with a caseload = free + agency - sick
                s.eq({agency[role]: 1, sick_by_role[role]: -1}, n - (posts - vacant))
        total = s.var("agency total", 0, cell("vacancy_rate", "total", "all", "numerator"))
        s.eq({**dict.fromkeys(agency.values(), 1), total: -1}, 0)
        shown = cell("agency_cover", "total", "all", "numerator")
        if shown is not None:
            s.eq({total: 1}, shown)
        s.eq({**dict.fromkeys(sick_by_role.values(), 1), f"sick {_label(last)}": -1}, 0)
        s.eq({sw_sick: 1, sick_by_role["SW"]: -1}, 0)
    return s.solve()


def _truth(run: dict) -> dict[str, tuple[int, bool]]:
    """name -> (true count, withheld in the public file) for every staff count at stake."""
    metrics = pd.read_csv(run["metrics"], dtype=str, keep_default_na=False)
    public = pd.read_csv(run["public"], dtype=str, keep_default_na=False)
    sick = (metrics["measure"] == "long_term_sick") & (metrics["breakdown"] == "quarter")
    truth = {
        f"sick {q}": (int(n), p == "c")
        for q, n, p in zip(
            metrics.loc[sick, "category"],
            metrics.loc[sick, "numerator"],
            public.loc[sick, "numerator"],
            strict=True,
        )
    }
    for k in range(_quarter_index("2009-Q1"), _quarter_index("2013-Q4") + 1):
        truth[f"leavers {_label(k)}"] = (run["leavers"].get(_label(k), 0), False)
    truth["sw sick"] = (run["sw_sick"], False)
    return truth


def recovered(run: dict, threshold: int = THRESHOLD, caseloads: bool = False) -> list[str]:
    """The protected staff counts (withheld, or from 1 to the threshold) the attack recovers."""
    found = attack(run["public"], threshold, caseloads)
    out = []
    for name, (true, withheld) in _truth(run).items():
        protected = withheld or 1 <= true <= threshold
        if protected and name in found and found[name] == true:
            out.append(f"{name} = {true}")
    return out


@pytest.mark.parametrize("caseloads", [False, True], ids=["definitions", "with_caseloads"])
@pytest.mark.parametrize("council", ["sample", "Torfaen"])
def test_no_protected_staff_count_can_be_worked_out_from_the_public_file(runs, council, caseloads):
    leaks = recovered(runs[council], caseloads=caseloads)
    assert not leaks, f"{council}: metrics_public.csv gives away {', '.join(leaks)}"


def test_the_attack_recovers_what_an_unprotected_file_shows(runs, tmp_path):
    """The attacker is not toothless. On the unsuppressed file it pins every sickness count and
    the social workers off sick (from the experience denominator). Given the rolling turnover
    the sample's public file used to show (12 months to 2011-Q1: 0 leavers; to 2011-Q4: 35; to
    2012-Q1: 38, all shown), it finds the 3 leavers of 2012-Q1 (38 - 35 + 0)."""
    found = attack(runs["sample"]["metrics"], THRESHOLD)
    truth = _truth(runs["sample"])
    assert all(found[f"sick {q}"] == truth[f"sick {q}"][0] for q in ("2011-Q1", "2012-Q4"))
    assert found["sw sick"] == truth["sw sick"][0] == 4
    old = pd.read_csv(runs["sample"]["public"], dtype=str, keep_default_na=False)
    for q, leavers in (("2011-Q1", "0"), ("2011-Q4", "35"), ("2012-Q1", "38")):
        row = (old["measure"] == "turnover") & (old["category"] == q)
        old.loc[row, ["numerator", "denominator", "value"]] = [leavers, "", ""]
    old.to_csv(tmp_path / "old_public.csv", index=False)
    found = attack(tmp_path / "old_public.csv", THRESHOLD)
    assert found["leavers 2012-Q1"] == truth["leavers 2012-Q1"][0] == 3


def test_system_solves_exactly():
    """The solver pins x from x + y = 5, x - y = 1 and z from bounds 1..4 with z + w = 8,
    w <= 4; it does not pin a sum of two free counts."""
    s = System()
    for n in "xyzw":
        s.var(n, 0, 4 if n in "zw" else BIG)
    s.eq({"x": 1, "y": 1}, 5)
    s.eq({"x": 1, "y": -1}, 1)
    s.eq({"z": 1, "w": 1}, 8)
    s.var("a")
    s.var("b")
    s.eq({"a": 1, "b": 1}, 7)
    assert s.solve() == {"x": 3, "y": 2, "z": 4, "w": 4}

"""Disclosure control for public outputs (docs/DISCLOSURE.md): ``suppress(metrics, threshold)``.

The rule, applied to the tidy metrics table (one row per figure):

0. **What is protected.** Each count cell has a disclosure class (``disclosure`` in
   pipelines/contract/metrics.yaml): ``children`` (counts of children, families, their referrals),
   ``staff`` (staff who left, were off sick, by qualification length) or ``none`` (posts,
   vacancies, agency cover, caseloads: not people). Cells of class ``none`` are shown as they are
   and take no part in the rules below; the other two are protected alike.
1. **Primary suppression.** Every protected count cell from 1 to ``threshold`` is withheld and shown
   as ``c``; zeros stay ``0``. Count cells are numerators, denominators, and the value of a count
   row (a row with blank numerator and denominator and unit ``count``).
2. **Secondary suppression**, so that no withheld cell can be worked out by subtraction. The cells
   that add up to a published total are grouped into *additive sets*, one per breakdown
   (analysis, measure, scope, breakdown other than ``total``):

   - the numerators of a breakdown whose category rows share one denominator (categories of the
     same referrals: source group, age band, outcome, ...; their total is that denominator);
   - the values of a breakdown of count rows, whose total is the ``total`` row;
   - the denominators of a breakdown of ratios with a denominator per category (accepted by
     referral type, re-referred by outcome), which add up to a category total published
     elsewhere. Means are not additive and are left out;
   - time: the quarters that lie wholly inside the reporting period, or inside the same period a
     year earlier, add up to that period's figure for counts of events dated in the period
     (``additive_over_time`` in pipelines/contract/metrics.yaml says which cells of which
     measures). Other time series (financial years, stocks such as posts or children on the
     register at a date) are not additive and are left out.

   Each set also has a *remainder*, total minus its cells (rows whose breakdown value is blank,
   e.g. no reason recorded): unpublished, but "total minus the others", so a remainder from 1 to
   ``threshold`` counts as a withheld cell. In each set, while exactly one cell is withheld, or
   the withheld cells add up to no more than ``threshold`` (so their sum would itself be a small
   count), the smallest visible non-zero cell (first in row order on a tie) is withheld too. All
   cells of a set are one column of one measure, so one class: sets of class ``none`` are
   skipped. Sets share cells, so the pass repeats until nothing changes. Then "total minus the
   visible categories" is always the sum of two or more withheld cells, never a single one.
3. **Workforce identities** (``workforce_identities`` in pipelines/contract/metrics.yaml). A post
   is filled, vacant (perhaps covered by agency staff) or held by someone on long-term sick leave,
   so a figure of filled posts, beside the posts and vacancies shown, gives the post holders off
   sick; and 12-month figures to each quarter's end overlap, so two of them give one quarter's
   leavers. Posts and vacancies stay shown; instead:

   - turnover is published only for windows that are the same as, or share no month with, every
     window published before them (the reporting period's 12 months, then the previous year's,
     then the quarters from the latest back); the others are withheld (0 leavers stays 0);
   - a published turnover denominator (mean filled posts over the window's snapshots) is
     withheld when the sickness counts withheld at the quarters' snapshots in its window are one,
     or add up to no more than ``threshold``;
   - the experience denominator (a role's filled posts) is withheld when that role's posts minus
     vacancies minus it (its post holders off sick) is from 1 to ``threshold``, or the total off
     sick is shown and the other roles' share is; its bands then form a set whose remainder is
     that hidden count, so at least one more band is withheld;
   - agency cover at the reporting snapshot is withheld when the caseload counts by role (read
     as staffed posts holding a caseload), the vacancies and the agency cover total give a lower
     bound on the post holders off sick that reaches their withheld count.
4. **Values.** A percentage or a mean is withheld whenever its numerator or its denominator (its
   n) is withheld, so a withheld count cannot be recovered as value × denominator.

Known limits: complements within one row (denominator minus numerator, e.g. referrals *not*
accepted) and differences between two totals (received minus those with a substance recorded) are
not treated as cells; the same count shown in two different breakdowns is protected in
each by the same deterministic rule but not cross-checked. The sets are protected against sums,
not against bounds (a withheld count lies between 1 and ``threshold``): several such counts whose
published sum is at the top or bottom of its range would be pinned (tests/test_disclosure_attack.py
checks the sample and another council's run for this as well).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pandas as pd

from pipelines.contract import metrics_shape

SYMBOL = "c"

#: Breakdowns whose categories are periods (a time series), never parts of one published total
#: within the breakdown (quarters are protected against the period totals by ``_time_sets``).
NON_ADDITIVE_BREAKDOWNS = {"financial_year", "quarter", "previous_year"}

#: Cells of each measure whose quarters add up to a longer period's cell (metrics.yaml).
ADDITIVE_OVER_TIME: dict[str, list[str]] = metrics_shape()["additive_over_time"]

#: Disclosure classes whose count cells are withheld when small (metrics.yaml ``disclosure``);
#: the third class, ``none``, is shown as it is.
PROTECTED = frozenset({"children", "staff"})
CLASSES = PROTECTED | {"none"}
COUNT_CELLS = ("numerator", "denominator", "value")


def disclosure_classes(shape: dict[str, Any]) -> dict[str, dict[str, str]]:
    """measure -> {numerator, denominator, value: class} from metrics.yaml ``disclosure``.

    A measure is given one class for all its cells, or a class per cell. A ratio's value is a
    percentage of what its numerator counts, so an unnamed ``value`` takes the numerator's
    class; any other cell not named is protected as ``children`` (fail safe). An unknown class
    is an error in the contract, raised here at import rather than quietly publishing or
    withholding.
    """
    out: dict[str, dict[str, str]] = {}
    for measure, given in shape.get("disclosure", {}).items():
        cells = dict.fromkeys(COUNT_CELLS, given) if isinstance(given, str) else dict(given)
        unknown = {c for c in cells.values() if c not in CLASSES} | (set(cells) - set(COUNT_CELLS))
        if unknown:
            raise ValueError(
                f"pipelines/contract/metrics.yaml, disclosure, measure {measure}: "
                f"{sorted(unknown)} is not a cell (numerator, denominator, value) or a class "
                f"({', '.join(sorted(CLASSES))}); correct the entry."
            )
        cells.setdefault("value", cells.get("numerator", "children"))
        out[measure] = {c: cells.get(c, "children") for c in COUNT_CELLS}
    return out


#: measure -> {cell: class}; a measure missing here is protected as ``children`` (fail safe; a
#: test checks every measure of metrics.yaml has an entry).
DISCLOSURE: dict[str, dict[str, str]] = disclosure_classes(metrics_shape())


def protected(measure: str, column: str) -> bool:
    """True when a count cell of ``measure`` in ``column`` is withheld when small."""
    return DISCLOSURE.get(measure, {}).get(column, "children") in PROTECTED


#: Ratios whose every category has its own denominator (accepted of that referral type, ...),
#: even when two denominators happen to be equal.
PER_CATEGORY_DENOMINATOR = {"accepted", "rereferred_6m", "rereferred_12m", "vacancy_rate"}


def _small(x: float, threshold: int) -> bool:
    return not math.isnan(x) and 1 <= x <= threshold


Cell = tuple[int, str]  # (row index, column)


def _additive_sets(df: pd.DataFrame) -> list[tuple[list[Cell], float]]:
    """Sets of cells that add up to a total someone can see, each with its *remainder*.

    The remainder is the total minus the set's cells: the rows whose breakdown value is blank
    (a referral with no reason recorded, a post with no role). It is never published, but it is
    "total minus the others", so a remainder from 1 to the threshold is protected like a
    withheld cell. Breakdowns where a row can count in several categories (CPR categories) add
    up to more than their total; their remainder is negative and ignored.
    """
    sets: list[tuple[list[Cell], float]] = []
    keys = ["analysis", "measure", "scope", "breakdown"]
    totals = df[df["breakdown"] == "total"].set_index(["analysis", "measure", "scope"])["value"]
    for (analysis, measure, scope, breakdown), rows in df.groupby(keys, sort=False):
        if breakdown == "total" or breakdown in NON_ADDITIVE_BREAKDOWNS:
            continue
        counts = rows["numerator"].isna() & rows["denominator"].isna() & (rows["unit"] == "count")
        ratios = rows["numerator"].notna()
        if counts.all():
            total = totals.get((analysis, measure, scope), math.nan)
            sets.append(([(i, "value") for i in rows.index], total - rows["value"].sum()))
        elif ratios.all() and rows["unit"].eq("percent").all():
            shared = rows["denominator"].nunique(dropna=False) == 1
            if shared and measure not in PER_CATEGORY_DENOMINATOR:
                remainder = rows["denominator"].iloc[0] - rows["numerator"].sum()
                sets.append(([(i, "numerator") for i in rows.index], remainder))
            else:
                sets.append(([(i, "denominator") for i in rows.index], math.nan))
    return sets + _time_sets(df)


def quarter_window(label: str) -> tuple[dt.date, dt.date]:
    """First and last day of a '2012-Q3' style calendar quarter."""
    year, q = int(label[:4]), int(label[-1])
    start = dt.date(year, 3 * q - 2, 1)
    end = dt.date(year + (q == 4), 1 if q == 4 else 3 * q + 1, 1) - dt.timedelta(days=1)
    return start, end


def _shift_year(day: dt.date) -> dt.date:
    """The same day a year earlier (29 February becomes 28 February)."""
    return day.replace(year=day.year - 1, day=min(day.day, 28 if day.month == 2 else day.day))


def _time_sets(df: pd.DataFrame) -> list[tuple[list[Cell], float]]:
    """Quarters that add up to the reporting period's (or the previous year's) published figure.

    For each measure in ``ADDITIVE_OVER_TIME``, the quarters lying wholly inside the period form
    one set per listed cell, with the period's cell as total. A period that starts or ends inside
    a quarter leaves a remainder (its days in that quarter): unpublished but derivable, so it is
    protected like a withheld cell.
    """
    sets: list[tuple[list[Cell], float]] = []
    quarters = df[(df["breakdown"] == "quarter") & df["measure"].isin(list(ADDITIVE_OVER_TIME))]
    if quarters.empty:
        return sets
    # The last quarter is cut at period_end (the quarter rows are computed that way).
    run_end = dt.date.fromisoformat(str(quarters["period_end"].iloc[0]))
    windows = {}
    for label in quarters["category"].unique():
        q_start, q_end = quarter_window(label)
        windows[label] = (q_start, min(q_end, run_end))
    keys = ["analysis", "measure", "scope"]
    for (analysis, measure, scope), rows in quarters.groupby(keys, sort=False):
        same = df[
            (df["analysis"] == analysis) & (df["measure"] == measure) & (df["scope"] == scope)
        ]
        for _, period in same[same["breakdown"].isin(["total", "previous_year"])].iterrows():
            start = dt.date.fromisoformat(period["period_start"])
            end = dt.date.fromisoformat(period["period_end"])
            if period["breakdown"] == "previous_year":
                start, end = _shift_year(start), _shift_year(end)
            inside = [
                i
                for i in rows.index
                if start <= windows[rows.at[i, "category"]][0]
                and windows[rows.at[i, "category"]][1] <= end
            ]
            if not inside:
                continue
            for col in ADDITIVE_OVER_TIME[measure]:
                total = float(period[col])
                sets.append(([(i, col) for i in inside], total - df.loc[inside, col].sum()))
    return sets


#: Workforce figures tied to each other by definition (metrics.yaml ``workforce_identities``).
WORKFORCE: dict[str, Any] = metrics_shape().get("workforce_identities", {})


def _rows_of(df: pd.DataFrame, measure: str, breakdown: str, category: str) -> list[int]:
    """The index of one figure's rows (a measure, a breakdown and a category)."""
    sel = (df["measure"] == measure) & (df["breakdown"] == breakdown)
    return list(df.index[sel & (df["category"] == category)])


def _period_end(df: pd.DataFrame, i: int, run_end: dt.date) -> dt.date:
    """The end of the period a row is computed for: the run's, a year earlier, or its quarter's
    (the last quarter is cut at the run's end)."""
    breakdown = df.at[i, "breakdown"]
    if breakdown == "previous_year":
        return _shift_year(run_end)
    if breakdown == "quarter":
        return min(quarter_window(str(df.at[i, "category"]))[1], run_end)
    return run_end


def _months_before(day: dt.date, months: int) -> dt.date:
    """``day`` less whole years of months, clamped as the SQL does (29 February -> 28)."""
    for _ in range(months // 12):
        day = _shift_year(day)
    return day


def _rolling_windows(
    df: pd.DataFrame, numbers: dict[str, pd.Series], withheld: set[Cell], threshold: int
) -> set[Cell]:
    """Cells of the rolling measure (turnover: the 12 months to each period's end) to withhold.

    Two windows that overlap without being the same give, by difference, the leavers of the
    months in one and not the other, and the filled posts of the snapshots in one and not the
    other (so, with posts and vacancies, the post holders off sick at those snapshots). So a
    window is published only if it is the same as, or shares no month with, every window
    published before it, taking the reporting period first, then the previous year, then the
    quarters from the latest back; the others are withheld (a count of 0 leavers excepted: it
    only says that none of its months had a leaver, and is shown as a true zero).

    A window that is published gives the sum of the sickness counts at the quarters' snapshots
    in it (their posts minus vacancies, minus its mean filled posts times their number): its
    denominator is withheld too when the sickness counts withheld among them are one, or add up
    to no more than the threshold. Blank windows (not available) are not published and
    constrain nothing.
    """
    spec = WORKFORCE.get("rolling")
    if not spec:
        return set()
    measure, months = spec["measure"], int(spec["months"])
    rows = df[
        (df["measure"] == measure) & df["breakdown"].isin(["total", "previous_year", "quarter"])
    ]
    if rows.empty:
        return set()
    run_end = dt.date.fromisoformat(str(rows["period_end"].iloc[0]))
    rank = {"total": 0, "previous_year": 1, "quarter": 2}
    ordered = sorted(
        rows.index,
        key=lambda i: (rank[df.at[i, "breakdown"]], -_period_end(df, i, run_end).toordinal()),
    )
    shown = {c: numbers[c].notna() for c in ("numerator", "denominator")}
    out: set[Cell] = set()
    kept: dict[dt.date, list[int]] = {}  # window end -> the rows published with that window
    for i in ordered:
        if not (shown["numerator"][i] or shown["denominator"][i]):
            continue
        end = _period_end(df, i, run_end)
        start = _months_before(end, months)
        if any(e != end and start < e and _months_before(e, months) < end for e in kept):
            if shown["denominator"][i]:
                out.add((i, "denominator"))
            if numbers["numerator"][i] != 0:  # no leavers in 12 months: a true zero, shown
                out.add((i, "numerator"))
        else:
            kept.setdefault(end, []).append(i)
    sick = df[(df["measure"] == WORKFORCE.get("sick")) & (df["breakdown"] == "quarter")]
    # A quarter with no snapshot of its own (a part quarter, or snapshots less often than
    # quarterly) repeats the one before: a quarter whose snapshot figures (posts, vacancies,
    # agency cover, sickness) all equal the previous quarter's is counted once (fewer counts in
    # the sum can only withhold more).
    ordered_sick = sorted(sick.index, key=lambda q: _period_end(df, q, run_end))
    snapshot_cols = [
        (WORKFORCE.get(k), c)
        for k, c in (("posts", "value"), ("vacant", "numerator"), ("agency", "numerator"))
    ]
    quarter_rows = df[df["breakdown"] == "quarter"]
    lookup = {
        (m, q): i
        for i, m, q in zip(
            quarter_rows.index, quarter_rows["measure"], quarter_rows["category"], strict=True
        )
    }

    def fingerprint(q: int) -> tuple[float, ...]:
        label = df.at[q, "category"]
        others = [
            float(numbers[c][lookup[(m, label)]]) if (m, label) in lookup else math.nan
            for m, c in snapshot_cols
        ]
        return (float(numbers["numerator"][q]), float(numbers["denominator"][q]), *others)

    repeats = {
        q
        for prev, q in zip(ordered_sick, ordered_sick[1:], strict=False)
        if fingerprint(q) == fingerprint(prev)
    }
    for end, members in kept.items():
        start = _months_before(end, months)
        hidden = [
            numbers["numerator"][q]
            for q in ordered_sick
            if (q, "numerator") in withheld
            and q not in repeats
            and start < _period_end(df, q, run_end) <= end
        ]
        if hidden and (len(hidden) == 1 or sum(hidden) <= threshold):
            out |= {(i, "denominator") for i in members if shown["denominator"][i]}
    return out


def _filled_posts(
    df: pd.DataFrame, numbers: dict[str, pd.Series], withheld: set[Cell], threshold: int
) -> tuple[set[Cell], list[tuple[list[Cell], float]]]:
    """The filled posts of one role (the experience denominator) and what protects them.

    That role's posts minus its vacancies minus its filled posts is its post holders off sick,
    a count of staff. When it is from 1 to the threshold (or the total off sick is shown and the
    other roles' share is), the denominator is withheld (with the percentages), and the bands,
    which add up to it, form a set whose remainder is that hidden count: so at least one more
    band is withheld, and posts - vacancies - the visible bands is always the sum of two or
    more hidden counts. Returns the cells to withhold and that set.
    """
    spec = WORKFORCE.get("filled")
    if not spec:
        return set(), []
    bands = list(df.index[df["measure"] == spec["measure"]])

    def first(measure: str, col: str, breakdown: str, category: str) -> tuple[int | None, float]:
        sel = _rows_of(df, measure, breakdown, category)
        return (sel[0], float(numbers[col][sel[0]])) if sel else (None, math.nan)

    _, posts = first(WORKFORCE["posts"], "value", "role", spec["role"])
    _, vacant = first(WORKFORCE["vacant"], "numerator", "role", spec["role"])
    i_all, sick_all = first(WORKFORCE["sick"], "numerator", "total", "all")
    if not bands:
        return set(), []
    sick = posts - vacant - float(numbers["denominator"][bands[0]])
    if math.isnan(sick):
        return set(), []
    others_shown = i_all is not None and (i_all, "numerator") not in withheld
    if not (_small(sick, threshold) or (others_shown and _small(sick_all - sick, threshold))):
        return set(), []
    cells = {(i, "denominator") for i in bands if not math.isnan(numbers["denominator"][i])}
    return cells, [([(i, "numerator") for i in bands], sick)]


def _agency_cover(
    df: pd.DataFrame, numbers: dict[str, pd.Series], withheld: set[Cell], threshold: int
) -> set[Cell]:
    """Agency cover at the reporting snapshot, withheld when caseload counts would pin sickness.

    A reader who takes every staffed post of a role with caseloads to hold one reads, for each
    such role, staffed posts with a caseload = posts - vacancies + agency-covered - off sick; so
    the roles' agency-covered posts minus their post holders off sick are known, and with the
    agency cover total, and the roles without caseloads covering at most their vacancies, the
    post holders off sick are at least  agency total - those differences - the vacancies of the
    roles without caseloads. When that lower bound reaches the withheld count, the bound of a
    withheld count (the threshold) can pin it: the agency cover of that snapshot (the total row
    and the quarter row ending with the period) is withheld, its vacancies staying shown.
    """
    keys = ("sick", "posts", "vacant", "agency", "caseload")
    if not all(k in WORKFORCE for k in keys):
        return set()

    sick = _rows_of(df, WORKFORCE["sick"], "total", "all")
    agency = _rows_of(df, WORKFORCE["agency"], "total", "all")
    if not sick or not agency or (sick[0], "numerator") not in withheld:
        return set()
    bound = float(numbers["numerator"][agency[0]])
    roles = df[(df["measure"] == WORKFORCE["posts"]) & (df["breakdown"] == "role")]
    for i in roles.index:
        role = df.at[i, "category"]
        vacant = _rows_of(df, WORKFORCE["vacant"], "role", role)
        n = _rows_of(df, WORKFORCE["caseload"], "role", role)
        v = float(numbers["numerator"][vacant[0]]) if vacant else math.nan
        held = float(numbers["denominator"][n[0]]) if n else 0.0
        if held > 0:  # agency-covered - off sick = held - (posts - vacancies)
            bound -= held - (float(numbers["value"][i]) - v)
        else:  # a role without caseloads: agency-covered at most its vacancies
            bound -= v
    if math.isnan(bound) or bound < float(numbers["numerator"][sick[0]]):
        return set()
    run_end = dt.date.fromisoformat(str(df.at[agency[0], "period_end"]))
    rows = agency + [
        i
        for i in df.index[(df["measure"] == WORKFORCE["agency"]) & (df["breakdown"] == "quarter")]
        if _period_end(df, i, run_end) == run_end
    ]
    return {(i, "numerator") for i in rows}


def suppress(metrics: pd.DataFrame, threshold: int) -> pd.DataFrame:
    """The public version of ``metrics``: small counts and what would reveal them shown as ``c``.

    Returns a new frame (the argument is not changed) with the same columns; the numerator,
    denominator and value columns hold numbers or the string ``c``; ``threshold`` 0 withholds
    nothing.
    """
    df = metrics.copy()
    numbers = {col: df[col].astype("float64") for col in ("numerator", "denominator", "value")}
    is_count_row = (
        numbers["numerator"].isna() & numbers["denominator"].isna() & (df["unit"] == "count")
    )

    def guarded(i: int, col: str) -> bool:
        return protected(df.at[i, "measure"], col)

    withheld: set[tuple[int, str]] = set()
    for col in ("numerator", "denominator"):
        withheld |= {
            (i, col) for i, x in numbers[col].items() if _small(x, threshold) and guarded(i, col)
        }
    withheld |= {
        (i, "value")
        for i, x in numbers["value"][is_count_row].items()
        if _small(x, threshold) and guarded(i, "value")
    }

    if threshold > 0:
        # Workforce figures that would give away a sickness count or a quarter's leavers.
        withheld |= _rolling_windows(df, numbers, withheld, threshold)
        filled, hidden_remainder = _filled_posts(df, numbers, withheld, threshold)
        withheld |= filled
        withheld |= _agency_cover(df, numbers, withheld, threshold)
        # A set's cells are one column of one measure: one class, protected or not. A set from
        # _filled_posts has a remainder that is always hidden (the post holders off sick).
        # It replaces the set of the same cells whose total is the (now withheld) denominator.
        replaced = [cells for cells, _ in hidden_remainder]
        sets = [
            (cells, rest, False)
            for cells, rest in _additive_sets(df)
            if guarded(*cells[0]) and cells not in replaced
        ]
        sets += [(cells, rest, True) for cells, rest in hidden_remainder]
        changed = True
        while changed:
            changed = False
            for cells, remainder, always in sets:
                implicit = [remainder] if always or _small(remainder, threshold) else []
                while True:
                    hidden = [numbers[col][i] for i, col in cells if (i, col) in withheld]
                    hidden += implicit
                    if not hidden:
                        break
                    if len(hidden) >= 2 and sum(hidden) > threshold:
                        break
                    visible = [c for c in cells if c not in withheld and numbers[c[1]][c[0]] > 0]
                    if not visible:
                        break
                    smallest = min(visible, key=lambda c: numbers[c[1]][c[0]])
                    withheld.add(smallest)
                    changed = True

    # Values of ratios and means go with their numerator and denominator.
    for i in df.index:
        if not is_count_row[i] and ((i, "numerator") in withheld or (i, "denominator") in withheld):
            withheld.add((i, "value"))

    for col in ("numerator", "denominator", "value"):
        column = numbers[col].astype(object).where(numbers[col].notna(), None)
        for i, c in withheld:
            if c == col:
                column[i] = SYMBOL
        df[col] = column
    return df

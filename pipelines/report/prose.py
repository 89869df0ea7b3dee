"""Words and numbers as a reader sees them: formats, chart titles, alt text and key messages.

Every title states the finding, and is worked out here only. Only figures shown in public are
used (a withheld ``c`` value has no number and is skipped, never inferred), so no title or message
can disclose a withheld figure.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence, Sized

from pipelines.report.model import (
    WITHHELD,
    Metrics,
    Reference,
    Row,
    Target,
    part_quarter,
    quarter_end,
    same_period_last_year,
    to_number,
)
from pipelines.report.spec import (
    category_label,
    category_order,
    dimension_name,
    measure_name,
    pages,
    polarity,
    scope_label,
    spec,
    spelt_out,
)

#: Shown for a figure that does not apply or is not held (a rate with no cases, no comparator).
NOT_APPLICABLE = "–"

# ---------------------------------------------------------------------------------------------
# Numbers


def pct(x: float) -> str:
    """A percentage for text and charts, to whole numbers; never rounds a shortfall up to 100%
    or a few cases down to 0%."""
    return f"{x:.1f}%" if (99.5 <= x < 100 or 0 < x < 0.5) else f"{x:.0f}%"


def number(x: float, unit: str) -> str:
    """A figure for text, chart labels and alt text: ``35%``, ``2,152``, ``2.3``."""
    if unit == "percent":
        return pct(x)
    return f"{int(x):,}" if float(x).is_integer() else f"{x:.1f}"


def cell(text: str, unit: str, decimals: int | None = None) -> str:
    """A figure for a table, from its text in the metrics file: withheld stays ``c``, blank
    becomes ``–``; percentages to one decimal place."""
    text = (text or "").strip()
    if text == WITHHELD:
        return WITHHELD
    x = to_number(text)
    if x is None:
        return NOT_APPLICABLE
    if unit == "percent":
        return f"{x:.{1 if decimals is None else decimals}f}%"
    if unit == "count" and float(x).is_integer() and decimals is None:
        return f"{int(x):,}"
    return f"{x:,.{1 if decimals is None else decimals}f}"


def long_date(iso: str) -> str:
    """``2012-04-01`` -> ``1 April 2012`` (anything else is returned as it is)."""
    try:
        d = dt.date.fromisoformat(iso)
    except ValueError:
        return iso
    return f"{d.day} {d:%B %Y}"


def target_text(target: Target | None, unit: str) -> str:
    """``green ≤ 30%, amber ≤ 35%``."""
    if target is None:
        return NOT_APPLICABLE
    sign = "≤" if target.lower_better else "≥"
    parts = [f"green {sign} {cell(str(target.green), unit, 0)}"]
    if target.amber is not None:
        parts.append(f"amber {sign} {cell(str(target.amber), unit, 0)}")
    return ", ".join(parts)


def rag_words(status: str | None, value: float | None, target: Target | None, unit: str) -> str:
    """What the Status column says: the status with the distance to the target, from the figure
    and the target's green level ("Red: 88%, target 95%"; "Amber: 33%, target 30% or less"), so a
    reader sees how far a figure is from its target without the RAG rule beside it."""
    if target is None:
        return "No target set"
    if status is None or value is None:
        return "No status: figure withheld or not available"
    level = number(target.green, unit) + (" or less" if target.lower_better else "")
    return f"{status}: {number(value, unit)}, target {level}"


# ---------------------------------------------------------------------------------------------
# Small words


def cap(text: str) -> str:
    return text[:1].upper() + text[1:]


#: Plurals that do not just add "s" (nouns the pages count).
_PLURALS = {"family": "families", "child": "children", "vacancy": "vacancies", "person": "people"}
#: Numbers written as words when they count things in a sentence ("five domains").
_WORDS = {0: "no", 1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven",
          8: "eight", 9: "nine", 10: "ten"}  # fmt: skip


def plural(n: float, noun: str, many: str | None = None, words: bool = False) -> str:
    """``1 team``, ``3 teams``, ``2,427 referrals``, ``1 family``; ``words``: ``five domains``.
    The one place a count meets its noun, so no sentence says "1 warnings" or "3 team"; the
    last word of ``noun`` is the one made plural ("social worker" -> "social workers")."""
    head, _, last = noun.rpartition(" ")
    if many is None:
        many = (f"{head} " if head else "") + _PLURALS.get(last, last + "s")
    count = _WORDS.get(int(n), f"{int(n):,}") if words and float(n).is_integer() else None
    return f"{count or number(n, 'count')} {noun if n == 1 else many}"


def tied(pairs: Sequence[tuple[Row, float]], best: float, unit: str) -> list[Row]:
    """The rows whose figure reads the same as ``best`` (as written in a title): a title that
    names "the highest" names every one of them, never one picked by the order of the file."""
    return [r for r, v in pairs if number(v, unit) == number(best, unit)]


def name_all(labels: Sequence[str], noun: str, many: str | None = None, most: int = 3) -> str:
    """``schools``, ``schools and police``; more than ``most`` are counted, not listed
    ("five domains"; ``noun`` singular, ``many`` its plural where not regular), so a tie of
    many never reads as a list to skim."""
    if len(labels) > most:
        return plural(len(labels), noun, many, words=True)
    return join(labels)


def lower_first(label: str) -> str:
    """Lower-case a label for use mid-sentence, keeping acronyms (``DAT``, ``A&E``); a quoted
    label (``term``) keeps its quote mark first."""
    if label[:1] == QUOTE[0]:
        return QUOTE[0] + lower_first(label[1:])
    first = label.split(" ", 1)[0]
    if len(first) > 1 and first.upper() == first:
        return label
    if _proper_name(label):  # "Duty and Assessment Teams", "Prevention Service"
        return label
    return label[:1].lower() + label[1:]


def _proper_name(label: str) -> bool:
    """A name in title case (its next word, or the one after "and"/"of", capitalised and not an
    abbreviation): kept as it is mid-sentence."""
    words = label.split()
    if len(words) > 2 and words[1] in ("and", "of", "for"):
        words = words[1:]
    nxt = words[1] if len(words) > 1 else ""
    return nxt[:1].isupper() and not nxt.isupper()


#: The quote marks around a label that holds a comma (``term``).
QUOTE = ("'", "'")


def term(label: str) -> str:
    """A category label as it stands in a sentence: one holding a comma ("No further action,
    advice letter sent") is quoted, so a list of labels ("A, B and C") or a label followed by
    the scope (", Duty and Assessment Teams") cannot be read as more items than there are.
    A thousands separator (``1,302``) is not a comma between words."""
    if ", " in label and label[:1] != QUOTE[0]:
        return f"{QUOTE[0]}{label}{QUOTE[1]}"
    return label


def the_scope(scope: str) -> str:
    """``the Prevention Service``; ``all four Integrated Family Support Services``."""
    label = scope_label(scope)
    return label if label.startswith("all ") else f"the {label}"


def join(items: Sequence[str]) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def not_drawn(labels: Sequence[str]) -> str:
    """The caption note naming what a chart leaves out (a label with a comma quoted: ``term``)."""
    listed = ", ".join(term(x) for x in labels)
    return f"Not drawn (withheld or not applicable): {listed}." if labels else ""


def other_windows(figures: Sequence[tuple[str, str]], period: str) -> str:
    """What a headline caption adds for figures that do not cover the reporting period
    (``figures``: measure name and the period it covers): "; posts and vacancy rate: latest
    snapshot on or before 31 December 2012", so a snapshot is never read as the whole period."""
    windows: dict[str, list[str]] = {}
    for name, when in figures:
        if when != period and lower_first(name) not in windows.get(when, []):
            windows.setdefault(when, []).append(lower_first(name))
    return "".join(f"; {join(names)}: {when}" for when, names in windows.items())


def alt_text(kind: str, title: str, items: Sequence[tuple[str, float]], unit: str) -> str:
    """``Bar chart. <title>. A: 10%; B: 20%.`` (shown figures only)."""
    listed = "; ".join(f"{term(k)}: {number(v, unit)}" for k, v in items)
    return f"{kind}. {title}. {listed}."


def _label(r: Row) -> str:
    """A row's category label for a sentence (quoted when it holds a comma: ``term``)."""
    return term(category_label(r.breakdown, r.category))


# ---------------------------------------------------------------------------------------------
# Chart titles

#: Measures whose categories each have their own denominator (rates, not shares of a whole).
RATES = {
    "accepted",
    "rereferred_6m",
    "rereferred_12m",
    "vacancy_rate",
    "domain_change",
    "mean_start_risk",
    "caseload_mean",
}


def _share_phrase(total: float) -> str:
    if total > 75:
        return "three quarters"
    if total > 66.7:
        return "two thirds"
    return "half" if total > 50 else ""


def shown(rows: Iterable[Row]) -> list[tuple[Row, float]]:
    """The rows that have a number (not withheld, not blank), with it."""
    return [(r, v) for r in rows if (v := r.number) is not None]


def of_type(label: str, noun: str = "referrals") -> str:
    """``New referral`` -> ``new referrals``; ``Consultation`` -> ``consultation referrals``:
    a category that already names the noun is not followed by it again."""
    text, one = lower_first(label), noun.rstrip("s")
    return f"{text}s" if text.endswith(one) else f"{text} {noun}"


def _each(labels: Sized, value: str) -> str:
    return f"({value}{' each' if len(labels) > 1 else ''})"


def ordered_outside(dimension: str) -> list[str] | None:
    """For a breakdown whose categories have an order (age bands, experience bands), the codes
    that stand outside it (``UNKNOWN``); None for a breakdown without an order."""
    found = spec().get("ordered_dimensions", {}).get(dimension)
    return None if found is None else list(found or [])


def _adjacent_majority(rows: Sequence[Row], outside: Sequence[str]) -> list[tuple[Row, float]]:
    """The fewest neighbouring categories (in code order, none withheld between them, at most
    three) that together make more than half; the largest such group when several do."""
    order = category_order(rows[0].breakdown, [r.category for r in rows])
    ranked = sorted(
        (r for r in rows if r.category not in outside), key=lambda r: order.index(r.category)
    )
    best: list[tuple[Row, float]] = []
    for size in (2, 3):
        for i in range(len(ranked) - size + 1):
            group = [(r, r.number) for r in ranked[i : i + size]]
            if any(v is None for _, v in group):
                continue
            total = sum(v for _, v in group if v is not None)
            if total > 50 and (not best or total > sum(v for _, v in best)):
                best = [(r, float(v)) for r, v in group if v is not None]
        if best:
            return best
    return best


def breakdown_title(rows: Sequence[Row], measure: str, scope: str, noun: str) -> str:
    """The finding of a breakdown, e.g. "Schools and police made over half of referrals, ...".
    A tie for the highest or lowest names every tied category ("each"); categories with an
    order (age bands) are grouped only with their neighbours, otherwise the largest is named."""
    pairs, where = shown(rows), scope_label(scope)
    if not pairs:
        return f"{cap(noun)}, {where}: figures withheld or not available"
    unit = rows[0].unit
    lo, (top, hi) = min(v for _, v in pairs), max(pairs, key=_value)
    lows, highs = tied(pairs, lo, unit), tied(pairs, hi, unit)
    if measure == "accepted":
        kinds = name_all(
            [of_type(_label(r)) for r in lows], "type of referral", "types of referral"
        )
        if all(v > 50 for _, v in pairs):
            return (
                f"{cap(the_scope(scope))} accepted most referrals of every type; the lowest share "
                f"was for {kinds} {_each(lows, pct(lo))}"
            )
        return f"{cap(the_scope(scope))} accepted {pct(lo)} of {kinds}" + (
            f"{' each' if len(lows) > 1 else ''}, the lowest share"
        )
    if measure in ("rereferred_6m", "rereferred_12m"):
        months = "6" if measure.endswith("6m") else "12"
        ends = name_all([lower_first(_label(r)) for r in highs], "decision")
        return f"{pct(hi)} of referrals ending in {ends} came back within {months} months" + (
            " (the highest, each)" if len(highs) > 1 else ""
        )
    if measure == "domain_change":
        if lo < 0:
            what = name_all([lower_first(_label(r)) for r in lows], "domain")
            each = " each" if len(lows) > 1 else ""
            return f"Risk fell most in {what} ({lo:+.1f} points on average{each}), {where}"
        return f"Average domain scores did not fall, {where}"
    if measure in RATES or unit != "percent":
        # a rate within each category (not shares of one whole): name the highest
        value = pct(hi) if unit == "percent" else f"{hi:.1f}"
        what = lower_first(measure_name(measure))
        if len(pairs) == 1:
            return f"{_label(top)}: {what} {value}; the other figures are withheld"
        names = [_label(highs[0])] + [lower_first(_label(r)) for r in highs[1:]]
        return f"{name_all(names, dimension_name(top.breakdown))} had the highest {what} " + (
            _each(highs, value)
        )
    outside = ordered_outside(rows[0].breakdown)
    ordered = sorted(pairs, key=lambda x: -x[1])
    if len(highs) == 1 and hi > 50:  # a sentence, not "Police: 56% of referrals" to decode
        return f"{_label(top)} accounted for {pct(hi)} of {noun}, {where}"
    if outside is not None:
        group = _adjacent_majority(rows, outside)
        if not group:
            names = [_label(highs[0])] + [lower_first(_label(r)) for r in highs[1:]]
            biggest = "the largest groups" if len(highs) > 1 else "the largest group"
            return (
                f"{name_all(names, 'group')} {_each(highs, pct(hi))}: {biggest} of {noun}, {where}"
            )
        picked, total = [r for r, _ in group], sum(v for _, v in group)
    else:
        chosen: list[tuple[Row, float]] = []
        for r, v in ordered:
            chosen.append((r, v))
            if sum(x for _, x in chosen) > 50 or len(chosen) == 3:
                break
        cut = chosen[-1][1]
        rest = ordered[len(chosen) :]
        if rest and number(rest[0][1], unit) == number(cut, unit):  # the cut falls in a tie
            chosen = [(r, v) for r, v in ordered if v > cut] + [
                (r, v) for r, v in ordered if number(v, unit) == number(cut, unit)
            ]
        if len(chosen) > 3:
            names = [_label(highs[0])] + [lower_first(_label(r)) for r in highs[1:]]
            biggest = "the largest groups" if len(highs) > 1 else "the largest group"
            return (
                f"{name_all(names, 'category', 'categories')} {_each(highs, pct(hi))}: "
                f"{biggest} of {noun}, {where}"
            )
        total = sum(v for _, v in chosen)
        picked = [r for r, _ in chosen]
    labels = [_label(picked[0])] + [lower_first(_label(r)) for r in picked[1:]]
    phrase = _share_phrase(total)
    amount = f"over {phrase}" if phrase else pct(total)
    verb = "made" if noun.endswith("referrals") else "accounted for"
    return f"{join(labels)} {verb} {amount} of {noun}, {where}"


def _value(pair: tuple[Row, float]) -> float:
    return pair[1]


def part_year(category: str, period_end: str) -> str:
    """``2012-13`` cut at period_end 2012-12-31 -> ``April to December 2012, 9 months``: the
    part a financial year's figure covers when the period ends inside it (the metrics layer
    counts that year up to period_end only); "" for a whole year or anything else."""
    try:
        first = int(category.split("-")[0])
        cut = dt.date.fromisoformat(period_end)
    except ValueError:
        return ""
    start, end = dt.date(first, 4, 1), dt.date(first + 1, 3, 31)
    if not start <= cut < end:
        return ""
    month_end = (cut + dt.timedelta(days=1)).day == 1
    months = (cut.year - start.year) * 12 + cut.month - start.month + (1 if month_end else 0)
    if not month_end:
        return f"1 April to {long_date(cut.isoformat())}"
    span = f"April to {cut:%B %Y}" if cut.month != 4 else f"April {cut.year}"
    return f"{span}, {plural(months, 'month')}"


def overlap_note(rows: Sequence[Row], noun: str) -> str:
    """Said under a breakdown whose categories overlap (one denominator, and the shown numbers
    add up to more than it, e.g. a registration under two categories of abuse), so a reader
    adding the shares to more than 100% is not left thinking a figure is wrong; "" otherwise."""
    outs = {r.denominator.strip() for r in rows}
    if len(outs) != 1 or rows[0].unit != "percent":
        return ""
    total, counted = to_number(outs.pop()), [to_number(r.numerator) for r in rows]
    if total is None or sum(n for n in counted if n is not None) <= total:
        return ""
    return (
        f"Some {noun} are counted in more than one category, so the percentages add up to more "
        "than 100%."
    )


def small_base_note(rows: Sequence[Row], noun: str, limit: int) -> str:
    """Said under a breakdown of shares of one small denominator (below ``limit``), so a
    reader does not weigh "45%" of 22 as they would 45% of 2,000: how far one case moves a
    percentage; "" otherwise (or when the denominator is withheld)."""
    outs = {r.denominator.strip() for r in rows}
    if len(outs) != 1 or rows[0].unit != "percent":
        return ""
    base = to_number(outs.pop())
    if base is None or not 2 <= base < limit:
        return ""
    return (
        f"Based on only {base:,.0f} {noun}, so one more or fewer would move "
        f"each percentage by about {100 / base:.0f} points."
    )


def part_year_note(category: str, part: str) -> str:
    """Why a part year's counts are not set beside whole years' in words."""
    return (
        f"{category} is a part year ({part}): its rate can be compared with whole years, its "
        "counts (Number, Out of) cannot."
    )


def by_phrase(measure: str, dimension: str) -> str:
    """``Referrals received by source``; a measure that already names its breakdown is not
    followed by it again (``Decision on the referral``, not "... by decision")."""
    if measure.lower().startswith(dimension.lower()):
        return measure
    return f"{measure} by {dimension}"


def quarters_span(labels: Sequence[str], period_end: str) -> str:
    """``eight calendar quarters to 31 December 2012``: the window of a quarterly series."""
    return f"{plural(len(labels), 'calendar quarter', words=True)} to {long_date(period_end)}"


def year_short(category: str, period_end: str) -> str:
    """``2012-13 (to 31 Dec)`` for a part year on a chart axis (as a part quarter is shown)."""
    if not part_year(category, period_end):
        return category
    cut = dt.date.fromisoformat(period_end)
    return f"{category} (to {cut.day} {cut:%b})"


def year_label(category: str, period_end: str) -> str:
    """``2012-13 (April to December 2012, 9 months)`` for a part year; the year otherwise."""
    part = part_year(category, period_end)
    return f"{category} ({part})" if part else category


def trend_title(rows: Sequence[Row], noun: str, period_end: str = "") -> str:
    """The latest change between the last two shown years (a part year labelled as one; only
    rates are compared with it, never counts), then the earliest year shown for context."""
    pairs = shown(rows)
    unit = rows[0].unit if rows else "percent"
    if unit != "percent":  # counts of a part year are not comparable with whole years
        pairs = [(r, v) for r, v in pairs if not part_year(r.category, period_end)]
    label = {r.category: year_label(r.category, period_end) for r in rows}
    if len(pairs) < 2:
        if pairs:
            r, v = pairs[0]
            return f"{cap(noun)}: {number(v, unit)} in {label[r.category]}"
        return f"{cap(noun)}: figures withheld or not available"
    (first, a), (prev, x), (last, y) = pairs[0], pairs[-2], pairs[-1]
    if _same(x, y, unit):
        text = f"{cap(noun)} was {number(y, unit)} in {label[last.category]}, as in {prev.category}"
    else:
        verb = "rose" if y > x else "fell"
        text = (
            f"{cap(noun)} {verb} from {number(x, unit)} in {prev.category} to {number(y, unit)} "
            f"in {label[last.category]}"
        )
    if first is not prev:
        text += f"; it was {number(a, unit)} in {first.category}"
    return text


def lowest_title(items: Sequence[tuple[str, float | None]], rule: dict[str, str]) -> str:
    """``rule`` from pages.yaml: {lowest: "{label}: {value}, ...", otherwise: "..."}; the lowest
    shown figure (a percentage) fills the sentence; a tie names every tied label."""
    shown = [(label, v) for label, v in items if v is not None]
    if not shown:
        return rule["otherwise"]
    value = min(v for _, v in shown)
    labels = [label for label, v in shown if f"{v:.0f}" == f"{value:.0f}"]
    names = [labels[0]] + [lower_first(x) for x in labels[1:]]
    each = " each" if len(labels) > 1 else ""
    return rule["lowest"].format(label=join(names), value=f"{value:.0f}%{each}")


def highest_title(items: Sequence[tuple[str, float | None]], measure: str, unit: str) -> str:
    """``<label> had the highest <measure> (<value>)``; a tie names every tied label."""
    shown = [(label, v) for label, v in items if v is not None]
    if not shown:
        return f"{measure_name(measure)} by service"
    value = max(v for _, v in shown)
    labels = [label for label, v in shown if number(v, unit) == number(value, unit)]
    each = " each" if len(labels) > 1 else ""
    what = measure_name(measure).lower()
    return f"{join(labels)} had the highest {what} ({number(value, unit)}{each})"


def start_risk_title(rows: Sequence[Row], scope: str) -> str:
    """Higher or lower assessed risk at the start of support in the last quarter than the first."""
    pairs = shown(rows)
    if len(pairs) < 2:
        return "Average risk at the start of support, by quarter"
    (first, a), (last, b) = pairs[0], pairs[-1]
    if f"{a:.1f}" == f"{b:.1f}":
        return (
            f"{scope_label(scope)} families started support at the same assessed risk in "
            f"{last.category} as in {first.category} ({a:.1f})"
        )
    return (
        f"{scope_label(scope)} families started support at {'higher' if b > a else 'lower'} "
        f"assessed risk in {last.category} ({b:.1f}) than in {first.category} ({a:.1f})"
    )


def caseload_spread(
    means: Sequence[Row], maxima: Sequence[Row], noun: str, threshold: float | None
) -> str:
    """The average and the spread of caseloads: how many teams (or roles) average more than the
    threshold, the highest average (every tied one named) and the highest single caseload
    (``caseload_max``), so "no team averaged more than 20" never hides a worker holding 35."""
    pairs = shown(means)
    if not pairs:
        return f"Average caseload by {noun}: withheld or not available"
    top = max(v for _, v in pairs)

    def name(r: Row) -> str:  # team names as they are; roles mid-sentence ("social worker")
        label = _label(r)  # a team spelt out from the glossary is a description, not a name
        return label if noun == "team" and label not in spelt_out().values() else lower_first(label)

    highs = [name(r) for r in tied(pairs, top, "score")]
    each = " each" if len(highs) > 1 else ""
    were = "averages were" if len(highs) > 1 else "average was"
    highest = f"the highest {were} for {name_all(highs, noun)} ({top:.1f}{each})"
    if threshold is not None:
        over = [r for r, v in pairs if v > threshold]
        many = plural(len(pairs), noun)
        if len(pairs) < len(means):  # "none of the 3 roles" is said only of those with figures
            many += " with figures"
        if not over:
            lead = f"None of the {many} averaged more than {threshold:g} cases"
        else:
            lead = f"{len(over)} of the {many} averaged more than {threshold:g} cases"
        text = f"{lead}; {highest}"
    else:
        text = cap(highest)
    peaks = shown(maxima)
    if peaks:
        peak = max(v for _, v in peaks)
        at = [name(r) for r in tied(peaks, peak, "count")]
        if noun == "team":
            where = f"in {name_all(at, noun)}"
        elif len(at) == 1:
            where = f"held by a {at[0]}"
        else:
            where = f"in {plural(len(at), noun, words=True)}: {join(at)}"
        text += f"; the highest single caseload was {number(peak, 'count')} ({where})"
    return text


def caseload_title(
    means: Sequence[Row], noun: str, threshold: float | None, maxima: Sequence[Row] = ()
) -> str:
    """The caseload chart's title: ``caseload_spread``."""
    return caseload_spread(means, maxima, noun, threshold)


def follow_up_missing(months: int, data_as_at: str) -> str:
    """Why a "referred again within n months" figure cannot be shown yet."""
    return (
        f"Referred again within {months} months: no referral in the period was made {months} "
        f"months or more before the extract was taken ({long_date(data_as_at)}), so this cannot be "
        "measured yet; a later extract will show it."
    )


def add_months(d: dt.date, n: int) -> dt.date:
    """Calendar months as the metrics layer counts them (DuckDB ``date + INTERVAL n MONTH``):
    the day is kept and clamped to the end of a shorter month."""
    y, m = divmod(d.month - 1 + n, 12)
    year, month = d.year + y, m + 1
    for day in (d.day, 30, 29, 28):
        try:
            return dt.date(year, month, day)
        except ValueError:
            continue
    raise ValueError(d)


def follow_up_window(months: int, period_start: str, period_end: str, data_as_at: str) -> str:
    """The referrals a "referred again within n months" figure really counts when that is not
    the whole period: only referrals whose n months had passed by the extract date ("referrals
    made 1 April to 31 July 2012, followed up to 31 January 2013"); "" when it is the period."""
    try:
        start, end = dt.date.fromisoformat(period_start), dt.date.fromisoformat(period_end)
        as_at = dt.date.fromisoformat(data_as_at)
    except ValueError:
        return ""
    last = add_months(as_at, -months)
    while add_months(last + dt.timedelta(days=1), months) <= as_at:
        last += dt.timedelta(days=1)
    if last >= end:
        return ""
    if last < start:
        return "no referral in the period is old enough to count"
    first = long_date(start.isoformat())
    if start.year == last.year:
        first = first.rsplit(" ", 1)[0]
    return (
        f"referrals made {first} to {long_date(last.isoformat())}, followed up to "
        f"{long_date(as_at.isoformat())}"
    )


# ---------------------------------------------------------------------------------------------
# Direction of travel: quarterly series and the same period last year

#: Said instead of a chart when every quarter of a series is withheld or not applicable.
NOTHING_DRAWN = "No chart: every quarter of this figure is withheld or not applicable."
NOTHING_DRAWN_CATEGORIES = "No chart: every category of this figure is withheld or not applicable."
#: ... when the table still shows some numbers (only the percentages are withheld): saying
#: "every category is withheld" beside numbers a reader can see would be untrue.
NOTHING_DRAWN_SHARES = (
    "No chart: the percentage of every category is withheld or not applicable; the table gives "
    "the numbers that can be shown."
)
_COUNTS = {2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight"}


def quarter_label(category: str, period_end: str, complete_to: dt.date | None = None) -> str:
    """``2013-Q1 (to 31 Jan)`` for the last quarter of a series when period_end cuts it short,
    or when its extract stops early (``complete_to``, the last complete day); a quarter wholly
    after that day is ``2013-Q1 (incomplete)``; the category itself otherwise."""
    if complete_to is not None:
        if cut := part_quarter(category, complete_to.isoformat()):
            return f"{category} (to {cut.day} {cut:%b})"
        if (end := quarter_end(category)) is not None and end > complete_to:
            return f"{category} (incomplete)"
    cut = part_quarter(category, period_end)
    return f"{category} (to {cut.day} {cut:%b})" if cut else category


def part_or_incomplete(category: str, period_end: str, complete_to: dt.date | None) -> bool:
    """Does a quarter hold fewer months than a whole one: cut at period_end, or ending after
    the last complete day of its extract?"""
    if part_quarter(category, period_end) is not None:
        return True
    end = quarter_end(category)
    return complete_to is not None and end is not None and end > complete_to


def incomplete_quarters_note(labels: Sequence[str], complete_to: dt.date, whole_only: bool) -> str:
    """Why quarters after an extract stops are labelled as part ones."""
    verb = "is" if len(labels) == 1 else "are"
    s = (
        f"{join(labels)} {verb} incomplete: the extract's records are complete only to "
        f"{long_date(complete_to.isoformat())}"
    )
    return s + ("; not compared with whole quarters in the title." if whole_only else ".")


@dataclasses.dataclass(frozen=True)
class Quarter:
    """One quarter of a series as the title rule sees it: its label, its shown value (None when
    withheld or blank) and whether it is a part quarter (cut at period_end)."""

    label: str
    value: float | None
    part: bool = False


def _same(a: float, b: float, unit: str) -> bool:
    """Two figures are "the same" when they read the same as written in a title."""
    return number(a, unit) == number(b, unit)


def _step(a: float, b: float, unit: str) -> int:
    return 0 if _same(a, b, unit) else (1 if b > a else -1)


def direction_title(name: str, series: Sequence[Quarter], unit: str, whole_only: bool) -> str:
    """The title of a quarterly series: the direction of the latest move between shown quarters
    and how many quarters it has run ("Re-referrals fell for three quarters running, from 44% in
    2011-Q4 to 40% in 2012-Q3"). Withheld quarters are skipped, never guessed: a run only counts
    moves between neighbouring shown quarters, and a move across a gap names both quarters.
    ``whole_only`` (counts that grow with the length of the period): a part quarter is left out
    of the comparison (the caption says so), so a short last quarter is never called a fall."""
    usable = [
        (i, q) for i, q in enumerate(series) if q.value is not None and not (whole_only and q.part)
    ]
    if not usable:
        return f"{name}: quarterly figures withheld or not available"
    if len(usable) == 1:
        (_, q) = usable[0]
        return f"{name}: {number(q.value or 0, unit)} in {q.label}; no other quarter to compare"
    i2 = usable[-1][0]
    after = [q for q in series[i2 + 1 :] if not (whole_only and q.part)]
    tail = "; the later quarters are withheld or not available" if after else ""
    return _direction(name, usable, unit) + tail


def _direction(name: str, usable: Sequence[tuple[int, Quarter]], unit: str) -> str:
    """The direction sentence of ``direction_title`` from its comparable quarters (two or more)."""
    (i1, prev), (i2, last) = usable[-2], usable[-1]
    a, b = prev.value or 0.0, last.value or 0.0
    way = _step(a, b, unit)
    run, start = 1, prev
    for (j1, q1), (j2, q2) in zip(usable[-3::-1], usable[-2::-1], strict=False):
        if j2 != j1 + 1 or _step(q1.value or 0.0, q2.value or 0.0, unit) != way:
            break
        run, start = run + 1, q1
    x, y, verb = number(a, unit), number(b, unit), "rose" if way > 0 else "fell"
    if i2 != i1 + 1:  # a withheld or blank quarter between the two: name both
        if way == 0:
            return f"{name} held at {y} in {last.label}, as in {prev.label}"
        return f"{name} {verb} from {x} in {prev.label} to {y} in {last.label}"
    if way == 0:
        if run == 1:
            return f"{name} held at {y} in {last.label}, as in {prev.label}"
        quarters = _COUNTS.get(run + 1, str(run + 1))
        return f"{name} held at about {y} for {quarters} quarters, to {last.label}"
    if run == 1:
        return f"{name} {verb} in {last.label}, from {x} to {y}"
    first = number(start.value or 0.0, unit)
    return (
        f"{name} {verb} for {_COUNTS.get(run, str(run))} quarters running, from {first} in "
        f"{start.label} to {y} in {last.label}"
    )


@dataclasses.dataclass(frozen=True)
class Change:
    """The change from the same period last year: an arrow (decoration only: ``aria-hidden``),
    the words that carry the meaning ("up 4.2 points, worse") and the direction (1, 0, -1)."""

    arrow: str
    words: str
    way: int
    judgement: str = ""


ARROWS = {1: "↑", 0: "→", -1: "↓"}


def change(now: float | None, before: float | None, unit: str, polarity_: str) -> Change | None:
    """Up or down by how much, and better or worse from the measure's polarity (``higher``,
    ``lower``; ``none`` says neither). Percentages change in points (from the figures as the
    table shows them, to one decimal place); counts by the number and the percentage. None when
    either figure is withheld or blank (there is nothing to compare)."""
    if now is None or before is None:
        return None
    if unit == "percent" or not (float(now).is_integer() and float(before).is_integer()):
        d = round(now, 1) - round(before, 1)
        size = f"{abs(d):.1f}" + (" points" if unit == "percent" else "")
        way = 0 if abs(d) < 0.05 else (1 if d > 0 else -1)
    else:
        d = now - before
        way = 0 if d == 0 else (1 if d > 0 else -1)
        size = f"{int(abs(d)):,}" + (f" ({pct(100 * abs(d) / before)})" if before else "")
    if way == 0:
        return Change(ARROWS[0], "no change", 0)
    good = {"higher": 1, "lower": -1}.get(polarity_, 0)
    judgement = "" if not good else ("better" if way == good else "worse")
    words = f"{'up' if way > 0 else 'down'} {size}" + (f", {judgement}" if judgement else "")
    return Change(ARROWS[way], words, way, judgement)


def subject(label: str) -> str:
    """A headline label as the subject of a sentence: ``Referrals received: Prevention Service``
    -> ``Referrals received (Prevention Service)``."""
    head, _, rest = label.partition(": ")
    return f"{head} ({rest})" if rest else label


def _notable(now: float, before: float, unit: str, rules: dict[str, float]) -> bool:
    """Is a change in a figure without a better direction worth a key message? Counts: a change
    of at least ``notable_count_change`` per cent; percentages: ``notable_points_change`` points."""
    if unit == "count":
        return bool(before) and 100 * abs(now - before) / before >= rules["notable_count_change"]
    return abs(round(now, 1) - round(before, 1)) >= rules["notable_points_change"]


@dataclasses.dataclass(frozen=True)
class Coverage:
    """Figures whose extracts stop before the period ends (``blocks.Page.coverage``):
    ``ends`` the last complete day of each (analysis, measure) that stops early (its part year
    or quarter is labelled against it); ``not_compared`` the (analysis, measure) pairs that are
    counts or accumulating rates, never compared with the same period last year, since the
    missing months would read as a fall."""

    ends: Mapping[tuple[str, str], str] = dataclasses.field(default_factory=dict)
    not_compared: frozenset[tuple[str, str]] = frozenset()

    def end(self, analysis: str, measure: str, period_end: str) -> str:
        return self.ends.get((analysis, measure), period_end)


FULL = Coverage()


def direction_messages(m: Metrics, analysis: str, cov: Coverage = FULL) -> list[str]:
    """Key messages on the same period last year, for the page's headline figures: every figure
    where better or worse has a meaning (polarity), and others that moved notably (``pages.yaml``
    ``direction``). Worse first, then better, then the others; at most
    ``max_messages``. A figure withheld or blank in either period (e.g. no previous-year
    denominator) says nothing about direction."""
    rules = spec()["direction"]
    found: list[tuple[int, int, str]] = []
    for measure, scope, label in pages()[analysis]["headline"]:
        r = m.get(analysis, measure, scope)
        p = same_period_last_year(m, r) if r else None
        if r is None or p is None or (p.denominator.strip() in ("0", "0.0")):
            continue
        if (analysis, measure) in cov.not_compared:
            continue
        ch = change(r.number, p.number, r.unit, polarity(measure))
        if ch is None or r.number is None or p.number is None:
            continue
        if polarity(measure) == "none" and not _notable(r.number, p.number, r.unit, rules):
            continue
        who = subject(label)
        now, before = number(r.number, r.unit), number(p.number, r.unit)
        if now == before and ch.way:  # a change smaller than the rounding: one decimal place
            now, before = cell(r.value, r.unit), cell(p.value, r.unit)
        if not ch.way:
            text = f"{who} held at {now}, as in the same period last year."  # "held": any subject
        else:
            verb = "rose" if ch.way > 0 else "fell"
            text = f"{who} {verb} to {now}, from {before} in the same period last year"
            text += f" ({ch.judgement})." if ch.judgement else "."
        rank = {"worse": 0, "better": 1, "": 2}[ch.judgement] if ch.way else 3
        found.append((rank, len(found), text))
    return [t for _, _, t in sorted(found)[: rules["max_messages"]]]


def summary_messages(
    m: Metrics, ref: Reference, items: Sequence[Sequence[str]], most: int, cov: Coverage = FULL
) -> list[str]:
    """The committee summary's key messages, most important first: each headline figure
    (``items``: analysis, measure, scope, label) that missed its target (red before amber), then
    each that got worse on the same period last year, then the comparison with the comparator
    for the rest; one sentence per figure, at most ``most``. A withheld or blank figure says
    nothing. "Re-referrals within 12 months: 40%, above the target of 30% (red); 44% in the same
    period last year; Wales 30% in 2011-12."."""
    missed: list[tuple[int, str]] = []
    worse: list[str] = []
    compared: list[str] = []
    for analysis, measure_key, scope, label in items:
        r = m.get(analysis, measure_key, scope)
        if r is None or r.number is None:
            continue
        who, now = subject(label), number(r.number, r.unit)
        p = same_period_last_year(m, r)
        before = p.number if p is not None and p.denominator.strip() not in ("0", "0.0") else None
        if (analysis, measure_key) in cov.not_compared:
            before = None  # its extract stops early: the missing months are not a change
        ch = change(r.number, before, r.unit, polarity(measure_key))
        then = ""
        if ch is not None and p is not None and before is not None:
            then = number(before, r.unit)
            if then == now and ch.way:  # a change smaller than the rounding: one decimal place
                now, then = cell(r.value, r.unit), cell(p.value, r.unit)
        theirs = ""
        if held := ref.latest_benchmark(measure_key, scope):
            year, b = held
            theirs = f"{b.area} {number(b.value, r.unit)}" + (f" in {year}" if year else "")
        target = ref.target(measure_key, scope)
        status = target.status(r.number) if target else None
        if target is not None and status in ("Red", "Amber"):
            side = "above" if target.lower_better else "below"
            level = number(target.green, r.unit)
            s = f"{who}: {now}, {side} the target of {level} ({status.lower()})"
            s += f"; {then} in the same period last year" if then else ""
            missed.append((0 if status == "Red" else 1, s + (f"; {theirs}." if theirs else ".")))
        elif ch is not None and ch.judgement == "worse":
            s = f"{who}: {now}, worse than the same period last year ({then})"
            worse.append(s + (f"; {theirs}." if theirs else "."))
        elif theirs:
            compared.append(f"{who}: {now}; {theirs}.")
    ordered = [s for _, s in sorted(missed, key=lambda x: x[0])] + worse + compared
    return ordered[:most]


# ---------------------------------------------------------------------------------------------
# Key messages: a few plain sentences, first on each page and on the index.


def _v(
    m: Metrics, a: str, measure: str, scope: str, b: str = "total", c: str = "all"
) -> float | None:
    r = m.get(a, measure, scope, b, c)
    return r.number if r else None


def key_messages(m: Metrics, analysis: str, ref: Reference, cov: Coverage = FULL) -> list[str]:
    """Targets missed first, then the page's own findings, then the change on last year."""
    fn = KEY_MESSAGES.get(analysis)
    out = [s for s in (fn(m, ref, cov) if fn else []) if s]
    if analysis not in pages():
        return out
    return target_messages(m, analysis, ref) + out + direction_messages(m, analysis, cov)


def target_messages(m: Metrics, analysis: str, ref: Reference) -> list[str]:
    """One sentence for each headline figure that missed its target (red, then amber), with the
    distance: "Red against target: first core groups on time 60%, target 90%."."""
    found = []
    for measure, scope, label in pages()[analysis]["headline"]:
        r, t = m.get(analysis, measure, scope), ref.target(measure, scope)
        if r is None or t is None or r.number is None:
            continue
        status = t.status(r.number)
        if status not in ("Red", "Amber"):
            continue
        level = number(t.green, r.unit) + (" or less" if t.lower_better else "")
        found.append(
            (
                status != "Red",
                f"{status} against target: {lower_first(subject(label))} "
                f"{number(r.number, r.unit)}, target {level}.",
            )
        )
    return [text for _, text in sorted(found, key=lambda x: x[0])]


def _referrals(m: Metrics, ref: Reference, cov: Coverage = FULL) -> list[str]:
    out = []
    for scope in ("PREVENTION", "FST", "IFST", "FASS", "DAT"):
        n = _v(m, "referrals", "received", scope)
        if n is None:
            continue
        rows = m.select("referrals", "received", scope, "source_group")
        ranked = sorted(shown(rows), key=lambda x: -x[1])
        top = ranked[:2]
        if len(ranked) > 2 and pct(ranked[2][1]) == pct(top[-1][1]):  # a tie at the cut: name it
            top = [(r, v) for r, v in ranked if v >= ranked[2][1] or pct(v) == pct(ranked[2][1])]
        s = f"{cap(the_scope(scope))} received {plural(n, 'referral')}"
        if top:
            parts = [f"{lower_first(_label(r))} ({pct(v)})" for r, v in top]
            s += "; the largest sources were " if len(parts) > 1 else "; the largest source was "
            s += join(parts)
        out.append(s + ".")
    return out


def _distance(m: Metrics, ref: Reference, cov: Coverage = FULL) -> list[str]:
    out = []
    for scope in ("PREVENTION", "IFSS"):
        fam = _v(m, "distance_travelled", "families_served", scope)
        red = _v(m, "distance_travelled", "mean_risk_reduction", scope)
        share = _v(m, "distance_travelled", "risk_reduced", scope)
        escalated = _v(m, "distance_travelled", "escalated", scope)
        paired = _v(m, "distance_travelled", "paired", scope)
        where = the_scope(scope)
        if fam is not None:
            s = f"{cap(where)} served {plural(fam, 'family')}"
            parts = []
            if paired is not None:
                parts.append(
                    f"{number(paired, 'count')} of the {number(fam, 'count')} had start and end "
                    "assessments"
                )
            if escalated is not None:
                parts.append(f"{pct(escalated)} were referred on to social services")
            out.append(s + (": " + join(parts) if parts else "") + ".")
        if red is not None and share is not None:
            among = f"the {plural(paired, 'family')}" if paired is not None else "families"
            out.append(
                f"Of {among} supported by {where} with start and end assessments, risk fell for "
                f"{pct(share)}, and by {pct(red)} on average."
            )
    return out


def years_end(m: Metrics) -> str:
    """The period_end of a metrics file (every row carries it)."""
    return m.rows[0].period_end if m.rows else ""


def _re_referrals(m: Metrics, ref: Reference, cov: Coverage = FULL) -> list[str]:
    out = []
    years = m.select("re_referrals", "re_referral_12m", "DAT", "financial_year")
    trend = ""
    if len([r for r in years if r.number is not None]) >= 2:
        end = cov.end("re_referrals", "re_referral_12m", years[0].period_end)
        trend = trend_title(years, "the re-referral rate", end)
    rate = _v(m, "re_referrals", "re_referral_12m", "DAT")
    if rate is not None:
        s = (
            f"{pct(rate)} of referrals to the Duty and Assessment Teams in the period were "
            "re-referrals within 12 months"
        )
        lb = ref.latest_benchmark("re_referral_12m", "DAT")
        if lb:
            period, b = lb
            s += f"; the {b.area} figure was {cell(str(b.value), 'percent', 0)}" + (
                f" in {period}" if period else ""
            )
            # like with like: the same year here, when it is shown (and the trend below does
            # not already say it: each figure is said once)
            same = _v(m, "re_referrals", "re_referral_12m", "DAT", "financial_year", period)
            end = cov.end("re_referrals", "re_referral_12m", years_end(m))
            if period and same is not None and not part_year(period, end):
                if f"{pct(same)} in {period}" not in trend:
                    s += f", against {pct(same)} here in {period}"
        out.append(s + ".")
    if trend:
        out.append(trend + ".")
    t = _v(m, "re_referrals", "decision_timely", "DAT")
    lc = _v(m, "re_referrals", "lateral_checks", "DAT")
    if t is not None:
        out.append(
            f"{pct(t)} of referrals were decided within one working day"
            + (
                f" and checks with other agencies were made for {pct(lc)}."
                if lc is not None
                else "."
            )
        )
    # both No Further Action outcomes, said together: naming one alone beside a chart titled
    # with the other (higher) one reads as a contradiction; and which referrals were followed up
    for measure, months in (("rereferred_12m", 12), ("rereferred_6m", 6)):
        found = [
            (lower_first(term(category_label("outcome", code))), x)
            for code in ("NFA", "NFA_LETTER")
            if (x := _v(m, "re_referrals", measure, "DAT", "outcome", code)) is not None
        ]
        if found:
            said = join([f"{pct(x)} of those ending in {ending}" for ending, x in found])
            out.append(
                f"Of referrals made at least {months} months before the extract date, {said} "
                f"came back within {months} months."
            )
            return out
    return out


def _cpr(m: Metrics, ref: Reference, cov: Coverage = FULL) -> list[str]:
    out = []
    n = _v(m, "cpr", "registrations", "CPR")
    rr = _v(m, "cpr", "re_registration", "CPR")
    if n is not None:
        out.append(
            f"{plural(n, 'child')} {'was' if n == 1 else 'were'} placed on the Child Protection "
            "Register in the period"
            + (f"; {pct(rr)} of them had been registered before." if rr is not None else ".")
        )
    on = _v(m, "cpr", "on_register", "CPR")
    if on is not None:
        verb = "was" if on == 1 else "were"
        out.append(f"{plural(on, 'child')} {verb} on the register at the end of the period.")
    parts = []
    for measure, label in (
        ("icpc_timely", "initial conferences"),
        ("core_group_timely", "first core groups"),
        ("review_timely", "reviews"),
    ):
        x = _v(m, "cpr", measure, "CPR")
        if x is not None:
            parts.append(f"{label} {pct(x)}")
    if parts:
        out.append("Held on time: " + join(parts) + ".")
    return out


def _workforce(m: Metrics, ref: Reference, cov: Coverage = FULL) -> list[str]:
    out = []
    vac = _v(m, "workforce", "vacancy_rate", "WORKFORCE")
    ag = _v(m, "workforce", "agency_cover", "WORKFORCE")
    if vac is not None:
        out.append(
            f"{pct(vac)} of posts were vacant"
            + (f"; agency staff covered {pct(ag)} of the vacancies." if ag is not None else ".")
        )
    means = m.select("workforce", "caseload_mean", "WORKFORCE", "team")
    if shown(means):
        maxima = m.select("workforce", "caseload_max", "WORKFORCE", "team")
        out.append(caseload_spread(means, maxima, "team", ref.caseload_threshold) + ".")
    to = _v(m, "workforce", "turnover", "WORKFORCE")
    if to is not None:
        out.append(f"Staff turnover over the 12 months to the end of the period was {pct(to)}.")
    return out


KEY_MESSAGES: dict[str, Callable[[Metrics, Reference, Coverage], list[str]]] = {
    "referrals": _referrals,
    "distance_travelled": _distance,
    "re_referrals": _re_referrals,
    "cpr": _cpr,
    "workforce": _workforce,
}

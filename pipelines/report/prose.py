"""Words and numbers as a reader sees them: formats, chart titles, alt text and key messages.

Every title states the finding, and is worked out here only. Only figures shown in public are
used (a withheld ``c`` value has no number and is skipped, never inferred), so no title or message
can disclose a withheld figure.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterable, Sequence

from pipelines.report.model import (
    WITHHELD,
    Metrics,
    Reference,
    Row,
    Target,
    part_quarter,
    same_period_last_year,
    to_number,
)
from pipelines.report.spec import category_label, measure_name, pages, polarity, scope_label, spec

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


#: What each RAG status says in the Status column.
RAG_WORDS = {
    "Green": "Green: target met",
    "Amber": "Amber: just missed",
    "Red": "Red: target missed",
    None: "No target set",
}


# ---------------------------------------------------------------------------------------------
# Small words


def cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def lower_first(label: str) -> str:
    """Lower-case a label for use mid-sentence, keeping acronyms (``DAT``, ``A&E``)."""
    first = label.split(" ", 1)[0]
    if len(first) > 1 and first.upper() == first:
        return label
    return label[:1].lower() + label[1:]


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
    """The caption note naming what a chart leaves out."""
    return f"Not drawn (withheld or not applicable): {', '.join(labels)}." if labels else ""


def alt_text(kind: str, title: str, items: Sequence[tuple[str, float]], unit: str) -> str:
    """``Bar chart. <title>. A: 10%; B: 20%.`` (shown figures only)."""
    return f"{kind}. {title}. " + "; ".join(f"{k}: {number(v, unit)}" for k, v in items) + "."


def _label(r: Row) -> str:
    return category_label(r.breakdown, r.category)


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


def breakdown_title(rows: Sequence[Row], measure: str, scope: str, noun: str) -> str:
    """The finding of a breakdown, e.g. "Schools and police made over half of referrals, ..."."""
    pairs, where = shown(rows), scope_label(scope)
    if not pairs:
        return f"{cap(noun)}, {where}: figures withheld or not available"
    (low, lo), (top, hi) = min(pairs, key=_value), max(pairs, key=_value)
    if measure == "accepted":
        if all(v > 50 for _, v in pairs):
            return (
                f"{cap(the_scope(scope))} accepted most referrals of every type; the lowest share "
                f"was for {lower_first(_label(low))} ({pct(lo)})"
            )
        return f"{cap(the_scope(scope))} accepted {pct(lo)} of {lower_first(_label(low))} referrals"
    if measure in ("rereferred_6m", "rereferred_12m"):
        months = "6" if measure.endswith("6m") else "12"
        return (
            f"{pct(hi)} of referrals ending in {lower_first(_label(top))} "
            f"came back within {months} months"
        )
    if measure == "domain_change":
        if lo < 0:
            what = lower_first(_label(low))
            return f"Risk fell most in {what} ({lo:+.1f} points on average), {where}"
        return f"Average domain scores did not fall, {where}"
    if measure in RATES or rows[0].unit != "percent":
        # a rate within each category (not shares of one whole): name the highest
        value = pct(hi) if top.unit == "percent" else f"{hi:.1f}"
        what = lower_first(measure_name(measure))
        if len(pairs) == 1:
            return f"{_label(top)}: {what} {value}; the other figures are withheld"
        return f"{_label(top)} had the highest {what} ({value})"
    ordered = sorted(pairs, key=lambda x: -x[1])
    picked, total = [], 0.0
    for r, v in ordered:
        picked.append(r)
        total += v
        if total > 50 or len(picked) == 3:
            break
    if len(picked) == 1 or ordered[0][1] > 50:
        return f"{_label(ordered[0][0])}: {pct(ordered[0][1])} of {noun}, {where}"
    labels = [_label(picked[0])] + [lower_first(_label(r)) for r in picked[1:]]
    phrase = _share_phrase(total)
    amount = f"over {phrase}" if phrase else pct(total)
    verb = "made" if noun.endswith("referrals") else "accounted for"
    return f"{join(labels)} {verb} {amount} of {noun}, {where}"


def _value(pair: tuple[Row, float]) -> float:
    return pair[1]


def trend_title(rows: Sequence[Row], noun: str) -> str:
    """First and last shown years, and a peak between them."""
    pairs = shown(rows)
    if len(pairs) < 2:
        if pairs:
            return f"{cap(noun)}: {pct(pairs[0][1])} in {pairs[0][0].category}"
        return f"{cap(noun)}: figures withheld or not available"
    (first, a), (last, b) = pairs[0], pairs[-1]
    peak, top = max(pairs, key=_value)
    if abs(b - a) < 1:
        return f"{cap(noun)} stayed at about {pct(b)} from {first.category} to {last.category}"
    verb = "rose" if b > a else "fell"
    text = f"{cap(noun)} {verb} from {pct(a)} in {first.category} to {pct(b)} in {last.category}"
    if peak is not first and peak is not last and top > b + 1:
        text += f", after a peak of {pct(top)} in {peak.category}"
    return text


def lowest_title(items: Sequence[tuple[str, float | None]], rule: dict[str, str]) -> str:
    """``rule`` from pages.yaml: {lowest: "{label}: {value}, ...", otherwise: "..."}; the lowest
    shown figure (a percentage) fills the sentence."""
    shown = [(label, v) for label, v in items if v is not None]
    if not shown:
        return rule["otherwise"]
    label, value = min(shown, key=lambda x: x[1])
    return rule["lowest"].format(label=label, value=f"{value:.0f}%")


def highest_title(items: Sequence[tuple[str, float | None]], measure: str, unit: str) -> str:
    """``<label> had the highest <measure> (<value>)``."""
    shown = [(label, v) for label, v in items if v is not None]
    if not shown:
        return f"{measure_name(measure)} by service"
    label, value = max(shown, key=lambda x: x[1])
    return f"{label} had the highest {measure_name(measure).lower()} ({number(value, unit)})"


def start_risk_title(rows: Sequence[Row], scope: str) -> str:
    """Higher or lower assessed risk at the start of support in the last quarter than the first."""
    pairs = shown(rows)
    if len(pairs) < 2:
        return "Average risk at the start of support, by quarter"
    (first, a), (last, b) = pairs[0], pairs[-1]
    return (
        f"{scope_label(scope)} families started support at {'higher' if b > a else 'lower'} "
        f"assessed risk in {last.category} than in {first.category}"
    )


def caseload_title(means: Sequence[Row], noun: str, threshold: float | None) -> str:
    """How many teams (or roles) average more than the threshold, and the highest."""
    pairs = shown(means)
    if not pairs:
        return f"Average caseload by {noun}: withheld or not available"
    hi, top = max(pairs, key=_value)
    if threshold is None:
        return f"{_label(hi)} had the highest average caseload ({top:.1f})"
    over = [r for r, v in pairs if v > threshold]
    return (
        f"{len(over)} of {len(pairs)} {noun}s averaged more than {threshold:g} cases; "
        f"highest {_label(hi)} ({top:.1f})"
    )


def follow_up_missing(months: int, data_as_at: str) -> str:
    """Why a "referred again within n months" figure cannot be shown yet."""
    return (
        f"Referred again within {months} months: no referral in the period was made {months} "
        f"months or more before the extract was taken ({data_as_at}), so this cannot be "
        "measured yet; a later extract will show it."
    )


# ---------------------------------------------------------------------------------------------
# Direction of travel: quarterly series and the same period last year

#: Said instead of a chart when every quarter of a series is withheld or not applicable.
NOTHING_DRAWN = "No chart: every quarter of this figure is withheld or not applicable."
_COUNTS = {2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight"}


def quarter_label(category: str, period_end: str) -> str:
    """``2013-Q1 (to 31 Jan)`` for the last quarter of a series when period_end cuts it short;
    the category itself otherwise."""
    cut = part_quarter(category, period_end)
    return f"{category} (to {cut.day} {cut:%b})" if cut else category


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
            return f"{name} was {y} in {last.label}, as in {prev.label}"
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


def direction_messages(m: Metrics, analysis: str) -> list[str]:
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
            text = f"{who} was {now}, as in the same period last year."
        else:
            verb = "rose" if ch.way > 0 else "fell"
            text = f"{who} {verb} from {before} to {now} on the same period last year"
            text += f" ({ch.judgement})." if ch.judgement else "."
        rank = {"worse": 0, "better": 1, "": 2}[ch.judgement] if ch.way else 3
        found.append((rank, len(found), text))
    return [t for _, _, t in sorted(found)[: rules["max_messages"]]]


# ---------------------------------------------------------------------------------------------
# Key messages: a few plain sentences, first on each page and on the index.


def _v(
    m: Metrics, a: str, measure: str, scope: str, b: str = "total", c: str = "all"
) -> float | None:
    r = m.get(a, measure, scope, b, c)
    return r.number if r else None


def key_messages(m: Metrics, analysis: str, ref: Reference) -> list[str]:
    fn = KEY_MESSAGES.get(analysis)
    out = [s for s in (fn(m, ref) if fn else []) if s]
    return out + (direction_messages(m, analysis) if analysis in pages() else [])


def _referrals(m: Metrics, ref: Reference) -> list[str]:
    out = []
    for scope in ("PREVENTION", "FST", "IFST", "FASS", "DAT"):
        n = _v(m, "referrals", "received", scope)
        if n is None:
            continue
        rows = m.select("referrals", "received", scope, "source_group")
        top = sorted(shown(rows), key=lambda x: -x[1])[:2]
        s = f"{cap(the_scope(scope))} received {number(n, 'count')} referrals"
        if top:
            parts = [f"{lower_first(_label(r))} ({pct(v)})" for r, v in top]
            s += "; the largest sources were " + join(parts)
        out.append(s + ".")
    return out


def _distance(m: Metrics, ref: Reference) -> list[str]:
    out = []
    for scope in ("PREVENTION", "IFSS"):
        fam = _v(m, "distance_travelled", "families_served", scope)
        red = _v(m, "distance_travelled", "mean_risk_reduction", scope)
        share = _v(m, "distance_travelled", "risk_reduced", scope)
        escalated = _v(m, "distance_travelled", "escalated", scope)
        where = the_scope(scope)
        if red is not None and share is not None:
            out.append(
                f"Families supported by {where} saw their assessed risk fall by {pct(red)} on "
                f"average; risk fell for {pct(share)} of families with start and end assessments."
            )
        if fam is not None:
            s = f"{cap(where)} served {number(fam, 'count')} families"
            if escalated is not None:
                s += f", of whom {pct(escalated)} were referred on to social services"
            out.append(s + ".")
    return out


def _re_referrals(m: Metrics, ref: Reference) -> list[str]:
    out = []
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
        out.append(s + ".")
    years = m.select("re_referrals", "re_referral_12m", "DAT", "financial_year")
    if len([r for r in years if r.number is not None]) >= 2:
        out.append(trend_title(years, "the re-referral rate") + ".")
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
    for measure, months in (("rereferred_12m", 12), ("rereferred_6m", 6)):
        for code in ("NFA_LETTER", "NFA"):
            x = _v(m, "re_referrals", measure, "DAT", "outcome", code)
            if x is not None:
                out.append(
                    f"{pct(x)} of children whose referral ended with "
                    f"'{lower_first(category_label('outcome', code))}' were referred again "
                    f"within {months} months."
                )
                return out
    return out


def _cpr(m: Metrics, ref: Reference) -> list[str]:
    out = []
    n = _v(m, "cpr", "registrations", "CPR")
    rr = _v(m, "cpr", "re_registration", "CPR")
    if n is not None:
        out.append(
            f"{number(n, 'count')} children were placed on the Child Protection Register in the "
            "period"
            + (f"; {pct(rr)} of them had been registered before." if rr is not None else ".")
        )
    on = _v(m, "cpr", "on_register", "CPR")
    if on is not None:
        out.append(f"{number(on, 'count')} children were on the register at the end of the period.")
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


def _workforce(m: Metrics, ref: Reference) -> list[str]:
    out = []
    vac = _v(m, "workforce", "vacancy_rate", "WORKFORCE")
    ag = _v(m, "workforce", "agency_cover", "WORKFORCE")
    if vac is not None:
        out.append(
            f"{pct(vac)} of posts were vacant"
            + (f"; agency staff covered {pct(ag)} of the vacancies." if ag is not None else ".")
        )
    means = shown(m.select("workforce", "caseload_mean", "WORKFORCE", "team"))
    if means:
        hi, top = max(means, key=_value)
        s = f"The highest average caseload was {top:.1f} in {hi.category}"
        if ref.caseload_threshold is not None:
            over = [r for r, v in means if v > ref.caseload_threshold]
            s += (
                f"; {len(over)} of {len(means)} teams averaged more than "
                f"{number(ref.caseload_threshold, 'count')} cases"
            )
        out.append(s + ".")
    to = _v(m, "workforce", "turnover", "WORKFORCE")
    if to is not None:
        out.append(f"Staff turnover over the 12 months to the end of the period was {pct(to)}.")
    return out


KEY_MESSAGES: dict[str, Callable[[Metrics, Reference], list[str]]] = {
    "referrals": _referrals,
    "distance_travelled": _distance,
    "re_referrals": _re_referrals,
    "cpr": _cpr,
    "workforce": _workforce,
}

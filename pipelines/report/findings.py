"""Plain-English findings computed from the public figures: chart titles and key messages.

Only figures shown in public are used (withheld ``c`` values are skipped, never inferred), so a
title or message can never disclose a withheld number.
"""

from __future__ import annotations

from collections.abc import Sequence

from pipelines.report.data import (
    Metrics,
    Reference,
    Row,
    category_label,
    fmt_value,
    measure_name,
    scope_label,
)


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


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _pct(x: float) -> str:
    # never round a shortfall up to 100% or a few cases down to 0%
    return f"{x:.1f}%" if (99.5 <= x < 100 or 0 < x < 0.5) else f"{x:.0f}%"


def _join(items: Sequence[str]) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _share_phrase(total: float) -> str:
    if total > 75:
        return "three quarters"
    if total > 66.7:
        return "two thirds"
    if total > 50:
        return "half"
    return ""


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


def breakdown_title(rows: Sequence[Row], measure: str, scope: str, noun: str) -> str:
    """Title stating the finding of a breakdown, e.g. "Schools and Police made over half of ..."."""
    shown = [r for r in rows if r.number is not None]
    where = scope_label(scope)
    if not shown:
        return f"{_cap(noun)}, {where}: figures withheld or not available"
    unit = rows[0].unit
    if measure == "accepted":
        ordered = sorted(shown, key=lambda r: r.number)
        low = ordered[0]
        if all(r.number > 50 for r in shown):
            return (
                f"{_cap(the_scope(scope))} accepted most referrals of every type; "
                "the lowest share was for "
                f"{lower_first(category_label(low.breakdown, low.category))} "
                f"({_pct(low.number)})"
            )
        return (
            f"{_cap(the_scope(scope))} accepted {_pct(low.number)} of "
            f"{lower_first(category_label(low.breakdown, low.category))} referrals"
        )
    if measure in ("rereferred_6m", "rereferred_12m"):
        top = max(shown, key=lambda r: r.number)
        months = "6" if measure.endswith("6m") else "12"
        return (
            f"{_pct(top.number)} of referrals ending in "
            f"{lower_first(category_label(top.breakdown, top.category))} came back within "
            f"{months} months"
        )
    if measure == "domain_change":
        best = min(shown, key=lambda r: r.number)
        if best.number < 0:
            return (
                f"Risk fell most in {lower_first(category_label(best.breakdown, best.category))} "
                f"({best.number:+.1f} points on average), {where}"
            )
        return f"Average domain scores did not fall, {where}"
    if measure in RATES or unit != "percent":
        # a rate within each category (not shares of one whole): name the highest
        top = max(shown, key=lambda r: r.number)
        label = category_label(top.breakdown, top.category)
        value = _pct(top.number) if unit == "percent" else f"{top.number:.1f}"
        what = lower_first(measure_name(measure))
        if len(shown) == 1:
            return f"{label}: {what} {value}; the other figures are withheld"
        return f"{label} had the highest {what} ({value})"
    ordered = sorted(shown, key=lambda r: -r.number)
    picked, total = [], 0.0
    for r in ordered:
        picked.append(r)
        total += r.number
        if total > 50 or len(picked) == 3:
            break
    labels = [category_label(r.breakdown, r.category) for r in picked]
    labels = labels[:1] + [lower_first(x) for x in labels[1:]]
    if len(picked) == 1 or ordered[0].number > 50:
        r = ordered[0]
        return f"{category_label(r.breakdown, r.category)}: {_pct(r.number)} of {noun}, {where}"
    phrase = _share_phrase(total)
    amount = f"over {phrase}" if phrase else _pct(total)
    verb = "made" if noun.endswith("referrals") else "accounted for"
    return f"{_join(labels)} {verb} {amount} of {noun}, {where}"


def trend_title(rows: Sequence[Row], noun: str) -> str:
    shown = [r for r in rows if r.number is not None]
    if len(shown) < 2:
        if shown:
            return f"{_cap(noun)}: {_pct(shown[0].number)} in {shown[0].category}"
        return f"{_cap(noun)}: figures withheld or not available"
    first, last = shown[0], shown[-1]
    peak = max(shown, key=lambda r: r.number)
    if abs(last.number - first.number) < 1:
        return (
            f"{_cap(noun)} stayed at about {_pct(last.number)} "
            f"from {first.category} to {last.category}"
        )
    verb = "rose" if last.number > first.number else "fell"
    text = (
        f"{_cap(noun)} {verb} from {_pct(first.number)} in {first.category} to "
        f"{_pct(last.number)} in {last.category}"
    )
    if peak is not first and peak is not last and peak.number > last.number + 1:
        text += f", after a peak of {_pct(peak.number)} in {peak.category}"
    return text


# ---------------------------------------------------------------------------------------------
# Key messages per analysis: a few plain sentences, first on each page and on the index.


def _v(
    m: Metrics, a: str, measure: str, scope: str, b: str = "total", c: str = "all"
) -> float | None:
    r = m.get(a, measure, scope, b, c)
    return r.number if r else None


def _n(x: float) -> str:
    return f"{int(x):,}" if float(x).is_integer() else f"{x:.1f}"


def key_messages(m: Metrics, analysis: str, ref: Reference | None = None) -> list[str]:
    fn = {
        "referrals": _referrals,
        "distance_travelled": _distance,
        "re_referrals": _re_referrals,
        "cpr": _cpr,
        "workforce": _workforce,
    }.get(analysis)
    return [s for s in (fn(m, ref) if fn else []) if s]


def _top_sources(m: Metrics, scope: str) -> str:
    rows = m.select("referrals", "received", scope, "source_group")
    shown = sorted([r for r in rows if r.number is not None], key=lambda r: -r.number)[:2]
    if not shown:
        return ""
    parts = [
        f"{lower_first(category_label(r.breakdown, r.category))} ({_pct(r.number)})" for r in shown
    ]
    return "the largest sources were " + _join(parts)


def _referrals(m: Metrics, ref: Reference | None) -> list[str]:
    out = []
    for scope in ("PREVENTION", "FST", "IFST", "FASS", "DAT"):
        n = _v(m, "referrals", "received", scope)
        if n is None:
            continue
        s = f"{_cap(the_scope(scope))} received {_n(n)} referrals"
        top = _top_sources(m, scope)
        out.append(s + (f"; {top}." if top else "."))
    return out


def _distance(m: Metrics, ref: Reference | None) -> list[str]:
    out = []
    for scope in ("PREVENTION", "IFSS"):
        fam = _v(m, "distance_travelled", "families_served", scope)
        red = _v(m, "distance_travelled", "mean_risk_reduction", scope)
        share = _v(m, "distance_travelled", "risk_reduced", scope)
        esc_ = _v(m, "distance_travelled", "escalated", scope)
        where = the_scope(scope)
        if red is not None and share is not None:
            out.append(
                f"Families supported by {where} saw their assessed risk fall by "
                f"{_pct(red)} on average; risk fell for {_pct(share)} of families with "
                "start and end assessments."
            )
        if fam is not None:
            s = f"{where[:1].upper() + where[1:]} served {_n(fam)} families"
            if esc_ is not None:
                s += f", of whom {_pct(esc_)} were referred on to social services"
            out.append(s + ".")
    return out


def _re_referrals(m: Metrics, ref: Reference | None) -> list[str]:
    out = []
    rate = _v(m, "re_referrals", "re_referral_12m", "DAT")
    if rate is not None:
        s = (
            f"{_pct(rate)} of referrals to the Duty and Assessment Teams in the period were "
            "re-referrals within 12 months"
        )
        lb = ref.latest_benchmark("re_referral_12m", "DAT") if ref else None
        if lb:
            period, b = lb
            s += (
                f"; the {b.get('area') or 'Wales'} figure was "
                f"{fmt_value(b['value'], 'percent', 0)}" + (f" in {period}" if period else "")
            )
        out.append(s + ".")
    years = [
        r
        for r in m.select("re_referrals", "re_referral_12m", "DAT", "financial_year")
        if r.number is not None
    ]
    if len(years) >= 2:
        out.append(trend_title(years, "the re-referral rate") + ".")
    t = _v(m, "re_referrals", "decision_timely", "DAT")
    lc = _v(m, "re_referrals", "lateral_checks", "DAT")
    if t is not None:
        out.append(
            f"{_pct(t)} of referrals were decided within one working day"
            + (
                f" and checks with other agencies were made for {_pct(lc)}."
                if lc is not None
                else "."
            )
        )
    done = False
    for measure, months in (("rereferred_12m", 12), ("rereferred_6m", 6)):
        for code in ("NFA_LETTER", "NFA"):
            x = _v(m, "re_referrals", measure, "DAT", "outcome", code)
            if x is not None and not done:
                out.append(
                    f"{_pct(x)} of children whose referral ended with "
                    f"'{lower_first(category_label('outcome', code))}' were referred again "
                    f"within {months} months."
                )
                done = True
    return out


def _cpr(m: Metrics, ref: Reference | None) -> list[str]:
    out = []
    n = _v(m, "cpr", "registrations", "CPR")
    rr = _v(m, "cpr", "re_registration", "CPR")
    if n is not None:
        out.append(
            f"{_n(n)} children were placed on the Child Protection Register in the period"
            + (f"; {_pct(rr)} of them had been registered before." if rr is not None else ".")
        )
    on = _v(m, "cpr", "on_register", "CPR")
    if on is not None:
        out.append(f"{_n(on)} children were on the register at the end of the period.")
    parts = []
    for measure, label in (
        ("icpc_timely", "initial conferences"),
        ("core_group_timely", "first core groups"),
        ("review_timely", "reviews"),
    ):
        x = _v(m, "cpr", measure, "CPR")
        if x is not None:
            parts.append(f"{label} {_pct(x)}")
    if parts:
        out.append("Held on time: " + _join(parts) + ".")
    return out


def _workforce(m: Metrics, ref: Reference | None) -> list[str]:
    out = []
    vac = _v(m, "workforce", "vacancy_rate", "WORKFORCE")
    ag = _v(m, "workforce", "agency_cover", "WORKFORCE")
    if vac is not None:
        out.append(
            f"{_pct(vac)} of posts were vacant"
            + (f"; agency staff covered {_pct(ag)} of the vacancies." if ag is not None else ".")
        )
    means = [
        r
        for r in m.select("workforce", "caseload_mean", "WORKFORCE", "team")
        if r.number is not None
    ]
    if means:
        hi = max(means, key=lambda r: r.number)
        s = f"The highest average caseload was {hi.number:.1f} in {hi.category}"
        if ref and ref.caseload_threshold is not None:
            over = [r for r in means if r.number > ref.caseload_threshold]
            s += (
                f"; {len(over)} of {len(means)} teams averaged more than "
                f"{_n(ref.caseload_threshold)} cases"
            )
        out.append(s + ".")
    to = _v(m, "workforce", "turnover", "WORKFORCE")
    if to is not None:
        out.append(f"Staff turnover over the 12 months to the end of the period was {_pct(to)}.")
    return out

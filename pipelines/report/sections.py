"""The sections of each committee page, one function per notebook cell.

Each returns one :class:`~pipelines.report.page.HTML` object; the notebooks only call these.
"""

from __future__ import annotations

from collections.abc import Sequence

from pipelines.contract import metrics_shape
from pipelines.report import page
from pipelines.report.data import scope_label
from pipelines.report.page import HTML, Context, charts
from pipelines.report.tables import esc

IFSS_SCOPES = ["PREVENTION", "FST", "IFST", "FASS"]

#: Headline rows of each analysis: (analysis, measure, scope, label). Also used by the index.
HEADLINES: dict[str, list[tuple[str, str, str, str]]] = {
    "referrals": [
        ("referrals", "received", s, f"Referrals received: {scope_label(s)}")
        for s in ["DAT"] + IFSS_SCOPES
    ],
    "distance_travelled": [
        (
            "distance_travelled",
            "families_served",
            "PREVENTION",
            "Families served: Prevention Service",
        ),
        (
            "distance_travelled",
            "mean_risk_reduction",
            "PREVENTION",
            "Average reduction in risk: Prevention Service",
        ),
        (
            "distance_travelled",
            "risk_reduced",
            "PREVENTION",
            "Families whose risk reduced: Prevention Service",
        ),
        (
            "distance_travelled",
            "escalated",
            "PREVENTION",
            "Families referred to social services: Prevention Service",
        ),
        (
            "distance_travelled",
            "mean_risk_reduction",
            "IFSS",
            "Average reduction in risk: all IFSS",
        ),
        ("distance_travelled", "risk_reduced", "IFSS", "Families whose risk reduced: all IFSS"),
    ],
    "re_referrals": [
        ("re_referrals", "re_referral_12m", "DAT", "Re-referrals within 12 months"),
        ("re_referrals", "decision_timely", "DAT", "Referrals decided within one working day"),
        ("re_referrals", "lateral_checks", "DAT", "Checks made with other agencies"),
        ("re_referrals", "child_seen", "DAT", "Child seen (initial assessments and enquiries)"),
    ],
    "cpr": [
        ("cpr", "registrations", "CPR", "Registrations"),
        ("cpr", "re_registration", "CPR", "Re-registrations"),
        ("cpr", "on_register", "CPR", "Children on the register at the end of the period"),
        ("cpr", "icpc_timely", "CPR", "Initial conferences on time"),
        ("cpr", "core_group_timely", "CPR", "First core groups on time"),
        ("cpr", "review_timely", "CPR", "Reviews on time"),
    ],
    "workforce": [
        ("workforce", "posts", "WORKFORCE", "Posts"),
        ("workforce", "vacancy_rate", "WORKFORCE", "Vacancy rate"),
        ("workforce", "agency_cover", "WORKFORCE", "Vacancies covered by agency staff"),
        ("workforce", "long_term_sick", "WORKFORCE", "Posts with holder on long-term sick leave"),
        ("workforce", "turnover", "WORKFORCE", "Staff turnover (12 months)"),
    ],
}

#: Measures defined at the foot of each page, in the order of contract/metrics.yaml.
MEASURES: dict[str, list[str]] = metrics_shape()["analyses"]


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def join(*parts: HTML) -> HTML:
    return HTML("".join(p.data for p in parts))


def opening(ctx: Context) -> HTML:
    """h1, key messages, headline table, symbols legend."""
    return join(page.header(ctx), page.headline(ctx, HEADLINES[ctx.analysis]), page.legend(ctx))


def closing(ctx: Context) -> HTML:
    """Definitions, data quality statement, provenance."""
    return join(
        page.definitions_section(ctx, MEASURES[ctx.analysis]),
        page.data_quality(ctx),
        page.provenance(ctx),
    )


# ---------------------------------------------------------------------------------------------
# Referral sources


def referral_scope(ctx: Context, scope: str) -> HTML:
    """One service: total, sources, age, reason, case status, substances, acceptance."""
    if not ctx.metrics.select("referrals", None, scope):
        return HTML("")
    name = scope_label(scope)
    noun = "referrals"  # the title adds the service after a comma
    parts = [
        page.section(name, anchor=f"scope-{scope.lower()}"),
        page.stat(ctx, "received", scope, f"Referrals received by the {name}"),
    ]
    parts.append(
        page.breakdown(ctx, "received", scope, "source_group", "referrals", top_first=True)
    )
    parts.append(page.breakdown(ctx, "received", scope, "age_band", noun))
    if scope != "DAT":
        parts.append(page.breakdown(ctx, "received", scope, "reason", noun, top_first=True))
        parts.append(page.breakdown(ctx, "received", scope, "case_status", noun))
    if scope == "IFST":
        parts.append(
            page.breakdown(
                ctx,
                "received",
                scope,
                "primary_substance",
                "referrals with a substance recorded",
                top_first=True,
            )
        )
    parts.append(page.breakdown(ctx, "accepted", scope, "referral_type", noun))
    return join(*parts)


# ---------------------------------------------------------------------------------------------
# Distance travelled


def distance_summary(ctx: Context) -> HTML:
    """One table of every service's figures, and charts of the two outcome measures."""
    from pipelines.report.tables import Cell, figure_cells, html_table

    scopes = [s for s in IFSS_SCOPES + ["IFSS"] if ctx.metrics.select(ctx.analysis, None, s)]
    if not scopes:
        return HTML("")
    columns = [  # (measure, field, header)
        ("families_served", "value", "Families served"),
        ("escalated", "numerator", "Referred to social services"),
        ("escalated", "value", "Referred to social services (%)"),
        ("paired", "value", "With start and end assessments"),
        ("mean_risk_reduction", "value", "Average reduction in risk (%)"),
        ("risk_reduced", "numerator", "Risk reduced"),
        ("risk_reduced", "value", "Risk reduced (%)"),
    ]
    body = []
    for s in scopes:
        line = [Cell(_cap(scope_label(s)))]
        for measure, field, _ in columns:
            line += figure_cells(ctx.metrics.get(ctx.analysis, measure, s), None, (field,))
        body.append(line)
    table = html_table(
        f"Families served and change in risk by service, {ctx.period_text}",
        ["Service"] + [h for _, _, h in columns],
        body,
        numeric_cols=range(1, len(columns) + 1),
    )
    parts = [
        page.section("Families served and change in risk", anchor="families"),
        HTML(f'<div class="figure-block">{table}</div>'),
    ]
    for measure, title in (
        ("risk_reduced", _risk_title(ctx, scopes)),
        ("mean_risk_reduction", None),
    ):
        items = [(ctx.analysis, measure, s, _cap(scope_label(s))) for s in scopes]
        parts.append(page.scope_bars(ctx, items, measure, title))
    return join(*parts)


def _risk_title(ctx: Context, scopes: Sequence[str]) -> str:
    vals = [(s, ctx.metrics.get(ctx.analysis, "risk_reduced", s)) for s in scopes]
    vals = [(s, r.number) for s, r in vals if r is not None and r.number is not None]
    if not vals:
        return "Families whose risk reduced, by service"
    lo = min(v for _, v in vals)
    return f"Risk fell for at least {lo:.0f}% of families in every service with figures"


def distance_domains(ctx: Context) -> HTML:
    scope = "IFSS" if ctx.metrics.select(ctx.analysis, "domain_change", "IFSS") else "PREVENTION"
    parts = [
        page.section(
            "Change in each domain",
            "A negative change means the risk in that "
            "domain fell between the start and the end of support.",
            "domains",
        ),
        page.breakdown(ctx, "domain_change", scope, "domain", "families"),
        page.cross_table(
            ctx,
            "domain_change",
            "domain",
            IFSS_SCOPES + ["IFSS"],
            f"Average change in domain score by service, {ctx.period_text}",
            "Domain",
        ),
    ]
    return join(*parts)


def distance_trend(ctx: Context) -> HTML:
    scopes = [
        s for s in IFSS_SCOPES + ["IFSS"] if ctx.metrics.select(ctx.analysis, "mean_start_risk", s)
    ]
    if not scopes:
        return HTML("")
    rows = ctx.metrics.select(ctx.analysis, "mean_start_risk", "PREVENTION", "quarter")
    shown = [r for r in rows if r.number is not None]
    title = "Average risk at the start of support, by quarter"
    if len(shown) >= 2:
        verb = "higher" if shown[-1].number > shown[0].number else "lower"
        title = (
            f"Prevention Service families started support at {verb} assessed risk in "
            f"{shown[-1].category} than in {shown[0].category}"
        )
    parts = [
        page.section("Risk at the start of support over time", anchor="start-risk"),
        HTML(f"<h3>{esc(title)}</h3>"),
        page.scope_lines(
            ctx,
            "mean_start_risk",
            "quarter",
            scopes,
            title,
            "Mean domain score of start assessments (higher means more risk), by calendar quarter",
            "Mean score",
        ),
        page.cross_table(
            ctx,
            "mean_start_risk",
            "quarter",
            scopes,
            "Average risk at the start of support by quarter and service",
            "Quarter",
        ),
    ]
    return join(*parts)


# ---------------------------------------------------------------------------------------------
# Re-referrals and front door


def re_referral_rate(ctx: Context) -> HTML:
    return join(
        page.section("Re-referrals within 12 months", anchor="re-referrals"),
        page.trend(ctx, "re_referral_12m", "DAT", "the re-referral rate"),
        page.breakdown(ctx, "prior_referrals", "DAT", "count_band", "referrals"),
    )


def front_door(ctx: Context) -> HTML:
    items = [
        (ctx.analysis, m, "DAT", label)
        for m, label in (
            ("decision_timely", "Decided within one working day"),
            ("lateral_checks", "Checks made with other agencies"),
            ("child_seen", "Child seen"),
        )
    ]
    vals = [ctx.metrics.get(*i[:3]) for i in items]
    shown = [
        (i[3], r.number)
        for i, r in zip(items, vals, strict=True)
        if r is not None and r.number is not None
    ]
    title = "Decisions at the front door"
    if shown:
        lo = min(shown, key=lambda x: x[1])
        title = f"{lo[0]}: {lo[1]:.0f}%, the lowest of the front-door checks"
    return join(
        page.section("Decisions at the front door", anchor="front-door"),
        page.figures_table(
            ctx, items, "Front-door decisions, Duty and Assessment Teams", chart_title=title
        ),
        page.breakdown(ctx, "outcome", "DAT", "outcome", "referrals"),
    )


def after_decisions(ctx: Context) -> HTML:
    intro = (
        "What followed each decision: the share of referrals followed by another referral "
        "of the same child within 6 and 12 months. Only referrals made at least 6 (or 12) "
        "months before the extract date are counted."
    )
    parts = [
        page.section(
            "What follows No Further Action decisions and letters", intro, "after-decisions"
        ),
    ]
    for measure, months in (("rereferred_12m", 12), ("rereferred_6m", 6)):
        rows = ctx.metrics.select(ctx.analysis, measure, "DAT", "outcome")
        if any(r.number is not None for r in rows):
            parts.append(page.breakdown(ctx, measure, "DAT", "outcome", "referrals"))
        else:
            parts.append(
                page.text(
                    f"Referred again within {months} months: no referral in the period was made "
                    f"{months} months or more before the extract was taken "
                    f"({ctx.data_as_at}), so this cannot be measured yet; a later extract "
                    "will show it."
                )
            )
    return join(*parts)


# ---------------------------------------------------------------------------------------------
# Child Protection Register


def cpr_registrations(ctx: Context) -> HTML:
    return join(
        page.section("Registrations", anchor="registrations"),
        page.stat(ctx, "registrations", "CPR", "Registrations in the period"),
        page.stat(ctx, "on_register", "CPR", "Children on the register at the end of the period"),
        page.breakdown(ctx, "registrations", "CPR", "category", "registrations", top_first=True),
    )


def cpr_re_registrations(ctx: Context) -> HTML:
    return join(
        page.section("Re-registrations", anchor="re-registrations"),
        page.trend(ctx, "re_registration", "CPR", "the re-registration rate"),
        page.breakdown(
            ctx, "re_registration", "CPR", "time_since_deregistration", "re-registrations"
        ),
    )


def cpr_timeliness(ctx: Context) -> HTML:
    items = [
        (ctx.analysis, m, "CPR", label)
        for m, label in (
            ("icpc_timely", "Initial conferences on time"),
            ("core_group_timely", "First core groups on time"),
            ("review_timely", "Reviews on time"),
        )
    ]
    vals = [(i[3], ctx.metrics.get(*i[:3])) for i in items]
    shown = [(lab, r.number) for lab, r in vals if r is not None and r.number is not None]
    title = "Timeliness of conferences, core groups and reviews"
    if shown:
        lo = min(shown, key=lambda x: x[1])
        title = f"{lo[0]} was the weakest: {lo[1]:.0f}%"
    return join(
        page.section("Conferences, core groups and reviews", anchor="timeliness"),
        page.figures_table(ctx, items, "Child protection timeliness", chart_title=title),
    )


# ---------------------------------------------------------------------------------------------
# Workforce


def workforce_vacancies(ctx: Context) -> HTML:
    return join(
        page.section("Vacancies and agency cover", anchor="vacancies"),
        page.stat(ctx, "posts", "WORKFORCE", "Posts in the latest snapshot"),
        _posts_tables(ctx),
        page.breakdown(ctx, "vacancy_rate", "WORKFORCE", "team", "posts", top_first=True),
        page.breakdown(ctx, "vacancy_rate", "WORKFORCE", "role", "posts", top_first=True),
        page.figures_table(
            ctx,
            [
                (ctx.analysis, "agency_cover", "WORKFORCE", "Vacancies covered by agency staff"),
                (
                    ctx.analysis,
                    "long_term_sick",
                    "WORKFORCE",
                    "Posts with the holder on long-term sick leave",
                ),
            ],
            "Agency cover and long-term sickness",
            heading="Agency cover and sickness",
        ),
    )


def _posts_tables(ctx: Context) -> HTML:
    from pipelines.report.data import category_order
    from pipelines.report.tables import breakdown_table

    parts = []
    for dim, name in (("team", "Team"), ("role", "Role")):
        rows = ctx.metrics.select(ctx.analysis, "posts", "WORKFORCE", dim)
        order = category_order(dim, [r.category for r in rows])
        rows = sorted(rows, key=lambda r: order.index(r.category))
        parts.append(
            breakdown_table(
                f"Posts by {dim}, latest snapshot", rows, name, None, value_header="Posts"
            )
        )
    return HTML('<div class="tables-row">' + "".join(parts) + "</div>")


def workforce_caseloads(ctx: Context) -> HTML:
    threshold = ctx.reference.caseload_threshold
    note = (
        f"The caseload threshold held in the reference data is {threshold:g} cases."
        if threshold is not None
        else "No caseload threshold is held in the reference data, so none is shown."
    )
    parts = [page.section("Caseloads", note, "caseloads")]
    for dim in ("team", "role"):
        rows = ctx.metrics.select(ctx.analysis, "caseload_mean", "WORKFORCE", dim)
        if not rows:
            continue
        parts.append(_caseload_block(ctx, dim, threshold))
    return join(*parts)


def _caseload_block(ctx: Context, dim: str, threshold: float | None) -> HTML:
    from pipelines.report.data import NOT_APPLICABLE, category_label, category_order
    from pipelines.report.tables import Cell, figure_cells, html_table

    means = ctx.metrics.select(ctx.analysis, "caseload_mean", "WORKFORCE", dim)
    order = category_order(dim, [r.category for r in means])
    means = sorted(means, key=lambda r: order.index(r.category))
    shown = [r for r in means if r.number is not None]
    name = "team" if dim == "team" else "role"
    if shown:
        hi = max(shown, key=lambda r: r.number)
        title = (
            f"{category_label(dim, hi.category)} had the highest average caseload ({hi.number:.1f})"
        )
        if threshold is not None:
            over = [r for r in shown if r.number > threshold]
            title = (
                f"{len(over)} of {len(shown)} {name}s averaged more than {threshold:g} cases; "
                f"highest {category_label(dim, hi.category)} ({hi.number:.1f})"
            )
    else:
        title = f"Average caseload by {name}: withheld or not available"
    bars = [charts.Bar(category_label(dim, r.category), r.number) for r in means]
    chart = charts.bar_chart(
        bars,
        title,
        f"Average caseload of staffed posts by {name}, {ctx.period_text}",
        "count",
        "Average caseload",
    )
    if threshold is not None:
        import altair as alt

        data = [{"t": threshold, "text": f"Threshold {threshold:g}"}]
        x = alt.X(field="t", type="quantitative")
        chart = alt.LayerChart(
            layer=[
                *chart.layer,
                charts._layer(
                    data,
                    {"type": "rule", "strokeDash": [6, 3], "color": charts.PALETTE[3], "size": 2},
                    {"x": x},
                ),
                charts._layer(
                    data,
                    {
                        "type": "text",
                        "align": "left",
                        "dx": 3,
                        "dy": -6,
                        "fontSize": 11,
                        "color": "#0b0c0c",
                    },
                    {"x": x, "y": alt.YValue(0), "text": alt.Text(field="text", type="nominal")},
                ),
            ],
            width=chart.width,
            height=chart.height,
            title=chart.title,
        )
    alt_text = (
        f"Bar chart. {title}. "
        + "; ".join(f"{b.label}: {b.value:.1f}" for b in bars if b.value is not None)
        + "."
        + (f" Dashed line: threshold of {threshold:g} cases." if threshold is not None else "")
    )
    fig = charts.figure(chart, alt_text)
    body = []
    for r in means:
        line = [Cell(category_label(dim, r.category))]
        for m in ("caseload_mean", "caseload_median", "caseload_min", "caseload_max"):
            line += figure_cells(
                ctx.metrics.get(ctx.analysis, m, "WORKFORCE", dim, r.category), None, ("value",)
            )
        line += figure_cells(r, None, ("denominator",))
        above = NOT_APPLICABLE
        if threshold is not None and r.number is not None:
            above = "Yes" if r.number > threshold else "No"
        line.append(Cell(above))
        body.append(line)
    table = html_table(
        f"Caseloads by {name}, {ctx.period_text}",
        [
            name.capitalize(),
            "Average",
            "Median",
            "Lowest",
            "Highest",
            "Staffed posts with a caseload",
            "Average above the threshold",
        ],
        body,
        numeric_cols=range(1, 6),
    )
    return HTML(f'<div class="figure-block"><h3>Caseloads by {name}</h3>{fig}{table}</div>')


def workforce_experience(ctx: Context) -> HTML:
    parts = [
        page.section("Experience and turnover", anchor="experience"),
        page.breakdown(ctx, "experience", "WORKFORCE", "band", "social workers"),
        page.figures_table(
            ctx,
            [(ctx.analysis, "turnover", "WORKFORCE", "Staff turnover (leavers in 12 months)")],
            "Staff turnover",
            heading="Turnover",
        ),
    ]
    # Trend: drawn when the metrics give workforce figures over time (snapshots or years).
    trends = []
    for dim in ("financial_year", "snapshot_date", "quarter"):
        for m in ("vacancy_rate", "turnover"):
            if ctx.metrics.select(ctx.analysis, m, "WORKFORCE", dim):
                trends.append(page.trend(ctx, m, "WORKFORCE", f"the {m.replace('_', ' ')}", dim))
    parts.append(page.section("Trend", anchor="trend"))
    parts += trends or [
        page.text(
            "The figures above describe the latest workforce snapshot only; vacancy and "
            "turnover figures for earlier snapshots are not yet computed, so no trend is shown."
        )
    ]
    return join(*parts)

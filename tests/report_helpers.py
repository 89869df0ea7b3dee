"""Small, hand-written fake metrics for the report tests: every measure of docs/METRICS.md, a few
withheld cells. Not produced by the metrics code (tests must not copy the code's own output).

``write_fake_metrics(out_dir)`` writes ``metrics.csv`` (unsuppressed) and ``metrics_public.csv``
(counts 1..threshold as ``c``, and percentages whose numerator is withheld) plus a stub
``data_quality.html``.
"""

from __future__ import annotations

import csv
from html.parser import HTMLParser
from pathlib import Path

COLUMNS = [
    "analysis",
    "measure",
    "scope",
    "breakdown",
    "category",
    "numerator",
    "denominator",
    "value",
    "unit",
    "period_start",
    "period_end",
]
PERIOD = ("2012-04-01", "2012-12-31")
THRESHOLD = 4


def _count(a, m, s, v, b="total", c="all", unit="count"):
    return [a, m, s, b, c, "", "", str(v), unit]


def _share(a, m, s, b, parts: dict[str, int], denom: int | None = None):
    d = denom if denom is not None else sum(parts.values())
    return [
        [a, m, s, b, c, str(n), str(d), repr(100 * n / d) if d else "", "percent"]
        for c, n in parts.items()
    ]


def _ratio(a, m, s, n, d, b="total", c="all"):
    return [a, m, s, b, c, str(n), str(d), repr(100 * n / d) if d else "", "percent"]


def _mean(a, m, s, v, n, b="total", c="all", unit="score"):
    return [a, m, s, b, c, "", str(n), repr(v), unit]


QUARTERS = [f"{y}-Q{q}" for y in (2011, 2012) for q in (1, 2, 3, 4)]


def _series(a, m, s, quarters: list, last_year) -> list[list[str]]:
    """The ``quarter`` rows (8 values: counts, or (numerator, denominator) for rates) and the
    ``previous_year`` row of one headline figure."""
    out = []
    for c, x in [*zip(QUARTERS, quarters, strict=True), ("all", last_year)]:
        b = "previous_year" if c == "all" else "quarter"
        out.append(_ratio(a, m, s, *x, b, c) if isinstance(x, tuple) else _count(a, m, s, x, b, c))
    return out


def series_rows(workforce: bool = True) -> list[list[str]]:
    """Quarterly series and the same period last year for every headline figure of pages.yaml:
    rising, falling and flat runs, a withheld quarter (a count or numerator of 1 to 4), a blank
    quarter (no denominator) and a previous year with no denominator."""
    R, D, RR, C, W = "referrals", "distance_travelled", "re_referrals", "cpr", "workforce"
    rows = []
    received = {
        "DAT": ([700, 720, 690, 710, 730, 760, 790, 812], 2050),  # rose 4 running
        "PREVENTION": ([120, 130, 125, 140, 150, 140, 130, 144], 400),
        "FST": ([60, 70, 65, 70, 68, 66, 64, 75], 220),
        "IFST": ([14, 16, 15, 17, 16, 15, 15, 17], 47),  # equal in Q2 and Q3
        "FASS": ([10, 3, 12, 11, 12, 13, 12, 11], 40),  # 2011-Q2 withheld
    }
    for scope, (qs, last) in received.items():
        rows += _series(R, "received", scope, qs, last)
    rows += _series(D, "families_served", "PREVENTION", [50, 52, 55, 58, 54, 60, 62, 65], 140)
    for scope in ("PREVENTION", "IFSS"):
        rows += _series(D, "risk_reduced", scope, [(40, 50)] * 6 + [(42, 50), (45, 50)], (70, 80))
        for c, v in [*zip(QUARTERS, [25.0, 26, 27, 28, 28.2, 29, 30, 31], strict=True)]:
            rows.append(_mean(D, "mean_risk_reduction", scope, v, 30, "quarter", c, "percent"))
        rows.append(
            _mean(D, "mean_risk_reduction", scope, 26.0, 70, "previous_year", "all", "percent")
        )
    rows += _series(D, "escalated", "PREVENTION", [(3, 40)] * 4 + [(5, 40)] * 4, (20, 150))
    rows += _series(
        RR, "re_referral_12m", "DAT",
        [(300, 700), (310, 720), (320, 690), (330, 710), (320, 730), (310, 760), (300, 790),
         (290, 812)],
        (880, 2000),
    )  # fmt: skip
    rows += _series(RR, "decision_timely", "DAT", [(600, 700)] * 7 + [(700, 812)], (1700, 2050))
    rows += _series(RR, "lateral_checks", "DAT", [(500, 650)] * 8, (0, 0))  # no prev. denominator
    rows += _series(RR, "child_seen", "DAT", [(0, 0)] + [(120, 140)] * 7, (480, 560))  # blank Q1
    rows += _series(C, "registrations", "CPR", [40, 38, 42, 36, 41, 39, 43, 38], 110)
    rows += _series(
        C,
        "re_registration",
        "CPR",
        [(8, 40), (9, 38), (10, 42), (8, 36), (9, 41), (10, 39), (3, 43), (9, 38)],
        (20, 110),
    )  # fmt: skip  (2012-Q3 withheld)
    rows += _series(C, "on_register", "CPR", [100, 104, 108, 110, 109, 112, 111, 110], 95)
    rows += _series(C, "icpc_timely", "CPR", [(38, 40)] * 6 + [(40, 41), (37, 40)], (100, 104))
    rows += _series(C, "core_group_timely", "CPR", [(20, 36)] * 8, (50, 110))
    rows += _series(C, "review_timely", "CPR", [(66, 67)] * 8, (180, 181))
    if workforce:
        rows += _series(W, "posts", "WORKFORCE", [80] * 8, 80)
        rows += _series(W, "vacancy_rate", "WORKFORCE", [(12, 80), (14, 80)] * 4, (18, 80))
        rows += _series(W, "agency_cover", "WORKFORCE", [(8, 12), (9, 14)] * 4, (9, 18))
        rows += _series(W, "long_term_sick", "WORKFORCE", [(4, 80)] * 8, (5, 80))
        rows += _series(W, "turnover", "WORKFORCE", [(20, 66)] * 8, (25, 70))
    return rows


def fake_rows(workforce: bool = True) -> list[list[str]]:
    R = "referrals"
    rows: list[list[str]] = []
    sources = {
        "PREVENTION": {
            "SCHOOLS": 152,
            "POLICE": 95,
            "FAMILY_SELF": 70,
            "HEALTH": 60,
            "EDUCATION": 54,
            "HOUSING": 3,
        },
        "FST": {"DAT": 115, "CPT": 49, "CDT": 16, "LAC": 10, "HEALTH": 15},
        "IFST": {"DAT": 30, "CPT": 15, "HEALTH": 2},
        "FASS": {"DAT": 20, "CPT": 12, "EDUCATION": 4},
        "DAT": {"POLICE": 900, "SCHOOLS": 500, "HEALTH": 450, "FAMILY_SELF": 300, "LEGAL": 2},
    }
    for scope, parts in sources.items():
        total = sum(parts.values())
        rows.append(_count(R, "received", scope, total))
        rows += _share(R, "received", scope, "source_group", parts)
        ages = {"0-2": total // 5, "3-5": total // 6, "6-8": total // 7, "9-11": total // 4}
        ages["12-17"] = total - sum(ages.values()) - 1
        ages["UNBORN"] = 1
        rows += _share(R, "received", scope, "age_band", ages)
        if scope != "DAT":
            rows += _share(
                R,
                "received",
                scope,
                "reason",
                {"PREVENTATIVE": total - total // 3 - 3, "ANGER_BEHAVIOUR": total // 3, "OTHER": 3},
            )
            rows += _share(
                R,
                "received",
                scope,
                "case_status",
                {
                    "CIN": total // 2,
                    "CPR": total // 4,
                    "LAC": total // 8,
                    "NONE": total - total // 2 - total // 4 - total // 8,
                },
            )
    rows += _share(
        R,
        "received",
        "IFST",
        "primary_substance",
        {"ALCOHOL": 21, "HEROIN": 15, "CANNABIS": 5, "AMPHETAMINE": 3, "COCAINE": 3},
    )
    for scope, types in {
        "IFST": {"NEW": (27, 30), "CONSULTATION": (8, 9), "RE_REFERRAL": (6, 8)},
        "FASS": {"NEW": (26, 29), "ADVICE": (6, 6), "RE_REFERRAL": (1, 1)},
        "PREVENTION": {"NEW": (400, 434)},
        "FST": {"NEW": (180, 205)},
    }.items():
        for t, (n, d) in types.items():
            rows.append(_ratio(R, "accepted", scope, n, d, "referral_type", t))
    D = "distance_travelled"
    for scope, fam in {"PREVENTION": 160, "FST": 90, "IFST": 40, "FASS": 30, "IFSS": 320}.items():
        rows.append(_count(D, "families_served", scope, fam))
        esc = 23 if scope == "PREVENTION" else (3 if scope == "FASS" else fam // 10)
        rows.append(_ratio(D, "escalated", scope, esc, fam))
        paired = fam // 2
        rows.append(_count(D, "paired", scope, paired))
        rows.append(_mean(D, "mean_risk_reduction", scope, 30.2, paired, unit="percent"))
        rows.append(_ratio(D, "risk_reduced", scope, int(paired * 0.91), paired))
        for dom, ch in {"PARENTING": -1.2, "ANGER": -0.9, "BOUNDARIES": -0.4}.items():
            rows.append(_mean(D, "domain_change", scope, ch, paired - 1, "domain", dom))
        for q, (v, n) in {
            "2011-Q2": (2.1, 20),
            "2011-Q3": (2.2, 22),
            "2011-Q4": (2.0, 25),
            "2012-Q1": (2.3, 24),
            "2012-Q2": (2.5, 30),
            "2012-Q3": (2.6, 28),
            "2012-Q4": (3.4, 3) if scope == "FASS" else (2.7, 26),
        }.items():
            rows.append(_mean(D, "mean_start_risk", scope, v, n, "quarter", q))
    RR = "re_referrals"
    n_ref = 2152
    rows.append(_ratio(RR, "re_referral_12m", "DAT", 861, n_ref))
    for fy, (n, d) in {
        "2010-11": (300, 1200),
        "2011-12": (880, 2000),
        "2012-13": (861, n_ref),
    }.items():
        rows.append(_ratio(RR, "re_referral_12m", "DAT", n, d, "financial_year", fy))
    rows += _share(
        RR,
        "prior_referrals",
        "DAT",
        "count_band",
        {"0": 1100, "1": 600, "2": 300, "3-4": 150, "5+": 2},
        n_ref,
    )
    rows += _share(
        RR,
        "outcome",
        "DAT",
        "outcome",
        {"NFA": 700, "NFA_LETTER": 500, "PREVENTION": 400, "IA": 450, "S47": 102},
    )
    rows.append(_ratio(RR, "decision_timely", "DAT", 1800, n_ref))
    rows.append(_ratio(RR, "lateral_checks", "DAT", 1500, 2100))
    rows.append(_ratio(RR, "child_seen", "DAT", 500, 552))
    for m, scale in (("rereferred_6m", 0.25), ("rereferred_12m", 0.4)):
        for o, d in {
            "NFA": 500,
            "NFA_LETTER": 350,
            "PREVENTION": 300,
            "IA": 300,
            "S47": 20,
        }.items():
            n = 3 if o == "S47" else int(d * scale)
            rows.append(_ratio(RR, m, "DAT", n, d, "outcome", o))
    C = "cpr"
    rows.append(_count(C, "registrations", "CPR", 120))
    rows += _share(
        C,
        "registrations",
        "CPR",
        "category",
        {"NEG": 60, "PHY": 25, "EMO": 40, "SAB": 8, "FIN": 2},
        120,
    )
    rows.append(_ratio(C, "re_registration", "CPR", 30, 120))
    for fy, (n, d) in {"2010-11": (20, 110), "2011-12": (28, 140), "2012-13": (30, 120)}.items():
        rows.append(_ratio(C, "re_registration", "CPR", n, d, "financial_year", fy))
    rows += _share(
        C,
        "re_registration",
        "CPR",
        "time_since_deregistration",
        {"UNDER_12M": 12, "12_TO_24M": 9, "OVER_24M": 6, "UNKNOWN": 3},
    )
    rows.append(_count(C, "on_register", "CPR", 110))
    rows.append(_ratio(C, "icpc_timely", "CPR", 110, 115))
    rows.append(_ratio(C, "core_group_timely", "CPR", 60, 107))
    rows.append(_ratio(C, "review_timely", "CPR", 198, 200))
    if workforce:
        W = "workforce"
        rows.append(_count(W, "posts", "WORKFORCE", 80))
        teams = {"DAT 1": 20, "DAT 2": 18, "CP Team": 22, "IFST": 12, "Prevention": 8}
        for t, p in teams.items():
            rows.append(_count(W, "posts", "WORKFORCE", p, "team", t))
        roles = {"TM": 6, "SP": 12, "SW": 50, "FSW": 12}
        for r, p in roles.items():
            rows.append(_count(W, "posts", "WORKFORCE", p, "role", r))
        rows.append(_ratio(W, "vacancy_rate", "WORKFORCE", 16, 80))
        for t, p in teams.items():
            rows.append(
                _ratio(W, "vacancy_rate", "WORKFORCE", 2 if t == "IFST" else 5, p, "team", t)
            )
        for r, p in roles.items():
            rows.append(_ratio(W, "vacancy_rate", "WORKFORCE", 1 if r == "TM" else 6, p, "role", r))
        rows.append(_ratio(W, "agency_cover", "WORKFORCE", 9, 16))
        rows.append(_ratio(W, "long_term_sick", "WORKFORCE", 4, 80))
        for b in ("team", "role"):
            cats = teams if b == "team" else roles
            for i, (c, p) in enumerate(cats.items()):
                rows.append(_mean(W, "caseload_mean", "WORKFORCE", 18.5 + i, p - 3, b, c, "count"))
                rows.append(
                    _mean(W, "caseload_median", "WORKFORCE", 19.0 + i, p - 3, b, c, "count")
                )
                rows.append(_mean(W, "caseload_min", "WORKFORCE", 12 + i, p - 3, b, c, "count"))
                rows.append(_mean(W, "caseload_max", "WORKFORCE", 28 + i, p - 3, b, c, "count"))
        rows += _share(
            W,
            "experience",
            "WORKFORCE",
            "band",
            {"UNDER_1Y": 12, "1_TO_2Y": 10, "OVER_2Y": 16, "UNKNOWN": 2},
        )
        rows.append(_ratio(W, "turnover", "WORKFORCE", 22, 66))
    rows += series_rows(workforce)
    return [r + list(PERIOD) for r in rows]


def _withheld(x: str, threshold: int) -> bool:
    try:
        v = float(x)
    except ValueError:
        return False
    return 1 <= v <= threshold


def suppress_rows(rows: list[list[str]], threshold: int = THRESHOLD) -> list[list[str]]:
    """Simple primary suppression for the fake data (the real rules live in pipelines.transform)."""
    out = []
    for r in rows:
        r = list(r)
        unit = r[8]
        num, den, val = r[5], r[6], r[7]
        if unit == "percent" and _withheld(num, threshold):
            r[5], r[7] = "c", "c"
        if _withheld(den, threshold):
            r[6] = "c"
            if unit != "count" or num:
                r[7] = "c"
            if num:
                r[5] = "c"
        if unit == "count" and not num and not den and _withheld(val, threshold):
            r[7] = "c"
        out.append(r)
    return out


def write_csv(path: Path, rows: list[list[str]]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(COLUMNS)
        w.writerows(rows)


def write_fake_metrics(
    out_dir: Path, workforce: bool = True, threshold: int = THRESHOLD
) -> tuple[Path, Path]:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = fake_rows(workforce)
    write_csv(out_dir / "metrics.csv", rows)
    write_csv(out_dir / "metrics_public.csv", suppress_rows(rows, threshold))
    (out_dir / "data_quality.html").write_text(
        '<!DOCTYPE html><html lang="en-GB"><head><title>Data quality</title></head>'
        "<body><main><h1>Data quality</h1></main></body></html>",
        encoding="utf-8",
    )
    return out_dir / "metrics.csv", out_dir / "metrics_public.csv"


def _dq(extract: str, grain: str, read: int, aside: int = 0, warnings: tuple = ()) -> dict:
    return {
        "extract": extract,
        "grain": grain,
        "required": True,
        "delivered": True,
        "files": [f"{extract}.csv"],
        "rows_read": read,
        "rows_loaded": read - aside,
        "rows_set_aside": aside,
        "reconciles": True,
        "errors": 0,
        "warnings": len(warnings),
        "warnings_summary": list(warnings),
    }


# The shape of pipelines.validate's ValidationResult.statement().
FAKE_DQ = {
    "verdict": "passed with warnings",
    "data_as_at": "2013-01-31",
    "errors": 0,
    "warnings": 1,
    "summary": "All extracts passed validation: 7 extracts checked; 1 warning.",
    "extracts": [
        _dq("dat_referrals", "referral received by the Duty and Assessment Teams", 2152, 2),
        _dq("cpr_registrations", "registration on the Child Protection Register", 300),
        _dq("cpr_reviews", "review conference", 420),
        _dq("ifss_referrals", "referral to an Integrated Family Support Services team", 722),
        _dq(
            "ifss_distance_travelled",
            "distance-travelled assessment",
            1200,
            warnings=("1 row: score out of range [DT_SCORE_RANGE].",),
        ),
        _dq("workforce_posts", "post in a workforce snapshot", 80),
        _dq("workforce_leavers", "leaver", 22),
    ],
}


# ---------------------------------------------------------------------------------------------
# One render of the fake metrics per test process, shared by test_report.py and test_browser.py
# (rendering runs the notebooks: seconds, so it is done once).

_RENDERED: dict[bool, Path] = {}


def rendered_reports(workforce: bool = True) -> Path:
    """Render the committee pages for the fake metrics into a temporary folder (once)."""
    import dataclasses
    import tempfile

    if workforce not in _RENDERED:
        from pipelines.config import load_config
        from pipelines.report import render_reports

        out = Path(tempfile.mkdtemp(prefix="report-test-")) / "report"
        write_fake_metrics(out, workforce=workforce)
        config = dataclasses.replace(load_config(), out_dir=out)
        render_reports(out, config, FAKE_DQ)
        _RENDERED[workforce] = out
    return _RENDERED[workforce]


def read_rows(path: Path) -> dict[str, dict[str, str]]:
    """metrics CSV -> key (analysis|measure|scope|breakdown|category) -> row."""
    with open(path, encoding="utf-8", newline="") as fh:
        return {"|".join(r[c] for c in COLUMNS[:5]): r for r in csv.DictReader(fh)}


def withheld_keys(out_dir: Path) -> dict[str, tuple[dict[str, str], dict[str, str]]]:
    """Rows where metrics_public.csv withholds something metrics.csv has: key -> (inner, public)."""
    inner = read_rows(out_dir / "metrics.csv")
    public = read_rows(out_dir / "metrics_public.csv")
    out = {}
    for k, p in public.items():
        if "c" in (p["value"], p["numerator"], p["denominator"]):
            out[k] = (inner[k], p)
    return out


class _Cells(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.cells: list[tuple[str, str, str]] = []
        self._stack: list[tuple[str, str, str, list[str]] | None] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in ("br", "img", "meta", "link", "input", "hr"):
            return
        self._stack.append(
            (tag, a.get("data-key", ""), a.get("data-field", ""), []) if "data-key" in a else None
        )

    def handle_endtag(self, tag):
        if tag in ("br", "img", "meta", "link", "input", "hr") or not self._stack:
            return
        top = self._stack.pop()
        if top is not None:
            self.cells.append((top[1], top[2], "".join(top[3]).strip()))

    def handle_data(self, data):
        for item in self._stack:
            if item is not None:
                item[3].append(data)


def keyed_cells(markup: str) -> list[tuple[str, str, str]]:
    """(data-key, data-field, text) of every element that shows a figure."""
    p = _Cells()
    p.feed(markup)
    return p.cells


def shows(text: str, raw: str) -> bool:
    """Does a page's ``text`` show the CSV value ``raw``? ``c`` as ``c``, blank as a dash, a
    number as itself to the precision shown (independent of the pages' formatting code)."""
    raw = raw.strip()
    if raw == "c":
        return text == "c"
    if raw == "":
        return text in ("–", "-", "")
    t = text.replace(",", "").replace("%", "").strip()
    try:
        shown = float(t)
    except ValueError:
        return False
    decimals = len(t.split(".")[1]) if "." in t else 0
    return abs(shown - float(raw)) <= 0.5 * 10**-decimals + 1e-9

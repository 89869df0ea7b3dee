"""Committee pages: helpers (tables, suppression-safe chart data, titles, RAG) and a render of the
fake metrics (tests/report_helpers.py) checked for completeness, offline-ness and disclosure."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest
from report_helpers import (
    FAKE_DQ,
    THRESHOLD,
    fake_rows,
    keyed_cells,
    read_rows,
    rendered_reports,
    shows,
    suppress_rows,
    withheld_keys,
    write_fake_metrics,
)

from pipelines import ROOT
from pipelines.contract import METRICS_COLUMNS
from pipelines.report import charts, findings, page, sections
from pipelines.report.data import (
    Metrics,
    Reference,
    Row,
    fmt_value,
    load_reference,
    rag_status,
    to_number,
)
from pipelines.report.tables import Cell, breakdown_table, html_table

PAGES = ["index", "referrals", "distance_travelled", "re_referrals", "cpr", "workforce"]
#: Tests that execute the notebooks through papermill: out of `make check`, in `make test`.
SLOW_RENDER = pytest.mark.slow


def _metrics(workforce: bool = True) -> Metrics:
    rows = suppress_rows(fake_rows(workforce))
    return Metrics(Row(**dict(zip(METRICS_COLUMNS, r, strict=True))) for r in rows)


def _ctx(analysis: str, metrics: Metrics | None = None) -> page.Context:
    return page.context(
        analysis,
        "/nonexistent",
        "2012-04-01",
        "2012-12-31",
        "2013-01-31",
        THRESHOLD,
        metrics=metrics or _metrics(),
    )


# ---------------------------------------------------------------------------------------------
# Formatting and tables


def test_values_are_formatted_and_withheld_cells_stay_c():
    assert fmt_value("c", "percent") == "c"
    assert fmt_value("", "percent") == "–"
    assert fmt_value("35.04", "percent") == "35.0%"
    assert fmt_value("2152", "count") == "2,152"
    assert fmt_value("0", "count") == "0"
    assert to_number("c") is None and to_number("") is None and to_number("nan") is None


def test_rounding_never_shows_a_shortfall_as_100_percent():
    assert charts._fmt(99.5, "percent") == "99.5%"
    assert charts._fmt(99.4, "percent") == "99%"
    assert charts._fmt(100.0, "percent") == "100%"
    assert charts._fmt(0.2, "percent") == "0.2%"


def test_table_has_caption_scoped_headers_and_right_aligned_numbers():
    markup = html_table(
        "Referrals by source",
        ["Source", "Number"],
        [[Cell("Schools"), Cell("152", True, "k|m|s|b|c", "value")]],
        numeric_cols=(1,),
    )
    assert "<caption>Referrals by source</caption>" in markup
    assert '<th scope="col">Source</th>' in markup
    assert '<th scope="col" class="num">Number</th>' in markup
    assert '<th scope="row">Schools</th>' in markup
    assert '<td class="num" data-key="k|m|s|b|c" data-field="value">152</td>' in markup


def test_breakdown_table_shows_withheld_cells_as_c():
    m = _metrics()
    rows = m.select("cpr", "registrations", "CPR", "category")
    markup = breakdown_table("Registrations by category", rows, "Category")
    fin = [c for c in keyed_cells(markup) if c[0] == "cpr|registrations|CPR|category|FIN"]
    shown = {field: text for _, field, text in fin}
    assert shown == {"numerator": "c", "denominator": "120", "value": "c"}
    assert "Financial abuse" in markup


def test_table_escapes_labels():
    markup = html_table("x", ["a"], [[Cell("<script>")]])
    assert "<script>" not in markup and "&lt;script&gt;" in markup


# ---------------------------------------------------------------------------------------------
# Charts: data only from shown figures, valid Vega-Lite, palette, text alternative


def test_chart_data_leaves_out_withheld_categories():
    m = _metrics()
    ctx = _ctx("cpr", m)
    block = page.breakdown(ctx, "registrations", "CPR", "category", "registrations").data
    svg = re.search(r"<svg.*?</svg>", block, re.S).group(0)
    assert "Financial abuse" not in svg  # withheld: not drawn at all
    assert "Neglect" in svg
    caption = re.search(r"<figcaption>(.*?)</figcaption>", block, re.S).group(1)
    assert "Not drawn (withheld or not applicable): Financial abuse" in caption
    chart = charts.bar_chart(
        [charts.Bar("A", 10.0), charts.Bar("B", None)], "t", "s", "percent", "Percentage"
    )
    data = [layer["data"]["values"] for layer in chart.to_dict(validate=False)["layer"]]
    assert all(v["label"] != "B" for values in data for v in values)


def test_chart_specs_are_valid_vega_lite_and_use_the_palette():
    bar = charts.bar_chart([charts.Bar("A", 10.0)], "t", "s", "percent", "Percentage")
    line = charts.line_chart(
        [charts.Point("2011-12", 40.0, "Newport"), charts.Point("2011-12", 30.0, "Wales")],
        "t",
        "s",
        "percent",
        "%",
    )
    for chart in (bar, line):
        spec = chart.to_dict(validate=True)  # raises on an invalid spec
        assert spec["title"]["text"] == ["t"]
    assert charts.theme()["config"]["range"]["category"] == [
        "#12436D",
        "#28A197",
        "#801650",
        "#F46A25",
        "#3D3D3D",
        "#A285D1",
    ]
    line_spec = line.to_dict(validate=False)
    # series told apart by dash and shape as well as colour
    enc = line_spec["layer"][0]["encoding"]
    assert "strokeDash" in enc
    assert "shape" in line_spec["layer"][1]["encoding"]


def test_figure_is_inline_svg_with_a_text_alternative_and_no_external_reference():
    chart = charts.bar_chart([charts.Bar("A", 10.0)], "Title", "Sub", "percent", "Percentage")
    fig = charts.figure(chart, "Bar chart. A: 10%.")
    assert fig.startswith('<figure class="chart"')
    assert '<svg role="img" aria-label="Bar chart. A: 10%."' in fig
    assert "<figcaption>Bar chart. A: 10%.</figcaption>" in fig
    assert "http" not in fig
    assert "graphics-symbol" not in fig  # vega's per-mark ARIA removed


# ---------------------------------------------------------------------------------------------
# Titles and key messages state the finding, from shown figures only


def test_breakdown_title_states_the_finding():
    m = _metrics()
    rows = m.select("referrals", "received", "PREVENTION", "source_group")
    title = findings.breakdown_title(rows, "received", "PREVENTION", "referrals")
    assert title == "Schools and police made over half of referrals, Prevention Service"


def test_trend_title_names_first_last_and_peak():
    m = _metrics()
    rows = m.select("re_referrals", "re_referral_12m", "DAT", "financial_year")
    assert findings.trend_title(rows, "the re-referral rate") == (
        "The re-referral rate rose from 25% in 2010-11 to 40% in 2012-13, after a peak of 44% "
        "in 2011-12"
    )


def test_titles_never_use_withheld_figures():
    rows = [
        Row("a", "received", "FST", "source_group", "DAT", "c", "30", "c", "percent"),
        Row("a", "received", "FST", "source_group", "CPT", "20", "30", "66.7", "percent"),
    ]
    title = findings.breakdown_title(rows, "received", "FST", "referrals")
    assert "DAT" not in title


def test_key_messages_quote_the_wales_comparator_and_targets():
    msgs = findings.key_messages(_metrics(), "re_referrals", load_reference())
    assert msgs[0].startswith("40% of referrals to the Duty and Assessment Teams")
    assert "the Wales figure was 30% in 2011-12" in msgs[0]


# ---------------------------------------------------------------------------------------------
# Reference data and RAG


def test_reference_data_is_read_from_the_metrics_stage_files():
    ref = load_reference()
    (period, wales) = ref.latest_benchmark("re_referral_12m", "DAT")
    assert period == "2011-12" and float(wales["value"]) == 30
    assert ref.caseload_threshold == 20
    assert ref.target("caseload_mean", "WORKFORCE", "team", "DAT 1") is not None


def test_reference_files_missing_give_empty_tables(tmp_path):
    ref = load_reference(tmp_path)
    assert ref.benchmarks == [] and ref.targets == [] and ref.caseload_threshold is None


@pytest.mark.parametrize(
    ("value", "direction", "status"),
    [
        (25.0, "lower_better", "Green"),
        (33.0, "lower_better", "Amber"),
        (40.0, "lower_better", "Red"),
        (96.0, "higher_better", "Green"),
        (90.0, "higher_better", "Amber"),
        (50.0, "higher_better", "Red"),
        (None, "lower_better", None),
    ],
)
def test_rag_status_follows_the_reference_rule(value, direction, status):
    green, amber = ("30", "35") if direction == "lower_better" else ("95", "85")
    target = {"direction": direction, "green": green, "amber": amber}
    assert rag_status(value, target) == status


def test_rag_without_amber_level_is_green_or_red():
    target = {"direction": "lower_better", "green": "20", "amber": ""}
    assert rag_status(20.0, target) == "Green" and rag_status(20.1, target) == "Red"
    assert rag_status(50.0, None) is None


def test_previous_year_is_the_financial_year_before_the_period_end():
    prev = page.previous_year(_metrics(), "re_referrals", "re_referral_12m", "DAT", "2012-12-31")
    assert prev is not None and prev[0] == "2011-12" and prev[1].value.startswith("44")


def test_dq_statement_shapes():
    assert "All extracts passed" in page.dq_html(FAKE_DQ, ["dat_referrals"])
    one = page.dq_html(FAKE_DQ, ["dat_referrals"])
    assert "Referral received by the Duty and Assessment Teams" in one and "2,152" in one
    assert "distance-travelled" not in one  # only the extracts behind the page
    assert "score out of range" in page.dq_html(FAKE_DQ, ["ifss_distance_travelled"])
    assert "first: fine" in page.dq_html({"extracts": {"a": "first: fine"}}, ["a"])
    assert "No data quality statement" in page.dq_html({}, ["dat_referrals"])
    assert "errors: 0" in page.dq_html({"errors": 0}, [])


# ---------------------------------------------------------------------------------------------
# Notebooks: committed without outputs, a parameters cell of literals with type hints and comments


@pytest.mark.parametrize("name", [p for p in PAGES if p != "index"])
def test_notebook_is_thin_parameterised_and_without_outputs(name):
    nb = json.loads((ROOT / "notebooks" / f"{name}.ipynb").read_text(encoding="utf-8"))
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(not c["outputs"] and c["execution_count"] is None for c in code)
    params = [c for c in code if "parameters" in c["metadata"].get("tags", [])]
    assert len(params) == 1 and code[0] is params[0]
    source = "".join(params[0]["source"])
    tree = ast.parse(source)
    names = set()
    for stmt in tree.body:
        assert isinstance(stmt, ast.AnnAssign), ast.dump(stmt)
        ast.literal_eval(stmt.value)  # literals only, nothing derived
        names.add(stmt.target.id)
    assert {
        "out_dir",
        "period_start",
        "period_end",
        "data_as_at",
        "suppression_threshold",
        "raw_dir",
        "code_version",
    } <= names
    assert all("#" in line for line in source.splitlines() if line.strip())
    body = "".join("".join(c["source"]) for c in code[1:])
    assert "pipelines.report" in body and len(body.splitlines()) < 30


# ---------------------------------------------------------------------------------------------
# Rendering the fake metrics end to end (notebooks executed once per test run)


@pytest.fixture(scope="module")
def out_dir() -> Path:
    return rendered_reports(workforce=True)


@SLOW_RENDER
def test_every_page_and_the_executed_notebooks_are_written(out_dir):
    for name in PAGES:
        assert (out_dir / f"{name}.html").stat().st_size > 1000, name
    for name in PAGES[1:]:
        nb = json.loads((out_dir / "notebooks" / f"{name}.ipynb").read_text(encoding="utf-8"))
        assert nb["metadata"]["papermill"]["parameters"]["period_start"] == "2012-04-01"
        assert any("injected-parameters" in c["metadata"].get("tags", []) for c in nb["cells"])


@SLOW_RENDER
@pytest.mark.parametrize("name", PAGES)
def test_page_is_self_contained_and_structured(out_dir, name):
    markup = (out_dir / f"{name}.html").read_text(encoding="utf-8")
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", markup, re.I)
    assert not re.search(r"https?://", markup)
    assert "<script" not in markup.lower()
    assert "<link" not in markup.lower()
    assert "@import" not in markup and "url(" not in markup
    assert '<html lang="en-GB">' in markup
    assert re.search(r"<title>[^<]{10,}</title>", markup)
    assert markup.count("<h1") == 1
    levels = [int(h) for h in re.findall(r"<h([1-6])[\s>]", markup)]
    assert levels[0] == 1
    assert all(b <= a + 1 for a, b in zip(levels, levels[1:], strict=False)), levels
    for fig in re.findall(r"<figure.*?</figure>", markup, re.S):
        svg_tag = re.search(r"<svg[^>]*>", fig).group(0)  # nbconvert reorders attributes
        assert 'role="img"' in svg_tag and 'aria-label="' in svg_tag and "<figcaption>" in fig
    assert "In&nbsp;[" not in markup and "input_area" not in markup  # no code, no prompts
    assert "withheld" in markup.lower()
    if name != "index":
        assert "Numerator:" in markup and "Data quality" in markup
        assert "Code version" in markup and "2013" in markup
        assert markup.count("<figure") >= 2


@SLOW_RENDER
def test_index_links_every_page_and_the_data_quality_report(out_dir):
    markup = (out_dir / "index.html").read_text(encoding="utf-8")
    for name in PAGES[1:] + ["data_quality"]:
        assert f'href="{name}.html"' in markup
    assert "Key messages" in markup and "Previous year" in markup and "Wales" in markup
    assert "How the status is set" in markup
    assert "were not supplied" not in markup


@SLOW_RENDER
def test_tables_show_the_public_figures(out_dir):
    public = read_rows(out_dir / "metrics_public.csv")
    seen = set()
    for name in PAGES:
        for key, field, text in keyed_cells((out_dir / f"{name}.html").read_text("utf-8")):
            assert key in public, key
            assert shows(text, public[key][field]), (name, key, field, text, public[key][field])
            seen.add(key)
    # every figure of the metrics file is shown somewhere
    missing = set(public) - seen
    assert not missing, sorted(missing)[:10]


@SLOW_RENDER
def test_withheld_counts_appear_nowhere(out_dir):
    """A withheld figure shows as ``c`` in its cells, and the chart drawn beside that table (its
    SVG, text alternative and caption) never puts a number next to the withheld category."""
    from pipelines.report.data import category_label

    held = withheld_keys(out_dir)
    assert held, "the fake metrics must withhold something"
    checked = 0
    for name in PAGES:
        markup = (out_dir / f"{name}.html").read_text("utf-8")
        for k, field, text in keyed_cells(markup):
            if k in held and held[k][1][field] == "c":
                assert text == "c", (name, k, field, text)
        for block in markup.split('<div class="figure-block">')[1:]:
            keys = {k for k, _, _ in keyed_cells(block)}
            figure = "".join(re.findall(r"<figure.*?</figure>", block, re.S))
            for key in keys & set(held):
                inner, public = held[key]
                label = category_label(key.split("|")[3], key.split("|")[4])
                for field in ("value", "numerator"):
                    if public[field] != "c" or not inner[field]:
                        continue
                    x = float(inner[field])
                    for shown in {f"{x:.0f}", f"{x:.1f}"}:
                        near = re.escape(label) + r"[:(\s]+" + re.escape(shown) + r"(?![\d.])"
                        assert not re.search(near, figure), (name, key, shown)
                    assert re.search(re.escape(label), figure) is None or "Not drawn" in figure
                    checked += 1
    assert checked > 5


@SLOW_RENDER
def test_notebooks_see_only_the_public_file(out_dir):
    for name in PAGES[1:]:
        nb = (out_dir / "notebooks" / f"{name}.ipynb").read_text("utf-8")
        assert "metrics.csv" not in nb.replace("metrics_public.csv", "")


# ---------------------------------------------------------------------------------------------
# Without the workforce extracts


def test_without_workforce_rows_index_says_so_and_no_page(tmp_path):
    from pipelines.report import render

    write_fake_metrics(tmp_path, workforce=False)
    metrics = Metrics.read(tmp_path / "metrics_public.csv")
    todo = render.analyses_to_render(metrics)
    assert "workforce" not in todo
    params = {
        "out_dir": str(tmp_path),
        "period_start": "2012-04-01",
        "period_end": "2012-12-31",
        "data_as_at": "2013-01-31",
        "suppression_threshold": 4,
        "raw_dir": "data/raw/sample",
        "code_version": "test",
        "run_date": "2013-02-01 09:00:00",
        "dq_statement": {},
    }
    index = render.write_index(tmp_path, metrics, params, todo).read_text("utf-8")
    assert "workforce extracts (posts and leavers) were not supplied" in index
    assert 'href="workforce.html"' not in index


def test_sections_cover_every_measure_of_the_metrics():
    """Every measure of docs/METRICS.md has a definition and appears in a page's section list."""
    m = _metrics()
    measures = {r.measure for r in m.rows}
    defined = set(page.definitions()["measures"])
    assert measures <= defined
    listed = {x for v in sections.MEASURES.values() for x in v}
    assert measures <= listed


def test_code_version_names_the_checked_out_commit(monkeypatch):
    """Provenance: the version on the pages is the commit the run came from, marked when the
    working tree had changes; without git it is the package version (never blank)."""
    import subprocess

    from pipelines import __version__
    from pipelines.report.render import code_version

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()

    version = code_version()
    commit = version.removesuffix("-dirty")
    assert git("rev-parse", "--verify", f"{commit}^{{commit}}") == git("rev-parse", "HEAD")
    assert version.endswith("-dirty") == bool(git("status", "--porcelain", "--untracked-files=no"))

    def no_git(*args, **kwargs):
        raise FileNotFoundError("git")

    monkeypatch.setattr(subprocess, "run", no_git)
    assert code_version() == f"pipelines {__version__}"


def test_reference_is_a_dataclass_that_tolerates_odd_rows():
    ref = Reference([{"measure": "x", "scope": "DAT", "value": "n/a"}], [])
    assert ref.benchmark("x", "DAT") == []


def test_missing_public_metrics_is_a_clear_error(tmp_path):
    import dataclasses

    from pipelines.config import load_config
    from pipelines.errors import PipelineError
    from pipelines.report import render_reports

    config = dataclasses.replace(load_config(), out_dir=tmp_path)
    with pytest.raises(PipelineError, match="metrics_public.csv is missing"):
        render_reports(tmp_path, config, {})


@SLOW_RENDER
def test_a_failing_notebook_is_reported_with_its_cell(tmp_path, monkeypatch):
    """A page that cannot be produced stops the run with a message naming the error."""
    from pipelines.errors import PipelineError
    from pipelines.report import render

    write_fake_metrics(tmp_path)
    bad = tmp_path / "nb"
    bad.mkdir()
    nb = json.loads((ROOT / "notebooks" / "cpr.ipynb").read_text(encoding="utf-8"))
    nb["cells"][-1]["source"] = ["raise ValueError('no such figure')"]
    (bad / "cpr.ipynb").write_text(json.dumps(nb), encoding="utf-8")
    monkeypatch.setattr(render, "NOTEBOOKS", bad)
    params = {
        "out_dir": str(tmp_path),
        "period_start": "2012-04-01",
        "period_end": "2012-12-31",
        "data_as_at": "2013-01-31",
        "suppression_threshold": 4,
        "raw_dir": "x",
        "code_version": "test",
        "run_date": "now",
        "dq_statement": {},
    }
    with pytest.raises(PipelineError, match="ValueError: no such figure"):
        render.execute_and_render(["cpr"], tmp_path, params, workers=1)

"""Execute the notebooks with papermill (in-process, concurrently) and render them with nbconvert.

How it runs, and why:

* papermill is called as a library, never through its CLI (a CLI start costs about 2 s).
* Two worker threads each start **one** kernel and run their share of the notebooks in it, one
  after the other (papermill passes ``km`` through to nbclient, which then leaves the kernel
  running): the kernel start and the imports (Altair, about 1.5 s) are paid once per worker,
  not once per notebook. The notebooks are independent (each builds its own ``ctx``).
* Each executed notebook is kept in ``out_dir/notebooks/`` with its injected parameters (the
  audit trail) and converted to HTML by nbconvert through ``templates/committee``: classic cell
  layout, no input cells, no prompts, no scripts, no CDN links, CSS inlined.
* ``index.html`` is written from the same public metrics and the same stylesheet.
"""

from __future__ import annotations

import atexit
import datetime as dt
import json
import os
import queue
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pipelines import ROOT, __version__
from pipelines.config import RunConfig
from pipelines.errors import PipelineError
from pipelines.report.data import Metrics, definitions, load_public

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
NOTEBOOKS = ROOT / "notebooks"
#: Page order on the index; the heaviest notebook first so the two workers finish together.
ANALYSES = ["referrals", "distance_travelled", "re_referrals", "cpr", "workforce"]
WORKERS = int(os.environ.get("PIPELINES_REPORT_WORKERS", "2"))  # one kernel per worker
#: Seconds each notebook took (execution and rendering) in the latest run, for the benchmark.
TIMINGS: dict[str, float] = {}


def code_version() -> str:
    """``git describe --always --dirty`` of the repository, or the package version without git."""
    try:
        out = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
        v = out.stdout.strip()
        if v:
            return v
    except (OSError, subprocess.SubprocessError):
        pass
    return f"pipelines {__version__}"


def page_css() -> str:
    return (TEMPLATES / "committee" / "style.css").read_text(encoding="utf-8")


def _jsonable(obj: Any) -> Any:
    """The dq statement as plain JSON types (papermill writes parameters as Python literals)."""
    return json.loads(json.dumps(obj or {}, default=str))


def analyses_to_render(metrics: Metrics) -> list[str]:
    """Every analysis; workforce only when its rows exist (the extracts are optional)."""
    return [a for a in ANALYSES if a != "workforce" or metrics.has("workforce")]


def render_reports(out_dir: Path, config: RunConfig, dq_statement: dict) -> list[Path]:
    """Write one page per analysis and ``index.html`` into ``out_dir``; return their paths."""
    out_dir = Path(out_dir).resolve()
    if not (out_dir / "metrics_public.csv").exists():
        raise PipelineError(
            f"{out_dir / 'metrics_public.csv'} is missing: the committee pages are built from it. "
            "Run the whole pipeline (python -m pipelines report) so the metrics stage writes it."
        )
    metrics = load_public(out_dir)
    todo = analyses_to_render(metrics)
    run_date = dt.datetime.now().replace(microsecond=0).isoformat(sep=" ")
    version = code_version()
    params_common = {
        "out_dir": str(out_dir),
        "period_start": config.period_start.isoformat(),
        "period_end": config.period_end.isoformat(),
        "data_as_at": config.data_as_at.isoformat(),
        "suppression_threshold": int(config.suppression_threshold),
        "raw_dir": str(config.raw_dir),
        "code_version": version,
        "run_date": run_date,
        "dq_statement": _jsonable(dq_statement),
    }
    pages = execute_and_render(todo, out_dir, params_common)
    index = write_index(out_dir, metrics, params_common, todo)
    return [index] + [pages[a] for a in todo]


class Workers:
    """Worker threads, each owning one kernel, started (and warmed) before there is work.

    Each thread starts its kernel at once and has it import the report package and initialise
    vl-convert (fire and forget) while the thread imports papermill and nbconvert; it then waits
    for jobs. One batch per instance: ``run`` hands out the notebooks and shuts the kernels down.
    """

    def __init__(self, n: int = WORKERS):
        self.n = max(1, n)
        self._jobs: queue.Queue[tuple[str, Path, dict[str, Any]] | None] = queue.Queue()
        self.pages: dict[str, Path] = {}
        self.errors: list[BaseException] = []
        self._cv = threading.Condition()
        self._done = 0
        self._alive = self.n
        self._used = False
        self._threads = [
            threading.Thread(target=self._work, name=f"report-kernel-{i}", daemon=True)
            for i in range(self.n)
        ]
        for th in self._threads:
            th.start()

    def _work(self) -> None:
        from jupyter_client.manager import AsyncKernelManager
        from jupyter_core.utils import run_sync

        km = AsyncKernelManager(kernel_name="python3")
        # The kernel's own stderr (e.g. ipykernel's start-up notices) would break the progress
        # line; it is kept aside and quoted if a page fails.
        log = tempfile.TemporaryFile()
        try:
            run_sync(km.start_kernel)(cwd=str(ROOT), stderr=log)
            finish_warm_up = _warm_up(km)
            exporter = _exporter()  # imports nbconvert (and papermill) meanwhile
            finish_warm_up()
            while (job := self._jobs.get()) is not None:
                analysis, out_dir, params = job
                t = time.perf_counter()
                try:
                    nb_dir = out_dir / "notebooks"
                    page = _run_one(analysis, out_dir, nb_dir, params, km, exporter)
                    self.pages[analysis] = page
                except Exception as exc:  # noqa: BLE001 - reported by run() after the batch
                    exc.kernel_log = _tail(log)  # type: ignore[attr-defined]
                    # the executed notebook, for pipelines.run to keep outside the folder
                    exc.notebook = nb_dir / f"{analysis}.ipynb"  # type: ignore[attr-defined]
                    self.errors.append(exc)
                TIMINGS[analysis] = time.perf_counter() - t
                with self._cv:
                    self._done += 1
                    self._cv.notify_all()
        except BaseException as exc:  # noqa: BLE001 - a kernel that cannot start
            exc.kernel_log = _tail(log)  # type: ignore[attr-defined]
            self.errors.append(exc)
        finally:
            with self._cv:
                self._alive -= 1
                self._cv.notify_all()
            if km.has_kernel:
                run_sync(km.shutdown_kernel)(now=True)
            log.close()

    def run(self, analyses: list[str], out_dir: Path, params: dict[str, Any]) -> dict[str, Path]:
        self._used = True
        (out_dir / "notebooks").mkdir(parents=True, exist_ok=True)
        for a in analyses:
            self._jobs.put((a, out_dir, params))
        for _ in self._threads:
            self._jobs.put(None)  # each worker stops after the last job
        with self._cv:
            self._cv.wait_for(lambda: self._done >= len(analyses) or self._alive == 0)
        # the kernels shut down in the background; close() at exit waits for them
        atexit.register(self.close)
        if self.errors:
            exc = self.errors[0]
            raise PipelineError(f"A committee page could not be produced: {_explain(exc)}") from exc
        missing = [a for a in analyses if a not in self.pages]
        if missing:
            raise PipelineError(f"No committee page was produced for: {', '.join(missing)}.")
        return self.pages

    def close(self) -> None:
        """Let every worker finish its jobs, then stop (kernels are shut down)."""
        for _ in self._threads:
            self._jobs.put(None)
        for th in self._threads:
            th.join(timeout=30)

    def abandon(self) -> None:
        """At the exit of a run that stopped before its pages (bad input): do not wait for kernels
        still booting. Each kernel exits by itself when this process ends (ipykernel watches its
        parent), so a failed run ends at once."""
        if self._used:
            return
        for _ in self._threads:
            self._jobs.put(None)
        for th in self._threads:
            th.join(timeout=0.5)


_prestarted: Workers | None = None


def warm_up(workers: int = WORKERS) -> None:
    """Start the report kernels now, in the background, so they are ready when the pages are
    rendered (call at the start of a run: they boot while ingest and validation work)."""
    global _prestarted
    if _prestarted is None:
        _prestarted = Workers(workers)
        atexit.register(_prestarted.abandon)  # a run that stops before rendering


def execute_and_render(
    analyses: list[str], out_dir: Path, params: dict[str, Any], workers: int = WORKERS
) -> dict[str, Path]:
    """Run the notebooks on worker threads, one kernel each; return analysis -> page."""
    global _prestarted
    pool, _prestarted = _prestarted, None
    if pool is None:
        pool = Workers(min(workers, len(analyses)))
    return pool.run(analyses, out_dir, params)


def _warm_up(km: Any) -> Callable[[], None]:
    """Have the kernel import the report package and start vl-convert; returns a function that
    waits for that to finish (so this thread can import papermill and nbconvert meanwhile)."""
    kc = km.blocking_client()
    # shell only: no heartbeat thread or extra sockets for this one request
    kc.start_channels(shell=True, iopub=False, stdin=False, hb=False, control=False)
    kc.wait_for_ready(timeout=120)
    msg_id = kc.execute(
        "import pipelines.report.sections, pipelines.report.charts\npipelines.report.charts.warm()",
        silent=True,
        store_history=False,
    )

    def finish() -> None:
        try:
            while True:
                reply = kc.get_shell_msg(timeout=120)
                if reply["parent_header"].get("msg_id") == msg_id:
                    break
        finally:
            kc.stop_channels()

    return finish


def _tail(log: Any, n: int = 2000) -> str:
    """The last ``n`` characters the kernel wrote to stderr, without its TCP notice."""
    try:
        log.seek(0)
        text = log.read().decode("utf-8", errors="replace")
    except (OSError, ValueError):
        return ""
    lines = [x for x in text.splitlines() if "running over TCP without encryption" not in x]
    return "\n".join(lines)[-n:]


def _explain(exc: BaseException) -> str:
    name = type(exc).__name__
    if name == "PapermillExecutionError":
        return (
            f"the notebook stopped at cell {getattr(exc, 'exec_count', '?')} with "
            f"{getattr(exc, 'ename', '')}: {getattr(exc, 'evalue', '')}. The executed notebook "
            "shows where."
        )
    log = getattr(exc, "kernel_log", "")
    return f"{name}: {exc}" + (f"\nThe notebook kernel reported:\n{log}" if log else "")


def _exporter() -> Any:
    from nbconvert import HTMLExporter
    from nbconvert.exporters.templateexporter import TemplateExporter
    from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter

    class CommitteeExporter(HTMLExporter):
        """HTMLExporter without its BeautifulSoup pass (about 1 s a page here): that pass only
        adds alt text to images without one and tabindex to JupyterLab cells, and these pages
        have neither (charts are inline SVG with their own text alternative)."""

        def from_notebook_node(self, nb, resources=None, **kw):  # type: ignore[override]
            resources = self._init_resources(resources)
            # inputs are excluded, but the template still names the filter
            self.register_filter("highlight_code", lambda source, **_: source)
            self.register_filter(
                "filter_data_type",
                WidgetsDataTypeFilter(
                    notebook_metadata=self._nb_metadata, parent=self, resources=resources
                ),
            )
            return TemplateExporter.from_notebook_node(self, nb, resources, **kw)

    return CommitteeExporter(
        template_name="committee",
        extra_template_basedirs=[str(TEMPLATES)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        exclude_markdown=True,
        exclude_raw=True,
        exclude_unknown=True,
        embed_images=True,
    )


def _run_one(
    analysis: str, out_dir: Path, nb_dir: Path, params: dict[str, Any], km: Any, exporter: Any
) -> Path:
    import papermill as pm

    src = NOTEBOOKS / f"{analysis}.ipynb"
    executed = nb_dir / src.name
    nb = pm.execute_notebook(
        str(src),
        str(executed),
        parameters=params,
        kernel_name="python3",
        log_output=False,
        progress_bar=False,
        request_save_on_cell_execute=False,
        cwd=str(ROOT),
        km=km,
    )
    info = definitions()["analyses"][analysis]
    body, _ = exporter.from_notebook_node(
        nb,
        resources={
            "page_title": f"{info['title']}, {params['period_start']} to {params['period_end']}: "
            "Children and Family Services",
            "page_css": page_css(),
            "page_footer": _footer(params),
        },
    )
    page = out_dir / info["file"]
    page.write_text(body, encoding="utf-8")
    return page


def _footer(params: dict[str, Any]) -> str:
    return (
        f"Children and Family Services performance report. Figures for "
        f"{params['period_start']} to {params['period_end']}, data as at "
        f"{params['data_as_at']}; produced {params['run_date']} by code version "
        f"{params['code_version']}."
    )


def write_index(
    out_dir: Path, metrics: Metrics, params: dict[str, Any], analyses: list[str]
) -> Path:
    """The index page: key messages, headline table, links to every page and the DQ report."""
    from pipelines.report import findings, page, sections
    from pipelines.report.data import RAG_RULE, load_reference
    from pipelines.report.tables import esc

    ref = load_reference()
    ctx = page.context(
        "index",
        params["out_dir"],
        params["period_start"],
        params["period_end"],
        params["data_as_at"],
        params["suppression_threshold"],
        params["raw_dir"],
        params["code_version"],
        params["run_date"],
        params["dq_statement"],
        metrics=metrics,
    )
    defs = definitions()["analyses"]
    parts = [
        '<header class="page-header">'
        "<h1>Children and Family Services: performance report for scrutiny committee</h1>"
        f'<p class="lede">Referrals, family support, re-referrals, child protection'
        f"{' and the workforce' if 'workforce' in analyses else ''} in Newport, "
        f"{esc(ctx.period_text)}.</p>"
        f'<p class="period">Data as at {esc(page._long_date(ctx.data_as_at))}. All figures are '
        "from the council's case management system; small numbers are withheld to protect "
        "children's privacy.</p></header>",
        '<section aria-labelledby="key-messages"><h2 id="key-messages">Key messages</h2>',
    ]
    for a in analyses:
        msgs = findings.key_messages(metrics, a, ref)
        if not msgs:
            continue
        parts.append(
            f"<h3>{esc(defs[a]['title'])}</h3><ul>"
            + "".join(f"<li>{esc(m)}</li>" for m in msgs)
            + "</ul>"
        )
    parts.append("</section>")
    items = []
    for a in analyses:
        items += sections.HEADLINES[a][:4] if a == "referrals" else sections.HEADLINES[a]
    parts.append(
        '<section aria-labelledby="headline"><h2 id="headline">Headline figures</h2>'
        + page.headline_table(
            metrics,
            ref,
            items,
            f"Headline figures, {ctx.period_text}, with the previous "
            "year, the Wales comparator and the status against target",
            params["period_end"],
        )
        + f'<p class="rule"><strong>How the status is set.</strong> {esc(RAG_RULE)} '
        "The previous year is the financial year before the one the period ends in, "
        "shown where the figure is counted by financial year.</p></section>"
    )
    links = "".join(
        f'<li><a href="{esc(defs[a]["file"])}">{esc(defs[a]["title"])}</a>: '
        f"{esc(defs[a]['summary'])}</li>"
        for a in analyses
    )
    links += (
        '<li><a href="data_quality.html">Data quality report</a>: every problem found in '
        "the extracts and how to fix it in the source system.</li>"
    )
    parts.append(
        f'<section aria-labelledby="pages"><h2 id="pages">The reports</h2>'
        f'<ul class="page-list">{links}</ul>'
    )
    if "workforce" not in analyses:
        parts.append(
            '<p class="notice">The workforce extracts (posts and leavers) were not '
            "supplied for this run, so there is no workforce page.</p>"
        )
    parts.append("</section>")
    parts.append(page.legend(ctx).data)
    parts.append(
        '<section aria-labelledby="data-quality"><h2 id="data-quality">Data quality</h2>'
        + page.dq_html(ctx.dq_statement, [])
        + '<p>See the <a href="data_quality.html">data quality report</a>.</p></section>'
    )
    parts.append(
        page.provenance(ctx).data.replace(
            "notebooks/index.ipynb (executed copy kept beside this page)",
            "one notebook per page; executed copies are in the notebooks folder",
        )
    )
    html = (
        '<!DOCTYPE html>\n<html lang="en-GB">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>Performance report, {esc(params['period_start'])} to "
        f"{esc(params['period_end'])}: Children and Family Services</title>\n"
        f"<style>\n{page_css()}\n</style>\n</head>\n<body>\n"
        '<a class="skip-link" href="#main">Skip to main content</a>\n<main id="main">\n'
        + "\n".join(parts)
        + f'\n</main>\n<footer class="page-footer"><p>{esc(_footer(params))}</p></footer>\n'
        "</body>\n</html>\n"
    )
    path = out_dir / "index.html"
    path.write_text(html, encoding="utf-8")
    return path

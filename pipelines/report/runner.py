"""The notebook kernels: papermill runs the notebooks (in-process, concurrently) and nbconvert
renders each executed notebook into a page through ``templates/committee``.

How it runs, and why:

* papermill is called as a library, never through its CLI (a CLI start costs about 2 s).
* Two worker threads each start **one** kernel and run their share of the notebooks in it, one
  after the other (papermill passes ``km`` through to nbclient, which then leaves the kernel
  running): the kernel start and the imports (Altair, about 1.5 s) are paid once per worker,
  not once per notebook. The notebooks are independent (each builds its own ``ctx``).
* The summary (``index.html``) is written in a kernel as well, after the notebooks: its charts
  need Altair and vl-convert, which only the kernels load.
* Each executed notebook is kept in ``out_dir/notebooks/`` with its injected parameters (the
  audit trail) and converted to HTML by nbconvert through ``templates/committee``: classic cell
  layout, no input cells, no prompts, no scripts, no CDN links, CSS inlined.
"""

from __future__ import annotations

import atexit
import os
import queue
import tempfile
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pipelines import ROOT, gc_policy
from pipelines.errors import PipelineError
from pipelines.report.markup import TEMPLATES, page_css, page_title
from pipelines.report.params import ReportParameters
from pipelines.report.spec import pages

NOTEBOOKS = ROOT / "notebooks"
#: The job that writes ``index.html``, the committee summary, in a kernel: its charts need Altair
#: and vl-convert, which the kernels have loaded already (about 1 s of CPU each time a process
#: loads them), so the main process never imports them.
SUMMARY = "index"
WORKERS = int(os.environ.get("PIPELINES_REPORT_WORKERS", "2"))  # one kernel per worker


class Workers:
    """Worker threads, each owning one kernel, started (and warmed) before there is work.

    Each thread starts its kernel at once and has it import the report package and initialise
    vl-convert (fire and forget) while the thread imports papermill and nbconvert; it then waits
    for jobs. ``now`` threads start at once and the others on ``start()`` (a run boots one
    kernel beside ingest, which keeps both cores busy, and the other beside validation, which
    uses one). One batch per instance: ``submit`` hands out the notebooks, ``wait`` collects the
    pages, and the kernels shut down.
    """

    def __init__(self, n: int = WORKERS, now: int | None = None):
        self.n = max(1, n)
        self._jobs: queue.Queue[tuple[str, ReportParameters, list[str]] | None] = queue.Queue()
        self.pages: dict[str, Path] = {}
        self.errors: list[BaseException] = []
        self._cv = threading.Condition()
        self._done = 0
        self._alive = self.n
        self._used = False
        self._analyses: list[str] = []
        self._threads = [
            threading.Thread(target=self._work, name=f"report-kernel-{i}", daemon=True)
            for i in range(self.n)
        ]
        self._started = 0
        self.start(now)

    def start(self, k: int | None = None) -> None:
        """Start worker threads (each boots its kernel) up to ``k`` in all, or all of them."""
        k = self.n if k is None else min(k, self.n)
        while self._started < k:
            self._threads[self._started].start()
            self._started += 1

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
                analysis, params, annex = job
                try:
                    if analysis == SUMMARY:
                        self.pages[analysis] = _write_summary(km, params, annex)
                    else:
                        self.pages[analysis] = _run_one(analysis, params, km, exporter)
                except Exception as exc:  # noqa: BLE001 - reported by run() after the batch
                    exc.kernel_log = _tail(log)  # type: ignore[attr-defined]
                    # the executed notebook, for pipelines.run to keep outside the folder
                    exc.notebook = params.out_path / "notebooks" / f"{analysis}.ipynb"  # type: ignore[attr-defined]
                    self.errors.append(exc)
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

    def submit(self, analyses: Sequence[str], params: ReportParameters) -> None:
        """Hand out the notebooks, then the summary, and return at once (``wait`` collects the
        pages). The longest notebooks come first in ``pages.yaml``; the summary, last, goes to
        whichever kernel is free first."""
        self._used = True
        self.start()
        self._analyses = [*analyses, SUMMARY]
        (params.out_path / "notebooks").mkdir(parents=True, exist_ok=True)
        for a in self._analyses:
            self._jobs.put((a, params, list(analyses)))
        for _ in self._threads:
            self._jobs.put(None)  # each worker stops after the last job

    def wait(self) -> dict[str, Path]:
        """Wait for the notebooks handed out by ``submit``; return analysis -> page."""
        analyses = self._analyses
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
        for th in self._threads[: self._started]:
            th.join(timeout=30)

    def abandon(self) -> None:
        """At the exit of a run that stopped before its pages (bad input): do not wait for kernels
        still booting. Each kernel exits by itself when this process ends (ipykernel watches its
        parent), so a failed run ends at once."""
        if self._used:
            return
        for _ in self._threads:
            self._jobs.put(None)
        for th in self._threads[: self._started]:
            th.join(timeout=0.5)


_prestarted: Workers | None = None


def warm_up(workers: int = WORKERS) -> None:
    """Boot the report kernels in the background, so they are ready when the pages are
    rendered: the first call boots one (at the start of a run, beside ingest), the next call
    the others (beside validation, which leaves a core free)."""
    global _prestarted
    if _prestarted is None:
        _prestarted = Workers(workers, now=1)
        atexit.register(_prestarted.abandon)  # a run that stops before rendering
    else:
        _prestarted.start()


def start_pages(
    analyses: Sequence[str], params: ReportParameters, workers: int = WORKERS
) -> Workers:
    """Start the notebooks on worker threads, one kernel each, and return at once: the caller
    writes the pages made in this process meanwhile, then calls ``wait()`` for these."""
    global _prestarted
    pool, _prestarted = _prestarted, None
    if pool is None:
        pool = Workers(min(workers, len(analyses)))
    pool.submit(analyses, params)
    return pool


def _send(km: Any, code: str) -> Callable[[], dict[str, Any]]:
    """Have the kernel run ``code``; returns a function that waits for the kernel's reply (so
    this thread can work meanwhile) and returns its content (``status``, ``ename``, ``evalue``)."""
    kc = km.blocking_client()
    # shell only: no heartbeat thread or extra sockets for one request
    kc.start_channels(shell=True, iopub=False, stdin=False, hb=False, control=False)
    try:
        kc.wait_for_ready(timeout=120)
        msg_id = kc.execute(code, silent=True, store_history=False)
    except BaseException:
        kc.stop_channels()
        raise

    def reply() -> dict[str, Any]:
        try:
            while True:
                msg = kc.get_shell_msg(timeout=600)
                if msg["parent_header"].get("msg_id") == msg_id:
                    return dict(msg["content"])
        finally:
            kc.stop_channels()

    return reply


def _warm_up(km: Any) -> Callable[[], object]:
    """Have the kernel set the collector's thresholds, import the report package and warm it
    (``markup.warm``: templates, pages.yaml, vl-convert); returns a function that waits for
    that (this thread imports papermill and nbconvert meanwhile)."""
    return _send(
        km,
        f"{gc_policy.KERNEL_CODE}\nimport pipelines.report.markup\npipelines.report.markup.warm()",
    )


def _write_summary(km: Any, params: ReportParameters, annex: Sequence[str]) -> Path:
    """Write ``index.html`` in the kernel, from the same parameters the notebooks get."""
    reply = _send(
        km,
        "from pipelines.report.markup import write_summary\n"
        f"write_summary({params.to_notebook()!r}, {list(annex)!r})",
    )()
    if reply.get("status") != "ok":
        raise PipelineError(
            f"the summary (index.html) stopped with {reply.get('ename', 'an error')}: "
            f"{reply.get('evalue', '')}"
        )
    return params.out_path / "index.html"


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
    said = str(exc) if isinstance(exc, PipelineError) else f"{name}: {exc}"
    return said + (f"\nThe notebook kernel reported:\n{log}" if log else "")


def _exporter() -> Any:
    from nbconvert import HTMLExporter
    from nbconvert.exporters.templateexporter import TemplateExporter
    from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter

    class CommitteeExporter(HTMLExporter):
        """HTMLExporter without its BeautifulSoup pass (about 1 s a page here): that pass only
        adds alt text to images without one and tabindex to JupyterLab cells, and these pages
        have neither (charts are inline SVG with their own text alternative)."""

        def from_notebook_node(self, nb, resources=None, **kw):
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
        extra_template_paths=[str(TEMPLATES)],  # the shared shell.html.j2
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        exclude_markdown=True,
        exclude_raw=True,
        exclude_unknown=True,
        embed_images=True,
    )


def _run_one(analysis: str, params: ReportParameters, km: Any, exporter: Any) -> Path:
    """Execute one notebook with the run's parameters (kept in the executed copy, the audit
    trail) and write its page."""
    import papermill as pm

    src = NOTEBOOKS / f"{analysis}.ipynb"
    nb = pm.execute_notebook(
        str(src),
        str(params.out_path / "notebooks" / src.name),
        parameters=params.to_notebook(),
        kernel_name="python3",
        log_output=False,
        progress_bar=False,
        request_save_on_cell_execute=False,
        cwd=str(ROOT),
        km=km,
    )
    info = pages()[analysis]
    body, _ = exporter.from_notebook_node(
        nb,
        resources={
            "page_title": page_title(params, info["title"]),
            "page_css": page_css(),
            "page_footer": params.footer_text,
        },
    )
    page = params.out_path / info["file"]
    page.write_text(body, encoding="utf-8")
    return page

"""Committee pages: papermill runs ``notebooks/*.ipynb`` in-process and concurrently, nbconvert
renders them offline (no scripts, no CDN) and ``index.html`` links them. README.md says what
lives where.

Public pages read only ``metrics_public.csv`` (suppressed), never ``metrics.csv``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipelines.config import RunConfig

__all__ = ["render_reports", "warm_up"]


def render_reports(out_dir: Path, config: RunConfig, dq_statement: dict[str, Any]) -> list[Path]:
    """Write one HTML page per analysis (the annex), ``index.html`` (the committee summary) and
    ``about.html`` (symbols, terms, definitions, data quality, provenance) into ``out_dir``;
    return the paths (the summary first, the about page last). Workforce has a page only when
    its figures exist (optional extracts)."""
    import json

    from pipelines import code_version
    from pipelines.errors import PipelineError
    from pipelines.report.blocks import Page
    from pipelines.report.markup import write_about
    from pipelines.report.model import load_public
    from pipelines.report.params import ReportParameters, run_date
    from pipelines.report.runner import SUMMARY, start_pages
    from pipelines.report.spec import pages

    public = Path(out_dir) / "metrics_public.csv"
    if not public.exists():
        raise PipelineError(
            f"{public} is missing: the committee pages are built from it. Run the whole "
            "pipeline (python -m pipelines report) so the metrics stage writes it."
        )
    params = ReportParameters.from_config(
        config,
        out_dir=Path(out_dir),
        code_version=code_version(),
        run_date=run_date(),
        dq_statement=json.loads(json.dumps(dq_statement or {}, default=str)),  # plain literals
    )
    metrics = load_public(Path(out_dir))
    todo = [a for a in pages() if a != "workforce" or metrics.has("workforce")]
    notebooks = start_pages(todo, params)  # the annex pages, then the summary (index.html)
    # the about page (no charts) is written here while the kernels work
    about = write_about(Page.open("index", params, metrics), todo)
    done = notebooks.wait()
    return [done[SUMMARY]] + [done[a] for a in todo] + [about]


def warm_up() -> None:
    """Boot the notebook kernels in the background (they boot while earlier stages run);
    ``render_reports`` then uses them. The first call boots one kernel, the next the others
    (``runner.warm_up``). Optional: without it, kernels start when rendering."""
    from pipelines.report.runner import warm_up as start

    start()

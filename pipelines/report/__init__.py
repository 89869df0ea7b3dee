"""Committee pages: papermill runs ``notebooks/*.ipynb`` in-process and concurrently, nbconvert
renders them offline (no scripts, no CDN) and ``index.html`` links them.

Public pages read only ``metrics_public.csv`` (suppressed), never ``metrics.csv``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipelines.config import RunConfig

__all__ = ["render_reports", "warm_up"]


def render_reports(out_dir: Path, config: RunConfig, dq_statement: dict) -> list[Path]:
    """Write one HTML page per analysis plus ``index.html`` into ``out_dir``; return the paths."""
    from pipelines.report.render import render_reports as _render

    return _render(out_dir, config, dq_statement)


def warm_up() -> None:
    """Start the notebook kernels in the background now (they boot while earlier stages run);
    ``render_reports`` then uses them. Optional: without it, kernels start when rendering."""
    from pipelines.report.render import warm_up as _warm_up

    _warm_up()

"""The report stage's parameters: one object, built from the run's ``RunConfig``.

Every notebook receives these fields through papermill (``to_notebook()`` gives the literals) and
declares the same names, with ``config/run.yaml``'s values as defaults, in its parameters cell;
tests/test_report.py fails when a notebook's defaults disagree with the config or with the fields
here. Nothing else lists the run parameters.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines import ROOT, __version__

if TYPE_CHECKING:
    from pipelines.config import RunConfig


#: Fields a notebook leaves blank by default (filled from config/run.yaml's ``council:``).
COUNCIL_FIELDS = ("council", "comparator", "service", "footer")


@dataclasses.dataclass(frozen=True)
class ReportParameters:
    """What one page needs to know about the run (all literals: strings, ints, a dict)."""

    out_dir: str  # folder holding metrics_public.csv; the pages are written beside it
    period_start: str  # first day of the reporting period, YYYY-MM-DD
    period_end: str  # last day of the reporting period, YYYY-MM-DD
    data_as_at: str  # date the extract was taken, YYYY-MM-DD
    suppression_threshold: int  # counts from 1 to this value are withheld in public outputs
    raw_dir: str  # folder holding the extracts (provenance only)
    council: str  # the council the figures are for (council.name)
    comparator: str  # the area whose benchmarks are shown beside them (council.comparator)
    service: str  # the service reported on, used in page titles (council.service)
    footer: str  # the page footer's opening text (council.footer)
    code_version: str = "unknown"  # git describe of the code that produced the figures
    run_date: str = ""  # when the run happened, ISO date and time (provenance only)
    dq_statement: dict[str, Any] = dataclasses.field(default_factory=dict)  # the DQ statement

    @classmethod
    def from_config(
        cls, config: RunConfig, out_dir: Path | None = None, **run: Any
    ) -> ReportParameters:
        """The parameters of a run; ``out_dir`` overrides the config's (the staging folder)."""
        return cls(
            out_dir=_portable(out_dir or config.out_dir),
            period_start=config.period_start.isoformat(),
            period_end=config.period_end.isoformat(),
            data_as_at=config.data_as_at.isoformat(),
            suppression_threshold=int(config.suppression_threshold),
            raw_dir=_portable(config.raw_dir),
            council=config.council.name,
            comparator=config.council.comparator,
            service=config.council.service,
            footer=config.council.footer,
            **run,
        )

    @classmethod
    def from_namespace(cls, namespace: Mapping[str, Any]) -> ReportParameters:
        """The parameters a notebook holds as variables (its parameters cell, as papermill set
        them): every field is picked by name, so the notebook lists nothing again. The council
        fields are blank in a notebook's own defaults (no council is named in the code) and are
        then taken from config/run.yaml, as a run passes them."""
        values = {f.name: namespace[f.name] for f in dataclasses.fields(cls)}
        if not all(values[k] for k in COUNCIL_FIELDS):
            from pipelines.config import load_config

            council = dataclasses.asdict(load_config().council)
            values.update(
                {k: values[k] or council["name" if k == "council" else k] for k in COUNCIL_FIELDS}
            )
        return cls(**values)

    def to_notebook(self) -> dict[str, Any]:
        """Papermill parameters: plain literals (the DQ statement as JSON types)."""
        return dataclasses.asdict(self)

    @property
    def out_path(self) -> Path:
        """``out_dir`` as a path (relative paths are inside the repository)."""
        return ROOT / self.out_dir

    @property
    def footer_text(self) -> str:
        return (
            f"{self.footer} Figures for {self.period_start} to {self.period_end}, data as at "
            f"{self.data_as_at}; produced {self.run_date} by code version {self.code_version}."
        )


def _portable(path: Path | str) -> str:
    """A path relative to the repository when it is inside it (notebooks run with the repository
    as working directory), so no page or executed notebook carries the machine's folders."""
    p = Path(path)
    try:
        return p.resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return str(p)


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
        if out.stdout.strip():
            return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return f"pipelines {__version__}"


def run_date() -> str:
    return dt.datetime.now().replace(microsecond=0).isoformat(sep=" ")

"""The report stage's parameters: one object, built from the run's ``RunConfig``.

Every notebook receives these fields through papermill (``to_notebook()`` gives the literals) and
declares the same names, with ``config/run.yaml``'s values as defaults, in its parameters cell,
written from here by ``python -m pipelines.report.params``; tests/test_report.py fails when a
notebook's defaults disagree with the config or with the fields here.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines import ROOT

if TYPE_CHECKING:
    from pipelines.config import RunConfig


#: Fields a notebook leaves blank by default (filled from config/run.yaml's ``council:``).
COUNCIL_FIELDS = ("council", "comparator", "service", "footer")


def _field(help_: str, **kw: Any) -> Any:
    """A field with the comment its notebook parameter carries."""
    return dataclasses.field(metadata={"help": help_}, **kw)


@dataclasses.dataclass(frozen=True)
class ReportParameters:
    """What one page needs to know about the run (all literals: strings, ints, a dict)."""

    out_dir: str = _field("folder of metrics_public.csv and the pages")
    period_start: str = _field("first day of the reporting period, YYYY-MM-DD")
    period_end: str = _field("last day of the reporting period, YYYY-MM-DD")
    data_as_at: str = _field("date the extract was taken, YYYY-MM-DD")
    suppression_threshold: int = _field("counts from 1 to this value are withheld in public")
    raw_dir: str = _field("folder holding the extracts (provenance only)")
    council: str = _field("blank: config/run.yaml, council.name")
    comparator: str = _field("blank: config/run.yaml, council.comparator")
    service: str = _field("blank: config/run.yaml, council.service")
    footer: str = _field("blank: config/run.yaml, council.footer")
    code_version: str = _field("git describe of the code that made the figures", default="unknown")
    run_date: str = _field("when the run happened (provenance only)", default="")
    dq_statement: dict[str, Any] = _field("the run's data quality statement", default_factory=dict)

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
        """The footer of every page, its dates written as the pages write them (1 April 2012)."""
        from pipelines.report.prose import long_date

        start, end, as_at = (long_date(d) for d in (self.period_start, self.period_end,
                                                     self.data_as_at))  # fmt: skip
        run = self.run_date.split(" ")
        run_text = " ".join([long_date(run[0]), *run[1:]])
        return (
            f"{self.footer} Figures for {start} to {end}, data as at {as_at}; produced "
            f"{run_text} by code version {self.code_version}."
        )


def parameters_cell(config: RunConfig) -> str:
    """The source of every notebook's parameters cell: each field with the config's value (run
    values and the council left at their blank defaults) and its comment."""
    values = ReportParameters.from_config(config).to_notebook()
    lines = []
    for f in dataclasses.fields(ReportParameters):
        value = values[f.name] if f.default is dataclasses.MISSING else f.default
        if f.name in COUNCIL_FIELDS:
            value = ""
        elif f.default_factory is not dataclasses.MISSING:
            value = f.default_factory()
        kind = "dict" if isinstance(value, dict) else type(value).__name__
        lines.append(f"{f.name}: {kind} = {json.dumps(value)}  # {f.metadata['help']}")
    return "\n".join(lines)


def write_parameter_cells(config: RunConfig, folder: Path = ROOT / "notebooks") -> list[Path]:
    """Rewrite the parameters cell of every notebook (after a field or config/run.yaml changed):
    ``python -m pipelines.report.params``."""
    source = parameters_cell(config).splitlines(keepends=True)
    changed = []
    for path in sorted(folder.glob("*.ipynb")):
        nb = json.loads(path.read_text(encoding="utf-8"))
        cell = next(c for c in nb["cells"] if "parameters" in c["metadata"].get("tags", []))
        if cell["source"] != source:
            cell["source"] = source
            path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
            changed.append(path)
    return changed


def _portable(path: Path | str) -> str:
    """A path relative to the repository when it is inside it (notebooks run with the repository
    as working directory), so no page or executed notebook carries the machine's folders."""
    p = Path(path)
    try:
        return p.resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return str(p)


def run_date() -> str:
    return dt.datetime.now().replace(microsecond=0).isoformat(sep=" ")


if __name__ == "__main__":
    from pipelines.config import load_config

    for written in write_parameter_cells(load_config()):
        print(f"updated {written.relative_to(ROOT)}")

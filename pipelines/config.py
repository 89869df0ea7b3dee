"""Run configuration: loaded once at the edge (the CLI) and passed down as a ``RunConfig``."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from pathlib import Path
from typing import Any

import yaml

from pipelines import ROOT
from pipelines.errors import PipelineError

DEFAULTS_FILE = ROOT / "config" / "run.yaml"


@dataclasses.dataclass(frozen=True)
class Council:
    """Who the pages are for (config/run.yaml ``council:``; ``--council`` sets the name)."""

    name: str = ""  # e.g. the council's short name, shown on every page
    comparator: str = ""  # area of the reference/benchmarks.csv rows shown beside its figures
    service: str = ""  # the service reported on, in page titles
    footer: str = ""  # opening text of every page footer ({council} is replaced by the name)


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """Everything a run needs to know; business functions take it (or parts) as arguments."""

    raw_dir: Path
    db_path: Path
    period_start: dt.date
    period_end: dt.date
    data_as_at: dt.date
    suppression_threshold: int
    out_dir: Path
    dq_dir: Path
    key_file: Path
    #: Where ``key_file`` came from, for messages about the key ("set by PIPELINES_KEY_FILE").
    key_source: str = "key_file in config/run.yaml"
    #: ``--new-key``: accept a key other than the one that built the existing warehouse (or
    #: create one when the key file is missing); every pseudonym then changes.
    new_key: bool = False
    council: Council = dataclasses.field(default_factory=Council)


def _date(name: str, value: Any) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise PipelineError(
            f"{name} = {value!r} is not a date: give it as YYYY-MM-DD, e.g. 2012-04-01."
        ) from None


def _path(value: Any) -> Path:
    p = Path(str(value)).expanduser()
    return p if p.is_absolute() else ROOT / p


def load_config(
    overrides: dict[str, Any] | None = None, defaults_file: Path = DEFAULTS_FILE
) -> RunConfig:
    """Read ``config/run.yaml`` and apply overrides (``None`` values are ignored)."""
    with open(defaults_file, encoding="utf-8") as fh:
        raw: dict[str, Any] = yaml.safe_load(fh) or {}
    for key, value in (overrides or {}).items():
        if value is not None and value != "":
            raw[key] = value
    shown = defaults_file.relative_to(ROOT) if defaults_file.is_relative_to(ROOT) else defaults_file
    key_source = f"key_file in {shown}"
    if (overrides or {}).get("key_file"):
        key_source = "key_file given to this run"
    if os.environ.get("PIPELINES_KEY_FILE"):
        raw["key_file"] = os.environ["PIPELINES_KEY_FILE"]
        key_source = "set by PIPELINES_KEY_FILE"

    start = _date("period_start", raw["period_start"])
    end = _date("period_end", raw["period_end"])
    as_at = _date("data_as_at", raw["data_as_at"])
    if end < start:
        raise PipelineError(f"period_end {end} is before period_start {start}: swap them.")
    if as_at < end:
        raise PipelineError(
            f"data_as_at {as_at} is before period_end {end}: "
            "the extract must be taken after the period."
        )
    try:
        threshold = int(raw["suppression_threshold"])
    except (TypeError, ValueError):
        raise PipelineError("suppression_threshold must be a whole number, e.g. 4.") from None
    if threshold < 0:
        raise PipelineError("suppression_threshold must be 0 or more.")
    out = raw.get("out_dir") or f"reports/{start.isoformat()}_{end.isoformat()}"
    council = raw.get("council") or {}
    name = str(raw.get("council_name") or council.get("name") or "").strip()  # --council wins
    if not name:
        raise PipelineError(
            f"{defaults_file} has no council name (council: name:): give the council's name "
            "there, or on the command line with --council."
        )
    return RunConfig(
        raw_dir=_path(raw["raw_dir"]),
        db_path=_path(raw["db_path"]),
        period_start=start,
        period_end=end,
        data_as_at=as_at,
        suppression_threshold=threshold,
        out_dir=_path(out),
        dq_dir=_path(raw["dq_dir"]),
        key_file=_path(raw["key_file"]),
        key_source=key_source,
        # from the command line only: kept in run.yaml it would switch the key check off for good
        new_key=bool((overrides or {}).get("new_key")),
        council=Council(
            name=name,
            comparator=str(council.get("comparator") or ""),
            service=str(council.get("service") or ""),
            footer=str(council.get("footer") or "").replace("{council}", name),
        ),
    )

"""Reproducible analytical pipeline for a council's Children and Family Services.

Stages follow the data flow: ``generate`` (synthetic sample) -> ``ingest`` (raw extracts to DuckDB)
-> ``validate`` (Great Expectations rules, data quality report) -> ``transform`` (metrics in SQL)
-> ``report`` (papermill notebooks rendered to offline HTML). ``run`` wires them together and
``__main__`` is the one command-line entry point.
"""

import subprocess
from pathlib import Path

__version__ = "0.1.0"

#: The repository root: every default path is anchored here, not to the working directory.
ROOT = Path(__file__).resolve().parent.parent


def code_version() -> str:
    """``git describe --always --dirty`` of the repository (provenance of the warehouse and the
    pages), or ``pipelines <version>`` where git or the repository is not available."""
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

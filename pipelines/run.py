"""One run of the pipeline: ingest -> validate -> metrics -> pages, built aside and swapped in.

Nothing the previous run left is touched until the new warehouse and reports are complete: the
warehouse is built in a temporary file beside the live one and the report folder in a temporary
folder beside its target; both are swapped in with ``os.replace`` only on success.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pipelines.config import RunConfig
from pipelines.errors import ValidationFailed


class Progress:
    """Prints each step with its elapsed time, so a long run is never silent."""

    def __init__(self) -> None:
        self.t0 = time.perf_counter()

    @contextmanager
    def step(self, text: str) -> Iterator[None]:
        print(f"  {text} ...", end="", flush=True)
        t = time.perf_counter()
        try:
            yield
        except BaseException:
            print(" failed", flush=True)
            raise
        print(f" done ({time.perf_counter() - t:.1f} s)", flush=True)

    def total(self) -> float:
        return time.perf_counter() - self.t0


def _swap_dir(new: Path, target: Path) -> None:
    """Replace folder ``target`` by ``new``, keeping ``target`` intact until the last step."""
    old = target.with_name(f".{target.name}.old-{uuid.uuid4().hex[:8]}")
    if target.exists():
        os.replace(target, old)
    os.replace(new, target)
    shutil.rmtree(old, ignore_errors=True)


def run(config: RunConfig, until: str = "report") -> int:
    """Run the stages up to ``until`` (ingest, validate or report); return the exit code."""
    import duckdb

    from pipelines.ingest import ingest

    progress = Progress()
    if until == "report":
        from pipelines.report import warm_up

        warm_up()  # notebook kernels boot on the other core while ingest and validation run
    run_id = dt.datetime.now().strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
    print(f"Run {run_id}: {config.raw_dir} -> {config.db_path}")
    config.db_path.parent.mkdir(parents=True, exist_ok=True)
    building = config.db_path.with_name(f".{config.db_path.name}.building-{run_id}")
    try:
        with progress.step("Ingesting extracts"):
            summary = ingest(config.raw_dir, building, config.key_file, run_id)
        print(summary.describe())
        if until == "ingest":
            os.replace(building, config.db_path)
            print(f"Warehouse: {config.db_path} ({progress.total():.1f} s)")
            return 0

        from pipelines.validate import validate, write_dq_report

        con = duckdb.connect(str(building))
        try:
            with progress.step("Validating (Great Expectations)"):
                result = validate(con, config)
            with progress.step("Writing the data quality report"):
                dq_paths = write_dq_report(result, con, config, config.dq_dir)
        finally:
            con.close()
        print(result.describe())
        print(f"Data quality report: {dq_paths[0]}")
        if result.n_errors:
            raise ValidationFailed(
                f"{result.n_errors} error(s) in the extracts: no report was written and the "
                "previous warehouse and reports are as they were.\nOpen the data quality report "
                f"for every problem and how to fix it: {dq_paths[0]}"
            )
        os.replace(building, config.db_path)
        if until == "validate":
            print(f"Validation passed ({progress.total():.1f} s).")
            return 0

        from pipelines.report import render_reports
        from pipelines.transform import compute_metrics, suppress, write_metrics

        config.out_dir.parent.mkdir(parents=True, exist_ok=True)
        staging = config.out_dir.with_name(f".{config.out_dir.name}.building-{run_id}")
        staging.mkdir()
        try:
            con = duckdb.connect(str(config.db_path), read_only=True)
            try:
                with progress.step("Computing every figure"):
                    metrics = compute_metrics(con, config)
                    write_metrics(metrics, staging / "metrics.csv")
                    write_metrics(
                        suppress(metrics, config.suppression_threshold),
                        staging / "metrics_public.csv",
                    )
            finally:
                con.close()
            for p in dq_paths:
                shutil.copy2(p, staging / p.name)
            with progress.step("Rendering the committee pages"):
                render_reports(staging, config, result.statement())
            _swap_dir(staging, config.out_dir)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        print(f"\nOK: reports in {config.out_dir} ({progress.total():.1f} s)")
        print(f"  open {config.out_dir / 'index.html'}")
        return 0
    finally:
        for leftover in (building, building.with_name(building.name + ".wal")):
            if leftover.exists():
                leftover.unlink()
        sys.stdout.flush()

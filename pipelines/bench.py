"""Benchmark (``make bench``): each stage's time and peak memory at 1, 10 and 100 x the sample.

The data sets are made once with the project's own generator into ``.cache/bench/scale<N>/raw``
and reused. Each measurement runs in a fresh child process, so its time includes that stage's
imports and its peak memory (max RSS, DuckDB included) is its own. At each scale ingest and a bare
DuckDB ``read_csv`` of the same files run alternately, run by run, so their ratio is measured in
the same conditions (a busy machine slows both). Medians of ``repeat`` runs are quoted; the last
table divides each stage's time by the data's size, so a cost that does not grow in proportion to
the data (a fixed cost, or worse than linear) shows at a glance.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from pipelines import ROOT

CACHE = ROOT / ".cache" / "bench"
STAGES = ("duckdb_read", "ingest", "validate", "metrics", "pipeline")
#: The issue's targets at 100 x the sample (seconds, MB, ratio).
TARGETS = {"pipeline_s": 45.0, "validate_s": 15.0, "peak_mb": 1024.0, "ingest_ratio": 2.5}


def _dataset(scale: float) -> Path:
    raw = CACHE / f"scale{scale:g}" / "raw"
    done = raw / ".complete"
    if not done.exists():
        from pipelines.generate import generate_sample

        print(f"Generating the scale {scale:g} data set once into {raw} ...", flush=True)
        t = time.perf_counter()
        generate_sample(out_dir=raw, scale=scale)
        done.write_text("ok\n")
        print(f"  generated in {time.perf_counter() - t:.1f} s", flush=True)
    return raw


# --- measurements, each run in a child process: python -m pipelines.bench <stage> <workdir> ---


def _stage(stage: str, work: Path) -> dict[str, float]:
    import duckdb

    from pipelines.config import load_config

    raw = work / "raw"
    config = load_config(
        {
            "raw_dir": str(raw),
            "db_path": str(work / "warehouse.duckdb"),
            "out_dir": str(work / "reports"),
            "dq_dir": str(work / "data_quality"),
            "key_file": str(work / "bench.key"),
        }
    )
    t = time.perf_counter()
    cpu = _cpu_seconds()
    extra: dict[str, float] = {}
    if stage == "duckdb_read":
        con = duckdb.connect(str(work / "read_bench.duckdb"))
        rows = 0
        for f in sorted(raw.glob("*.csv")):
            con.execute(f"CREATE OR REPLACE TABLE t AS SELECT * FROM read_csv('{f.as_posix()}')")
            (count,) = con.execute("SELECT count(*) FROM t").fetchall()[0]
            rows += count
        con.close()
        (work / "read_bench.duckdb").unlink(missing_ok=True)
        extra["rows"] = rows
    elif stage == "ingest":
        from pipelines.ingest import ingest

        db = work / "ingest_bench.duckdb"
        db.unlink(missing_ok=True)
        ingest(raw, db, config.key_file, "bench")
    elif stage == "validate":
        from pipelines.validate import validate

        con = duckdb.connect(str(work / "ingest_bench.duckdb"), read_only=True)
        result = validate(con, config)
        extra["findings"] = len(result.findings)
        extra.update({f"v_{k}": v for k, v in result.timings.items()})
    elif stage == "metrics":
        from pipelines.transform import compute_metrics

        con = duckdb.connect(str(work / "ingest_bench.duckdb"), read_only=True)
        extra["figures"] = len(compute_metrics(con, config))
    elif stage == "pipeline":
        from pipelines.run import run

        rc = run(config, until="report")
        extra["exit_code"] = rc
    else:
        raise SystemExit(f"unknown stage {stage}")
    seconds = time.perf_counter() - t
    return {"seconds": seconds, "cpu": _cpu_seconds() - cpu, "peak_mb": _peak_rss_mb(), **extra}


def _cpu_seconds() -> float:
    """CPU time of this process, every thread (DuckDB's included), and children already waited
    for (the report kernels are still shutting down when a stage ends: not counted). On a
    machine others share, wall time varies with their load and CPU much less, so the two side by
    side show whether a change saved work or the machine was quieter."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _peak_rss_mb() -> float:
    """This process's high-water resident memory (DuckDB included). VmHWM, not ru_maxrss: on
    Linux ru_maxrss carries over the parent's peak through fork and exec."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # macOS/other: best effort


def _measure(stage: str, work: Path) -> dict[str, float]:
    """One stage in a child process; its wall time as seen from outside (interpreter start and
    imports included) is ``wall``, the stage's own ``seconds``."""
    t = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "pipelines.bench", stage, str(work)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        raise RuntimeError(
            f"bench stage {stage} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        )
    return {**json.loads(proc.stdout.strip().splitlines()[-1]), "wall": wall}


def _med(runs: list[dict[str, float]], key: str) -> float:
    return statistics.median(r.get(key, 0.0) for r in runs)


def bench_scale(scale: float, repeat: int) -> dict[str, list[dict[str, float]]]:
    """Every stage ``repeat`` times at one scale: read_csv and ingest alternate, run by run."""
    raw = _dataset(scale)
    work = raw.parent
    size_mb = sum(f.stat().st_size for f in raw.glob("*.csv")) / 1e6
    print(f"\nScale {scale:g}: {size_mb:.1f} MB of CSV in {raw}", flush=True)
    results: dict[str, list[dict[str, float]]] = {s: [] for s in STAGES}
    plan = [s for _ in range(repeat) for s in ("duckdb_read", "ingest")]
    plan += [s for _ in range(repeat) for s in ("validate", "metrics", "pipeline")]
    for stage in plan:
        r = _measure(stage, work)
        results[stage].append(r)
        print(
            f"  {stage:12} {r['seconds']:6.1f} s (process {r['wall']:5.1f} s, "
            f"CPU {r.get('cpu', 0.0):5.1f} s), "
            f"peak {r['peak_mb']:5.0f} MB, load {os.getloadavg()[0]:.1f}",
            flush=True,
        )
    results["_size"] = [{"mb": size_mb, "rows": results["duckdb_read"][0]["rows"]}]
    return results


def bench(scales: tuple[float, ...] = (1.0, 10.0, 100.0), repeat: int = 3) -> int:
    load = os.getloadavg()
    print(
        f"Machine: {platform.machine()}, {os.cpu_count() or 0} cores, Python "
        f"{platform.python_version()}; load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} "
        f"at the start; median of {repeat} run(s) per stage"
    )
    every = {s: bench_scale(s, repeat) for s in scales}

    print("\nMedians: seconds inside the stage's process / peak resident memory (MB)")
    print(f"  {'stage':28}" + "".join(f"{f'x{s:g}':>18}" for s in scales))
    rows = [
        ("DuckDB read_csv alone", "duckdb_read"),
        ("ingest", "ingest"),
        ("validate", "validate"),
        ("metrics", "metrics"),
        ("whole pipeline (report)", "pipeline"),
    ]
    for label, stage in rows:
        cells = "".join(
            f"{_med(every[s][stage], 'seconds'):9.1f} s {_med(every[s][stage], 'peak_mb'):5.0f}MB"
            for s in scales
        )
        print(f"  {label:28}{cells}")
    ratio = {
        s: statistics.median(
            i["seconds"] / d["seconds"]
            for i, d in zip(every[s]["ingest"], every[s]["duckdb_read"], strict=True)
        )
        for s in scales
    }
    print(f"  {'ingest / read_csv (run by run)':28}" + "".join(f"{ratio[s]:18.2f}" for s in scales))
    cpu_ratio = {
        s: statistics.median(
            i.get("cpu", 0.0) / max(d.get("cpu", 0.0), 1e-9)
            for i, d in zip(every[s]["ingest"], every[s]["duckdb_read"], strict=True)
        )
        for s in scales
    }
    print(f"  {'  the same in CPU time':28}" + "".join(f"{cpu_ratio[s]:18.2f}" for s in scales))
    print("\nCPU seconds, medians (every thread of the stage's process; not the report kernels)")
    for label, stage in rows:
        cells = "".join(f"{_med(every[s][stage], 'cpu'):18.1f}" for s in scales)
        print(f"  {label:28}{cells}")

    print("\nValidation, medians in seconds (import = waiting for Great Expectations)")
    parts = [
        ("GX import", "v_gx_import_wait"),
        ("suites set up", "v_gx_setup"),
        ("read + to pandas", "v_gx_read_convert"),
        ("GX validate", "v_gx_validate"),
        ("findings collected", "v_gx_collect"),
        ("SQL rules", "v_sql"),
        ("total", "v_total"),
    ]
    for label, key in parts:
        print(f"  {label:28}" + "".join(f"{_med(every[s]['validate'], key):18.2f}" for s in scales))

    print("\nSeconds per million rows read (flat across scales = cost in proportion to the data)")
    for label, stage in rows:
        cells = ""
        for s in scales:
            rows_m = every[s]["_size"][0]["rows"] / 1e6
            cells += f"{_med(every[s][stage], 'seconds') / rows_m:18.1f}"
        print(f"  {label:28}{cells}")

    big = max(scales)
    if big >= 100:
        got = {
            "pipeline_s": _med(every[big]["pipeline"], "seconds"),
            "validate_s": _med(every[big]["validate"], "seconds"),
            "peak_mb": max(r["peak_mb"] for st in STAGES for r in every[big][st]),
            "ingest_ratio": ratio[big],
        }
        print(f"\nTargets at x{big:g}:")
        ok = True
        for key, limit in TARGETS.items():
            hit = got[key] <= limit
            ok &= hit
            print(f"  {key:14} {got[key]:8.2f}  (target <= {limit:g})  {'ok' if hit else 'MISSED'}")
        print("PASS: within targets" if ok else "MISS: a target was not met (see above)")
    return 0


if __name__ == "__main__":
    from pipelines import gc_policy

    gc_policy.tune()  # as ``python -m pipelines`` does
    print(json.dumps(_stage(sys.argv[1], Path(sys.argv[2]))))

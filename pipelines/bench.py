"""National-scale benchmark (``make bench``): prints timings and peak memory; not a timed test.

The data set (100 x the shipped sample by default, about a million DAT referrals) is generated once
into ``.cache/bench/scale<N>/`` and reused. Each measurement runs in a fresh child process, so its
peak memory (max RSS, DuckDB included) is its own. Medians of ``repeat`` runs are quoted.
"""

from __future__ import annotations

import json
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from pipelines import ROOT

CACHE = ROOT / ".cache" / "bench"


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
    extra: dict[str, float] = {}
    if stage == "duckdb_read":
        con = duckdb.connect()
        rows = 0
        for f in sorted(raw.glob("*.csv")):
            con.execute(f"CREATE TABLE t AS SELECT * FROM read_csv('{f.as_posix()}')")
            (count,) = con.execute("SELECT count(*) FROM t").fetchall()[0]
            rows += count
            con.execute("DROP TABLE t")
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
        extra["errors"], extra["warnings"] = result.n_errors, result.n_warnings
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
    peak_mb = _peak_rss_mb()
    return {"seconds": seconds, "peak_mb": peak_mb, **extra}


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
    proc = subprocess.run(
        [sys.executable, "-m", "pipelines.bench", stage, str(work)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    if proc.returncode != 0:
        raise RuntimeError(
            f"bench stage {stage} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def bench(scale: float = 100.0, repeat: int = 3) -> int:
    raw = _dataset(scale)
    work = raw.parent
    size_mb = sum(f.stat().st_size for f in raw.glob("*.csv")) / 1e6
    print(
        f"Machine: {platform.machine()}, {_cpus()} cores, {platform.python_version()}; "
        f"data: {size_mb:.0f} MB of CSV at scale {scale:g}; median of {repeat} run(s)"
    )

    results: dict[str, list[dict[str, float]]] = {}
    plan = [
        ("duckdb_read", repeat),
        ("ingest", repeat),
        ("validate", repeat),
        ("metrics", repeat),
        ("pipeline", 1),
    ]
    for stage, n in plan:
        for i in range(n):
            print(f"  {stage} run {i + 1}/{n} ...", end="", flush=True)
            r = _measure(stage, work)
            print(f" {r['seconds']:.1f} s, peak {r['peak_mb']:.0f} MB", flush=True)
            results.setdefault(stage, []).append(r)

    def med(stage: str, key: str = "seconds") -> float:
        return statistics.median(r[key] for r in results[stage])

    read_s, ingest_s = med("duckdb_read"), med("ingest")
    peak = max(r["peak_mb"] for rs in results.values() for r in rs)
    rows = results["duckdb_read"][0]["rows"]
    figures = results["metrics"][0]["figures"]
    print("\nResult (medians; peak = the stage's own high-water resident memory)")
    for label, stage, note in [
        ("DuckDB read_csv alone", "duckdb_read", f"{rows:,.0f} rows"),
        ("ingest", "ingest", f"ratio to read_csv {ingest_s / read_s:.2f} (target <= 3)"),
        ("validate", "validate", ""),
        ("metrics", "metrics", f"{figures:.0f} figures"),
        ("whole pipeline (report)", "pipeline", "target < 600 s"),
    ]:
        print(f"  {label:24} {med(stage):7.1f} s  peak {med(stage, 'peak_mb'):6.0f} MB  {note}")
    print(f"  peak memory, any stage  {peak:8.0f} MB (target < 8192 MB)")
    ok = ingest_s / read_s <= 3 and peak < 8192 and med("pipeline") < 600
    print("PASS: within targets" if ok else "MISS: a target was not met (see above)")
    return 0


def _cpus() -> int:
    import os

    return os.cpu_count() or 0


if __name__ == "__main__":
    print(json.dumps(_stage(sys.argv[1], Path(sys.argv[2]))))

"""The command-line entry point: ``python -m pipelines <verb>`` (``make <verb>`` calls this).

Stage modules are imported only when their verb runs, so ``--help`` and quick verbs stay fast.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Sequence

from pipelines import ROOT
from pipelines.errors import PipelineError, Terminated, UnexpectedError

RUN_VERBS = ("report", "validate", "ingest")


def _run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--raw-dir", help="folder holding the extracts (default: data/raw/sample)")
    p.add_argument("--period-start", help="first day of the reporting period, YYYY-MM-DD")
    p.add_argument("--period-end", help="last day of the reporting period, YYYY-MM-DD")
    p.add_argument("--as-at", dest="data_as_at", help="date the extract was taken, YYYY-MM-DD")
    p.add_argument("--out", dest="out_dir", help="folder for pages and metrics files")
    p.add_argument("--db", dest="db_path", help="DuckDB warehouse file")
    p.add_argument("--dq-dir", dest="dq_dir", help="folder for the data quality report")
    p.add_argument(
        "--threshold",
        dest="suppression_threshold",
        type=int,
        help="suppress counts from 1 to this value in public outputs (default 4)",
    )
    p.add_argument(
        "--new-key",
        dest="new_key",
        action="store_true",
        help="accept a pseudonymisation key other than the one that built the existing "
        "warehouse, or create one if the key file is missing: EVERY pseudonym changes and "
        "nothing links to earlier deliveries (without it such a run is refused)",
    )
    p.add_argument(
        "--council", dest="council_name", metavar="NAME", help="the council's name on the pages"
    )


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--debug",
        action="store_true",
        help="on an error, also print the traceback (it may quote values from the extracts)",
    )
    parser = argparse.ArgumentParser(prog="python -m pipelines", description=__doc__)
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")

    def add(name: str, text: str) -> argparse.ArgumentParser:
        return verbs.add_parser(name, help=text, description=text, parents=[common])

    for name, text in [
        ("report", "ingest, validate, compute every figure and render the committee pages"),
        ("validate", "ingest and validate only; write the data quality report"),
        ("ingest", "load the extracts into DuckDB and print a summary"),
    ]:
        _run_options(add(name, text))
    _run_options(
        add(
            "pdf",
            "print the committee summary and its annex as one PDF (committee_pack.pdf) into the "
            "report folder, with headless Chromium; run `report` with the same options first",
        )
    )

    s = add("sample", "generate synthetic extracts (the shipped sample by default)")
    s.add_argument("--out", default=str(ROOT / "data" / "raw" / "sample"), help="folder to write")
    s.add_argument("--seed", type=int, default=None, help="random seed (default from calibration)")
    s.add_argument(
        "--scale", type=float, default=1.0, help="size relative to the sample (100 = national)"
    )
    s.add_argument("--format", choices=["csv", "xlsx"], default="csv")
    s.add_argument(
        "--messy",
        action="store_true",
        help="write the variants real exports have (BOM, cp1252, label headers, ...)",
    )

    b = add("bench", "time each stage at 1, 10 and 100 x the sample (time and peak memory)")
    b.add_argument(
        "--scales", default="1,10,100", help="comma-separated sizes relative to the sample"
    )
    b.add_argument("--repeat", type=int, default=3, help="runs per timing; the median is quoted")

    t = add("test", "run every test (pytest)")
    t.add_argument("pytest_args", nargs=argparse.REMAINDER)
    c = add("check", "the fast tests: no browser, no subprocess, no full pipeline run")
    c.add_argument("pytest_args", nargs=argparse.REMAINDER)
    add("lint", "ruff check and format check, mypy type check")
    add("clean", "delete the warehouse and reports (never data/raw)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one verb; every error ends as a message and an exit code, never a traceback (a
    traceback is printed too with ``--debug``)."""
    words = list(sys.argv[1:] if argv is None else argv)
    if words[:1] in (["test"], ["check"]):
        # everything after the verb goes to pytest as typed (`check -k ingest -x`); argparse's
        # REMAINDER would refuse options that start with a dash
        args = argparse.Namespace(verb=words[0], pytest_args=words[1:])
    else:
        args = build_parser().parse_args(words)
    debug = bool(getattr(args, "debug", False))
    try:
        return _dispatch(args)
    except PipelineError as exc:
        _debug_traceback(debug)
        outcome = f"\n{exc.outcome}" if exc.outcome else ""
        print(f"\nERROR: {exc}{outcome}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt as exc:
        _debug_traceback(debug)
        outcome = getattr(exc, "outcome", None) or (
            "Nothing was changed." if args.verb in RUN_VERBS else ""
        )
        how = f" (terminated: {exc.signal_name})" if isinstance(exc, Terminated) else ""
        print(f"\nStopped{how}. {outcome}".rstrip(), file=sys.stderr)
        return exc.exit_code if isinstance(exc, Terminated) else 130
    except Exception as exc:  # noqa: BLE001 - the last line of defence: a message, not a trace
        _debug_traceback(debug)
        print(f"\nERROR: {UnexpectedError(exc, f'running {args.verb}')}", file=sys.stderr)
        return UnexpectedError.exit_code


def _debug_traceback(debug: bool) -> None:
    if debug:
        traceback.print_exc(file=sys.stderr)


def _dispatch(args: argparse.Namespace) -> int:
    verb = args.verb
    if verb in {"report", "validate", "ingest"}:
        from pipelines.config import load_config
        from pipelines.run import run

        overrides = {
            k: getattr(args, k)
            for k in (
                "raw_dir",
                "period_start",
                "period_end",
                "data_as_at",
                "out_dir",
                "db_path",
                "dq_dir",
                "suppression_threshold",
                "new_key",
                "council_name",
            )
        }
        return run(load_config(overrides), until=verb)
    if verb == "pdf":
        from pipelines.config import load_config
        from pipelines.report.pdf import write_pdf

        config = load_config({k: getattr(args, k) for k in ("out_dir", "raw_dir", "period_start",
                              "period_end", "data_as_at", "db_path", "dq_dir",
                              "suppression_threshold", "council_name")})  # fmt: skip
        written = write_pdf(config.out_dir)
        print(f"Wrote {written}")
        return 0
    if verb == "sample":
        from pipelines.generate import generate_sample

        generate_sample(
            out_dir=args.out, seed=args.seed, scale=args.scale, fmt=args.format, messy=args.messy
        )
        return 0
    if verb == "bench":
        from pipelines.bench import bench

        return bench(scales=tuple(float(x) for x in args.scales.split(",")), repeat=args.repeat)
    if verb == "test":
        import pytest

        return int(pytest.main([str(ROOT / "tests"), *args.pytest_args]))
    if verb == "check":
        import pytest

        # The markers are declared in pyproject.toml; tests/README.md says which test gets which.
        fast = "not slow and not browser and not subprocess"
        # one worker per core (pytest-xdist); work stealing keeps both busy to the end
        spread = ["-n", "auto", "--dist", "worksteal"]
        return int(pytest.main([str(ROOT / "tests"), "-m", fast, "-q", *spread, *args.pytest_args]))
    if verb == "lint":
        import subprocess

        steps = [["ruff", "check", str(ROOT)], ["ruff", "format", "--check", str(ROOT)], ["mypy"]]
        for step in steps:  # mypy reads its settings (files, exclusions) from pyproject.toml
            rc = subprocess.call([sys.executable, "-m", *step], cwd=ROOT)
            if rc:
                return rc
        return 0
    if verb == "clean":
        import shutil

        for p in [ROOT / "data" / "curated", ROOT / "reports"]:
            for child in p.iterdir():
                if child.name != "README.md":
                    shutil.rmtree(child) if child.is_dir() else child.unlink()
        print("Deleted the warehouse and reports; data/raw is untouched.")
        return 0
    raise AssertionError(verb)


if __name__ == "__main__":
    from pipelines import gc_policy

    gc_policy.tune()
    code = main()
    gc_policy.skip_final_collections()  # about 0.9 s of teardown on a sample run
    sys.exit(code)

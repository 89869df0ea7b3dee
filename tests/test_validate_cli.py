"""End-to-end: the CLI (`python -m pipelines validate`) on the bad-input corpus.

Each folder of tests/fixtures/bad/ is a small complete delivery, valid except for one defect
(tests/fixtures/bad/make_cases.py; expectations in cases.yaml). For each case the test checks the
exit status, the rule, file, Excel row and column reported, that every row read was loaded or set
aside, and that a warehouse already in place is untouched by a failing run.

The corpus calls the CLI's ``main()`` in this process (one Great Expectations import for all the
cases, not one per case); two tests start the real command in a new process, so what a user types
is still tested end to end.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
import yaml

from pipelines.__main__ import main

ROOT = Path(__file__).resolve().parent.parent
BAD = ROOT / "tests" / "fixtures" / "bad"
CASES = yaml.safe_load((BAD / "cases.yaml").read_text(encoding="utf-8"))
SAMPLE = ROOT / "data" / "raw" / "sample"

pytestmark = pytest.mark.slow


@dataclass
class Ran:
    """What a run of the CLI left behind: its exit status and what it printed."""

    returncode: int
    stdout: str
    stderr: str


def _argv(raw_dir: Path, tmp: Path) -> list[str]:
    return [
        "validate",
        *("--raw-dir", str(raw_dir)),
        *("--db", str(tmp / "w.duckdb")),
        *("--dq-dir", str(tmp / "dq")),
    ]


def run_cli(raw_dir: Path, tmp: Path, monkeypatch: pytest.MonkeyPatch) -> Ran:
    """``python -m pipelines validate ...`` in this process, its output captured."""
    monkeypatch.setenv("PIPELINES_KEY_FILE", str(tmp / "key"))
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(_argv(raw_dir, tmp))
    return Ran(code, out.getvalue(), err.getvalue())


def run_process(raw_dir: Path, tmp: Path) -> Ran:
    """The same command in a new Python process, as a user runs it."""
    env = {**os.environ, "PIPELINES_KEY_FILE": str(tmp / "key"), "PYTHONWARNINGS": "ignore"}
    proc = subprocess.run(
        [sys.executable, "-m", "pipelines", *_argv(raw_dir, tmp)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    return Ran(proc.returncode, proc.stdout, proc.stderr)


def data_lines(path: Path) -> int:
    """Data rows of a CSV counted apart from the pipeline: non-blank lines after the header
    (a blank line is empty or only commas and spaces)."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252")
    lines = [line for line in text.splitlines() if line.strip(" \t,")]
    return max(len(lines) - 1, 0)


def fixlist(tmp: Path) -> list[dict[str, str]]:
    with open(tmp / "dq" / "data_quality_fixlist.csv", encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_case(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    case = CASES[name]
    # a warehouse from an earlier run must survive a failing run byte for byte
    before = b"previous warehouse: must be left as it was"
    (tmp_path / "w.duckdb").write_bytes(before)
    proc = run_cli(BAD / name, tmp_path, monkeypatch)
    out = proc.stdout + proc.stderr
    assert proc.returncode == case["exit"], out
    assert "Traceback" not in out, out
    if case["exit"] != 0:
        assert (tmp_path / "w.duckdb").read_bytes() == before
        assert not [p for p in tmp_path.iterdir() if p.name.startswith(".w.duckdb")]
    for fragment in case.get("stderr", []):
        assert fragment in proc.stderr, proc.stderr
    if case["exit"] == 2:
        return  # ingest refused the delivery before validation: no data quality report

    rows = fixlist(tmp_path)
    summary = json.loads((tmp_path / "dq" / "data_quality.json").read_text(encoding="utf-8"))
    html = (tmp_path / "dq" / "data_quality.html").read_text(encoding="utf-8")
    assert (tmp_path / "dq" / "data_quality_fixlist.xlsx").exists()
    if "errors" in case:
        assert summary["statement"]["errors"] == case["errors"], rows
    if "warnings" in case:
        assert summary["statement"]["warnings"] == case["warnings"], rows
    if case["exit"] == 3:
        assert "ERROR" in proc.stderr and "data_quality.html" in proc.stderr

    # nothing lost: per file, read = loaded + set aside + blank lines, and read less the blank
    # lines = the data lines in the file
    for f in summary["files"]:
        assert f["rows_read"] == f["rows_loaded"] + f["rows_set_aside"] + f["rows_blank"], f
        assert f["reconciles"] is True
        assert f["rows_read"] - f["rows_blank"] == data_lines(BAD / name / f["file"]), f
    assert {f["file"] for f in summary["files"]} == {p.name for p in (BAD / name).glob("*.csv")}

    want = case.get("finding")
    if want:
        match = [
            r
            for r in rows
            if r["Rule"] == want["rule"]
            and r["File"] == want["file"]
            and all(
                str(r[label]) == str(want[key])
                for key, label in [
                    ("row", "Excel row"),
                    ("column", "Column"),
                    ("column_letter", "Column letter"),
                    ("value", "Value found"),
                    ("reference", "Record reference"),
                ]
                if key in want
            )
            and want.get("message", "") in r["Problem"]
        ]
        assert match, (want, rows)
        assert want["rule"] in html
    if "loaded" in case:
        spec = case["loaded"]
        con = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
        try:
            got = con.execute(
                f'SELECT "{spec["column"]}"::VARCHAR FROM {spec["table"]} WHERE _row = ?',
                [spec["row"]],
            ).fetchone()
        finally:
            con.close()
        assert got == (spec["value"],)


@pytest.mark.subprocess
def test_a_fixed_delivery_reruns_clean(tmp_path: Path) -> None:
    """The data officer's loop, as typed: a failing run, the fix, a re-run that confirms it."""
    bad = run_process(BAD / "out_of_range_scores", tmp_path)
    assert bad.returncode == 3, bad.stdout + bad.stderr
    assert "Traceback" not in bad.stdout + bad.stderr
    assert "ERROR" in bad.stderr and "data_quality.html" in bad.stderr
    assert any(r["Rule"] == "DTR-004" for r in fixlist(tmp_path))
    good = run_process(BAD / "ok", tmp_path)
    assert good.returncode == 0, good.stdout + good.stderr
    assert not [r for r in fixlist(tmp_path) if r["Severity"] in ("error", "warning")]


@pytest.mark.subprocess
def test_refused_delivery_exits_2_with_a_message_and_no_traceback(tmp_path: Path) -> None:
    """Ingest refusing a delivery (semicolons) is a message and exit status 2 from the real CLI."""
    proc = run_process(BAD / "wrong_delimiter", tmp_path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert "dat_referrals.csv" in proc.stderr and "semicolons" in proc.stderr


def test_shipped_sample_passes_with_no_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    proc = run_cli(SAMPLE, tmp_path, monkeypatch)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = json.loads((tmp_path / "dq" / "data_quality.json").read_text(encoding="utf-8"))
    assert summary["statement"]["errors"] == 0
    assert summary["statement"]["verdict"] in ("passed", "passed with warnings")
    for f in summary["files"]:
        assert f["rows_read"] == f["rows_loaded"] + f["rows_set_aside"] + f["rows_blank"]
    digest = hashlib.sha256((tmp_path / "dq" / "data_quality_fixlist.csv").read_bytes()).hexdigest()
    again = tmp_path / "again"
    again.mkdir()
    (again / "key").write_bytes((tmp_path / "key").read_bytes())
    assert run_cli(SAMPLE, again, monkeypatch).returncode == 0
    assert (
        hashlib.sha256((again / "dq" / "data_quality_fixlist.csv").read_bytes()).hexdigest()
        == digest
    )

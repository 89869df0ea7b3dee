"""End-to-end: the real CLI on the shipped sample, as an analyst runs it.

One full run is shared by the module (it takes seconds); each test reads what it left.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "raw" / "sample"
pytestmark = [pytest.mark.slow, pytest.mark.subprocess]


def cli(*args: str, env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **(env_extra or {})}
    return subprocess.run(
        [sys.executable, "-m", "pipelines", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=600,
    )


def run_args(work: Path, raw: Path = SAMPLE, out: str = "out") -> list[str]:
    return [
        "report",
        "--raw-dir",
        str(raw),
        "--db",
        str(work / "warehouse.duckdb"),
        "--out",
        str(work / out),
        "--dq-dir",
        str(work / "dq"),
    ]


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("e2e")


@pytest.fixture(scope="module")
def key_env(work: Path) -> dict[str, str]:
    return {"PIPELINES_KEY_FILE": str(work / "test.key")}


@pytest.fixture(scope="module")
def first_run(work: Path, key_env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    proc = cli(*run_args(work), env_extra=key_env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def test_no_public_page_names_a_folder_of_the_machine(first_run, work: Path) -> None:
    """The summary, the annex pages, the about page and the data quality report carry no path
    of the run (output, warehouse, extracts, data quality folder), of the repository, the home
    folder or the temporary folder: provenance is code version, extract date, run date, period."""
    import tempfile

    out = work / "out"
    paths = [work, out, work / "warehouse.duckdb", SAMPLE, ROOT, work / "dq"]
    words = [str(p) for p in paths] + [str(Path.home()) + "/", tempfile.gettempdir() + "/"]
    pages = sorted(out.glob("*.html"))
    assert {"index.html", "about.html", "referrals.html", "data_quality.html"} <= {
        p.name for p in pages
    }
    for page in pages:
        text = page.read_text(encoding="utf-8")
        found = [w for w in words if w in text]
        assert not found, (page.name, found)
        assert ".ipynb" not in text, page.name


def test_report_writes_every_output(first_run, work: Path) -> None:
    out = work / "out"
    for name in [
        "index.html",
        "metrics.csv",
        "metrics_public.csv",
        "data_quality.html",
        "distance_travelled.html",
        "referrals.html",
        "re_referrals.html",
        "cpr.html",
        "workforce.html",
    ]:
        assert (out / name).is_file(), name
    assert (work / "warehouse.duckdb").is_file()
    # owner only: the staging tables hold dates of birth; the key too
    assert (work / "warehouse.duckdb").stat().st_mode & 0o077 == 0
    assert (work / "test.key").stat().st_mode & 0o077 == 0
    assert not [p.name for p in work.iterdir() if ".building-" in p.name or ".old-" in p.name]
    assert "Traceback" not in first_run.stderr
    assert "OK: reports in" in first_run.stdout


def test_metrics_csv_columns_follow_the_contract(first_run, work: Path) -> None:
    m = pd.read_csv(work / "out" / "metrics.csv", dtype=str, keep_default_na=False)
    assert list(m.columns) == [
        "analysis",
        "measure",
        "scope",
        "breakdown",
        "category",
        "numerator",
        "denominator",
        "value",
        "unit",
        "period_start",
        "period_end",
    ]
    assert set(m["analysis"]) == {
        "referrals",
        "distance_travelled",
        "re_referrals",
        "cpr",
        "workforce",
    }
    assert set(m["period_start"]) == {"2012-04-01"} and set(m["period_end"]) == {"2012-12-31"}


def test_same_inputs_give_byte_identical_metrics(first_run, work: Path, key_env) -> None:
    proc = cli(*run_args(work, out="again"), env_extra=key_env)
    assert proc.returncode == 0, proc.stderr
    for name in ["metrics.csv", "metrics_public.csv"]:
        a = (work / "out" / name).read_bytes()
        b = (work / "again" / name).read_bytes()
        assert hashlib.sha256(a).hexdigest() == hashlib.sha256(b).hexdigest(), name


def test_no_raw_child_id_anywhere_in_the_warehouse(first_run, work: Path) -> None:
    raw_ids: set[str] = set()
    for name, cols in [
        ("dat_referrals.csv", ["child_id"]),
        ("cpr_registrations.csv", ["child_id"]),
        ("ifss_referrals.csv", ["child_id", "family_id"]),
        ("workforce_posts.csv", ["staff_id"]),
    ]:
        df = pd.read_csv(SAMPLE / name, dtype=str, keep_default_na=False)
        for c in cols:
            raw_ids |= {v.strip().upper() for v in df[c] if v.strip()}
    assert len(raw_ids) > 1000
    con = duckdb.connect(str(work / "warehouse.duckdb"), read_only=True)
    try:
        found: set[str] = set()
        tables = [
            r[0]
            for r in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
            ).fetchall()
        ]
        for t in tables:
            cols = [
                r[0]
                for r in con.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
                    "AND data_type = 'VARCHAR'",
                    [t],
                ).fetchall()
            ]
            for c in cols:
                vals = con.execute(f'SELECT DISTINCT upper(trim("{c}")) FROM "{t}"').fetchall()
                found |= {v[0] for v in vals if v[0] is not None} & raw_ids
    finally:
        con.close()
    assert not found, f"raw IDs in the warehouse: {sorted(found)[:5]}"


def test_outputs_hold_no_ids_or_dates_of_birth(first_run, work: Path) -> None:
    dat = pd.read_csv(SAMPLE / "dat_referrals.csv", dtype=str, keep_default_na=False)
    ids = set(dat["child_id"].str.strip().str.upper()) - {""}
    for f in (work / "out").glob("*.*"):
        if f.suffix in {".html", ".csv"}:
            text = f.read_text(encoding="utf-8", errors="replace").upper()
            assert not [i for i in list(ids)[:300] if i in text], f.name


def test_failed_run_leaves_previous_outputs_untouched(
    first_run, work: Path, key_env, tmp_path: Path
) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    for f in SAMPLE.iterdir():
        if not f.name.startswith("cpr_reviews"):
            (bad / f.name).write_bytes(f.read_bytes())
    before_db = (work / "warehouse.duckdb").read_bytes()
    before_index = (work / "out" / "index.html").read_bytes()
    before_dq = {p.name: p.read_bytes() for p in (work / "dq").iterdir()}
    proc = cli(*run_args(work, raw=bad), env_extra=key_env)
    assert proc.returncode != 0
    assert "cpr_reviews" in proc.stderr and "Traceback" not in proc.stderr
    assert "Nothing was changed" in proc.stderr
    assert (work / "warehouse.duckdb").read_bytes() == before_db
    assert (work / "out" / "index.html").read_bytes() == before_index
    assert {p.name: p.read_bytes() for p in (work / "dq").iterdir()} == before_dq
    assert not [p.name for p in work.iterdir() if ".building-" in p.name]


def test_another_key_is_refused_and_changes_nothing(first_run, work: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.key"
    other.write_text("ab" * 32 + "\n")
    before_db = (work / "warehouse.duckdb").read_bytes()
    proc = cli(*run_args(work), env_extra={"PIPELINES_KEY_FILE": str(other)})
    assert proc.returncode == 2
    assert "not the key that built the warehouse" in proc.stderr and str(other) in proc.stderr
    assert "Traceback" not in proc.stderr
    assert (work / "warehouse.duckdb").read_bytes() == before_db

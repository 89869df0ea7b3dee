"""A small generated sample loads to the same curated tables in CSV, XLSX and messy forms."""

from __future__ import annotations

import pytest

from pipelines.contract import extracts
from pipelines.generate import generate_sample
from tests.ingest_helpers import rows, run_ingest

# Generates and ingests four variants of a sample (about 8 s): in `make test`, not `make check`.
pytestmark = pytest.mark.slow

VARIANTS = [("csv", False), ("xlsx", False), ("csv", True), ("xlsx", True)]


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sample")
    key = tmp / "sample.key"
    out = {}
    for fmt, messy in VARIANTS:
        name = f"{fmt}{'-messy' if messy else ''}"
        raw = tmp / name
        generate_sample(raw, seed=7, scale=0.05, fmt=fmt, messy=messy)
        summary, con = run_ingest(raw, tmp, f"{name}.duckdb", key=key)
        out[name] = (summary, con)
    return out


def _table(con, extract: str, staging: bool = False) -> list[tuple]:
    spec = extracts()[extract]
    cols = [c for c in spec["columns"] if staging or c != "date_of_birth"]
    if not staging and spec.get("age_from"):
        cols += ["age_years", "age_band"]
    table = f"stg_{extract}" if staging else extract
    return rows(con, f"SELECT {', '.join(cols)} FROM {table} ORDER BY ALL")


@pytest.mark.parametrize("variant", ["xlsx", "csv-messy", "xlsx-messy"])
def test_same_tables_as_clean_csv(loaded, variant):
    base = loaded["csv"][1]
    con = loaded[variant][1]
    for extract in extracts():
        assert _table(con, extract) == _table(base, extract), extract
        assert _table(con, extract, staging=True) == _table(base, extract, staging=True), extract


@pytest.mark.parametrize("variant", [f"{f}{'-messy' if m else ''}" for f, m in VARIANTS])
def test_everything_loaded_and_reconciled(loaded, variant):
    summary, con = loaded[variant]
    assert {f.extract for f in summary.files} == set(extracts())
    for f in summary.files:
        assert f.rows_read == f.rows_loaded + f.rows_set_aside
        assert f.rows_set_aside == 0, f
    assert rows(con, "SELECT count(*) FROM set_aside") == [(0,)]


def test_messy_decisions_are_reported(loaded):
    _, con = loaded["csv-messy"]
    codes = {r[0] for r in rows(con, "SELECT DISTINCT note_code FROM ingest_notes")}
    assert "encoding" in codes

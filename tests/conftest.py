"""Shared pytest settings. Area fixtures live beside their tests (tests/<area>_helpers.py)."""

import sys
from pathlib import Path

import duckdb
import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@pytest.fixture
def config(tmp_path: Path):
    """A run configuration whose paths all lie in the test's own folder (an empty raw folder)."""
    from pipelines.config import load_config

    raw = tmp_path / "raw"
    raw.mkdir()
    return load_config(
        {
            "raw_dir": str(raw),
            "db_path": str(tmp_path / "w.duckdb"),
            "dq_dir": str(tmp_path / "dq"),
            "key_file": str(tmp_path / "key"),
        }
    )


# ---------------------------------------------------------------------------------------------
# Real runs shared by the session: the metrics of the shipped sample and of another council's
# generated extracts, each ingested once (a few seconds) and read by several test modules.


def _warehouse(raw: Path, tmp: Path) -> duckdb.DuckDBPyConnection:
    from pipelines.ingest import ingest

    db = tmp / "warehouse.duckdb"
    ingest(raw, db, tmp / "key", f"test-{tmp.name}")
    return duckdb.connect(str(db), read_only=True)


@pytest.fixture(scope="session")
def sample_warehouse(tmp_path_factory: pytest.TempPathFactory):
    """The shipped sample, ingested by the real ingest into a read-only warehouse."""
    con = _warehouse(ROOT / "data" / "raw" / "sample", tmp_path_factory.mktemp("sample_wh"))
    yield con
    con.close()


@pytest.fixture(scope="session")
def other_council_warehouse(tmp_path_factory: pytest.TempPathFactory):
    """Another council's extracts (``python -m pipelines sample --seed 7 --scale 3``), ingested:
    rules must hold beyond the sample's own numbers."""
    from pipelines.generate import generate_sample

    tmp = tmp_path_factory.mktemp("other_wh")
    generate_sample(tmp / "raw", seed=7, scale=3)
    con = _warehouse(tmp / "raw", tmp)
    yield con
    con.close()

"""Helpers for the ingestion tests: small hand-written deliveries built in tmp_path."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent
BASIC = ROOT / "tests" / "fixtures" / "ingest" / "basic"

DAT_HEADER = (
    "referral_id,child_id,date_of_birth,sex,referral_date,referral_source,primary_need,domestic_abuse,"
    "parental_substance_misuse,parental_mental_health,parental_learning_disability,decision_date,outcome,"
    "lateral_checks,child_seen,team"
)


def dat_row(
    referral_id: str = "R9",
    child_id: str = "C9",
    dob: str = "2010-05-01",
    sex: str = "M",
    referral_date: str = "2012-04-03",
    source: str = "2A",
    need: str = "N1",
    yesno: str = "Y",
    decision_date: str = "2012-04-04",
    outcome: str = "IA",
    team: str = "DAT1",
) -> str:
    return (
        f"{referral_id},{child_id},{dob},{sex},{referral_date},{source},{need},{yesno},N,N,N,"
        f"{decision_date},{outcome},Y,Y,{team}"
    )


def delivery(
    tmp_path: Path, files: dict[str, str | bytes | None] | None = None, name: str = "raw"
) -> Path:
    """A copy of the basic fixture delivery with files replaced (str/bytes) or removed (None)."""
    out = tmp_path / name
    shutil.copytree(BASIC, out)
    for file, content in (files or {}).items():
        if content is None:
            (out / file).unlink()
        elif isinstance(content, bytes):
            (out / file).write_bytes(content)
        else:
            (out / file).write_text(content, encoding="utf-8", newline="")
    return out


def dat_file(*rows: str, header: str = DAT_HEADER) -> str:
    return "\n".join([header, *rows]) + "\n"


def run_ingest(raw: Path, tmp_path: Path, db_name: str = "w.duckdb", key: Path | None = None):
    from pipelines.ingest import ingest

    key = key or tmp_path / "test.key"
    db = tmp_path / db_name
    summary = ingest(raw, db, key, "test-run")
    return summary, duckdb.connect(str(db), read_only=True)


def rows(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> list[tuple]:
    return con.execute(sql, params or []).fetchall()

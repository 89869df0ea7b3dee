"""A run is all or nothing, checks its key, and ends in a message, never a traceback.

In-process calls of ``pipelines.__main__.main`` with temporary --db, --out and --dq-dir. One real
run of the sample is shared by the module; each test works on its own copy of what it left (the
warehouse, the pages, the data quality folder and the key) and injects a failure where it wants
one. Validation results are reused per delivery (the rules are not under test here), so most
runs take about a second.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import stat
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pipelines.__main__ import main
from pipelines.errors import PipelineError
from pipelines.ingest import keys
from pipelines.run import clean_leftovers, signals_held, swap_in

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "raw" / "sample"
BAD = ROOT / "tests" / "fixtures" / "bad"
DEAD_PID = 99_999_999  # above any pid_max: no such process
pytestmark = pytest.mark.slow

_VALIDATED: dict[str, Any] = {}


def _fast_validate(mp: pytest.MonkeyPatch) -> None:
    """Validate each delivery once per module: later runs of it reuse the result."""
    import pipelines.validate as v

    real = v.validate

    def cached(con: Any, config: Any, only: Any = None) -> Any:
        key = str(config.raw_dir)
        if key not in _VALIDATED:
            _VALIDATED[key] = real(con, config, only)
        return _VALIDATED[key]

    mp.setattr(v, "validate", cached)


class Work:
    """One test's outputs: paths, the CLI arguments for them, and a fingerprint of them."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.db = root / "w.duckdb"
        self.out = root / "out"
        self.dq = root / "dq"
        self.key = root / ".secrets" / "pseudonymisation.key"

    def args(self, verb: str = "report", raw: Path = SAMPLE, *extra: str) -> list[str]:
        args = [verb, "--raw-dir", str(raw), "--db", str(self.db)]
        if verb != "ingest":
            args += ["--dq-dir", str(self.dq)]
        if verb == "report":
            args += ["--out", str(self.out)]
        return args + list(extra)

    def snapshot(self) -> dict[str, str]:
        """sha256 of every file of the warehouse, the pages and the data quality folder."""
        files = [self.db, *sorted(self.out.rglob("*")), *sorted(self.dq.rglob("*"))]
        return {
            str(f.relative_to(self.root)): hashlib.sha256(f.read_bytes()).hexdigest()
            for f in files
            if f.is_file()
        }

    def leftovers(self) -> list[str]:
        return sorted(
            p.name
            for p in self.root.iterdir()
            if ".building-" in p.name or ".old-" in p.name or p.name.endswith(".lock")
        )


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Work:
    """One real report run of the sample, with a key created on the way (a first run)."""
    w = Work(tmp_path_factory.mktemp("run-base"))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PIPELINES_KEY_FILE", str(w.key))
        _fast_validate(mp)
        assert not w.key.exists()
        assert main(w.args()) == 0
    return w


@pytest.fixture()
def work(base: Work, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Work:
    """A copy of the base run's outputs and key; report kernels are not started in advance."""
    w = Work(tmp_path)
    shutil.copy2(base.db, w.db)
    shutil.copytree(base.out, w.out)
    shutil.copytree(base.dq, w.dq)
    w.key.parent.mkdir(mode=0o700)
    shutil.copy2(base.key, w.key)
    monkeypatch.setenv("PIPELINES_KEY_FILE", str(w.key))
    monkeypatch.setattr("pipelines.report.warm_up", lambda *a, **k: None)
    _fast_validate(monkeypatch)
    return w


def _raiser(exc: BaseException) -> Callable[..., Any]:
    def fail(*_a: Any, **_k: Any) -> Any:
        raise exc

    return fail


def _fingerprint_in(db: Path) -> str:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute("SELECT key_fingerprint FROM warehouse_info").fetchone()[0]
    finally:
        con.close()


# --- a first run --------------------------------------------------------------------------------


def test_first_run_creates_the_key_and_keeps_secrets_owner_only(base: Work) -> None:
    assert (base.out / "index.html").is_file() and (base.dq / "data_quality.html").is_file()
    assert stat.S_IMODE(base.key.stat().st_mode) == 0o600
    assert stat.S_IMODE(base.key.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(base.db.stat().st_mode) == 0o600  # staging tables hold dates of birth
    # the reports are for sharing: readable by others
    assert stat.S_IMODE((base.out / "index.html").stat().st_mode) & 0o044 == 0o044
    assert stat.S_IMODE((base.dq / "data_quality.html").stat().st_mode) & 0o044 == 0o044
    key = keys.read_key(base.key)
    assert _fingerprint_in(base.db) == keys.fingerprint(key)
    assert key.hex() not in base.db.read_bytes().decode("latin-1")
    assert base.leftovers() == []


# --- all or nothing -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "exc", "code"),
    [
        ("pipelines.transform.compute_metrics", RuntimeError("child AB12345"), 1),
        ("pipelines.transform.compute_metrics", KeyboardInterrupt(), 130),
        ("pipelines.report.render_reports", RuntimeError("child AB12345"), 1),
        ("pipelines.report.render_reports", KeyboardInterrupt(), 130),
        ("pipelines.report.render_reports", PipelineError("a page failed"), 2),
        ("pipelines.validate.report.write_xlsx", RuntimeError("half a folder"), 1),
        ("pipelines.transform.compute_metrics", duckdb.InterruptException("INTERRUPT"), 130),
    ],
)
def test_a_failure_after_validation_changes_nothing(
    work: Work,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    target,
    exc,
    code,
) -> None:
    before = work.snapshot()
    monkeypatch.setattr(target, _raiser(exc))
    assert main(work.args()) == code
    err = capsys.readouterr().err
    assert work.snapshot() == before
    assert work.leftovers() == []
    assert "Nothing was changed: the previous warehouse, data quality report and committee " in err
    assert "Traceback" not in err and "AB12345" not in err


@pytest.mark.parametrize("name", ["SIGTERM", "SIGHUP"])
def test_sigterm_while_rendering_changes_nothing(
    work: Work, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    before = work.snapshot()
    signum = getattr(signal, name)
    handler = signal.getsignal(signum)

    def killed(*_a: Any, **_k: Any) -> None:
        os.kill(os.getpid(), signum)
        time.sleep(10)
        raise AssertionError(f"{name} did not stop the run")

    monkeypatch.setattr("pipelines.report.render_reports", killed)
    assert main(work.args()) == 128 + signum
    assert f"Stopped (terminated: {name}). Nothing was changed" in capsys.readouterr().err
    assert work.snapshot() == before and work.leftovers() == []
    assert signal.getsignal(signum) == handler


def test_one_run_at_a_time_per_warehouse(work: Work, capsys: pytest.CaptureFixture[str]) -> None:
    import fcntl

    before = work.snapshot()
    with open(work.root / ".w.duckdb.lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        assert main(work.args()) == 2
    assert "Another run is building the warehouse" in capsys.readouterr().err
    assert work.snapshot() == before
    assert main(work.args("ingest")) == 0  # released: the next run goes ahead
    assert work.leftovers() == []  # and the lock file tidied away


def test_validation_errors_swap_in_the_whole_data_quality_folder_only(
    work: Work, capsys: pytest.CaptureFixture[str]
) -> None:
    before = work.snapshot()
    (work.dq / "stale.txt").write_text("from an earlier run")
    assert main(work.args(raw=BAD / "duplicate_ids")) == 3
    err = capsys.readouterr().err
    after = work.snapshot()
    # warehouse and pages: the previous run's
    assert {k: v for k, v in after.items() if not k.startswith("dq")} == {
        k: v for k, v in before.items() if not k.startswith("dq")
    }
    # the data quality folder: this run's, whole (nothing of the old one left in it)
    assert not (work.dq / "stale.txt").exists()
    summary = json.loads((work.dq / "data_quality.json").read_text(encoding="utf-8"))
    assert summary["statement"]["errors"] > 0
    assert sorted(p.name for p in work.dq.iterdir()) == [
        "data_quality.html",
        "data_quality.json",
        "data_quality_fixlist.csv",
        "data_quality_fixlist.xlsx",
    ]
    assert str(work.dq / "data_quality.html") in err
    assert "the warehouse and committee pages were left as they were" in err
    assert "Nothing was changed" not in err
    assert work.leftovers() == []


def test_a_failed_page_keeps_its_notebook_where_the_message_says(
    work: Work, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import pipelines.report.runner as runner

    notebooks = work.root / "notebooks"
    shutil.copytree(ROOT / "notebooks", notebooks)
    nb = json.loads((notebooks / "cpr.ipynb").read_text(encoding="utf-8"))
    nb["cells"].append(
        {
            "cell_type": "code",
            "execution_count": None,
            "id": "broken",
            "metadata": {},
            "outputs": [],
            "source": ["raise ValueError('this page is broken on purpose')"],
        }
    )
    (notebooks / "cpr.ipynb").write_text(json.dumps(nb), encoding="utf-8")
    monkeypatch.setattr(runner, "NOTEBOOKS", notebooks)
    before = work.snapshot()
    assert main(work.args()) == 2
    err = capsys.readouterr().err
    assert "A committee page could not be produced" in err and "Traceback" not in err
    kept = Path(err.split("is kept at: ")[1].split()[0])
    assert kept.is_file() and kept.name == "cpr.ipynb"
    assert kept.parent.parent == work.root / "failed"
    assert "this page is broken on purpose" in kept.read_text(encoding="utf-8")
    assert work.snapshot() == before and work.leftovers() == []


def test_the_swap_puts_everything_back_when_a_rename_fails(tmp_path: Path) -> None:
    t1, b1, t2 = tmp_path / "t1", tmp_path / "b1", tmp_path / "t2"
    for d, text in [(t1, "old"), (b1, "new"), (t2, "old two")]:
        d.mkdir()
        (d / "f").write_text(text)
    with pytest.raises(PipelineError, match="put back as they were"):
        swap_in([(b1, t1), (tmp_path / "missing", t2)], "20260101T000000-1-abcdef")
    assert (t1 / "f").read_text() == "old" and (b1 / "f").read_text() == "new"
    assert (t2 / "f").read_text() == "old two"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b1", "t1", "t2"]


def test_signals_wait_until_the_swap_is_done() -> None:
    done = []
    with pytest.raises(KeyboardInterrupt):
        with signals_held():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.2)
            done.append("the block ran to its end")
    assert done == ["the block ran to its end"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_leftovers_of_a_killed_run_are_cleaned_up(tmp_path: Path) -> None:
    db, out = tmp_path / "w.duckdb", tmp_path / "out"
    out.mkdir()
    dead = tmp_path / f".w.duckdb.building-20260101T000000-{DEAD_PID}-abcdef"
    dead.mkdir()
    (dead / "w.duckdb").write_bytes(b"half")
    running = tmp_path / f".out.building-20260101T000000-{os.getppid()}-abcdef"
    running.mkdir()
    old_style = tmp_path / ".w.duckdb.building-20200101T000000-abcdef"  # no pid: by age
    old_style.write_bytes(b"half")
    os.utime(old_style, (time.time() - 3 * 86400,) * 2)
    young_old_style = tmp_path / ".out.building-20260101T000000-fedcba"
    young_old_style.mkdir()
    stranded = tmp_path / f".out.old-20260101T000000-{DEAD_PID}-abcdef"  # killed mid-swap
    stranded.mkdir()
    (stranded / "index.html").write_text("previous")
    shutil.rmtree(out)
    unrelated = tmp_path / ".w.duckdb.notes"
    unrelated.write_text("keep")
    removed = clean_leftovers([db, out])
    assert sorted(p.name for p in removed) == sorted([dead.name, old_style.name, stranded.name])
    assert not dead.exists() and not old_style.exists()
    assert running.exists() and young_old_style.exists() and unrelated.exists()
    assert (out / "index.html").read_text() == "previous"  # put back, not deleted


def test_a_linked_data_quality_folder_stays_linked(work: Work) -> None:
    shared = work.root / "shared-drive" / "dq"
    shared.parent.mkdir()
    work.dq.rename(shared)
    work.dq.symlink_to(shared, target_is_directory=True)
    before = (shared / "data_quality.json").stat().st_mtime_ns
    assert main(work.args("validate")) == 0
    assert work.dq.is_symlink() and (shared / "data_quality.json").stat().st_mtime_ns != before
    assert not [p.name for p in shared.parent.iterdir() if p.name != "dq"]


def test_a_run_removes_leftovers_beside_its_warehouse(
    work: Work, capsys: pytest.CaptureFixture[str]
) -> None:
    dead = work.root / f".w.duckdb.building-20260101T000000-{DEAD_PID}-abcdef"
    dead.mkdir()
    assert main(work.args("ingest")) == 0
    assert not dead.exists() and work.leftovers() == []
    assert "half-built" in capsys.readouterr().out


# --- the key ----------------------------------------------------------------------------------


def test_missing_key_with_a_warehouse_is_refused(
    work: Work, capsys: pytest.CaptureFixture[str]
) -> None:
    before = work.snapshot()
    work.key.unlink()
    assert main(work.args()) == 2
    err = capsys.readouterr().err
    assert str(work.key) in err and "PIPELINES_KEY_FILE" in err and "--new-key" in err
    assert "does not exist" in err and "nothing was changed" in err
    assert not work.key.exists()  # no new key made behind the user's back
    assert work.snapshot() == before and work.leftovers() == []


def test_a_different_key_is_refused(work: Work, capsys: pytest.CaptureFixture[str]) -> None:
    before = work.snapshot()
    other = os.urandom(32)
    work.key.write_text(other.hex() + "\n")
    assert main(work.args("ingest")) == 2
    err = capsys.readouterr().err
    assert "is not the key that built the warehouse" in err
    assert keys.fingerprint(other) in err and other.hex() not in err
    assert work.snapshot() == before and work.leftovers() == []


def test_new_key_replaces_the_key_on_purpose(
    work: Work, capsys: pytest.CaptureFixture[str]
) -> None:
    old = keys.read_key(work.key)
    new = os.urandom(32)
    work.key.write_text(new.hex())
    assert main(work.args("ingest", SAMPLE, "--new-key")) == 0
    assert "every pseudonym changes" in capsys.readouterr().out
    assert _fingerprint_in(work.db) == keys.fingerprint(new)
    # and now the old key is the one refused
    work.key.write_text(old.hex())
    assert main(work.args("ingest")) == 2


def test_new_key_creates_a_missing_key(work: Work) -> None:
    work.key.unlink()
    assert main(work.args("ingest", SAMPLE, "--new-key")) == 0
    assert _fingerprint_in(work.db) == keys.fingerprint(keys.read_key(work.key))


@pytest.mark.parametrize(
    "content",
    [b"", b"zz" * 32, b"ab" * 31, bytes(range(32)), b"ab" * 32 + b"\nextra"],
    ids=["empty", "not-hex", "short", "raw-bytes", "two-lines"],
)
def test_a_malformed_key_is_refused(
    work: Work, capsys: pytest.CaptureFixture[str], content: bytes
) -> None:
    before = work.snapshot()
    work.key.write_bytes(content)
    assert main(work.args("ingest")) == 2
    err = capsys.readouterr().err
    assert "is damaged" in err and str(work.key) in err
    assert work.key.read_bytes() == content and work.snapshot() == before


def test_a_warehouse_without_a_fingerprint_is_accepted_and_then_recorded(
    work: Work, capsys: pytest.CaptureFixture[str]
) -> None:
    con = duckdb.connect(str(work.db))
    con.execute("DROP TABLE warehouse_info")
    con.close()
    assert main(work.args("ingest")) == 0
    assert "built before key fingerprints were recorded" in capsys.readouterr().out
    assert _fingerprint_in(work.db) == keys.fingerprint(keys.read_key(work.key))


def test_key_permissions_are_tightened(work: Work) -> None:
    work.key.chmod(0o644)
    work.key.parent.chmod(0o755)
    assert main(work.args("ingest")) == 0
    assert stat.S_IMODE(work.key.stat().st_mode) == 0o600
    assert stat.S_IMODE(work.key.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(work.db.stat().st_mode) == 0o600


# --- clear messages ---------------------------------------------------------------------------


@pytest.mark.parametrize("option", ["--out", "--db", "--dq-dir"])
def test_an_output_under_a_file_is_refused_before_anything_runs(
    work: Work, capsys: pytest.CaptureFixture[str], option: str
) -> None:
    before = work.snapshot()
    blocker = work.root / "a-file"
    blocker.write_text("x")
    assert main([*work.args(), option, str(blocker / "sub" / "x")]) == 2
    err = capsys.readouterr().err
    assert f"{blocker} is a file" in err and option in err and "Traceback" not in err
    assert work.snapshot() == before and work.leftovers() == []


def test_folders_that_would_be_replaced_whole_are_checked(
    work: Work, capsys: pytest.CaptureFixture[str]
) -> None:
    foreign = work.root / "documents"
    foreign.mkdir()
    (foreign / "letter.docx").write_text("not a report")
    assert main([*work.args(), "--out", str(foreign)]) == 2
    assert "did not write" in capsys.readouterr().err
    assert main([*work.args(), "--dq-dir", str(SAMPLE.parent)]) == 2
    assert "holds the extracts folder" in capsys.readouterr().err
    assert main([*work.args(), "--out", str(work.dq)]) == 2  # out and dq the same folder
    assert (foreign / "letter.docx").exists() and work.leftovers() == []


def test_an_unexpected_error_is_a_message_and_a_traceback_only_with_debug(
    work: Work, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    before = work.snapshot()
    monkeypatch.setattr(
        "pipelines.ingest.ingest", _raiser(ValueError("could not convert 'AB12345' 2009-03-01"))
    )
    assert main(work.args("ingest")) == 1
    err = capsys.readouterr().err
    assert "Unexpected error while ingesting extracts: ValueError." in err
    assert "--debug" in err and "Nothing was changed" in err
    assert "Traceback" not in err and "AB12345" not in err and "2009-03-01" not in err
    assert main(work.args("ingest", SAMPLE, "--debug")) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "Unexpected error while ingesting extracts" in err
    assert work.snapshot() == before and work.leftovers() == []


def test_an_os_error_names_its_reason_and_file(
    work: Work, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(
        "pipelines.ingest.ingest", _raiser(OSError(28, "No space left on device", "/tmp/x"))
    )
    assert main(work.args("ingest")) == 1
    assert "OSError: No space left on device (/tmp/x)" in capsys.readouterr().err


def test_debug_is_accepted_by_every_verb() -> None:
    from pipelines.__main__ import build_parser

    parser = build_parser()
    for verb in ["report", "validate", "ingest", "sample", "bench", "lint", "clean"]:
        assert parser.parse_args([verb, "--debug"]).debug is True


# --- fix lists hold any value ---------------------------------------------------------------------


def test_fix_lists_hold_control_characters_and_stay_formula_safe(tmp_path: Path) -> None:
    import csv
    import datetime as dt

    import openpyxl
    import pandas as pd

    from pipelines.spreadsheet import CELL_MAX_CHARS
    from pipelines.validate.report import FIXLIST_COLUMNS, write_csv, write_xlsx

    values = [
        "a\x01b",
        "\x00=cmd|' /C calc'!A0",
        "=SUM(A1)",
        "x\r\ny\tz",
        "\x7f",
        "\x1b[31m",
        "é" * 40_000,
    ]
    rows = [
        {
            c: ("bad\x0bname.csv" if c == "file" else 2 if c == "row" else v)
            for c, _ in FIXLIST_COLUMNS
        }
        for v in values
    ]
    df = pd.DataFrame(rows, columns=[c for c, _ in FIXLIST_COLUMNS])
    write_xlsx(df, tmp_path / "f.xlsx", dt.datetime(2013, 1, 31))  # openpyxl raised before
    write_csv(df, tmp_path / "f.csv")
    sheet = openpyxl.load_workbook(tmp_path / "f.xlsx").active
    got = [row[4] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert got[:6] == [
        "a\u2401b",
        "\u2400=cmd|' /C calc'!A0",
        "'=SUM(A1)",
        "x\u240d\ny\tz",
        "\u2421",
        "\u241b[31m",
    ]
    assert len(got[6]) == CELL_MAX_CHARS and got[6].endswith("Excel cell holds]")
    assert {row[0] for row in sheet.iter_rows(min_row=2, values_only=True)} == {"bad\u240bname.csv"}
    with open(tmp_path / "f.csv", encoding="utf-8-sig", newline="") as fh:
        assert [r[4] for r in list(csv.reader(fh))[1:]] == got

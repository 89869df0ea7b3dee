"""Random single mutations of the sample's extracts through the real CLI (issue 9, item 8).

Each case (tests/fuzz_helpers.py) damages one file of a copy of the sample one way, runs
``pipelines.__main__.main([verb, ...])`` in this process with fresh outputs, and asserts:

- no traceback: nothing escapes ``main``, no "Traceback" printed, the exit code is 0, 2 or 3;
- no raw ID or date of birth in any message printed, any file written under the outputs, or any
  VARCHAR column of the warehouse (staging tables ``stg_*`` may hold dates of birth, never IDs);
- either a clear stop (exit 2 naming the file; exit 3 with the data quality report), which
  changes nothing (no warehouse, no report folder, no half-built files), or a finished run whose
  load log reconciles: rows read = loaded + set aside (+ ``rows_blank`` when load_log has it),
  one set-aside entry per row, and for CSV files rows read + header (+ blank lines, when they are
  not counted in rows read) = the file's physical lines; for workbooks rows read = rows written;
- a shape real exports have (``legit``: BOM, CRLF, label headers, UTF-16 text, data on the
  second sheet ...) finishes; rows a mutation made wrong are listed by the data quality report
  when the run validates.

Cases that can exhaust memory or abort the interpreter (a workbook's used range of 17 billion
cells, a shared string expanding to gigabytes) run in a child process under a 2 GB address-space
limit and a time limit, so that they fail the case and not the whole test session.

Runs: ``make test`` runs the default campaign (DEFAULT_CASES). More:
``PIPELINES_FUZZ_CASES=2000 .venv/bin/python -m pytest tests/test_fuzz.py -q`` (the cases past
the default are marked slow). Replay one case, or several separated by commas:
``PIPELINES_FUZZ_REPLAY='quotes:quote_across_lines:workforce_posts:123:ingest' ...``.
``PIPELINES_FUZZ_LOG=path`` writes one JSON line per case (outcome, problems, seconds).
A summary of outcomes per family is printed at the end of the session.
"""

from __future__ import annotations

import collections
import contextlib
import csv
import io
import json
import os
import re
import resource
import subprocess
import sys
import time
import traceback
import zipfile
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from tests.fuzz_helpers import ROOT, Case, Delivery, campaign, leaks, redact, sensitive

# 200 cases: 4 min 49 s wall on the shared 2-core machine at load average 5-6 (2 min 27 s of CPU),
# measured 2026-12-03; PIPELINES_FUZZ_CASES=100 halves it.
DEFAULT_CASES = 200
CASES = int(os.environ.get("PIPELINES_FUZZ_CASES") or DEFAULT_CASES)
REPLAY = os.environ.get("PIPELINES_FUZZ_REPLAY", "")
CASE_SECONDS = 60  # bounded work: a case taking longer is a failure
ISOLATED_MEMORY = 2 * 1024**3
KNOWN_EXIT_CODES = {0, 2, 3}
TEST_KEY = "5f" * 32

RESULTS: list[dict] = []


def _params() -> list:
    if REPLAY:
        return [pytest.param(Case.parse(c), id=c) for c in REPLAY.split(",") if c.strip()]
    return [
        # whole CLI runs: in `make test`, not in the fast lane (`make check`)
        pytest.param(c, id=c.id, marks=[pytest.mark.slow])
        for c in campaign(CASES)
    ]


@pytest.fixture(scope="module")
def key_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("fuzz-key") / "pseudonymisation.key"
    path.write_text(TEST_KEY + "\n", encoding="ascii")
    path.chmod(0o600)
    return path


@pytest.fixture(scope="module", autouse=True)
def summary(request: pytest.FixtureRequest):
    """Print the outcomes per family once the module's cases have run."""
    yield
    if not RESULTS:
        return
    capture = request.config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        _print_summary()


def _print_summary() -> None:
    by_family: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for r in RESULTS:
        by_family[r["family"]][r["outcome"]] += 1
        by_family[r["family"]]["passed" if not r["problems"] else "failed"] += 1
    write = print
    seconds = sum(r["seconds"] for r in RESULTS)
    write("")
    write(f"fuzz: {len(RESULTS)} cases in {seconds:.0f} s (per family: passed = finished + stopped")
    write("      with a clear message, and failed, by what the run did)")
    total: collections.Counter = collections.Counter()
    for family in sorted(by_family):
        c = by_family[family]
        total.update(c)
        write(f"  {family:<13} {_counts(c)}")
    write(f"  {'all':<13} {_counts(total)}")


def _counts(c: collections.Counter) -> str:
    n = c["passed"] + c["failed"]
    return (
        f"{n:>4} cases: passed {c['passed']:>4}; failed {c['failed']:>3}; outcomes: finished "
        f"{c['finished']:>4}, stopped {c['stopped']:>3}, crashed {c['crashed']:>3}"
    )


# --- running a case ------------------------------------------------------------------------------


def _write_delivery(d: Delivery, raw: Path) -> None:
    raw.mkdir()
    for name, data in d.files.items():
        (raw / name).write_bytes(data)


_CHILD = "import sys; from pipelines.__main__ import main; sys.exit(main(sys.argv[1:]))"


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ISOLATED_MEMORY, ISOLATED_MEMORY))


def _run_isolated(argv: list[str], key: Path) -> tuple[int | None, str, str]:
    env = {**os.environ, "PIPELINES_KEY_FILE": str(key), "PYTHONWARNINGS": "ignore"}
    try:
        proc = subprocess.run(
            [sys.executable, "-c", _CHILD, *argv],
            cwd=ROOT,
            env=env,
            capture_output=True,
            encoding="utf-8",
            errors="replace",
            timeout=CASE_SECONDS,
            preexec_fn=_limit_memory,
        )
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode("utf-8", "replace") if isinstance(exc.stdout, bytes) else ""
        return None, out, f"timed out after {CASE_SECONDS} s"
    return proc.returncode, proc.stdout, proc.stderr


def _run_in_process(argv: list[str]) -> tuple[int | None, str | None]:
    from pipelines.__main__ import main

    try:
        return main(argv), None
    except (Exception, SystemExit):
        return None, traceback.format_exc()


# --- the checks ----------------------------------------------------------------------------------


def _physical_lines(text: str) -> tuple[int, int]:
    """(lines, empty lines) of a text file: CRLF, LF and a lone CR each end a line."""
    parts = re.split(r"\r\n|\r|\n", text)
    if parts and parts[-1] == "":
        parts.pop()
    return len(parts), sum(1 for p in parts if p == "")


_CODECS = {"utf-8-bom": "utf-8-sig", "windows-1252": "cp1252"}


def _decode(data: bytes, encoding: str | None) -> str:
    codec = _CODECS.get(str(encoding), str(encoding))
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        codec = "utf-16"
    try:
        return data.decode(codec, errors="replace")
    except LookupError:
        return data.decode("utf-8", errors="replace")


def _output_texts(root: Path) -> list[tuple[str, str]]:
    """(name, text) of every file under ``root`` but warehouse files; workbooks by member."""
    out = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        if path.suffix in {".duckdb", ".wal"} or ".duckdb." in path.name:
            continue
        data = path.read_bytes()
        if data.startswith(b"PK\x03\x04"):
            try:
                with zipfile.ZipFile(io.BytesIO(data)) as z:
                    for member in z.namelist():
                        text = z.read(member).decode("utf-8", "replace")
                        out.append((f"{path.relative_to(root)}!{member}", text))
                continue
            except zipfile.BadZipFile:
                pass
        out.append((str(path.relative_to(root)), data.decode("utf-8", "replace")))
    return out


def _example(found: list[str]) -> str:
    """How many sensitive values were found, and the kind of the first (never the value)."""
    kind = "date" if found[0][:1].isdigit() else "ID or name"
    return f"{len(found)} value(s) (the first a raw {kind}, {len(found[0])} characters)"


def _check_warehouse(
    db: Path, d: Delivery, extra: frozenset[str], problems: list[str], verb: str
) -> None:
    con = duckdb.connect(str(db), read_only=True)
    try:
        columns = con.execute(
            "SELECT table_name, column_name FROM duckdb_columns() "
            "WHERE NOT internal AND data_type LIKE 'VARCHAR%' ORDER BY 1, 2"
        ).fetchall()
        s = sensitive()
        con.register("_fuzz_ids", pa.table({"tok": sorted(s.ids)}))
        con.register("_fuzz_dobs", pa.table({"tok": sorted(s.dobs | set(extra))}))
        # One query: the tokens (IDs) and dates (not in staging) of every VARCHAR value, matched
        # against the sensitive values, counted per table and column.
        dates = r"'\d{4}-\d{2}-\d{2}|\d{2}/\d{2}/\d{4}'"
        parts = []
        for table, column in columns:
            value = f'CAST("{column}" AS VARCHAR)'
            tag = f"'{table}' AS t, '{column}' AS c"
            parts.append(
                f"SELECT {tag}, unnest(regexp_extract_all(upper({value}), '[A-Z0-9]+')) AS tok, "
                f'0 AS is_date FROM "{table}"'
            )
            if not table.startswith("stg_"):
                parts.append(
                    f"SELECT {tag}, unnest(regexp_extract_all({value}, {dates})) AS tok, "
                    f'1 AS is_date FROM "{table}"'
                )
        hits: dict[tuple[str, str], list[str]] = {}
        if parts:
            sql = (
                f"WITH v AS ({' UNION ALL '.join(parts)}) "
                "SELECT DISTINCT t, c, tok FROM v WHERE (is_date = 0 AND tok IN "
                "(SELECT tok FROM _fuzz_ids)) OR (is_date = 1 AND tok IN (SELECT tok FROM "
                "_fuzz_dobs)) ORDER BY t, c, tok"
            )
            for t, c, tok in con.execute(sql).fetchall():
                if tok not in d.made:
                    hits.setdefault((t, c), []).append(tok)
        names = frozenset(e for e in extra if not e[:1].isdigit())
        if names:  # names in dropped columns: whole-value search, column by column
            for table, column in columns:
                values = con.execute(
                    f'SELECT DISTINCT CAST("{column}" AS VARCHAR) FROM "{table}" '
                    f'WHERE "{column}" IS NOT NULL'
                ).fetchall()
                found = leaks("\n".join(v for (v,) in values), names, made=d.made)
                if found:
                    hits.setdefault((table, column), []).extend(found)
        for (table, column), found in sorted(hits.items()):
            problems.append(f"raw ID/DOB in warehouse {table}.{column}: {_example(found)}")
        _reconcile(con, d, problems)
    finally:
        con.close()


def _reconcile(con: duckdb.DuckDBPyConnection, d: Delivery, problems: list[str]) -> None:
    cursor = con.execute("SELECT * FROM load_log")
    names = [c[0] for c in cursor.description]
    log = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    has_blank = "rows_blank" in names
    for entry in log:
        file = entry["file"]
        read, loaded, aside = entry["rows_read"], entry["rows_loaded"], entry["rows_set_aside"]
        blank = int(entry.get("rows_blank") or 0)
        if read != loaded + aside + blank:
            problems.append(
                f"load_log {file}: rows read {read} != loaded {loaded} + set aside {aside}"
                + (f" + blank {blank}" if has_blank else "")
            )
        rows = con.execute(
            'SELECT count(DISTINCT "row"), min("row"), max("row") FROM set_aside WHERE file = ?',
            [file],
        ).fetchall()[0]
        if rows[0] != aside:
            problems.append(
                f"load_log {file}: {aside} row(s) set aside but set_aside lists {rows[0]} rows"
            )
        wanted = d.aside_rows.get(file, set())
        if wanted:
            got = {
                r
                for (r,) in con.execute(
                    'SELECT DISTINCT "row" FROM set_aside WHERE file = ?', [file]
                ).fetchall()
            }
            if wanted - got:
                problems.append(
                    f"{file}: row(s) {sorted(wanted - got)} loaded; they must be set aside"
                )
        data = d.files.get(file)
        if data is None:
            problems.append(f"load_log names {file!r}, which was not delivered")
            continue
        if entry["format"] == "csv":
            lines, empty = _physical_lines(_decode(data, entry["encoding"]))
            expected = read + 1 + (0 if has_blank else empty)
            if expected != lines:
                problems.append(
                    f"load_log {file}: rows read {read} + header"
                    + ("" if has_blank else f" + {empty} blank line(s)")
                    + f" = {expected}, but the file has {lines} lines"
                    + (" (records merged or lost)" if expected < lines else "")
                )
            if rows[0] and (rows[1] < 2 or rows[2] > lines):
                problems.append(
                    f"set_aside {file}: rows {rows[1]}-{rows[2]} outside the file's 2-{lines}"
                )
        else:
            written = d.xlsx_rows.get(file)
            if written is not None and read - blank != written:
                problems.append(
                    f"load_log {file}: rows read {read}"
                    + (f" - blank {blank}" if has_blank else "")
                    + f" != {written} data rows in the workbook"
                )


def _check_nothing_set_aside(db: Path, problems: list[str]) -> None:
    """A shape real exports have loads whole (the unmutated sample sets nothing aside)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        aside = con.execute(
            'SELECT file, count(DISTINCT "row"), min(reason_code) FROM set_aside GROUP BY ALL'
        ).fetchall()
    finally:
        con.close()
    for file, n, reason in aside:
        problems.append(f"a shape real exports have: {file} had {n} row(s) set aside ({reason})")


def _check_flags(d: Delivery, dq: Path, problems: list[str]) -> None:
    """Rows the mutation made wrong must be in the data quality fix list."""
    fixlist = dq / "data_quality_fixlist.csv"
    if not fixlist.exists():
        problems.append(f"no fix list at {fixlist}")
        return
    with open(fixlist, encoding="utf-8-sig", newline="") as fh:
        listed = {(r.get("File"), str(r.get("Excel row"))) for r in csv.DictReader(fh)}
    for file, rows in sorted(d.flag_rows.items()):
        missing = sorted(r for r in rows if (file, str(r)) not in listed)
        if missing:
            problems.append(
                f"{file}: row(s) {missing} changed by the mutation, not in the fix list"
            )


def _check(
    case: Case,
    d: Delivery,
    rc: int | None,
    out: str,
    err: str,
    escaped: str | None,
    paths: dict[str, Path],
) -> tuple[str, list[str]]:
    """(outcome, problems) of one run."""
    problems: list[str] = []
    messages = out + "\n" + err
    extra = frozenset(d.extra)
    if escaped:
        problems.append("exception escaped main():\n" + escaped[-1500:])
    if "Traceback" in messages:
        problems.append("traceback printed")
    if rc not in KNOWN_EXIT_CODES and not escaped:
        problems.append(f"exit code {rc} (known: 0, 2, 3){': ' + err[-300:] if rc is None else ''}")
    found = leaks(messages, extra, made=d.made)
    if found:
        problems.append(f"raw ID/DOB in the messages printed: {_example(found)}")
    for name, text in _output_texts(paths["root"]):
        found = leaks(text, extra, made=d.made)
        if found:
            problems.append(f"raw ID/DOB in output {name}: {_example(found)}")
    leftovers = [
        p.name for p in paths["root"].rglob("*") if re.search(r"\.(building|old)-", p.name)
    ]
    if leftovers:
        problems.append(f"half-built files left behind: {leftovers[:3]}")

    db, report = paths["db"], paths["out"]
    if rc == 0:
        outcome = "finished"
        if db.exists():
            _check_warehouse(db, d, extra, problems, case.verb)
        else:
            problems.append(f"finished, but no warehouse at {db}")
        if case.verb in {"validate", "report"} and d.flag_rows:
            _check_flags(d, paths["dq"], problems)
        if case.mutation.legit and db.exists():
            _check_nothing_set_aside(db, problems)
    elif rc in {2, 3}:
        outcome = "stopped"
        if "ERROR" not in err:
            problems.append("stopped without an ERROR message on stderr")
        if rc == 2 and d.names and not any(n in err for n in d.names):
            problems.append(f"the stop message does not name {' or '.join(d.names)}")
        if rc == 3:
            if not (paths["dq"] / "data_quality.html").exists():
                problems.append("validation failed but wrote no data quality report")
            elif d.flag_rows:
                _check_flags(d, paths["dq"], problems)
        if db.exists():
            _check_warehouse(db, d, extra, problems, case.verb)
            problems.append(f"stopped, but a warehouse was swapped in at {db}")
        if report.exists():
            problems.append(f"stopped, but a report folder was swapped in at {report}")
        if case.mutation.legit:
            problems.append("a shape real exports have was refused (it must load)")
    else:
        outcome = "crashed"
    return outcome, problems


@pytest.mark.parametrize("case", _params())
def test_mutation(
    case: Case,
    tmp_path: Path,
    key_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    d = case.build()
    raw = tmp_path / "raw"
    _write_delivery(d, raw)
    root = tmp_path / "run"
    root.mkdir()
    db, report, dq = root / "warehouse" / "w.duckdb", root / "report", root / "dq"
    if d.db_under_file or d.out_under_file:
        (root / "afile").write_text("a file where a folder should be\n", encoding="utf-8")
        d.names = ["afile"]
        if d.db_under_file:
            db = root / "afile" / "w.duckdb"
        else:
            report = root / "afile" / "report"
    argv = [case.verb, "--raw-dir", str(raw), "--db", str(db), "--out", str(report)]
    argv += ["--dq-dir", str(dq)]
    monkeypatch.setenv("PIPELINES_KEY_FILE", str(key_file))

    capfd.readouterr()
    t = time.perf_counter()
    if case.mutation.isolate:
        rc, out, err = _run_isolated(argv, key_file)
        escaped = None
    else:
        rc, escaped = _run_in_process(argv)
        out, err = capfd.readouterr()
    seconds = time.perf_counter() - t

    paths = {"root": root, "db": db, "out": report, "dq": dq}
    outcome, problems = _check(case, d, rc, out, err, escaped, paths)
    if seconds > CASE_SECONDS:
        problems.append(f"took {seconds:.0f} s (limit {CASE_SECONDS} s): unbounded work")
    record = {
        "case": case.id,
        "family": case.family,
        "outcome": outcome,
        "rc": rc,
        "seconds": round(seconds, 2),
        "problems": problems,
    }
    RESULTS.append(record)
    if os.environ.get("PIPELINES_FUZZ_LOG"):
        with open(os.environ["PIPELINES_FUZZ_LOG"], "a", encoding="utf-8") as fh:
            fh.write(json.dumps({**record, "stderr": redact(err[-600:])}) + "\n")
    assert not problems, redact(
        f"fuzz case {case.id} ({outcome}, exit {rc}, {seconds:.1f} s)\n"
        f"  replay: PIPELINES_FUZZ_REPLAY='{case.id}' .venv/bin/python -m pytest "
        "tests/test_fuzz.py -q\n"
        + "\n".join(f"  - {p}" for p in problems)
        + f"\n  --- stderr (last 1200 characters) ---\n{err[-1200:]}"
    )

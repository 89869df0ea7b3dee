"""Ingestion: the delivery's extracts (CSV or XLSX) into a new DuckDB warehouse.

``ingest(raw_dir, db_path, key_file, run_id)`` finds the files by name prefix, checks them all
(reporting every file problem at once as a ``PipelineError``; the checks run on a thread ahead of
the loading, and nothing is kept once one fails), then reads each one as text in DuckDB, decodes
it (dates, yes/no, codes, labels), pseudonymises IDs with a keyed hash, and writes
``stg_<extract>``, ``<extract>``, ``load_log``, ``set_aside`` and ``ingest_notes``
(docs/ARCHITECTURE.md). Rows that cannot be read are set aside with a reason; for every file
rows read = rows loaded + rows set aside. Raw files are only read, never written.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pipelines import code_version
from pipelines.errors import PipelineError
from pipelines.ingest.discover import Note, SourceFile, discover, inspect
from pipelines.ingest.workbook import column_letters

__all__ = ["FileSummary", "IngestSummary", "ingest"]

DUCKDB_CONFIG = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}


@dataclasses.dataclass(frozen=True)
class FileSummary:
    """The figures of one file loaded."""

    extract: str
    file: str
    format: str
    encoding: str | None
    sheet: str | None
    rows_read: int
    rows_loaded: int
    rows_set_aside: int
    columns_dropped: tuple[str, ...]
    rows_blank: int = (
        0  # blank lines skipped: rows_read = rows_loaded + rows_set_aside + rows_blank
    )


@dataclasses.dataclass(frozen=True)
class IngestSummary:
    """What ``ingest`` loaded: one ``FileSummary`` per file, and the notes it wrote."""

    db_path: Path
    files: tuple[FileSummary, ...]
    notes: tuple[Note, ...]

    @property
    def rows_set_aside(self) -> int:
        return sum(f.rows_set_aside for f in self.files)

    def file(self, extract: str) -> FileSummary | None:
        return next((f for f in self.files if f.extract == extract), None)

    def describe(self) -> str:
        """A short terminal summary, one line per file."""
        head = ("extract", "file", "read", "loaded", "set aside", "blank", "dropped", "encoding")
        rows = [head] + [
            (
                f.extract,
                f.file,
                f"{f.rows_read:,}",
                f"{f.rows_loaded:,}",
                f"{f.rows_set_aside:,}",
                f"{f.rows_blank:,}",
                str(len(f.columns_dropped)),
                f.encoding or f"xlsx ({f.sheet})",
            )
            for f in self.files
        ]
        widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
        right = {2, 3, 4, 5, 6}
        lines = [
            "  "
            + "  ".join(
                c.rjust(w) if i in right else c.ljust(w)
                for i, (c, w) in enumerate(zip(r, widths, strict=True))
            ).rstrip()
            for r in rows
        ]
        extra = []
        if self.rows_set_aside:
            extra.append(
                f"  {self.rows_set_aside:,} row(s) set aside: see the set_aside table "
                "(and the data quality report) for the row, column and reason."
            )
        dropped = sorted({c for f in self.files for c in f.columns_dropped})
        if dropped:
            extra.append(f"  Columns outside the contract, not loaded: {', '.join(dropped)}.")
        return "\n".join(lines + extra)


def _check(extract: str, path: Path, workdir: Path) -> tuple[SourceFile | None, list[str]]:
    """One file checked (``discover.inspect``): the file ready to load, or None; its problems."""
    problems: list[str] = []
    sources = inspect({extract: path}, workdir, problems)
    return (sources[0] if sources else None), problems


def ingest(
    raw_dir: Path, db_path: Path, key_file: Path, run_id: str, key: bytes | None = None
) -> IngestSummary:
    """Load the extracts in ``raw_dir`` into a new DuckDB database at ``db_path``.

    ``db_path`` is replaced if it exists (the caller passes a build-aside path and swaps it in).
    ``key``: the pseudonymisation key, already checked by the caller (``pipelines.run``); when
    ``None`` it is read from ``key_file``, or created there once the extracts have been checked.
    """
    import duckdb

    from pipelines.contract import extracts
    from pipelines.ingest.keys import hmac_pads, load_or_create_key
    from pipelines.ingest.records import BrokenRecords
    from pipelines.ingest.stage import (
        create_macros,
        curate,
        drop_temp,
        lit,
        sql_template,
        stage_file,
    )

    raw_dir = Path(raw_dir)
    db_path = Path(db_path)
    if not raw_dir.is_dir():
        raise PipelineError(
            f"The extracts folder {raw_dir} does not "
            f"exist{' (it is a file)' if raw_dir.exists() else ''}. "
            "Put the delivery's files in a folder such as data/raw/2013-02-01/ and pass it "
            "with --raw-dir."
        )
    try:
        chosen, notes, problems = discover(raw_dir)
    except OSError as exc:
        raise PipelineError(
            f"Cannot list the extracts folder {raw_dir}: {exc.strerror}. Check you may read it."
        ) from None
    workdir = Path(tempfile.mkdtemp(prefix="ingest-"))
    # Each file is checked (encoding, line ends, blank and footer lines, its SHA-256: Python work)
    # on a thread, one after another, while DuckDB loads the files already checked (DuckDB works
    # outside the GIL): at national scale the checks take about 1 s that the load hides. No file
    # is loaded once any check has failed, and every problem is still reported at once.
    checker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest-check")
    try:
        checks = (
            [checker.submit(_check, extract, path, workdir) for extract, path in chosen.items()]
            if not any(p.startswith("No file") for p in problems)
            else []
        )

        def stop_if_problems() -> None:
            found = problems + [p for c in checks for p in c.result()[1]]
            if found:
                raise PipelineError(
                    f"The extracts in {raw_dir} cannot be loaded ({len(found)} problem(s)); "
                    "nothing was loaded:\n" + "\n".join(f"  - {p}" for p in found)
                )

        if problems or (key is None and not Path(key_file).exists()):
            stop_if_problems()  # a new key is created only once every file has passed
        key = key if key is not None else load_or_create_key(Path(key_file))
        ipad, opad = hmac_pads(key)

        try:
            for leftover in (db_path, db_path.with_name(db_path.name + ".wal")):
                if leftover.exists():
                    leftover.unlink()
            db_path.parent.mkdir(parents=True, exist_ok=True)
            con = duckdb.connect(str(db_path), config=DUCKDB_CONFIG)
        except (OSError, duckdb.Error) as exc:
            stop_if_problems()  # the files' problems first, as when they are checked first
            raise PipelineError(
                f"Cannot create the warehouse {db_path}: {getattr(exc, 'strerror', None) or exc}. "
                "Check the folder is writable and that no other program has the file open."
            ) from None
        try:
            con.execute(f"SET temp_directory = {lit(workdir.as_posix())}")
            con.execute("SET enable_progress_bar = false")  # run.py shows the progress
            create_macros(con, ipad, opad)
            con.execute(sql_template("tables.sql"))
            con.execute("CREATE TEMP TABLE _set_aside AS SELECT * FROM set_aside LIMIT 0")
            loaded_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
            version = code_version()
            summaries = []
            all_notes = list(notes)
            broken: list[str] = []
            for check in checks:
                source, failed = check.result()
                if failed:
                    break  # nothing more is loaded; stop_if_problems() reports every file
                if source is None:
                    continue
                try:
                    staged = stage_file(con, source, workdir)
                except BrokenRecords as exc:
                    broken.append(str(exc))  # every broken file is reported, then the run stops
                    continue
                all_notes.extend(source.notes)
                all_notes.extend(staged.notes)
                summaries.append(
                    FileSummary(
                        source.extract,
                        source.name,
                        source.format,
                        source.encoding,
                        source.sheet,
                        staged.rows_read,
                        staged.rows_loaded,
                        staged.rows_set_aside,
                        tuple(source.dropped),
                        staged.rows_blank,
                    )
                )
                con.execute(
                    "INSERT INTO load_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        run_id,
                        source.extract,
                        source.name,
                        source.sha256,
                        source.format,
                        source.encoding,
                        staged.rows_read,
                        staged.rows_loaded,
                        staged.rows_set_aside,
                        staged.rows_blank,
                        ", ".join(source.dropped),
                        loaded_at,
                        version,
                    ],
                )
                first = getattr(source, "first_column", 0)  # a workbook's table may not start at A
                con.executemany(
                    "INSERT INTO source_columns VALUES (?, ?, ?, ?)",
                    [
                        [source.extract, source.name, column, column_letters(first + position)]
                        for column, position in source.columns.items()
                    ],
                )
                curate(con, source.extract)
            stop_if_problems()
            if broken:
                raise PipelineError(
                    f"The extracts in {raw_dir} cannot be loaded ({len(broken)} problem(s)); "
                    "nothing was loaded:\n" + "\n".join(f"  - {p}" for p in broken)
                )
            con.execute('INSERT INTO set_aside SELECT * FROM _set_aside ORDER BY file, "row"')
            order = {name: i for i, name in enumerate(extracts())}
            all_notes.sort(key=lambda n: (order.get(n.extract or "", len(order)), n.file or ""))
            if all_notes:
                con.executemany(
                    "INSERT INTO ingest_notes VALUES (?, ?, ?, ?)",
                    [[n.extract, n.file, n.note_code, n.message] for n in all_notes],
                )
            drop_temp(
                con, "_src", "_typed", "_set_aside", "_rej_map", "_line_map", "_rej", "_rej_scan"
            )
            con.execute("CHECKPOINT")
        except PipelineError:
            con.close()
            # "nothing was loaded": the files loaded before a problem was found are not kept
            for part in (db_path, db_path.with_name(db_path.name + ".wal")):
                part.unlink(missing_ok=True)
            raise
        finally:
            con.close()
        return IngestSummary(db_path, tuple(summaries), tuple(all_notes))
    finally:
        checker.shutdown(wait=True, cancel_futures=True)  # before its work copies are deleted
        shutil.rmtree(workdir, ignore_errors=True)

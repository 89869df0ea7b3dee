"""One run of the pipeline: ingest -> validate -> metrics -> pages, built aside and swapped in.

All or nothing. The run's warehouse, data quality folder and report folder are each built beside
their target under a dot-name carrying the run id, ``.<name>.building-<run id>``, and are swapped
in together, with SIGINT and SIGTERM held off, only after the verb's last stage (the pages for
``report``, validation for ``validate``, loading for ``ingest``). Until then nothing the previous
run left is touched; a failure, Ctrl+C or SIGTERM removes the half-built copies and leaves the
previous outputs byte-identical. Half-built copies of a run that was killed outright are removed
by the next run (the run id carries the process id, so only copies whose process is gone, or that
are a day old, are touched).

One exception, on purpose: a run stopped by error-severity data quality findings swaps in its data
quality folder (whole) and nothing else, because the data officer needs that run's report to fix
the extracts; the warehouse and the pages stay those of the last good run, and the message says so.

The warehouse is built in a folder only its owner can open and is itself mode 600 (its staging
tables hold dates of birth); the report and data quality folders are normal folders, for sharing.
The key is checked against the existing warehouse before anything is built (``check_key``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
import shutil
import signal
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pipelines import ROOT
from pipelines.config import RunConfig
from pipelines.errors import PipelineError, Terminated, UnexpectedError, ValidationFailed

#: Half-built copies are removed by a later run when their process is gone or they are this old.
LEFTOVER_MAX_AGE_S = 24 * 3600
_RUN_ID = re.compile(r"^(?P<ts>\d{8}T\d{6})-(?:(?P<pid>\d+)-)?[0-9a-f]{4,}")
#: Held off during a swap; SIGTERM and SIGHUP (a closed terminal) also stop a run like Ctrl+C.
_SIGNALS = tuple(s for s in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, s))
_STOPPING = tuple(s for s in ("SIGTERM", "SIGHUP") if hasattr(signal, s))


class RunState:
    """Where a run is and what it has put in place, so every message about it is true."""

    def __init__(self, until: str) -> None:
        self.items = ["warehouse", "data quality report", "committee pages"][
            : {"ingest": 1, "validate": 2}.get(until, 3)
        ]
        self.stage = "starting the run"
        self.swapped: list[str] = []

    def outcome(self) -> str:
        if not self.swapped:
            return f"Nothing was changed: the previous {_join(self.items)} {_are(self.items)}."
        kept = [i for i in self.items if i not in self.swapped]
        if not kept:
            return f"The run had finished: its new {_join(self.items)} were already in place."
        return (
            f"Only this run's {_join(self.swapped)} was put in place; the previous "
            f"{_join(kept)} {_are(kept)}."
        )


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _are(items: list[str]) -> str:
    return "is as it was" if len(items) == 1 else "are as they were"


class Progress:
    """Prints each step with its elapsed time, so a long run is never silent."""

    def __init__(self, state: RunState | None = None) -> None:
        self.t0 = time.perf_counter()
        self.state = state

    @contextmanager
    def step(self, text: str) -> Iterator[None]:
        if self.state is not None:
            self.state.stage = text[0].lower() + text[1:]
        print(f"  {text} ...", end="", flush=True)
        t = time.perf_counter()
        try:
            yield
        except BaseException:
            print(" failed", flush=True)
            raise
        print(f" done ({time.perf_counter() - t:.1f} s)", flush=True)

    def total(self) -> float:
        return time.perf_counter() - self.t0


# --- where a run writes: checked before anything runs ------------------------------------------


def _place_problem(path: Path, kind: str) -> str | None:
    """Why ``path`` (a ``file`` or ``dir`` to be replaced) cannot be written, or None."""
    if path.is_symlink() or path.exists():
        if kind == "file" and path.is_dir():
            return f"{path} is a folder, not a file"
        if kind == "dir" and not path.is_dir():
            return f"{path} is a file, not a folder"
    parent = path.parent
    while not (parent.exists() or parent.is_symlink()) and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        return f"{parent} is a file (or a broken link), so nothing can be created under it"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"the folder {parent} is not writable (permission denied)"
    return None


def _inside(a: Path, b: Path) -> bool:
    """``a`` is ``b`` or lies under it."""
    return a == b or a.is_relative_to(b)


def _looks_like(folder: Path, names: tuple[str, ...]) -> bool:
    """An empty or absent folder, or one a previous run wrote (it holds one of ``names``)."""
    try:
        if not folder.is_dir() or not any(folder.iterdir()):
            return True
    except OSError:
        return True  # reported by _place_problem or at the swap
    return any((folder / n).exists() for n in names)


def check_places(config: RunConfig, until: str) -> None:
    """Refuse, before anything runs, output paths the run could not write or must not replace.

    The report and data quality folders are replaced whole, so each must be new, empty, or a
    folder this pipeline wrote, and must not hold the extracts, the key, the warehouse, the
    project or the current folder.
    """
    db = config.db_path.resolve()
    places: list[tuple[str, Path, str]] = [("--db (the warehouse file)", db, "file")]
    if until in ("validate", "report"):
        places.append(("--dq-dir (the data quality folder)", config.dq_dir.resolve(), "dir"))
    if until == "report":
        places.append(("--out (the report folder)", config.out_dir.resolve(), "dir"))
    problems = [
        f"{option}: {why}." for option, path, kind in places if (why := _place_problem(path, kind))
    ]
    raw = config.raw_dir.resolve()
    problems += [
        f"{option}: {path} is inside the extracts folder {raw}, which is only ever read."
        for option, path, _kind in places
        if _inside(path, raw)
    ]
    folders = [(o, p) for o, p, k in places if k == "dir"]
    guarded = [
        ("the extracts folder", raw),
        ("the pseudonymisation key", config.key_file.resolve()),
        ("the warehouse", db),
        ("the project folder", ROOT.resolve()),
        ("the current folder", Path.cwd().resolve()),
    ]
    try:
        guarded.append(("your home folder", Path.home().resolve()))
    except RuntimeError:
        pass  # no home folder known (a service account): nothing to guard
    marks = {
        "--out (the report folder)": ("index.html", "metrics.csv"),
        "--dq-dir (the data quality folder)": ("data_quality.html", "data_quality.json"),
    }
    for option, folder in folders:
        for what, path in guarded:
            if _inside(path, folder):
                problems.append(
                    f"{option}: {folder} would be replaced whole at the end of the run, and it "
                    f"holds {what} ({path})."
                )
        for other, path in folders:
            if other != option and _inside(path, folder):
                problems.append(f"{option}: {folder} holds {other} {path}; keep them apart.")
        if not _looks_like(folder, marks[option]):
            problems.append(
                f"{option}: {folder} already holds files that this pipeline did not write, and "
                "the run replaces the folder whole; choose a new or empty folder."
            )
    if problems:
        raise PipelineError(
            "The run cannot write its outputs; nothing was run and nothing was changed:\n"
            + "\n".join(f"  - {p}" for p in dict.fromkeys(problems))
            + "\n  Choose other paths with --db, --dq-dir and --out (or in config/run.yaml)."
        )


# --- building aside, swapping in, cleaning up -----------------------------------------------------


def new_run_id() -> str:
    """``<time>-<pid>-<random>``: sortable, unique, and tells a later run whose copies these are."""
    return f"{dt.datetime.now():%Y%m%dT%H%M%S}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


def aside(target: Path, kind: str, run_id: str) -> Path:
    """The path beside ``target`` that a run builds in (``building``) or moves it to (``old``)."""
    return target.with_name(f".{target.name}.{kind}-{run_id}")


class Build:
    """The copies one run builds aside: the warehouse (in a private folder), the data quality
    folder and the report folder."""

    def __init__(self, config: RunConfig, run_id: str) -> None:
        self.run_id = run_id
        self.db_dir = aside(config.db_path, "building", run_id)
        self.db = self.db_dir / config.db_path.name
        self.dq = aside(config.dq_dir, "building", run_id)
        self.out = aside(config.out_dir, "building", run_id)

    def make_db_dir(self) -> None:
        self.db_dir.parent.mkdir(parents=True, exist_ok=True)
        self.db_dir.mkdir(mode=0o700)
        self.db_dir.chmod(0o700)  # whatever the umask: owner only

    def remove(self) -> None:
        for path in (self.db_dir, self.dq, self.out):
            _remove(path)


def _remove(path: Path) -> None:
    """Delete a file or folder tree; retried briefly, since a notebook worker thread stopped by
    Ctrl+C may still be writing its last file into a folder being deleted."""
    for attempt in range(3):
        try:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            elif path.is_symlink() or path.exists():
                path.unlink()
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.2 * (attempt + 1))


def _pid_gone(pid: int) -> bool:
    if os.name == "nt":  # os.kill(pid, 0) would send CTRL_C_EVENT on Windows: age decides there
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False  # alive, another user's
    return False


def clean_leftovers(targets: list[Path], now: float | None = None) -> list[Path]:
    """Remove the ``.<name>.building-*`` and ``.<name>.old-*`` copies beside ``targets`` that
    a run killed outright left (SIGKILL, power cut): those whose process is gone, or that are a
    day old. An ``old`` copy whose target is missing (killed between the two renames of a swap)
    is put back instead. Returns what was removed or restored."""
    now = time.time() if now is None else now
    done: list[Path] = []
    for target in targets:
        prefix = f".{target.name}."
        try:
            entries = list(target.parent.iterdir()) if target.parent.is_dir() else []
        except OSError:
            continue
        for p in entries:
            rest = p.name[len(prefix) :] if p.name.startswith(prefix) else ""
            kind, _, run_id = rest.partition("-")
            m = _RUN_ID.match(run_id)
            if kind not in ("building", "old") or not m:
                continue
            pid = int(m["pid"]) if m["pid"] else None
            if pid == os.getpid():
                continue
            try:
                age = now - p.lstat().st_mtime
            except OSError:
                continue
            if not ((pid is not None and _pid_gone(pid)) or age > LEFTOVER_MAX_AGE_S):
                continue
            try:
                if kind == "old" and not (target.exists() or target.is_symlink()):
                    os.replace(p, target)
                else:
                    _remove(p)
                done.append(p)
            except OSError:
                pass
    return done


@contextmanager
def signals_held() -> Iterator[None]:
    """SIGINT and SIGTERM wait until the block has finished, then take effect as usual.

    Blocked for this thread with ``pthread_sigmask``, and caught by a note-taking handler if
    delivered to another thread (Python runs handlers in the main thread), so a swap cannot be
    cut half way. Outside the main thread signals cannot be handled anyway: nothing is done.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    signums = [getattr(signal, s) for s in _SIGNALS]
    caught: list[int] = []
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, signums) if _can_mask() else None
    previous = {s: signal.signal(s, lambda n, _f: caught.append(n)) for s in signums}
    try:
        yield
    finally:
        # restore the handlers while still blocked, then unblock: a pending signal reaches the
        # usual handler; each step runs even if a handler raises during the one before it
        try:
            for s, h in previous.items():
                signal.signal(s, h)
        finally:
            if mask is not None:
                signal.pthread_sigmask(signal.SIG_SETMASK, mask)
    if caught:
        signal.raise_signal(caught[0])


def _can_mask() -> bool:
    return hasattr(signal, "pthread_sigmask")


@contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM and SIGHUP raise ``Terminated`` (a KeyboardInterrupt) for the length of the run,
    so a run stopped by ``kill``, a scheduler or a closed terminal cleans up like Ctrl+C."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, _frame: Any) -> None:
        raise Terminated(signal.Signals(signum).name, 128 + signum)

    previous = {s: signal.signal(s, stop) for s in (getattr(signal, n) for n in _STOPPING)}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def swap_in(pairs: list[tuple[Path | None, Path]], run_id: str) -> list[Path]:
    """Put each built copy in place of its target, all or none; returns the previous copies,
    now beside their targets as ``.<name>.old-<run id>``, for the caller to delete.

    Every target is first moved aside and the copy moved in (``built`` None: only moved aside);
    if a rename fails, what was done is undone in reverse, so the previous outputs stand.
    Renames within one folder: atomic, and instant at any size. Call with signals held.
    """
    done: list[tuple[Path | None, Path, Path | None, bool]] = []
    try:
        for built, target in pairs:
            old = None
            if target.exists() or target.is_symlink():
                old = aside(target, "old", run_id)
                os.replace(target, old)
            done.append((built, target, old, False))
            if built is not None:
                os.replace(built, target)
                done[-1] = (built, target, old, True)
    except OSError as exc:
        stuck = _undo(done)
        raise PipelineError(
            f"The new outputs could not be put in place ({exc.strerror}: "
            f"{exc.filename or exc.filename2 or ''}). "
            + (
                f"Some previous outputs could not be put back: they are at {', '.join(stuck)}."
                if stuck
                else "The previous outputs were put back as they were."
            )
            + " Check that no other program has a file in the report, data quality or "
            "warehouse folders open, and run again."
        ) from None
    return [old for _b, _t, old, _p in done if old is not None]


def _undo(done: list[tuple[Path | None, Path, Path | None, bool]]) -> list[str]:
    stuck = []
    for built, target, old, placed in reversed(done):
        try:
            if placed and built is not None:
                os.replace(target, built)
            if old is not None:
                os.replace(old, target)
        except OSError:
            stuck.append(str(old or target))
    return stuck


@contextmanager
def run_lock(db_path: Path) -> Iterator[None]:
    """One run at a time per warehouse: two runs swapping in at once could leave one run's
    warehouse beside the other's pages. An advisory lock (``flock``) on ``.<name>.lock`` beside
    the warehouse, released when the process ends however it ends, and the file deleted at the
    end of the run (a killed run's file is taken over by the next). Where ``fcntl`` is missing
    (Windows) runs are not serialised."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    lock = db_path.with_name(f".{db_path.name}.lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            # the file may have been deleted by a run finishing meanwhile: then it is not the lock
            held = os.stat(lock).st_ino == os.fstat(fd).st_ino
        except (BlockingIOError, FileNotFoundError):
            held = False
        if not held:
            raise PipelineError(
                f"Another run is building the warehouse {db_path} right now (it holds {lock}). "
                "Wait for it to finish, then run again. Nothing was changed."
            )
        try:
            yield
        finally:
            lock.unlink(missing_ok=True)  # while still held, so no other run holds this file
    finally:
        os.close(fd)


def keep_failed_notebook(exc: PipelineError, build: Build, config: RunConfig) -> Path | None:
    """Copy the executed notebook(s) of a failed page out of the report being built (deleted
    with it) to ``<out parent>/failed/<run id>/``, which no run replaces; returns the path of
    the failed notebook (or of the folder, when which one failed is not known)."""
    nb_dir = build.out / "notebooks"
    failed = getattr(exc.__cause__, "notebook", None)
    sources = [Path(failed)] if failed else sorted(nb_dir.glob("*.ipynb"))
    sources = [p for p in sources if p.is_file()]
    if not sources:
        return None
    dest = config.out_dir.parent / "failed" / build.run_id
    try:
        dest.mkdir(parents=True, exist_ok=True)
        for p in sources:
            shutil.copy2(p, dest / p.name)
    except OSError:
        return None
    return dest / sources[0].name if failed else dest


# --- the run -----------------------------------------------------------------------------------


def run(config: RunConfig, until: str = "report") -> int:
    """Run the stages up to ``until`` (ingest, validate or report); return the exit code."""
    # through symbolic links: a data quality folder linked to a shared drive is built and
    # swapped in on that drive, and the link is kept
    config = dataclasses.replace(
        config,
        db_path=config.db_path.resolve(),
        dq_dir=config.dq_dir.resolve(),
        out_dir=config.out_dir.resolve(),
    )
    check_places(config, until)
    with run_lock(config.db_path):
        return _run_locked(config, until)


def _start_gx_preload() -> None:
    """Start ``preload_gx`` from a thread, so that importing the validation package (pandas,
    about 0.4 s) happens there too and ingest starts at once (ingest needs no pandas). Should
    validation come first, it imports GX itself: the preload only saves time."""

    def start() -> None:
        try:
            from pipelines.validate.engine import preload_gx

            preload_gx()
        except BaseException:  # noqa: BLE001  (validate() imports again and raises there)
            pass

    threading.Thread(target=start, name="gx-preload-start", daemon=True).start()


def _run_locked(config: RunConfig, until: str) -> int:
    from pipelines.ingest.keys import check_key

    if until != "ingest":
        _start_gx_preload()  # Great Expectations imports on a thread while ingest runs

    key = check_key(
        config.key_file, config.db_path, new_key=config.new_key, source=config.key_source
    )
    run_id = new_run_id()
    build = Build(config, run_id)
    state = RunState(until)
    with terminate_as_interrupt():
        try:
            targets = [config.db_path, config.db_path.with_name(config.db_path.name + ".wal")]
            targets += [config.dq_dir, config.out_dir][: len(state.items) - 1]
            if removed := clean_leftovers(targets):
                print(f"Removed {len(removed)} half-built copy(ies) left by an earlier run.")
            if until == "report":
                from pipelines.report import warm_up

                warm_up()  # one notebook kernel boots on the other core while ingest runs
            print(f"Run {run_id}: {config.raw_dir} -> {config.db_path}")
            return _stages(config, until, key, build, state)
        except ValidationFailed:
            raise  # its message says what was put in place
        except PipelineError as exc:
            exc.outcome = state.outcome()
            raise
        except KeyboardInterrupt as exc:
            exc.outcome = state.outcome()  # type: ignore[attr-defined]
            raise
        except Exception as exc:
            if type(exc).__name__ == "InterruptException":  # Ctrl+C inside a DuckDB query
                stop = KeyboardInterrupt()
                stop.outcome = state.outcome()  # type: ignore[attr-defined]
                raise stop from exc
            error = UnexpectedError(exc, state.stage)
            error.outcome = state.outcome()
            raise error from exc
        finally:
            build.remove()
            sys.stdout.flush()


def _stages(config: RunConfig, until: str, key: bytes | None, build: Build, state: RunState) -> int:
    import duckdb

    from pipelines.ingest import ingest
    from pipelines.ingest.keys import read_key, record_fingerprint

    progress = Progress(state)
    with progress.step("Ingesting extracts"):
        build.make_db_dir()
        summary = ingest(config.raw_dir, build.db, config.key_file, build.run_id, key=key)
        con = duckdb.connect(str(build.db))
        try:
            # the key ingest used: the checked one, or the one it has just created
            record_fingerprint(con, key or read_key(config.key_file), build.run_id)
        finally:
            con.close()
        build.db.chmod(0o600)  # its staging tables hold dates of birth
    print(summary.describe())
    if until == "report":
        from pipelines.report import warm_up

        warm_up()  # the other kernels boot beside validation, which uses one core
    if until == "ingest":
        _swap(state, [(build.db, config.db_path)], ["warehouse"], build.run_id)
        print(f"Warehouse: {config.db_path} ({progress.total():.1f} s)")
        return 0

    from pipelines.validate import validate, write_dq_report

    con = duckdb.connect(str(build.db))
    try:
        with progress.step("Validating (Great Expectations)"):
            result = validate(con, config)
        with progress.step("Writing the data quality report"):
            build.dq.parent.mkdir(parents=True, exist_ok=True)
            build.dq.mkdir()
            dq_paths = write_dq_report(result, con, config, build.dq)
    finally:
        con.close()
    print(result.describe())
    dq_page = config.dq_dir / dq_paths[0].name
    if result.n_errors:
        _swap(state, [(build.dq, config.dq_dir)], ["data quality report"], build.run_id)
        kept = _join([i for i in state.items if i != "data quality report"])
        raise ValidationFailed(
            f"{result.n_errors} error(s) in the extracts: the run stopped before the figures "
            f"and no committee page was written. This run's data quality report is in "
            f"{config.dq_dir} (the folder was replaced whole); the {kept} "
            f"{'was' if until == 'validate' else 'were'} left as "
            f"{'it was' if until == 'validate' else 'they were'} (the previous run's, if any).\n"
            f"Open the data quality report for every problem and how to fix it: {dq_page}"
        )
    if until == "validate":
        _swap(
            state,
            [(build.db, config.db_path), (build.dq, config.dq_dir)],
            ["warehouse", "data quality report"],
            build.run_id,
        )
        print(f"Data quality report: {dq_page}")
        print(f"Validation passed ({progress.total():.1f} s).")
        return 0

    from pipelines.report import render_reports
    from pipelines.transform import compute_metrics, suppress, write_metrics

    build.out.parent.mkdir(parents=True, exist_ok=True)
    build.out.mkdir()
    con = duckdb.connect(str(build.db), read_only=True)
    try:
        with progress.step("Computing every figure"):
            metrics = compute_metrics(con, config)
            write_metrics(metrics, build.out / "metrics.csv")
            write_metrics(
                suppress(metrics, config.suppression_threshold),
                build.out / "metrics_public.csv",
            )
    finally:
        con.close()
    for p in dq_paths:
        shutil.copy2(p, build.out / p.name)
    try:
        with progress.step("Rendering the committee pages"):
            render_reports(build.out, config, result.statement())
    except PipelineError as exc:
        kept_nb = keep_failed_notebook(exc, build, config)
        if kept_nb is None:
            raise
        raise PipelineError(
            f"{exc}\nThe executed notebook is kept at: {kept_nb}"
        ) from exc.__cause__
    _swap(
        state,
        [(build.db, config.db_path), (build.dq, config.dq_dir), (build.out, config.out_dir)],
        list(state.items),
        build.run_id,
    )
    print(f"Data quality report: {dq_page}")
    print(f"\nOK: reports in {config.out_dir} ({progress.total():.1f} s)")
    print(f"  open {config.out_dir / 'index.html'}")
    return 0


def _swap(state: RunState, pairs: list[tuple[Path, Path]], items: list[str], run_id: str) -> None:
    """Swap ``pairs`` in (``swap_in``) with SIGINT/SIGTERM held off, note what is now in place,
    then delete the previous copies."""
    state.stage = "putting the new outputs in place"
    moves: list[tuple[Path | None, Path]] = list(pairs)
    if "warehouse" in items:
        # a write-ahead log left beside the previous warehouse must never be replayed into the
        # new one: it goes aside with the warehouse it belongs to
        db = pairs[0][1]
        moves.append((None, db.with_name(db.name + ".wal")))
    with signals_held():
        olds = swap_in(moves, run_id)
        state.swapped = items
    for old in olds:
        _remove(old)

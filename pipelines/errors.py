"""Errors the pipeline reports to a person, not as a traceback."""

from __future__ import annotations


class PipelineError(Exception):
    """A problem the user can fix: the message names the file, row, column and what to do.

    The CLI prints the message and exits with ``exit_code``; no traceback is shown (unless
    ``--debug``). ``outcome`` is set by ``pipelines.run`` to what the stop left in place (e.g.
    "Nothing was changed: ..."), so the message a person reads is true about the outputs.
    """

    exit_code = 2

    def __init__(self, message: str, *, exit_code: int | None = None) -> None:
        super().__init__(message)
        self.outcome: str | None = None
        if exit_code is not None:
            self.exit_code = exit_code


class ValidationFailed(PipelineError):
    """Error-severity data quality rules failed: the run stops before any figure is computed."""

    exit_code = 3


class UnexpectedError(PipelineError):
    """An exception no stage turned into a message of its own (a bug, or an input nobody foresaw).

    The message names the stage and the exception's type, never the exception's own text: a
    library's message can quote a cell of the extracts (DuckDB's conversion errors, openpyxl's
    illegal-character errors, pandas' parse errors), and that may be a child's ID or date of
    birth. Only an operating-system error's reason and file name are quoted (``OSError.strerror``
    and ``filename`` come from the system, not from the data). ``--debug`` shows the traceback.
    """

    exit_code = 1

    def __init__(self, exc: BaseException, stage: str) -> None:
        super().__init__(
            f"Unexpected error while {stage}: {describe_unexpected(exc)}.\n"
            "  Run again with --debug to see the details (a traceback; it may quote values "
            "from the extracts,\n  so keep it with the data and never paste it into a ticket "
            "or an email)."
        )
        self.stage = stage


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP (``kill``, a scheduler stopping the job, a closed terminal), raised
    like Ctrl+C so a stopped run cleans up after itself the same way. ``args``: the signal's
    name and the exit code (128 + its number)."""

    @property
    def signal_name(self) -> str:
        return str(self.args[0]) if self.args else "SIGTERM"

    @property
    def exit_code(self) -> int:
        return int(self.args[1]) if len(self.args) > 1 else 143


def describe_unexpected(exc: BaseException) -> str:
    """The exception's type, and for operating-system errors their reason and file (see
    ``UnexpectedError``: nothing from the exception's own message, which may quote data)."""
    name = type(exc).__name__
    if isinstance(exc, MemoryError):
        return (
            f"{name} (the machine ran out of memory: close other programs or run on a machine "
            "with more memory)"
        )
    if isinstance(exc, OSError) and exc.strerror:
        where = f" ({exc.filename})" if isinstance(exc.filename, str) and exc.filename else ""
        return f"{name}: {exc.strerror}{where}"
    return name

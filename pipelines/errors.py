"""Errors the pipeline reports to a person, not as a traceback."""


class PipelineError(Exception):
    """A problem the user can fix: the message names the file, row, column and what to do.

    The CLI prints the message and exits with ``exit_code``; no traceback is shown.
    """

    exit_code = 2

    def __init__(self, message: str, *, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class ValidationFailed(PipelineError):
    """Error-severity data quality rules failed: the run stops before any report is written."""

    exit_code = 3

"""Runs the rules of ``rules.yaml`` over a warehouse and collects findings (one per cell at fault).

Row-level rules run in Great Expectations 1.x over pandas frames read from DuckDB in bounded
batches (GX through SQLAlchemy on DuckDB fails with an IndexError); rules that need the
whole table (uniqueness, cross-table, shares) are DuckDB queries. Either way a finding carries the
file, the Excel row, the column and the value, never a pseudonymised ID or a date of birth.
"""

from __future__ import annotations

import datetime as dt
import importlib
import importlib.util
import math
import os
import re
import sys
import threading
import time
import types
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import pandas as pd

from pipelines.contract import SQL_TYPES, extracts, personal
from pipelines.validate.rules import Rule, render_sql, resolve, text

FINDING_COLUMNS = [
    "file",
    "row",
    "column_letter",
    "column",
    "value",
    "rule",
    "severity",
    "message",
    "how_to_fix",
    "extract",
    "reference",
]
WITHHELD = "<withheld>"
SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}
INTERNAL_RULE = "VAL-001"

# DuckDB types each contract type may have in a staging table: the contract's own, and any
# integer width for integers (a hand-built or older warehouse may use another).
_TYPES = {kind: {sql} for kind, sql in SQL_TYPES.items()} | {
    "integer": {"INTEGER", "BIGINT", "SMALLINT", "TINYINT", "HUGEINT"}
}
_PAIR_KEYS = ("column_A", "column_B")


def reference_column(extract: str) -> str | None:
    """The column holding the source system's own reference for a row (never a pseudonymised ID)."""
    spec = extracts()[extract]
    for column in spec.get("key") or []:
        if spec["columns"][column]["type"] == "record_id":
            return column
    return None


def withheld(extract: str | None, column: str | None) -> bool:
    """True for columns whose values never leave the warehouse: pseudonymised IDs, DOBs."""
    if not column:
        return False
    spec = extracts().get(extract or "", {}).get("columns", {}).get(column) or {}
    return personal(spec, column)


def format_value(value: Any) -> str:
    """A value as the data officer would type it: dates ISO, whole numbers without '.0'."""
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, (pd.Timestamp, dt.datetime)):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (list, tuple)):
        return ";".join(format_value(v) for v in value)
    if hasattr(value, "item") and not isinstance(value, str):  # numpy scalars
        return format_value(value.item())
    text_value = str(value)
    if re.fullmatch(r"\d{4}-\d\d-\d\dT00:00:00(\.0+)?", text_value):
        return text_value[:10]
    return text_value


class Collector:
    """Findings as plain records; made into one frame at the end."""

    def __init__(self, rules: Iterable[Rule], params: dict[str, Any]) -> None:
        self.rules = {r.code: r for r in rules}
        self.params = params
        self.records: list[dict[str, Any]] = []

    def add(
        self,
        rule: str,
        *,
        extract: str | None,
        file: str | None,
        row: Any = None,
        column: str | None = None,
        value: Any = None,
        reference: Any = None,
        detail: str | None = None,
    ) -> None:
        spec = self.rules[rule]
        value_text = format_value(value)
        if value_text and withheld(extract, column):
            value_text = WITHHELD
        ref_text = format_value(reference)
        message = text(spec.message, self.params)
        if detail:
            message = f"{message} {detail}"
        self.records.append(
            {
                "file": file or "",
                "row": None
                if row is None or (isinstance(row, float) and math.isnan(row))
                else int(row),
                "column_letter": "",
                "column": column or "",
                "value": value_text,
                "rule": rule,
                "severity": spec.severity,
                "message": message,
                "how_to_fix": text(spec.how_to_fix, self.params),
                "extract": extract or "",
                "reference": ref_text,
            }
        )

    def internal(
        self, extract: str | None, file: str | None, what: str, exc: BaseException | str
    ) -> None:
        """A check that could not run is itself an error: nothing is skipped silently."""
        self.add(
            INTERNAL_RULE,
            extract=extract,
            file=file,
            detail=f"Check: {what}. Reason: {str(exc).splitlines()[0][:300]}",
        )

    def frame(self) -> pd.DataFrame:
        df = pd.DataFrame.from_records(self.records, columns=FINDING_COLUMNS)
        df["row"] = df["row"].astype("Int64")
        return df


# ---------------------------------------------------------------------------------------------
# The warehouse as it is
# ---------------------------------------------------------------------------------------------


def table_columns(con: Any) -> dict[str, dict[str, str]]:
    """Table name -> {column: DuckDB type} for the main schema."""
    rows = con.execute(
        "SELECT table_name, column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = 'main' ORDER BY table_name, ordinal_position"
    ).fetchall()
    out: dict[str, dict[str, str]] = {}
    for table, column, dtype in rows:
        out.setdefault(table, {})[column] = str(dtype).upper()
    return out


def files_by_extract(con: Any, tables: dict[str, dict[str, str]]) -> dict[str, list[str]]:
    if "load_log" not in tables:
        return {}
    out: dict[str, list[str]] = {}
    for extract, file in con.execute(
        "SELECT extract, file FROM load_log ORDER BY extract, file"
    ).fetchall():
        out.setdefault(extract, []).append(file)
    return out


def check_schema(
    rules: dict[str, Rule],
    tables: dict[str, dict[str, str]],
    files: dict[str, list[str]],
    add: Collector,
) -> dict[str, set[str]]:
    """Contract tables and columns present with the right types; returns the usable columns."""
    by_part = {r.part: r.code for r in rules.values() if r.check == "schema"}
    usable: dict[str, set[str]] = {}
    for extract, spec in extracts().items():
        table = f"stg_{extract}"
        file = "; ".join(files.get(extract, [])) or None
        if table not in tables:
            if spec.get("required") and "missing_table" in by_part:
                add.add(
                    by_part["missing_table"],
                    extract=extract,
                    file=file,
                    detail=f"There is no {table} table in the warehouse.",
                )
            continue
        have = tables[table]
        ok: set[str] = set()
        for column, cspec in [
            *spec["columns"].items(),
            ("_file", {"type": "text"}),
            ("_row", {"type": "integer"}),
        ]:
            if column not in have:
                if "missing_column" in by_part:
                    add.add(
                        by_part["missing_column"],
                        extract=extract,
                        file=file,
                        column=column,
                        detail=f"Column {column} is missing from {table}.",
                    )
                continue
            if have[column] not in _TYPES[cspec["type"]]:
                if "wrong_type" in by_part:
                    add.add(
                        by_part["wrong_type"],
                        extract=extract,
                        file=file,
                        column=column,
                        detail=f"{table}.{column} is {have[column]}, expected "
                        f"{' or '.join(sorted(_TYPES[cspec['type']]))}.",
                    )
                continue
            ok.add(column)
        usable[extract] = ok
    return usable


def _rules_by_ingest_code(
    rules: dict[str, Rule], check: str, field: str
) -> tuple[dict[str, str], str | None]:
    """Ingest code -> rule code for the rules of one check (``set_aside`` reasons or ``note``
    codes), and the rule listing ``*`` that takes any code no rule names."""
    chosen = [r for r in rules.values() if r.check == check]
    fallback = next((r.code for r in chosen if "*" in getattr(r, field)), None)
    by_code = {c: r.code for r in chosen for c in getattr(r, field) if c != "*"}
    return by_code, fallback


def check_set_aside(
    con: Any, rules: dict[str, Rule], tables: dict[str, dict[str, str]], add: Collector
) -> None:
    """Every row ingest set aside is an error finding, under the rule for its reason."""
    if "set_aside" not in tables:
        return
    by_reason, fallback = _rules_by_ingest_code(rules, "set_aside", "reasons")
    query = (
        'SELECT extract, file, "row", "column", value, reason_code, reason, reference '
        'FROM set_aside ORDER BY extract, file, "row", "column"'
    )
    rows = con.execute(query).fetchall()
    for extract, file, row, column, value, reason_code, reason, reference in rows:
        code = by_reason.get(str(reason_code).upper(), fallback)
        if code is None:
            continue
        add.add(
            code,
            extract=extract,
            file=file,
            row=row,
            column=column,
            value=value,
            reference=reference,
            detail=f"Ingest: {reason}" if reason else None,
        )


def check_notes(
    con: Any, rules: dict[str, Rule], tables: dict[str, dict[str, str]], add: Collector
) -> None:
    """Decisions ingest reported, as warnings or information."""
    if "ingest_notes" not in tables:
        return
    by_code, fallback = _rules_by_ingest_code(rules, "note", "notes")
    query = (
        "SELECT extract, file, note_code, message FROM ingest_notes "
        "ORDER BY extract NULLS FIRST, file NULLS FIRST, note_code, message"
    )
    for extract, file, note_code, message in con.execute(query).fetchall():
        code = by_code.get(str(note_code).upper(), fallback)
        if code is None:
            continue
        add.add(code, extract=extract, file=file, detail=message)


# ---------------------------------------------------------------------------------------------
# Great Expectations over batches of each staging table
# ---------------------------------------------------------------------------------------------


def row_condition(spec: dict[str, Any]) -> Any:
    """A GX Condition from its rules.yaml form: {column, op, value} or {column, is_null}."""
    from great_expectations.expectations.row_conditions import Column

    column = Column(spec["column"])
    if "is_null" in spec:
        return column.is_null() if spec["is_null"] else column.is_not_null()
    ops = {
        "==": column.__eq__,
        "!=": column.__ne__,
        "<": column.__lt__,
        "<=": column.__le__,
        ">": column.__gt__,
        ">=": column.__ge__,
    }
    return ops[spec["op"]](spec["value"])


#: Modules GX imports only for expectations this project never uses (distribution tests and
#: the KL-divergence chart): about 1 s of the GX import, deferred until something uses them.
DEFERRED_IMPORTS = ("scipy.stats", "altair")


class _Deferred(types.ModuleType):
    """Stands in for a module while GX is imported: the first attribute looked up on it (by the
    GX code that would use it) imports the real module and is taken from it, so behaviour is
    unchanged; only the import's cost moves to first use (never, in this pipeline).

    ``importlib.util.LazyLoader`` cannot do this: ``import x`` of a lazy module already in
    ``sys.modules`` reads its ``__spec__``, which loads it at once."""

    def __getattr__(self, attr: str) -> Any:
        name = self.__name__
        if sys.modules.get(name) is self:
            del sys.modules[name]
        return getattr(importlib.import_module(name), attr)


@contextmanager
def _deferred(names: Iterable[str]) -> Iterator[None]:
    """Stand-ins for ``names`` in ``sys.modules`` for the length of the block (modules already
    imported, or not installed, are left alone); removed after it, so a later ``import`` gets
    the real module."""
    placed: dict[str, _Deferred] = {}
    for name in names:
        if name in sys.modules:
            continue
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
        if spec is None:
            continue
        stub = _Deferred(name)
        stub.__spec__ = spec
        placed[name] = sys.modules[name] = stub
    try:
        yield
    finally:
        for name, stub in placed.items():
            if sys.modules.get(name) is stub:
                del sys.modules[name]


#: The GX release whose ``Expectation`` kwargs helpers ``_one_configuration_per_call`` restates.
_KWARGS_HELPERS_OF = "1.24.1"


def _one_configuration_per_call(version: str) -> None:
    """GX's ``Expectation._get_domain_kwargs``, ``_get_success_kwargs`` and ``_get_success_kwarg``
    rebuild ``self.configuration`` (a pydantic ``dict()`` of the whole expectation) once per key
    they read: about 11,000 builds on the sample, a third of GX's time per validation, the same
    per batch at any scale. These are the same three methods reading it once per call; the
    configuration is a pure function of the expectation, so every value is the same. Applied only
    to the GX release they were copied from; any other release keeps its own methods."""
    if version != _KWARGS_HELPERS_OF:
        return
    from great_expectations.expectations.expectation import Expectation

    if getattr(Expectation, "_pipelines_one_configuration", False):
        return
    original_kwarg = Expectation._get_success_kwarg
    original_domain = Expectation._get_domain_kwargs

    def _get_success_kwarg(self: Any, key: str, default: Any = None) -> Any:
        kwargs = self.configuration.kwargs
        if key in kwargs:
            return kwargs[key]
        return original_kwarg(self, key, default)  # field default, or GX's warning

    def _get_domain_kwargs(self: Any) -> dict[str, Any]:
        kwargs = self.configuration.kwargs
        domain = {key: kwargs.get(key, self._get_default_value(key)) for key in self.domain_keys}
        if set(self.domain_keys) - set(domain):
            return original_domain(self)  # raises GX's own error
        return domain

    def _get_success_kwargs(self: Any) -> dict[str, Any]:
        domain = self._get_domain_kwargs()
        kwargs = self.configuration.kwargs
        success = {key: kwargs.get(key, self._get_default_value(key)) for key in self.success_keys}
        success.update(domain)
        return success

    Expectation._get_success_kwarg = _get_success_kwarg  # type: ignore[method-assign]
    Expectation._get_domain_kwargs = _get_domain_kwargs  # type: ignore[method-assign]
    Expectation._get_success_kwargs = _get_success_kwargs  # type: ignore[method-assign]
    Expectation._pipelines_one_configuration = True  # type: ignore[attr-defined]


def _gx_context() -> Any:
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")  # no network calls from a council laptop
    with _deferred(DEFERRED_IMPORTS):
        import great_expectations as gx
        import great_expectations.expectations  # noqa: F401  (the expectation classes)

    try:
        # GX fingerprints every pandas batch (an md5 over a hash of every cell, about a fifth of
        # its time at scale) for batch metadata this pipeline never reads; the checks and their
        # results do not depend on it. Only batches under this many bytes are fingerprinted.
        from great_expectations.execution_engine import pandas_execution_engine

        pandas_execution_engine.HASH_THRESHOLD = 0
    except (ImportError, AttributeError):  # another GX layout: it only costs time
        pass
    _one_configuration_per_call(gx.__version__)
    context = gx.get_context(mode="ephemeral")
    try:
        from great_expectations.data_context.types.base import ProgressBarsConfig

        context.variables.progress_bars = ProgressBarsConfig(globally=False)
    except Exception:  # progress bars are cosmetic; older/newer layouts of the config differ
        pass
    return context


class _Preload:
    """Great Expectations imported (and its context made) on a background thread.

    Importing GX takes seconds of pure Python that need no data; started at the beginning of a
    run it overlaps ingest (DuckDB works on its own threads, outside the GIL). ``take`` waits for
    it and hands the context over once; a failure there is retried in the caller's thread, so an
    error is raised where it would have been without the preload.
    """

    def __init__(self) -> None:
        self.context: Any = None
        self.seconds = 0.0
        self.thread = threading.Thread(target=self._load, name="gx-preload", daemon=True)
        self.thread.start()

    def _load(self) -> None:
        t = time.perf_counter()
        try:
            self.context = _gx_context()
        except BaseException:  # noqa: BLE001  (retried, and raised, in the validating thread)
            self.context = None
        self.seconds = time.perf_counter() - t


_preload: _Preload | None = None
_preload_lock = threading.Lock()


def preload_gx() -> None:
    """Start importing Great Expectations in the background (call at the start of a run)."""
    global _preload
    with _preload_lock:
        if _preload is None:
            _preload = _Preload()


def _take_context() -> tuple[Any, float]:
    """The preloaded context (waiting for it) or a new one; and the seconds spent waiting."""
    global _preload
    t = time.perf_counter()
    with _preload_lock:
        pre, _preload = _preload, None
    if pre is not None:
        pre.thread.join()
        if pre.context is not None:
            return pre.context, time.perf_counter() - t
    return _gx_context(), time.perf_counter() - t


def build_suite(
    gx: Any, gxe: Any, extract: str, rules: list[Rule], params: dict[str, Any], usable: set[str]
) -> tuple[Any, set[str]]:
    """One ExpectationSuite for one extract (one expectation per rule and column)."""
    suite = gx.ExpectationSuite(name=f"{extract}_suite")
    needed: set[str] = set()
    for rule in rules:
        cls = getattr(gxe, str(rule.expectation))
        for column in rule.columns:
            kwargs = resolve(dict(rule.kwargs), params, column=column, extract=extract)
            if not any(k in kwargs for k in _PAIR_KEYS):
                kwargs["column"] = column
            used = {kwargs[k] for k in ("column", *_PAIR_KEYS) if k in kwargs}
            if isinstance(kwargs.get("row_condition"), dict):
                used.add(kwargs["row_condition"]["column"])
                kwargs["row_condition"] = row_condition(kwargs["row_condition"])
            if not used <= usable:
                continue  # the schema check has already reported the missing or mistyped column
            needed |= used
            meta = {"rule": rule.code, "column": column}
            suite.add_expectation(cls(**kwargs, meta=meta))
    return suite, needed


_NARROW_INTS = {"int8", "int16", "int32", "uint8", "uint16", "uint32"}


def _frame(record_batch: Any) -> pd.DataFrame:
    """A pandas frame of one Arrow table, dates as ``datetime64[ns]`` where they fit.

    Arrow dates become ``datetime64[ms]``, which GX's ``column_values.between`` does not
    recognise as a datetime column: it then compares value by value in Python (most of
    validation's time at scale). ``datetime64[ns]`` takes its vectorised path, same comparisons.
    A column holding a date outside ns range (before 1677 or after 2262, e.g. 9999-12-31) keeps
    ``ms`` in that batch, so such dates are still checked and reported exactly as before.
    Likewise GX compares ``int64`` columns vectorised but ``int32`` (DuckDB INTEGER without a
    blank) value by value, so narrower integers are widened (every value fits).
    """
    frame = record_batch.to_pandas(date_as_object=False)
    for name in frame.columns:
        if str(frame[name].dtype) in _NARROW_INTS:
            frame[name] = frame[name].astype("int64")
        elif str(frame[name].dtype) == "datetime64[ms]":
            try:
                frame[name] = frame[name].astype("datetime64[ns]")
            except (OverflowError, pd.errors.OutOfBoundsDatetime):
                pass
    return frame


def _batches(reader: Any, batch_rows: int) -> Iterator[Any]:
    """Arrow tables of at most ``batch_rows`` rows (the memory bound). DuckDB hands over at most
    a row group (122,880 rows) at a time, so smaller pieces are joined up to that bound (a
    validation has a fixed cost per expectation); a bound above the row group size therefore
    gives batches of one row group, which measured faster and leaner at 100 x than larger ones
    (README "Where validation's time goes")."""
    import pyarrow as pa

    pending: list[Any] = []
    n = 0
    for record_batch in reader:
        if record_batch.num_rows == 0:
            continue
        if pending and n + record_batch.num_rows > batch_rows:
            yield pa.Table.from_batches(pending)
            pending, n = [], 0
        pending.append(record_batch)
        n += record_batch.num_rows
    if pending:
        yield pa.Table.from_batches(pending)


def _add_time(timings: dict[str, float], key: str, since: float) -> float:
    now = time.perf_counter()
    timings[key] = timings.get(key, 0.0) + now - since
    return now


def run_gx(
    con: Any,
    rules: dict[str, Rule],
    params: dict[str, Any],
    usable: dict[str, set[str]],
    batch_rows: int,
    add: Collector,
    timings: dict[str, float],
) -> None:
    gx_rules: dict[str, list[Rule]] = {}
    for rule in rules.values():
        if rule.check == "gx" and rule.extract in usable:
            gx_rules.setdefault(rule.extract, []).append(rule)
    if not gx_rules:
        return
    context, timings["gx_import_wait"] = _take_context()
    import great_expectations as gx
    import great_expectations.expectations as gxe

    source = context.data_sources.add_pandas("warehouse")
    for extract, ext_rules in gx_rules.items():
        t1 = time.perf_counter()
        ok = usable[extract]
        if not {"_file", "_row"} <= ok:
            continue
        suite, needed = build_suite(gx, gxe, extract, ext_rules, params, ok)
        if not suite.expectations:
            continue
        suite = context.suites.add(suite)
        batch_def = source.add_dataframe_asset(extract).add_batch_definition_whole_dataframe("all")
        reference = reference_column(extract)
        index = ["_file", "_row"] + ([reference] if reference and reference in ok else [])
        columns = sorted(needed | set(index))
        select = ", ".join(f'"{c}"' for c in columns)
        # No ORDER BY: every expectation is row by row, so batch boundaries and order do not
        # change what is found, and the findings are sorted at the end (sort_findings).
        reader = con.sql(f'SELECT {select} FROM "stg_{extract}"').to_arrow_reader(batch_rows)
        n_batches = 0
        t = _add_time(timings, "gx_setup", t1)
        for record_batch in _batches(reader, batch_rows):
            n_batches += 1
            frame = _frame(record_batch)
            t = _add_time(timings, "gx_read_convert", t)
            result = batch_def.get_batch(batch_parameters={"dataframe": frame}).validate(
                suite,
                result_format={
                    "result_format": "COMPLETE",
                    "unexpected_index_column_names": index,
                    "return_unexpected_index_query": False,
                },
            )
            t = _add_time(timings, "gx_validate", t)
            _collect_gx(result, extract, reference, add)
            t = _add_time(timings, "gx_collect", t)
            del frame, result
        timings[f"gx_{extract}"] = time.perf_counter() - t1
        timings[f"gx_{extract}_batches"] = n_batches


def _failed_items(result: Any) -> list[dict[str, Any]]:
    """The JSON form of each expectation result that failed or raised; the passing ones (most)
    are not serialised at all. Each item is converted exactly as the whole result would be."""
    out = []
    for item in result.results:
        exc = item.exception_info or {}
        raised = exc.get("raised_exception") or any(
            isinstance(v, dict) and v.get("raised_exception") for v in exc.values()
        )
        if item.success and not raised:
            continue
        out.append(item.to_json_dict())
    return out


def _collect_gx(result: Any, extract: str, reference: str | None, add: Collector) -> None:
    for item in _failed_items(result):
        config = item.get("expectation_config") or {}
        meta = config.get("meta") or {}
        # every expectation this stage builds carries its rule code in meta (build_suite)
        code, column = str(meta.get("rule")), meta.get("column")
        kwargs = config.get("kwargs") or {}
        exc = item.get("exception_info") or {}
        if exc.get("raised_exception") or any(
            isinstance(v, dict) and v.get("raised_exception") for v in exc.values()
        ):
            message = exc.get("exception_message") or next(
                (
                    v.get("exception_message")
                    for v in exc.values()
                    if isinstance(v, dict) and v.get("exception_message")
                ),
                "unknown error",
            )
            add.internal(extract, None, f"{code} ({config.get('type')}) on {column}", str(message))
            continue
        if item.get("success"):
            continue
        others = [kwargs[k] for k in _PAIR_KEYS if k in kwargs and kwargs[k] != column]
        for hit in (item.get("result") or {}).get("unexpected_index_list") or []:
            detail = None
            if others:
                other = others[0]
                other_value = WITHHELD if withheld(extract, other) else format_value(hit.get(other))
                detail = f"({other} is {other_value or 'blank'}.)"
            add.add(
                code,
                extract=extract,
                file=hit.get("_file"),
                row=hit.get("_row"),
                column=column,
                value=hit.get(column),
                reference=hit.get(reference) if reference else None,
                detail=detail,
            )


# ---------------------------------------------------------------------------------------------
# SQL rules over whole tables
# ---------------------------------------------------------------------------------------------


def staged_counts_sql(tables: dict[str, dict[str, str]]) -> str:
    parts = [
        f"SELECT '{e}' AS extract, _file AS file, count(*) AS n FROM \"stg_{e}\" GROUP BY _file"
        for e in extracts()
        if f"stg_{e}" in tables and "_file" in tables[f"stg_{e}"]
    ]
    return " UNION ALL ".join(parts) or (
        "SELECT NULL::VARCHAR AS extract, NULL::VARCHAR AS file, 0 AS n WHERE false"
    )


def run_sql(
    con: Any,
    rules: dict[str, Rule],
    params: dict[str, Any],
    tables: dict[str, dict[str, str]],
    usable: dict[str, set[str]],
    files: dict[str, list[str]],
    add: Collector,
) -> None:
    extra = {"staged_counts": staged_counts_sql(tables)}
    for rule in rules.values():
        if rule.check != "sql":
            continue
        if rule.extract == "*":
            if "load_log" not in tables or "set_aside" not in tables:
                continue
        else:
            needed = [rule.extract, *rule.tables]
            if any(e not in usable for e in needed):
                continue  # an optional extract not delivered, or a required one already reported
            spec_columns = {e: set(extracts()[e]["columns"]) | {"_file", "_row"} for e in needed}
            if any(spec_columns[e] - usable[e] for e in needed):
                continue  # a column is missing or mistyped: SCH-001/SCH-002 already say which
        try:
            cursor = con.execute(*render_sql(rule, params, extra))
            names = [d[0] for d in cursor.description]
            rows = cursor.fetchall()
        except Exception as exc:  # duckdb.Error and template errors alike
            add.internal(
                None if rule.extract == "*" else rule.extract,
                "; ".join(files.get(rule.extract, [])) or None,
                rule.code,
                exc,
            )
            continue
        default_column = rule.columns[0] if rule.columns else None
        for values in rows:
            rec = dict(zip(names, values, strict=True))
            add.add(
                rule.code,
                extract=rec.get("extract") or rule.extract,
                file=rec.get("file"),
                row=rec.get("row"),
                column=rec.get("column") or default_column,
                value=rec.get("value"),
                reference=rec.get("reference"),
            )


# ---------------------------------------------------------------------------------------------
# Column letters and order
# ---------------------------------------------------------------------------------------------


def add_column_letters(findings: pd.DataFrame, con: Any) -> pd.DataFrame:
    """The Excel letter of each finding's column in its source file, as ingest recorded it
    (``source_columns``); blank where a finding has no column or the warehouse has no record."""
    out = findings.copy()
    letters: dict[tuple[str, str, str], str] = {}
    has_table = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'source_columns' "
        "AND schema_name = 'main'"
    ).fetchall()[0][0]
    if has_table:
        query = 'SELECT extract, file, "column", letter FROM source_columns'
        letters = {(e, f, c): letter for e, f, c, letter in con.execute(query).fetchall()}
    out["column_letter"] = [
        letters.get((e, f, c), "")
        for e, f, c in zip(out["extract"], out["file"], out["column"], strict=True)
    ]
    return out


def sort_findings(findings: pd.DataFrame) -> pd.DataFrame:
    """Deterministic order: severity, rule, extract, file, row (blank first), column, value."""
    if findings.empty:
        return findings.reset_index(drop=True)
    key = findings.assign(
        _sev=findings["severity"].map(SEVERITY_ORDER).fillna(9),
        _row=findings["row"].fillna(-1).astype("int64"),
    )
    key = key.sort_values(
        ["_sev", "rule", "extract", "file", "_row", "column", "value", "reference", "message"],
        kind="mergesort",
    )
    return key.drop(columns=["_sev", "_row"]).reset_index(drop=True)

"""Typing one checked file in DuckDB SQL: read as text, clean, decode, set aside the unreadable.

The SQL statements are templates in ``sql/``; this module fills in the per-column expressions
from the contract (extracts.yaml, codes.yaml, aliases.yaml). Nothing is parsed row by row in Python
except the cells of .xlsx workbooks.
"""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path

import duckdb

from pipelines.contract import SQL_TYPES, codes, extracts, personal
from pipelines.errors import PipelineError
from pipelines.ingest import records
from pipelines.ingest.aliases import aliases, label_lookup, yes_no_values
from pipelines.ingest.discover import Note, SourceFile, read_text
from pipelines.ingest.workbook import limits
from pipelines.sql import fill

SQL_DIR = Path(__file__).resolve().parent / "sql"

TEXT_TYPES = {"record_id", "id", "text"}
ID_TYPES = {"record_id", "id"}
PARSE_FAILURE = {
    "date": "invalid_date",
    "yesno": "invalid_yesno",
    "integer": "invalid_integer",
    "code": "unknown_code",
    "code_list": "unknown_code",
}


@functools.cache
def sql_template(name: str) -> str:
    """A statement template of ``sql/`` without its comment lines (they name the placeholders)."""
    text = (SQL_DIR / name).read_text(encoding="utf-8")
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))


def q(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def lit(text: str) -> str:
    """A SQL string literal."""
    return "'" + str(text).replace("'", "''") + "'"


def create_macros(con: duckdb.DuckDBPyConnection, ipad_hex: str, opad_hex: str) -> None:
    yes, no = yes_no_values()
    not_id = aliases().get("not_an_id") or {}
    errors = [str(e).upper() for e in not_id.get("excel_errors") or []]
    prefixes = [str(p) for p in not_id.get("formula_prefixes") or []]
    first = sorted({e[0] for e in errors if e} | {p[0] for p in prefixes if p})
    sql = fill(
        sql_template("macros.sql"),
        yes_values=", ".join(map(lit, yes)),
        no_values=", ".join(map(lit, no)),
        ipad_hex=ipad_hex,
        opad_hex=opad_hex,
        not_id_first=", ".join(map(lit, first)) or "NULL",
        excel_errors=", ".join(map(lit, errors)) or "NULL",
        formula_test=" OR ".join(f"starts_with(v, {lit(p)})" for p in prefixes) or "FALSE",
    )
    con.execute(sql).fetchall()


def _code_expr(value: str, code_list: str) -> str:
    valid = ", ".join(lit(c.upper()) for c in codes(code_list))
    labels = label_lookup(code_list)
    fallback = "NULL"
    if labels:
        pairs = ", ".join(f"{lit(k)}: {lit(v)}" for k, v in sorted(labels.items()))
        fallback = f"MAP {{{pairs}}}[ing_label({value})]"
    return f"CASE WHEN upper({value}) IN ({valid}) THEN upper({value}) ELSE {fallback} END"


def _code_parts(col: str, code_list: str) -> str:
    parts = f"list_filter(string_split(replace({col}, ',', ';'), ';'), lambda p: trim(p) <> '')"
    return f"list_transform({parts}, lambda x: {_code_expr('trim(x)', code_list)})"


def typed_expr(column: str, spec: dict) -> str:
    col = q(column)
    kind = spec["type"]
    if kind == "id" and spec.get("pseudonymise"):
        return f"ing_pseudo({col})"
    if kind in {"record_id", "id", "text"}:
        return col
    if kind == "date":
        return f"ing_date({col})"
    if kind == "yesno":
        return f"ing_yesno({col})"
    if kind == "integer":
        return f"ing_integer({col})"
    if kind == "code":
        return _code_expr(col, spec["codes"])
    if kind == "code_list":
        valid = "[" + ", ".join(lit(c) for c in codes(spec["codes"])) + "]"
        parts = _code_parts(col, spec["codes"])
        kept = f"list_filter({valid}, lambda k: list_contains({parts}, k))"
        return f"CASE WHEN {col} IS NULL THEN NULL ELSE {kept} END"
    raise ValueError(f"unknown column type {kind!r} for {column}")


def reason_expr(
    column: str, spec: dict, clean: str, typed: str, parts: str | None = None
) -> str | None:
    """SQL for why a value could not be read (a reason code, NULL when fine).

    ``clean`` is the cleaned text of the column, ``typed`` its decoded value and ``parts`` (code
    lists) the decoded list of its parts, each as a SQL expression or column.
    """
    kind = spec["type"]
    failure = PARSE_FAILURE.get(kind)
    if kind == "code_list":
        bad = f"(len({parts}) = 0 OR len(list_filter({parts}, lambda x: x IS NULL)) > 0)"
    elif failure:
        bad = f"{typed} IS NULL"
    else:
        bad = None
    # A value longer than any real one (workbook.yaml max_value_chars, shared with workbooks) is
    # not data: its row is set aside and the value never copied into set_aside or any output.
    whens = [f"WHEN length({clean}) > {limits().max_value_chars} THEN 'cell_too_large'"]
    if spec.get("required"):
        whens.append(f"WHEN {clean} IS NULL THEN 'blank_required'")
    if kind in ID_TYPES:
        whens.append(f"WHEN ing_not_id({clean}) THEN 'not_an_id'")
    if bad:
        whens.append(f"WHEN {clean} IS NOT NULL AND {bad} THEN {lit(failure)}")
    return f"CASE {' '.join(whens)} END"


def _reason_text(reason: str, column: str, spec: dict, shown: str) -> str:
    """SQL for the plain-English reason a value of ``column`` was set aside."""
    kind = spec["type"]
    if kind in {"code", "code_list"}:
        valid = ", ".join(codes(spec["codes"]))
        hint = (
            f"is not a {spec['codes']} code ({valid}) or a known label: correct it in the source "
            "system, or add the label to pipelines/contract/aliases.yaml"
        )
        if kind == "code_list":
            hint += "; separate several codes with ';'"
    else:
        hint = {
            "date": "is not a date: write dates as YYYY-MM-DD or DD/MM/YYYY (day first) "
            "and check the day exists",
            "yesno": "is not yes/no: use Y or N (Yes/No, TRUE/FALSE, 1/0 also read; "
            "blank means unknown)",
            "integer": "is not a whole number",
        }.get(kind, "could not be read")
    not_id_hint = (
        " is an Excel error value (such as #N/A or #REF!) or a formula, not an ID: correct the ID "
        "in the source system, or export values rather than formulas."
    )
    return (
        f"CASE {reason} "
        "WHEN 'blank_required' THEN "
        f"{lit(f'{column} is blank but required: fill it in the source system.')} "
        f"WHEN 'cell_too_large' THEN {lit(column + ': ')} || {shown} || "
        f"{lit(TOO_LARGE_HINT)} "
        f"WHEN 'not_an_id' THEN {lit(column + ': ')} || {shown} || "
        f"{lit(not_id_hint)} "
        f"ELSE {lit(column + ': ')} || {shown} || {lit(' ' + hint + '.')} END"
    )


TOO_LARGE_HINT = (
    " is far longer than any value of this column, so it is not data (often text pasted into the "
    "wrong column, or a stray quote): correct the record in the source system and export again."
)


def drop_temp(con: duckdb.DuckDBPyConnection, *names: str) -> None:
    """Drop temp tables or views by name (whichever they are)."""
    for name in names:
        views = con.execute(
            "SELECT count(*) FROM duckdb_views() WHERE view_name = ? AND temporary", [name]
        ).fetchall()[0][0]
        con.execute(f"DROP {'VIEW' if views else 'TABLE'} IF EXISTS {q(name)}")


@dataclasses.dataclass
class StagedFile:
    rows_read: int  # records and blank lines after the header
    rows_loaded: int
    rows_set_aside: int
    notes: list[Note]
    rows_blank: int = 0  # blank lines skipped (rows_read = loaded + set aside + blank)


@dataclasses.dataclass
class _Pass:
    """One read of a file into staging: the records found and the note counts."""

    records: int
    note_checks: list[tuple[str, str, str]]
    note_counts: tuple


def _source_sql(
    con: duckdb.DuckDBPyConnection,
    source: SourceFile,
    path: Path | None = None,
    numbered: bool = True,
) -> str:
    """A query giving the file as cleaned text: _row and the contract columns.

    CSV (``path``, the file or its work copy, one record per line): records DuckDB could not split
    (wrong number of fields, open quote) are skipped and logged in the temp table ``_rej``; _row is
    then the ordinal among the records read + 1, and ``_renumber_sql`` turns it into the line.
    With ``numbered=False`` a CSV's _row is left NULL, for the caller to number from the table's
    rowid: ``row_number() OVER ()`` would serialise the scan. XLSX: _row is the Excel row.
    """
    spec = extracts()[source.extract]["columns"]

    def clean(column: str, i: int | None) -> str:
        return (
            f"ing_clean({q(f'c{i}')}) AS {q(column)}"
            if i is not None
            else f"NULL::VARCHAR AS {q(column)}"
        )

    select = ", ".join(clean(c, source.columns.get(c)) for c in spec)
    if source.format == "xlsx":
        import pyarrow as pa

        rows = source.xlsx_rows or []
        data = {"_row": pa.array([r for r, _ in rows], type=pa.int32())}
        for i in sorted(source.columns.values()):
            data[f"c{i}"] = pa.array(
                [cells[i] if i < len(cells) else None for _, cells in rows], type=pa.string()
            )
        con.register("_xlsx", pa.table(data))
        return f"(SELECT _row, {select} FROM _xlsx ORDER BY _row)"
    path = path or source.utf8_path or source.path
    columns = (
        "{" + ", ".join(f"{lit(f'c{i}')}: 'VARCHAR'" for i in range(len(source.headers))) + "}"
    )
    # row_number() OVER () streams in file order (insertion order is preserved).
    row = "CAST(row_number() OVER () + 1 AS INTEGER)" if numbered else "CAST(NULL AS INTEGER)"
    return (
        f"(SELECT {row} AS _row, {select} "
        f"FROM read_csv({lit(str(path))}, columns = {columns}, header = true, auto_detect = false, "
        f"delim = {lit(source.delimiter)}, quote = '\"', escape = '\"', ignore_errors = true, "
        "store_rejects = true, rejects_table = '_rej', rejects_scan = '_rej_scan'))"
    )


MALFORMED = {
    "MISSING COLUMNS": (
        "The row has fewer fields than the header: the line is truncated (an incomplete export?) "
        "or a field is missing. Export the extract again."
    ),
    "TOO MANY COLUMNS": (
        "The row has more fields than the header: a value holds a comma but is not in quotes. "
        "Correct the row or export the extract again."
    ),
    "UNQUOTED VALUE": (
        "A quote is not closed (often a truncated last line). Export the extract again."
    ),
}


def _renumber_sql(rows_sql: str, malformed: bool, mapped: bool) -> str:
    """(work, c): the file's physical line ``c`` of each record number ``work`` of ``rows_sql``.

    ``rows_sql`` gives one column, _row: the record's ordinal among the records read + 1. Two
    corrections, each an ASOF join with a small sorted table (a per-row subquery would cost
    rows x lines): records DuckDB skipped as malformed (``_rej_map``: a row read as ordinal k
    comes after every rejected line R_i, the i-th, with R_i - i - 1 < k), which gives the line of
    the work copy; then lines left out of the work copy (blank lines, the extra lines of
    multi-line text outside the contract: ``_line_map``, records.py).
    """
    sql = f"SELECT _row AS work, _row AS c FROM ({rows_sql})"
    if malformed:
        sql = (
            f"SELECT a.work, a.c + coalesce(r.skipped, 0) AS c FROM ({sql}) a "
            "ASOF LEFT JOIN _rej_map r ON a.c - 2 >= r.thr"
        )
    if mapped:
        sql = (
            f"SELECT a.work, a.c + coalesce(l.off, 0) AS c FROM ({sql}) a "
            "ASOF LEFT JOIN _line_map l ON a.c >= l.thr"
        )
    return sql


def stage_file(
    con: duckdb.DuckDBPyConnection, source: SourceFile, workdir: Path | None = None
) -> StagedFile:
    """Load one checked file into ``stg_<extract>``; its unreadable rows into ``_set_aside``.

    CSV: after DuckDB has read the file, the records it found are checked against the file's
    physical lines (a count, no Python loop). Only on a mismatch is the file read again with
    Python's csv reader (records.rescan): a record merged or swallowed by a stray quote raises
    ``records.BrokenRecords``; legitimate multi-line text outside the contract gives a work copy
    with one record per line, which is staged again.
    """
    rows_blank = source.rows_blank
    if source.format != "csv":
        run = _stage_once(con, source, None, [])
    else:
        blanks = list(range(1, source.header_line)) + list(source.blank_lines)
        run = _stage_once(con, source, None, records.blank_line_map(blanks))
        expected = source.line_count - source.header_line - len(source.blank_lines)
        if run.records != expected:
            con.execute(f"DROP TABLE {q('stg_' + source.extract)}")
            con.execute("DELETE FROM _set_aside WHERE file = ?", [source.name])
            try:
                text, _ = read_text(source.path)
            except OSError as exc:
                raise PipelineError(
                    f"{source.name}: could not be read again while loading ({exc}). Check no "
                    "other program is changing it and run again."
                ) from None
            scan = records.rescan(
                text,
                file=source.name,
                delimiter=source.delimiter,
                headers=source.headers,
                columns=source.columns,
                out=(workdir or Path(source.utf8_path or source.path).parent)
                / f"{source.extract}.records.csv",
            )
            del text
            run = _stage_once(con, source, scan.path, scan.line_map)
            if run.records != scan.records:
                raise PipelineError(
                    f"{source.name}: the records could not be read consistently ({scan.records} "
                    f"records found, {run.records} read). Open the file in Excel, save it as "
                    "'CSV UTF-8 (Comma delimited)' and run again."
                )
            rows_blank = len(scan.blank)
    if source.footer_lines:
        _set_aside_footers(con, source)
    table = q("stg_" + source.extract)
    loaded = con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
    set_aside = con.execute(
        "SELECT count(*) FROM _set_aside WHERE file = ?", [source.name]
    ).fetchall()[0][0]
    if loaded + set_aside != run.records:  # a bug, never the data's fault
        raise AssertionError(
            f"{source.name}: {loaded} loaded + {set_aside} set aside != {run.records} read"
        )
    return StagedFile(
        run.records + rows_blank,
        loaded,
        set_aside,
        _value_notes(source, run.note_checks, run.note_counts),
        rows_blank,
    )


def _set_aside_footers(con: duckdb.DuckDBPyConnection, source: SourceFile) -> None:
    """Footer or total lines (records.footer_lines) set aside with their own reason, not loaded."""
    table = q("stg_" + source.extract)
    lines = sorted(source.footer_lines)
    marks = ", ".join("?" * len(lines))
    present = {
        r[0]
        for r in con.execute(f"SELECT _row FROM {table} WHERE _row IN ({marks})", lines).fetchall()
    } | {
        r[0]
        for r in con.execute(
            f'SELECT "row" FROM _set_aside WHERE file = ? AND "row" IN ({marks})',
            [source.name, *lines],
        ).fetchall()
    }
    if not present:
        return
    found = sorted(present)
    marks = ", ".join("?" * len(found))
    con.execute(f"DELETE FROM {table} WHERE _row IN ({marks})", found)
    con.execute(
        f'DELETE FROM _set_aside WHERE file = ? AND "row" IN ({marks})', [source.name, *found]
    )
    for line in found:
        words = source.footer_lines[line]
        con.execute(
            "INSERT INTO _set_aside VALUES (?, ?, ?, NULL, NULL, 'footer_line', ?, NULL)",
            [
                source.extract,
                source.name,
                line,
                f"Line {line} looks like a footer or total line (it starts with '{words}'), not "
                "a record, so it was not loaded. Nothing to correct if the reporting tool adds "
                "it; if it is a record, check its first column.",
            ],
        )


def _stage_once(
    con: duckdb.DuckDBPyConnection, source: SourceFile, path: Path | None, line_map: list
) -> _Pass:
    """Read the file (or ``path``, a work copy) into ``stg_<extract>`` in one pass.

    Decode every column and flag rows with any unreadable value (_bad) straight into the staging
    table. Only when rows are flagged is the file read again, for just those rows, to say which
    column failed and why; they are then deleted from staging. ``line_map`` (records.py) turns
    the work copy's lines into the file's physical lines.
    """
    extract = source.extract
    spec = extracts()[extract]["columns"]
    table = q("stg_" + extract)
    drop_temp(con, "_rej", "_rej_scan", "_rej_map", "_line_map", "_src", "_typed")
    source_sql = _source_sql(con, source, path)
    mapped = bool(line_map)
    if mapped:
        con.execute(
            "CREATE TEMP TABLE _line_map AS SELECT unnest($thr::INTEGER[]) AS thr, "
            "unnest($off::INTEGER[]) AS off",
            {"thr": [t for t, _ in line_map], "off": [o for _, o in line_map]},
        )

    # Each value is decoded once, in the inner query (as _t_<column>); the staging columns, the
    # unreadable-row flag and the note flags all read that result instead of decoding again.
    inner, typed, reasons, notes, detail = [], [], [], [], ["_row"]
    for column, s in spec.items():
        col = q(column)
        expr = typed_expr(column, s)
        if s["type"] in ID_TYPES:
            expr = expr.replace(col, f"ing_id({col})")
        decoded = q("_t_" + column)
        inner.append(f"{expr} AS {decoded}")
        typed.append(f"CAST({decoded} AS {SQL_TYPES[s['type']]}) AS {col}")
        detail.append(f"{expr} AS {col}")
        parts = _code_parts(col, s["codes"]) if s["type"] == "code_list" else None
        reason = reason_expr(column, s, col, decoded, parts)
        if reason:
            reasons.append((column, reason))
            if s["type"] not in TEXT_TYPES or s["type"] in ID_TYPES:
                detail.append(f"{col} AS {q('_c_' + column)}")
            if parts:
                detail.append(f"{parts} AS {q('_p_' + column)}")
        if column in source.columns and s["type"] == "date":
            notes.append((column, "excel_serial_dates", f"ing_is_serial({col})"))
        elif column in source.columns and s["type"] == "code":
            notes.append((column, "code_labels", f"coalesce({col} <> {decoded}, FALSE)"))
    any_bad = " OR ".join(f"({r}) IS NOT NULL" for _, r in reasons) or "FALSE"
    flags = [f"{e} AS {q(f'_n{i}')}" for i, (_, _, e) in enumerate(notes)]
    sql = fill(
        sql_template("stage.sql"),
        table=table,
        source=f"(SELECT *, {', '.join(inner)} FROM {_source_sql(con, source, path, False)})",
        file=lit(source.name),
        typed_columns=",\n    ".join(typed),
        any_bad=any_bad,
        note_flags="".join(f",\n    {f}" for f in flags),
    )
    # The table's rowid is the record's position in the file, so rows must be written in file
    # order. DuckDB keeps insertion order through scans and projections, but its in_clause
    # optimizer turns a long IN list (the code lists) into a join, and rows then reach the table
    # out of order once the file is read in parallel (at about 100,000 rows): every _row, and so
    # every line in the fix list, would be wrong.
    con.execute("SET disabled_optimizers = 'in_clause'")
    try:
        con.execute(sql).fetchall()
    except duckdb.Error as exc:
        # DuckDB's own message may quote a line of the file: never shown (--debug has it).
        raise PipelineError(
            f"{source.name}: the file cannot be read as CSV ({type(exc).__name__}). Open it in "
            "Excel, save it as 'CSV UTF-8 (Comma delimited)' and run again."
        ) from exc

    malformed: list[tuple[int, str]] = []
    if source.format == "csv":
        # The table holds the records in file order (insertion order is preserved), so its rowid
        # is the record's ordinal: the header is row 1, the first record row 2.
        con.execute(f"UPDATE {table} SET _row = CAST(rowid + 2 AS INTEGER)")
        malformed = [
            (int(line), str(kind))
            for line, kind in con.execute(
                "SELECT line, min(error_type) FROM _rej GROUP BY line ORDER BY line"
            ).fetchall()
        ]
        if malformed:
            con.execute(
                "CREATE TEMP TABLE _rej_map AS SELECT line - i - 1 AS thr, max(i) AS skipped "
                "FROM (SELECT line, row_number() OVER (ORDER BY line) AS i "
                "FROM (SELECT DISTINCT line FROM _rej)) GROUP BY thr"
            )

    counts = con.execute(
        "SELECT count(*), count_if(_bad)"
        + "".join(f", count_if({q(f'_n{i}')})" for i in range(len(notes)))
        + f" FROM {table}"
    ).fetchall()[0]
    total, bad = counts[0], counts[1]
    if bad:
        # Read the file again for the flagged rows only, keeping their cleaned text.
        con.execute(
            f"CREATE TEMP TABLE _src AS SELECT * FROM {source_sql} "
            f"WHERE _row IN (SELECT _row FROM {table} WHERE _bad)"
        )
        con.execute(f"CREATE TEMP TABLE _typed AS SELECT {', '.join(detail)} FROM _src")
        # The row's own record ID goes with it to the fix list (it leads back to the source
        # system); never a pseudonymised ID.
        key = [c for c in extracts()[extract].get("key") or [] if spec[c]["type"] == "record_id"]
        reference = f"t.{q(key[0])}" if key else "NULL::VARCHAR"
        problems = []
        for order, (column, _) in enumerate(reasons):
            s = spec[column]
            own = s["type"] not in TEXT_TYPES or s["type"] in ID_TYPES
            cleaned = f"t.{q('_c_' + column if own else column)}"
            reason = reason_expr(column, s, cleaned, f"t.{q(column)}", f"t.{q('_p_' + column)}")
            value = "'<withheld>'" if personal(s, column) else cleaned
            shown = "'(value withheld)'" if personal(s, column) else f"'''' || {cleaned} || ''''"
            # a value too large to be data is never copied: only its length is shown
            size = f"'<' || format('{{:,}}', length({cleaned})) || ' characters>'"
            value = f"CASE WHEN ({reason}) = 'cell_too_large' THEN {size} ELSE {value} END"
            shown = f"CASE WHEN ({reason}) = 'cell_too_large' THEN {size} ELSE {shown} END"
            problems.append(
                f'SELECT _row, {order} AS _ord, {lit(column)} AS "column", {value} AS value, '
                f"{reason} AS reason_code, {_reason_text(reason, column, s, shown)} AS reason, "
                f"{reference} AS reference FROM _typed t WHERE ({reason}) IS NOT NULL"
            )
        sql = fill(sql_template("set_aside.sql"), problems="\n    UNION ALL\n    ".join(problems))
        con.execute(sql, {"extract": extract, "file": source.name})
        con.execute(f"DELETE FROM {table} WHERE _bad")
        if source.format == "csv" and (malformed or mapped):
            aside = 'SELECT "row" AS _row FROM _set_aside WHERE file = $file'
            con.execute(
                'UPDATE _set_aside SET "row" = CAST(m.c AS INTEGER) '
                f"FROM ({_renumber_sql(aside, bool(malformed), mapped)}) m "
                'WHERE _set_aside.file = $file AND _set_aside."row" = m.work',
                {"file": source.name},
            )
    if source.format == "csv" and (malformed or mapped):
        renumber = _renumber_sql(f"SELECT _row FROM {table}", bool(malformed), mapped)
        con.execute(
            f"UPDATE {table} SET _row = CAST(m.c AS INTEGER) FROM ({renumber}) m "
            f"WHERE {table}._row = m.work"
        )
    if source.format == "xlsx":
        con.unregister("_xlsx")
    if malformed:  # one statement: a file can have thousands of malformed lines
        con.execute(
            "INSERT INTO _set_aside SELECT $extract, $file, unnest($rows::INTEGER[]), NULL, NULL, "
            "'wrong_field_count', unnest($reasons::VARCHAR[]), NULL",
            {
                "extract": extract,
                "file": source.name,
                "rows": [records.physical_line(line_map, line) for line, _ in malformed],
                "reasons": [
                    MALFORMED.get(
                        kind,
                        f"The row could not be read as CSV ({kind.lower()}). Export the extract "
                        "again.",
                    )
                    for _, kind in malformed
                ],
            },
        )
    # Rows the reader already set aside (workbook.py: a cell too large, a line break in an ID).
    early = getattr(source, "rows_set_aside", None) or []
    if early:  # thousands of rows: one Arrow table, not one INSERT each
        import pyarrow as pa

        con.register(
            "_early",
            pa.table(
                {
                    f.name: pa.array(
                        [getattr(r, f.name) for r in early],
                        pa.int32() if f.name == "row" else pa.string(),
                    )
                    for f in dataclasses.fields(early[0])
                }
            ),
        )
        con.execute(
            f"INSERT INTO _set_aside SELECT {lit(extract)}, {lit(source.name)}, * FROM _early"
        )
        con.unregister("_early")
    for name in ["_bad", *(f"_n{i}" for i in range(len(notes)))]:
        con.execute(f"ALTER TABLE {table} DROP COLUMN {q(name)}")
    return _Pass(total + len(malformed) + len(early), notes, tuple(counts[2:]))


def _value_notes(
    source: SourceFile, checks: list[tuple[str, str, str]], counts: tuple
) -> list[Note]:
    """Decisions worth reporting: dates given as Excel serial numbers, codes given as labels."""
    notes = []
    for (column, code, _), n in zip(checks, counts, strict=True):
        if not n:
            continue
        if code == "excel_serial_dates":
            msg = (
                f"{column}: {n} value(s) were Excel serial day numbers (e.g. 41000 = "
                "2012-04-01), read "
                "as dates in the 1900 date system (from 10000 to 80000; other numbers are set "
                "aside)."
            )
        else:
            msg = (
                f"{column}: {n} value(s) were not written as canonical codes (other case, or a "
                "label): "
                "read through pipelines/contract/aliases.yaml; anything unknown was set aside."
            )
        notes.append(Note(source.extract, source.name, code, msg))
    return notes


def curate(con: duckdb.DuckDBPyConnection, extract: str) -> None:
    """Create the curated table of ``extract`` from its staging table (sql/curate*.sql)."""
    spec = extracts()[extract]
    columns = ", ".join(q(c) for c in spec["columns"] if c != "date_of_birth")
    age_from = spec.get("age_from")
    if age_from:
        sql = fill(
            sql_template("curate.sql"), extract=extract, columns=columns, age_from=q(age_from)
        )
    else:
        sql = fill(sql_template("curate_plain.sql"), extract=extract, columns=columns)
    con.execute(sql)

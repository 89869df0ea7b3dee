"""Typing one checked file in DuckDB SQL: read as text, clean, decode, set aside what cannot be read.

The SQL statements are templates in ``sql/``; this module fills in the per-column expressions
from the contract (extracts.yaml, codes.yaml, aliases.yaml). Nothing is parsed row by row in Python
except the cells of .xlsx workbooks.
"""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path

import duckdb

from pipelines.contract import codes, extracts
from pipelines.ingest.aliases import label_lookup, yes_no_values
from pipelines.ingest.discover import Note, SourceFile

SQL_DIR = Path(__file__).resolve().parent / "sql"

SQL_TYPES = {
    "record_id": "VARCHAR",
    "id": "VARCHAR",
    "text": "VARCHAR",
    "code": "VARCHAR",
    "code_list": "VARCHAR[]",
    "date": "DATE",
    "yesno": "BOOLEAN",
    "integer": "INTEGER",
}
TEXT_TYPES = {"record_id", "id", "text"}
PARSE_FAILURE = {"date": "invalid_date", "yesno": "invalid_yesno", "integer": "invalid_integer",
                 "code": "unknown_code", "code_list": "unknown_code"}


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


def withheld(spec: dict, column: str) -> bool:
    """Values never shown in set_aside: pseudonymised IDs and dates of birth."""
    return bool(spec.get("pseudonymise")) or column == "date_of_birth"


def create_macros(con: duckdb.DuckDBPyConnection, ipad_hex: str, opad_hex: str) -> None:
    yes, no = yes_no_values()
    sql = sql_template("macros.sql")
    for key, value in {"yes_values": ", ".join(map(lit, yes)), "no_values": ", ".join(map(lit, no)),
                       "ipad_hex": ipad_hex, "opad_hex": opad_hex}.items():
        sql = sql.replace("{" + key + "}", value)
    con.execute(sql)


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
        return f"CASE WHEN {col} IS NULL THEN NULL ELSE list_filter({valid}, lambda k: list_contains({parts}, k)) END"
    raise ValueError(f"unknown column type {kind!r} for {column}")


def reason_expr(column: str, spec: dict) -> str | None:
    """Why a value could not be read, from the typed CTE (``_c_<column>`` is the cleaned text)."""
    kind = spec["type"]
    # Text columns are NULL exactly when blank, so they need no copy of their cleaned text.
    clean = q(column) if kind in TEXT_TYPES else q("_c_" + column)
    failure = PARSE_FAILURE.get(kind)
    if kind == "code_list":
        parts = q("_p_" + column)
        bad = f"(len({parts}) = 0 OR len(list_filter({parts}, lambda x: x IS NULL)) > 0)"
    elif failure:
        bad = f"{q(column)} IS NULL"
    else:
        bad = None
    whens = []
    if spec.get("required"):
        whens.append(f"WHEN {clean} IS NULL THEN 'blank_required'")
    if bad:
        whens.append(f"WHEN {clean} IS NOT NULL AND {bad} THEN {lit(failure)}")
    return f"CASE {' '.join(whens)} END" if whens else None


def _reason_text(reason: str, column: str, spec: dict, shown: str) -> str:
    """SQL for the plain-English reason a value of ``column`` was set aside."""
    kind = spec["type"]
    if kind in {"code", "code_list"}:
        valid = ", ".join(codes(spec["codes"]))
        hint = (f"is not a {spec['codes']} code ({valid}) or a known label: correct it in the source "
                "system, or add the label to pipelines/contract/aliases.yaml")
        if kind == "code_list":
            hint += "; separate several codes with ';'"
    else:
        hint = {
            "date": "is not a date: write dates as YYYY-MM-DD or DD/MM/YYYY (day first) and check the day exists",
            "yesno": "is not yes/no: use Y or N (Yes/No, TRUE/FALSE, 1/0 also read; blank means unknown)",
            "integer": "is not a whole number",
        }.get(kind, "could not be read")
    return (
        f"CASE {reason} "
        f"WHEN 'blank_required' THEN {lit(f'{column} is blank but required: fill it in the source system.')} "
        f"ELSE {lit(column + ': ')} || {shown} || {lit(' ' + hint + '.')} END"
    )


def drop_temp(con: duckdb.DuckDBPyConnection, *names: str) -> None:
    """Drop temp tables or views by name (whichever they are)."""
    for name in names:
        views = con.execute("SELECT count(*) FROM duckdb_views() WHERE view_name = ? AND temporary",
                            [name]).fetchone()[0]
        con.execute(f"DROP {'VIEW' if views else 'TABLE'} IF EXISTS {q(name)}")


@dataclasses.dataclass
class StagedFile:
    rows_read: int
    rows_loaded: int
    rows_set_aside: int
    notes: list[Note]


def create_staging_table(con: duckdb.DuckDBPyConnection, extract: str) -> None:
    cols = extracts()[extract]["columns"]
    body = ",\n    ".join(f"{q(c)} {SQL_TYPES[s['type']]}" for c, s in cols.items())
    con.execute(f"CREATE TABLE {q('stg_' + extract)} (\n    {body},\n    _file VARCHAR NOT NULL,\n"
                "    _row INTEGER NOT NULL\n)")


def _source_sql(con: duckdb.DuckDBPyConnection, source: SourceFile) -> str:
    """A FROM-able query giving the file's contract columns as cleaned text (xlsx: and _row)."""
    spec = extracts()[source.extract]["columns"]

    def clean(column: str, i: int | None) -> str:
        return f"ing_clean({q(f'c{i}')}) AS {q(column)}" if i is not None else f"NULL::VARCHAR AS {q(column)}"

    select = ", ".join(clean(c, source.columns.get(c)) for c in spec)
    if source.format == "xlsx":
        import pyarrow as pa

        rows = source.xlsx_rows or []
        data = {"_row": pa.array([r for r, _ in rows], type=pa.int32())}
        for i in sorted(source.columns.values()):
            data[f"c{i}"] = pa.array([cells[i] if i < len(cells) else None for _, cells in rows], type=pa.string())
        con.register("_xlsx", pa.table(data))
        return f"(SELECT _row, {select} FROM _xlsx ORDER BY _row)"
    path = source.utf8_path or source.path
    columns = "{" + ", ".join(f"{lit(f'c{i}')}: 'VARCHAR'" for i in range(len(source.headers))) + "}"
    drop_temp(con, "_rej", "_rej_scan")
    return (
        f"(SELECT {select} FROM read_csv({lit(str(path))}, columns = {columns}, header = true, "
        "auto_detect = false, delim = ',', quote = '\"', escape = '\"', ignore_errors = true, "
        "store_rejects = true, rejects_table = '_rej', rejects_scan = '_rej_scan'))"
    )


def _number_rows(con: duckdb.DuckDBPyConnection, source: SourceFile) -> list[tuple[int, str]]:
    """Create ``_staged``: ``_typed`` with _row (Excel row number). Return the malformed CSV rows."""
    drop_temp(con, "_staged")
    if source.format == "xlsx":
        con.unregister("_xlsx")
        con.execute("CREATE TEMP VIEW _staged AS SELECT * FROM _typed")
        return []
    rejects = con.execute("SELECT line, min(error_type) FROM _rej GROUP BY line ORDER BY line").fetchall()
    if not rejects:
        con.execute("CREATE TEMP VIEW _staged AS SELECT CAST(rowid + 2 AS INTEGER) AS _row, * FROM _typed")
        return []
    # DuckDB skips malformed records; its line numbers count records (header = 1). Loaded row k
    # (1-based) comes after every rejected line R_i (the i-th) with R_i - i - 1 < k, so its record
    # number is k + 1 + that count.
    con.execute("CREATE OR REPLACE TEMP TABLE _rej_map AS SELECT line - i - 1 AS thr, max(i) AS skipped "
                "FROM (SELECT line, row_number() OVER (ORDER BY line) AS i FROM (SELECT DISTINCT line FROM _rej)) "
                "GROUP BY thr")
    con.execute(
        "CREATE TEMP TABLE _staged AS SELECT CAST(t.rowid + 2 + coalesce(m.skipped, 0) AS INTEGER) AS _row, t.* "
        "FROM _typed t ASOF LEFT JOIN _rej_map m ON t.rowid + 1 > m.thr ORDER BY _row"
    )
    return [(int(line), str(kind)) for line, kind in rejects]


MALFORMED = {
    "MISSING COLUMNS": "The row has fewer fields than the header: the line is truncated (an incomplete "
                       "export?) or a field is missing. Export the extract again.",
    "TOO MANY COLUMNS": "The row has more fields than the header: a value holds a comma but is not in "
                        "quotes. Correct the row or export the extract again.",
    "UNQUOTED VALUE": "A quote is not closed (often a truncated last line). Export the extract again.",
}


def stage_file(con: duckdb.DuckDBPyConnection, source: SourceFile) -> StagedFile:
    """Load one checked file into ``stg_<extract>`` and its unreadable rows into ``_set_aside``."""
    extract = source.extract
    spec = extracts()[extract]["columns"]
    source_sql = _source_sql(con, source)

    typed, reasons = (["_row"] if source.format == "xlsx" else []), []
    for column, s in spec.items():
        value = q(column)
        expr = typed_expr(column, s)
        if s["type"] in {"id", "record_id"}:
            expr = expr.replace(value, f"ing_id({value})")
        typed.append(f"{expr} AS {value}")
        reason = reason_expr(column, s)
        if reason:
            if s["type"] not in TEXT_TYPES:
                typed.append(f"{value} AS {q('_c_' + column)}")
            if s["type"] == "code_list":
                typed.append(f"{_code_parts(value, s['codes'])} AS {q('_p_' + column)}")
            reasons.append((column, reason))
    sql = sql_template("stage.sql").replace("{source}", source_sql)
    con.execute(sql.replace("{typed_columns}", ",\n    ".join(typed)))
    malformed = _number_rows(con, source)

    any_bad = " OR ".join(f"({r}) IS NOT NULL" for _, r in reasons) or "FALSE"
    column_list = ", ".join(q(c) for c in spec)
    con.execute(f"INSERT INTO {q('stg_' + extract)} SELECT {column_list}, ? AS _file, _row "
                f"FROM _staged WHERE NOT ({any_bad})", [source.name])

    problems = []
    for order, (column, reason) in enumerate(reasons):
        s = spec[column]
        cleaned = f"t.{q(column if s['type'] in TEXT_TYPES else '_c_' + column)}"
        value = "'<withheld>'" if withheld(s, column) else cleaned
        shown = "'(value withheld)'" if withheld(s, column) else f"'''' || {cleaned} || ''''"
        problems.append(
            f"SELECT _row, {order} AS _ord, {lit(column)} AS \"column\", {value} AS value, "
            f"{reason} AS reason_code, {_reason_text(reason, column, s, shown)} AS reason "
            f"FROM _staged t WHERE ({reason}) IS NOT NULL"
        )
    if problems:
        sql = sql_template("set_aside.sql").replace("{problems}", "\n    UNION ALL\n    ".join(problems))
        con.execute(sql, {"extract": extract, "file": source.name})
    for line, kind in malformed:
        reason = MALFORMED.get(kind, f"The row could not be read as CSV ({kind.lower()}). Export the extract again.")
        con.execute("INSERT INTO _set_aside VALUES (?, ?, ?, NULL, NULL, 'wrong_field_count', ?)",
                    [extract, source.name, line, reason])

    total = con.execute("SELECT count(*) FROM _typed").fetchone()[0]
    loaded = con.execute(f"SELECT count(*) FROM {q('stg_' + extract)} WHERE _file = ?", [source.name]).fetchone()[0]
    set_aside = con.execute("SELECT count(*) FROM _set_aside WHERE file = ?", [source.name]).fetchone()[0]
    if loaded + set_aside != total + len(malformed):  # a bug, never the data's fault
        raise AssertionError(f"{source.name}: {loaded} loaded + {set_aside} set aside != {total + len(malformed)} read")
    return StagedFile(total + len(malformed), loaded, set_aside, _value_notes(con, source, spec))


def _value_notes(con: duckdb.DuckDBPyConnection, source: SourceFile, spec: dict) -> list[Note]:
    """Decisions worth reporting: dates given as Excel serial numbers, codes given as labels."""
    checks = []
    for column, s in spec.items():
        if column not in source.columns:
            continue
        col = q("_c_" + column)
        if s["type"] == "date":
            checks.append((column, "excel_serial_dates", f"count_if(ing_is_serial({col}))"))
        elif s["type"] == "code":
            checks.append((column, "code_labels", f"count_if({col} <> {q(column)})"))
    if not checks:
        return []
    counts = con.execute("SELECT " + ", ".join(expr for _, _, expr in checks) + " FROM _typed").fetchone()
    notes = []
    for (column, code, _), n in zip(checks, counts, strict=True):
        if not n:
            continue
        if code == "excel_serial_dates":
            msg = (f"{column}: {n} value(s) were Excel serial day numbers (e.g. 41000 = 2012-04-01), read "
                   "as dates in the 1900 date system (from 10000 to 80000; other numbers are set aside).")
        else:
            msg = (f"{column}: {n} value(s) were not canonical codes; labels were mapped through "
                   "aliases.yaml and anything else was set aside.")
        notes.append(Note(source.extract, source.name, code, msg))
    return notes


def curate(con: duckdb.DuckDBPyConnection, extract: str) -> None:
    """Create the curated table of ``extract`` from its staging table (sql/curate*.sql)."""
    spec = extracts()[extract]
    columns = ", ".join(q(c) for c in spec["columns"] if c != "date_of_birth")
    age_from = spec.get("age_from")
    if age_from:
        sql = sql_template("curate.sql").replace("{age_from}", q(age_from))
    else:
        sql = sql_template("curate_plain.sql")
    con.execute(sql.replace("{extract}", extract).replace("{columns}", columns))

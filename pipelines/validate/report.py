"""The data quality report: offline, accessible HTML plus a CSV and XLSX fix list.

The HTML is self-contained (inline CSS, no scripts, fonts or images) so it opens on a locked-down
laptop and prints; the fix lists carry every finding and are safe to open in Excel (no cell can
start a formula).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from pipelines.spreadsheet import safe_cell
from pipelines.validate.rules import load_rules, text

TEMPLATES = Path(__file__).resolve().parent / "templates"
FIXLIST_COLUMNS = [
    ("file", "File"),
    ("row", "Excel row"),
    ("column_letter", "Column letter"),
    ("column", "Column"),
    ("value", "Value found"),
    ("reference", "Record reference"),
    ("rule", "Rule"),
    ("severity", "Severity"),
    ("message", "Problem"),
    ("how_to_fix", "How to fix"),
    ("extract", "Extract"),
]


def fixlist_frame(findings: pd.DataFrame) -> pd.DataFrame:
    """Every finding in the order a data officer works: severity, file, row, column, rule."""
    order = {"error": 0, "warning": 1, "info": 2}
    df = findings.assign(
        _sev=findings["severity"].map(order).fillna(9),
        _row=findings["row"].fillna(-1).astype("int64"),
        _col=[(len(c), c) for c in findings["column_letter"]],
    )
    df = df.sort_values(
        ["_sev", "file", "_row", "_col", "rule", "column", "value"], kind="mergesort"
    )
    return df[[c for c, _ in FIXLIST_COLUMNS]].reset_index(drop=True)


def _write_aside(target: Path, write: Callable[[Path], object]) -> None:
    """Write beside ``target`` and swap it in, so a reader never sees half a file."""
    # not mkstemp: its files are private (0600), and the report is for the data officer's team
    tmp_path = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        write(tmp_path)
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_csv(df: pd.DataFrame, path: Path) -> None:
    def write(p: Path) -> None:
        # utf-8-sig: Excel on Windows reads the BOM and shows accented names correctly
        with open(p, "w", encoding="utf-8-sig", newline="") as fh:
            out = csv.writer(fh, lineterminator="\r\n")
            out.writerow([label for _, label in FIXLIST_COLUMNS])
            for rec in df.itertuples(index=False):
                out.writerow(["" if pd.isna(v) else safe_cell(str(v)) for v in rec])

    _write_aside(path, write)


def write_xlsx(df: pd.DataFrame, path: Path, created: dt.datetime) -> None:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    def write(p: Path) -> None:
        wb = Workbook(write_only=True)
        wb.properties.creator = "pipelines.validate"
        wb.properties.created = created
        wb.properties.modified = created
        ws = wb.create_sheet("Fix list")
        widths = [28, 10, 8, 24, 24, 18, 10, 10, 70, 70, 24]
        for i, w in enumerate(widths):
            ws.column_dimensions[chr(65 + i)].width = w
        ws.freeze_panes = "A2"
        header = []
        for _, label in FIXLIST_COLUMNS:
            cell = WriteOnlyCell(ws, value=label)
            cell.font = Font(bold=True)
            header.append(cell)
        ws.append(header)
        row_at = [c for c, _ in FIXLIST_COLUMNS].index("row")
        for rec in df.itertuples(index=False):
            # Text goes in as str, which openpyxl writes as a string cell (never converted to a
            # number); safe_cell has already removed any leading '=' that would make it a formula.
            # Building a typed cell object per value costs several times more at 100,000 rows.
            cells: list[Any] = [None if pd.isna(v) or v == "" else safe_cell(str(v)) for v in rec]
            if cells[row_at] is not None:
                cells[row_at] = int(rec[row_at])
            ws.append(cells)
        ws.auto_filter.ref = f"A1:{chr(64 + len(FIXLIST_COLUMNS))}{len(df) + 1}"
        wb.save(p)

    _write_aside(path, write)


def _html_context(result: Any, config: Any) -> dict[str, Any]:
    settings, _ = load_rules()
    cap = int(settings.get("html_max_rows_per_rule", 1000))
    findings = result.findings
    by_rule = result.by_rule()
    sections = []
    for row in by_rule.itertuples(index=False):
        rows = findings[findings["rule"] == row.rule]
        shown = rows.head(cap)
        spec = result.rules[row.rule]
        sections.append(
            {
                "code": row.rule,
                "severity": row.severity,
                "extract": row.extract,
                "count": int(row.count),
                "message": row.message,
                "how_to_fix": row.how_to_fix,
                "example": text(spec.example, result.params),
                "rows": [
                    {
                        "file": r.file,
                        "row": "" if pd.isna(r.row) else int(r.row),
                        "column_letter": r.column_letter,
                        "column": r.column,
                        "value": r.value,
                        "reference": r.reference,
                        "message": r.message,
                        "extract": r.extract,
                    }
                    for r in shown.itertuples(index=False)
                ],
                "truncated": len(rows) > cap,
                "cap": cap,
            }
        )
    statement = result.statement()
    return {
        "verdict": result.verdict,
        "n_errors": result.n_errors,
        "n_warnings": result.n_warnings,
        "n_info": result.n_info,
        "data_as_at": result.data_as_at.isoformat(),
        "delivery": Path(config.raw_dir).name,
        "statement": statement,
        "files": [r._asdict() for r in result.files.itertuples(index=False)],
        "by_rule": [r._asdict() for r in by_rule.itertuples(index=False)],
        "problem_sections": [s for s in sections if s["severity"] != "info"],
        "note_sections": [s for s in sections if s["severity"] == "info"],
        "n_rules": statement["summary"],
    }


def render_html(result: Any, config: Any) -> str:
    import jinja2

    from pipelines.report.prose import plural  # the one place a count meets its noun

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["n"] = lambda v: f"{int(v):,}"
    env.filters["plural"] = lambda v, noun: plural(int(v), noun)
    return env.get_template("data_quality.html.j2").render(**_html_context(result, config))


def write_dq_report(result: Any, con: Any, config: Any, out_dir: Path) -> list[Path]:
    """Write ``data_quality.html`` (first), ``data_quality_fixlist.csv``, ``.xlsx`` and
    ``data_quality.json`` (the statement and counts by rule, for the pages and for re-runs that
    confirm a fix) into ``out_dir``.

    Each file is written beside its target and swapped in, so a failed write leaves the previous
    report whole. ``con`` is accepted for the interface; everything needed is in ``result``.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    html_path = out_dir / "data_quality.html"
    csv_path = out_dir / "data_quality_fixlist.csv"
    xlsx_path = out_dir / "data_quality_fixlist.xlsx"
    page = render_html(result, config)
    _write_aside(html_path, lambda p: p.write_text(page, encoding="utf-8"))
    fixes = fixlist_frame(result.findings)
    write_csv(fixes, csv_path)
    created = dt.datetime.combine(result.data_as_at, dt.time())
    write_xlsx(fixes, xlsx_path, created)
    json_path = out_dir / "data_quality.json"
    summary = {
        "statement": result.statement(),
        "by_rule": [
            {k: (int(v) if k == "count" else v) for k, v in r._asdict().items()}
            for r in result.by_rule().itertuples(index=False)
        ],
        "files": [
            {
                k: (bool(v) if k == "reconciles" else v if isinstance(v, str) else int(v))
                for k, v in r._asdict().items()
            }
            for r in result.files.itertuples(index=False)
        ],
    }
    _write_aside(
        json_path,
        lambda p: p.write_text(
            json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        ),
    )
    return [html_path, csv_path, xlsx_path, json_path]

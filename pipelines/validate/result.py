"""The outcome of validation: findings, per-file reconciliation, a summary and a statement."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pandas as pd

from pipelines.contract import extracts
from pipelines.validate.coverage import combined_notes
from pipelines.validate.rules import Rule, text

FILE_COLUMNS = [
    "extract",
    "file",
    "rows_read",
    "rows_loaded",
    "rows_set_aside",
    "rows_blank",
    "reconciles",
]


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n:,} {word if n == 1 else (plural or word + 's')}"


@dataclasses.dataclass
class ValidationResult:
    """Findings of one validation run.

    ``findings`` columns: file, row (Excel row number), column_letter, column, value, rule,
    severity (error | warning | info), message, how_to_fix, extract, reference (the source row's
    own record reference, e.g. the referral_id; never a pseudonymised ID).
    ``files``: one row per file loaded: extract, file, rows_read, rows_loaded, rows_set_aside,
    rows_blank (blank lines skipped), reconciles (read = loaded + set aside + blank).
    """

    findings: pd.DataFrame
    files: pd.DataFrame
    rules: dict[str, Rule]
    params: dict[str, Any]
    data_as_at: dt.date
    timings: dict[str, float] = dataclasses.field(default_factory=dict)
    #: What the pages must say about extracts that do not cover the period (COV-001 to COV-003):
    #: ``{extract, label, column, rule, months (ISO months of the period), note}`` (coverage.py).
    coverage: list[dict[str, Any]] = dataclasses.field(default_factory=list)

    @property
    def n_errors(self) -> int:
        return int((self.findings["severity"] == "error").sum())

    @property
    def n_warnings(self) -> int:
        return int((self.findings["severity"] == "warning").sum())

    @property
    def n_info(self) -> int:
        return int((self.findings["severity"] == "info").sum())

    @property
    def verdict(self) -> str:
        if self.n_errors:
            return "failed"
        return "passed with warnings" if self.n_warnings else "passed"

    def rule_message(self, code: str) -> str:
        return text(self.rules[code].message, self.params)

    def by_rule(self) -> pd.DataFrame:
        """Rule, severity, extract, count, message; errors first, then warnings, then notes."""
        cols = ["rule", "severity", "extract", "count", "message", "how_to_fix"]
        if self.findings.empty:
            return pd.DataFrame(columns=cols)
        order = {"error": 0, "warning": 1, "info": 2}
        counts = (
            self.findings.groupby(["rule", "severity"], sort=True)
            .size()
            .rename("count")
            .reset_index()
        )
        counts["extract"] = [
            self.rules[c].extract if self.rules[c].extract != "*" else "" for c in counts["rule"]
        ]
        counts["message"] = [self.rule_message(c) for c in counts["rule"]]
        counts["how_to_fix"] = [text(self.rules[c].how_to_fix, self.params) for c in counts["rule"]]
        counts["_o"] = counts["severity"].map(order)
        return (
            counts.sort_values(["_o", "rule"], kind="mergesort")
            .drop(columns="_o")[cols]
            .reset_index(drop=True)
        )

    def describe(self) -> str:
        """Short summary for the terminal: verdict, counts by rule, where to look."""
        head = (
            f"Data quality: {self.verdict} - {_plural(self.n_errors, 'error')}, "
            f"{_plural(self.n_warnings, 'warning')}"
        )
        if self.n_info:
            head += f", {_plural(self.n_info, 'note')}"
        lines = [head]
        bad = ~self.files["reconciles"] if not self.files.empty else pd.Series([], dtype=bool)
        if not self.files.empty:
            lines.append(
                f"  {_plural(int(self.files['rows_read'].sum()), 'row')} read, "
                f"{int(self.files['rows_loaded'].sum()):,} loaded, "
                f"{int(self.files['rows_set_aside'].sum()):,} set aside"
                + (
                    f", {int(self.files['rows_blank'].sum()):,} blank line(s) skipped"
                    if self.files["rows_blank"].sum()
                    else ""
                )
                + (f"; {int(bad.sum())} file(s) do not reconcile" if bad.any() else "")
            )
        table = self.by_rule()
        for row in table.itertuples(index=False):
            if row.severity == "info":
                continue
            lines.append(f"  {row.severity:<7} {row.rule}  {row.count:>7,}  {row.message}")
        lines += [f"  {note}" for note in combined_notes(self.coverage)]
        if self.n_errors or self.n_warnings:
            lines.append(
                "  Every problem, with its file, Excel row, column and how to fix it, is in the "
                "data quality report and its fix list (data_quality_fixlist.csv/.xlsx)."
            )
        return "\n".join(lines)

    def statement(self) -> dict[str, Any]:
        """The data quality statement the committee pages carry (JSON-serialisable, no row detail).

        ``{"verdict", "data_as_at", "errors", "warnings", "summary", "extracts": [{"extract",
        "grain", "delivered", "files", "rows_read", "rows_loaded", "rows_set_aside", "rows_blank",
        "reconciles",
        "errors", "warnings", "warnings_summary": [plain-English lines]}],
        "coverage": [{"extract", "label", "column", "rule", "months", "tail", "note"}],
        "coverage_summary": [notes]}``: ``coverage`` says, one sentence each, which months of the
        period an extract does not cover (the annex pages of that extract show its ``note``);
        ``coverage_summary`` says the same with extracts alike said together (the summary).
        """
        out_extracts = []
        for extract, spec in extracts().items():
            files = self.files[self.files["extract"] == extract]
            mine = self.findings[self.findings["extract"] == extract]
            warnings = mine[mine["severity"] == "warning"]
            lines = []
            for code, group in warnings.groupby("rule", sort=True):
                message = self.rule_message(code).rstrip(".")
                if group["row"].isna().all():
                    values = "; ".join(sorted({v for v in group["value"] if v}))
                    lines.append(f"{message}{f' ({values})' if values else ''} [{code}].")
                else:
                    lines.append(f"{_plural(len(group), 'row')}: {message} [{code}].")
            out_extracts.append(
                {
                    "extract": extract,
                    "grain": spec.get("grain", ""),
                    "required": bool(spec.get("required")),
                    "delivered": not files.empty,
                    "files": [str(f) for f in files["file"]],
                    "rows_read": int(files["rows_read"].sum()),
                    "rows_loaded": int(files["rows_loaded"].sum()),
                    "rows_set_aside": int(files["rows_set_aside"].sum()),
                    "rows_blank": int(files["rows_blank"].sum()),
                    "reconciles": bool(files["reconciles"].all()) if not files.empty else True,
                    "errors": int((mine["severity"] == "error").sum()),
                    "warnings": int(len(warnings)),
                    "warnings_summary": lines,
                }
            )
        delivered = [e for e in out_extracts if e["delivered"]]
        read = sum(e["rows_read"] for e in delivered)
        loaded = sum(e["rows_loaded"] for e in delivered)
        aside = sum(e["rows_set_aside"] for e in delivered)
        summary = (
            f"{_plural(len(delivered), 'extract')} checked against "
            f"{_plural(self._n_rules(), 'rule')}: "
            f"{read:,} rows read, {loaded:,} loaded, {aside:,} set aside. "
        )
        if self.n_errors:
            summary += (
                f"{_plural(self.n_errors, 'error')} must be fixed before figures are published."
            )
        elif self.n_warnings:
            summary += (
                f"No errors; {_plural(self.n_warnings, 'warning')} (listed below) may affect "
                "some figures."
            )
        else:
            summary += "No errors or warnings."
        return {
            "verdict": self.verdict,
            "data_as_at": self.data_as_at.isoformat(),
            "errors": self.n_errors,
            "warnings": self.n_warnings,
            "summary": summary,
            "extracts": out_extracts,
            "coverage": [dict(c) for c in self.coverage],
            "coverage_summary": combined_notes(self.coverage),
        }

    def _n_rules(self) -> int:
        return sum(1 for r in self.rules.values() if r.check != "internal")

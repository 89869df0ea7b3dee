"""Accessible HTML tables: a caption, ``th scope``, numbers right-aligned, withheld cells as ``c``.

Cells that show a figure carry ``data-key`` (analysis|measure|scope|breakdown|category) and
``data-field`` (numerator, denominator or value) so tests can check every number against
metrics_public.csv; the attributes hold keys only, never values.
"""

from __future__ import annotations

import dataclasses
import html
from collections.abc import Sequence

from pipelines.report.data import Row, category_label, fmt_value


@dataclasses.dataclass(frozen=True)
class Cell:
    text: str
    numeric: bool = False
    key: str = ""
    field: str = ""
    raw_html: bool = False


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def cell(text: str, numeric: bool = False, key: str = "", field: str = "") -> Cell:
    return Cell(text, numeric, key, field)


def figure_cells(
    row: Row | None,
    unit: str | None = None,
    fields: Sequence[str] = ("numerator", "denominator", "value"),
) -> list[Cell]:
    """Cells for one metrics row; a missing row gives ``–`` in each."""
    out = []
    for f in fields:
        if row is None:
            out.append(Cell("–", numeric=True))
            continue
        raw = getattr(row, f)
        u = (unit or row.unit) if f == "value" else "count"
        out.append(Cell(fmt_value(raw, u), numeric=True, key=row.key, field=f))
    return out


def html_table(
    caption: str,
    header: Sequence[str],
    rows: Sequence[Sequence[Cell | str]],
    numeric_cols: Sequence[int] = (),
    css_class: str = "data",
) -> str:
    """A table whose first column holds row headers (``th scope="row"``)."""
    out = [f'<table class="{esc(css_class)}">', f"<caption>{esc(caption)}</caption>", "<thead><tr>"]
    for i, h in enumerate(header):
        cls = ' class="num"' if i in numeric_cols else ""
        out.append(f'<th scope="col"{cls}>{esc(h)}</th>')
    out.append("</tr></thead><tbody>")
    for r in rows:
        out.append("<tr>")
        for i, c in enumerate(r):
            c = c if isinstance(c, Cell) else Cell(str(c), numeric=i in numeric_cols)
            attrs = ' class="num"' if c.numeric else ""
            if c.key:
                attrs += f' data-key="{esc(c.key)}" data-field="{esc(c.field)}"'
            body = c.text if c.raw_html else esc(c.text)
            if i == 0:
                out.append(f'<th scope="row"{attrs}>{body}</th>')
            else:
                out.append(f"<td{attrs}>{body}</td>")
        out.append("</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def breakdown_table(
    caption: str,
    rows: Sequence[Row],
    first_header: str,
    unit: str | None = None,
    numerator_header: str = "Number",
    denominator_header: str = "Out of",
    value_header: str | None = None,
) -> str:
    """One line per category: label, numerator, denominator, value (columns only where used)."""
    if not rows:
        return ""
    has_num = any(r.numerator.strip() for r in rows)
    has_den = any(r.denominator.strip() for r in rows)
    u = unit or rows[0].unit
    fields, header = [], [first_header]
    if has_num:
        fields.append("numerator")
        header.append(numerator_header)
    if has_den:
        fields.append("denominator")
        header.append(denominator_header)
    fields.append("value")
    header.append(
        value_header
        or {"percent": "Percentage", "count": "Number", "score": "Score", "days": "Days"}.get(
            u, "Value"
        )
    )
    body = [
        [Cell(category_label(r.breakdown, r.category))] + figure_cells(r, u, fields) for r in rows
    ]
    return html_table(caption, header, body, numeric_cols=range(1, len(header)))

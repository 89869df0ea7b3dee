"""Text written to files people open in a spreadsheet (fix lists, metrics CSVs): one home for the
formula-injection guard and for the characters a spreadsheet cannot hold."""

from __future__ import annotations

import re
from typing import Any

#: First characters that make a spreadsheet read a cell as a formula (OWASP CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: Characters an XLSX cannot hold (openpyxl raises on C0 controls, XML 1.0 has no U+FFFE/FFFF,
#: a lone surrogate cannot be encoded) or that corrupt a CSV row in Excel (CR, DEL): the C0
#: controls but tab and newline, DEL, lone surrogates and U+FFFE/U+FFFF.
_UNWRITABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff\ufffe\uffff]")
#: Excel's limit of characters in one cell; a longer value is cut (it would corrupt the sheet).
CELL_MAX_CHARS = 32_767
_CUT = " [... cut: longer than an Excel cell holds]"


def _visible(match: re.Match[str]) -> str:
    """A control character as its visible Unicode symbol (U+0001 -> U+2401, DEL -> U+2421), so
    the data officer sees that the source value holds one; anything else as U+FFFD."""
    code = ord(match.group())
    if code < 0x20:
        return chr(0x2400 + code)
    return "\u2421" if code == 0x7F else "\ufffd"


def clean_text(value: str) -> str:
    """``value`` as a fix list can hold it: no control characters (shown as their symbol), no
    unencodable characters, at most an Excel cell's length. One helper for the CSV and XLSX."""
    value = _UNWRITABLE.sub(_visible, value)
    if len(value) > CELL_MAX_CHARS:
        value = value[: CELL_MAX_CHARS - len(_CUT)] + _CUT
    return value


def safe_cell(value: Any) -> Any:
    """A cell a spreadsheet can hold and will never evaluate: text is cleaned (``clean_text``)
    and text starting like a formula gets a leading '."""
    if isinstance(value, str):
        value = clean_text(value)
        if value.startswith(FORMULA_STARTS):
            return "'" + value
    return value

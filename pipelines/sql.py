"""The one way values and fragments go into SQL, for every stage.

- **Values** (dates, numbers, codes, file names) are DuckDB named parameters, `$name` in the SQL,
  bound by DuckDB and never formatted into the text: ``bound(sql, values)`` picks the ones a
  statement uses (DuckDB refuses a parameter the statement does not use).
- **Fragments** the code builds (column lists, per-column expressions, a sub-query) are
  `{name}` placeholders, filled in one pass by ``fill``: a filled-in text is never read again, so
  a file name or value holding `{...}` or `$` stays as it is.
"""

from __future__ import annotations

import re
from typing import Any

_PLACEHOLDER = re.compile(r"\{([A-Za-z_]\w*)\}")
_PARAMETER = re.compile(r"\$([A-Za-z_]\w*)")


def fill(template: str, **values: str) -> str:
    """``template`` with each ``{name}`` replaced by ``values[name]``, in one pass.

    A placeholder without a value is an error (a bug in the caller, not the data's fault).
    """

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise ValueError(f"SQL template placeholder {{{name}}} has no value")
        return values[name]

    return _PLACEHOLDER.sub(value, template)


def bound(sql: str, values: dict[str, Any]) -> dict[str, Any]:
    """The named parameters ``sql`` uses (`$name`), with their values, for ``con.execute``.

    A parameter without a value is an error (a bug in the caller or a rule's SQL)."""
    used = sorted(set(_PARAMETER.findall(sql)))
    missing = [name for name in used if name not in values]
    if missing:
        raise ValueError(f"SQL parameter(s) without a value: {', '.join('$' + m for m in missing)}")
    return {name: values[name] for name in used}

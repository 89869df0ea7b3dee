"""The metrics layer: every figure of docs/METRICS.md, computed once, in DuckDB SQL.

``compute_metrics(con, config)`` runs one SQL file per analysis (``sql/*.sql``, each shaped
source -> intermediate -> final CTEs) against the curated warehouse tables and returns the tidy
``metrics.csv`` table; ``suppress(metrics, threshold)`` applies the public statistical disclosure
control (see :mod:`pipelines.transform.suppression`); ``write_metrics(df, path)`` writes it
byte-stably. The benchmarks and targets of ``reference/`` are read by the pages
(:mod:`pipelines.report.model`).

Conventions (decided once, here, for every analysis):

- Calendar months use DuckDB interval arithmetic, ``CAST(date + INTERVAL n MONTH AS DATE)``: the day
  of the month is kept and clamped to the last day of a shorter month, so 2012-02-29 + 12 months is
  2013-02-28, 2012-01-31 + 1 month is 2012-02-29 and 2012-08-31 + 6 months is 2013-02-28. "Within
  n months" is inclusive of that day.
- Working days: Monday to Friday less the England and Wales bank holidays of the ``holidays``
  package (subdivision ENG, so no Scottish or Northern Irish days; it has the 2011 royal wedding and
  the 2012 Diamond Jubilee), in a TEMP calendar table over the data's date range. "N working days
  after X" counts strictly after X; the deadline is the Nth of them and is met on or before it.
- Only TEMP tables and macros (prefixed ``_m_``) are created, so a read-only connection works.
- Row order is fixed (analysis, measure, scope, breakdown, category in code-list or date order), so
  the same inputs give a byte-identical CSV.
"""

from pipelines.transform.metrics import METRICS_COLUMNS, compute_metrics
from pipelines.transform.output import write_metrics
from pipelines.transform.suppression import suppress

__all__ = ["METRICS_COLUMNS", "compute_metrics", "suppress", "write_metrics"]

"""Garbage-collector settings for a pipeline process and its notebook kernels.

CPython collects its youngest generation every 700 allocations and the whole heap every 100 of
those. The libraries a run imports (Great Expectations, pandas, Altair, nbconvert) leave about
270,000 long-lived objects, so each full collection walks all of them to find almost nothing: on
the shipped sample the main process spent 1.1-1.3 s of a 10 s run in the collector, and another
0.9 s at exit, when the interpreter's teardown collects the whole heap once more.

``tune`` makes collections rarer (measured: 0.3 s in the collector, no full collection during a
sample run); reference counting still frees almost everything at once, the collector only finds
reference cycles. ``skip_final_collections`` is for a process about to exit: its objects are
moved out of the collector's sight, so teardown does not walk them (the operating system takes
the memory back; files and kernels are closed by the run itself, not by finalisers).
"""

from __future__ import annotations

import gc

#: (young, middle, old): a young collection every 50,000 net allocations, not 700.
THRESHOLDS = (50_000, 20, 20)

#: The same, as code for a notebook kernel to run (see report/runner.py).
KERNEL_CODE = f"import gc\ngc.set_threshold(*{THRESHOLDS!r})"


def tune() -> None:
    gc.set_threshold(*THRESHOLDS)


def skip_final_collections() -> None:
    gc.freeze()

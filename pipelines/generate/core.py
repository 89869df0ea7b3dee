"""Shared helpers of the generator: exact quotas, dates, ages and working days (all vectorised)."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import holidays
import numpy as np

Day = np.datetime64
NAT = np.datetime64("NaT", "D")


def d(value: Any) -> np.datetime64:
    """A date (ISO string, ``datetime.date`` or datetime64) as ``datetime64[D]``."""
    return np.datetime64(str(value), "D")


def quotas(shares: Mapping[Any, float], n: int) -> dict[Any, int]:
    """Exact counts summing to ``n`` in proportion to ``shares`` (largest remainder method).

    Using exact quotas rather than random draws is what makes the calibrated percentages hold at
    every scale, not just on average.
    """
    keys = list(shares)
    w = np.array([float(shares[k]) for k in keys], dtype=float)
    if n <= 0 or w.sum() <= 0:
        return {k: 0 for k in keys}
    raw = w / w.sum() * n
    base = np.floor(raw).astype(int)
    rest = n - int(base.sum())
    order = np.argsort(-(raw - base), kind="stable")
    base[order[:rest]] += 1
    return dict(zip(keys, base.tolist(), strict=True))


def quota_array(rng: np.random.Generator, shares: Mapping[Any, float], n: int) -> np.ndarray:
    """An array of ``n`` category keys with exact quota counts, in random order."""
    q = quotas(shares, n)
    arr = np.array([k for k, c in q.items() for _ in range(c)], dtype=object)
    if arr.size == 0:
        return np.array([], dtype=object)
    return rng.permutation(arr)


def choice(rng: np.random.Generator, shares: Mapping[Any, float], n: int) -> np.ndarray:
    """Random draws (not exact) from a categorical distribution given as ``{key: weight}``."""
    keys = np.array(list(shares), dtype=object)
    p = np.array([float(v) for v in shares.values()], dtype=float)
    return keys[rng.choice(len(keys), size=n, p=p / p.sum())]


def random_days(
    rng: np.random.Generator,
    start: np.ndarray | np.datetime64,
    end: np.ndarray | np.datetime64,
    n: int | None = None,
) -> np.ndarray:
    """Uniform random dates between start and end inclusive (arrays broadcast)."""
    start = np.asarray(start, dtype="datetime64[D]")
    end = np.asarray(end, dtype="datetime64[D]")
    span = (end - start).astype(int) + 1
    size = n if n is not None else np.broadcast(start, end).shape
    u = rng.random(size)
    return start + np.floor(u * span).astype(int).astype("timedelta64[D]")


def add_months(dates: np.ndarray, months: int | np.ndarray) -> np.ndarray:
    """Calendar months later (day clamped to the month's end): 2012-03-31 + 1 month = 2012-04-30."""
    dates = np.asarray(dates, dtype="datetime64[D]")
    m = dates.astype("datetime64[M]")
    day = (dates - m.astype("datetime64[D]")).astype(int)
    m2 = m + np.asarray(months).astype("timedelta64[M]")
    last = ((m2 + 1).astype("datetime64[D]") - m2.astype("datetime64[D]")).astype(int) - 1
    return m2.astype("datetime64[D]") + np.minimum(day, last).astype("timedelta64[D]")


def ymd(dates: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    dates = np.asarray(dates, dtype="datetime64[D]")
    y = dates.astype("datetime64[Y]").astype(int) + 1970
    m = dates.astype("datetime64[M]").astype(int) % 12 + 1
    day = (dates - dates.astype("datetime64[M]").astype("datetime64[D]")).astype(int) + 1
    return y, m, day


def age_years(dob: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Whole years by birthday (docs/METRICS.md); NaN where dob is missing."""
    y1, m1, d1 = ymd(dob)
    y2, m2, d2 = ymd(at)
    before = (m2 < m1) | ((m2 == m1) & (d2 < d1))
    age = (y2 - y1 - before).astype(float)
    age[np.isnat(np.asarray(dob, dtype="datetime64[D]"))] = np.nan
    return age


BANDS = {
    "0-2": (0, 2),
    "3-5": (3, 5),
    "6-8": (6, 8),
    "9-11": (9, 11),
    "12-17": (12, 17),
    "18+": (18, 19),
}


def age_band(dob: np.ndarray, at: np.ndarray) -> np.ndarray:
    dob = np.asarray(dob, dtype="datetime64[D]")
    at = np.asarray(at, dtype="datetime64[D]")
    a = age_years(dob, at)
    out = np.full(dob.shape, "UNKNOWN", dtype=object)
    known = ~np.isnat(dob)
    out[known & (dob > at)] = "UNBORN"
    for band, (lo, hi) in BANDS.items():
        out[known & (dob <= at) & (a >= lo) & (a <= hi)] = band
    out[known & (dob <= at) & (a >= 18)] = "18+"
    return out


def _years_before(dates: np.ndarray, years: np.ndarray) -> np.ndarray:
    """The same day ``years`` earlier (29 February becomes 28 February)."""
    return add_months(dates, -12 * np.asarray(years, dtype=int))


def dob_for_band(rng: np.random.Generator, at: np.ndarray, bands: np.ndarray) -> np.ndarray:
    """Dates of birth giving each referral (dated ``at``) the age band asked for.

    ``UNBORN``: 1-200 days after; ``UNKNOWN``: blank; otherwise a whole-year age drawn within the
    band and a birthday drawn so that the age by birthday is exactly that.
    """
    at = np.asarray(at, dtype="datetime64[D]")
    bands = np.asarray(bands, dtype=object)
    out = np.full(at.shape, NAT, dtype="datetime64[D]")
    n = at.size
    lo = np.zeros(n, dtype=int)
    hi = np.zeros(n, dtype=int)
    normal = np.zeros(n, dtype=bool)
    for band, (a, b) in BANDS.items():
        sel = bands == band
        lo[sel], hi[sel], normal[sel] = a, b, True
    age = lo + np.floor(rng.random(n) * (hi - lo + 1)).astype(int)
    upper = _years_before(at, age)  # birthday exactly `age` years before: age is `age`
    lower = _years_before(at, age + 1) + np.timedelta64(1, "D")
    dob = random_days(rng, lower, upper)
    out[normal] = dob[normal]
    unborn = bands == "UNBORN"
    out[unborn] = at[unborn] + rng.integers(1, 201, size=int(unborn.sum())).astype("timedelta64[D]")
    return out


@functools.cache
def _holiday_array() -> np.ndarray:
    days = holidays.UK(subdiv="ENG", years=range(2005, 2016))
    # the holidays package lists substitute days too (e.g. 2010-12-28); keep weekdays only
    return np.array(sorted(str(x) for x in days), dtype="datetime64[D]")


def holiday_array() -> np.ndarray:
    return _holiday_array()


def working_days_after(dates: np.ndarray, n: int | np.ndarray) -> np.ndarray:
    """The Nth working day strictly after each date (docs/METRICS.md), England & Wales holidays."""
    return np.busday_offset(
        np.asarray(dates, dtype="datetime64[D]"), n, roll="backward", holidays=holiday_array()
    )


def fy_start(label: str) -> np.datetime64:
    return d(f"{label[:4]}-04-01")


def ids(prefix: str, numbers: np.ndarray, width: int) -> np.ndarray:
    """Record identifiers such as ``DR00001234`` (upper case, fixed width)."""
    numbers = np.asarray(numbers, dtype=np.int64)
    out = np.empty(numbers.size, dtype=object)
    out[:] = [f"{prefix}{n:0{width}d}" for n in numbers.tolist()]
    return out


def weighted_order(rng: np.random.Generator, weights: np.ndarray) -> np.ndarray:
    """A random order, heavier weights first on average (weighted sampling without replacement)."""
    keys = rng.exponential(size=weights.size) / np.maximum(weights, 1e-9)
    return np.argsort(keys, kind="stable")


def cut_prefix(sizes: np.ndarray, target: int) -> int:
    """How many items from the front whose sizes sum to at most ``target``."""
    if sizes.size == 0 or target <= 0:
        return 0
    return int(np.searchsorted(np.cumsum(sizes), target, side="right"))

"""The synthetic sample generator: seven extracts calibrated to the inspection report.

``generate_sample`` writes all seven extracts of the contract (docs/EXTRACTS.md) for referral dates
from 2009-04-01 to the extract date 2013-01-31, deterministically from a seed. The calibration
(pipelines/generate/calibration.yaml) holds every target as data: volumes, shares and the exact
counts the report quotes, so that a default run reproduces docs/METRICS.md "Reference
figures". ``scale`` multiplies volumes (100 gives about a million DAT referrals); shares hold at
every scale, exact counts only at scale 1. ``messy`` writes the same data in the forms real exports
take; ``fmt="xlsx"`` writes workbooks with real date cells.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from pipelines.contract import extracts

HERE = Path(__file__).resolve().parent
CALIBRATION_FILE = HERE / "calibration.yaml"

EXTRACT_ORDER = [
    "dat_referrals",
    "cpr_registrations",
    "cpr_reviews",
    "ifss_referrals",
    "ifss_distance_travelled",
    "workforce_posts",
    "workforce_leavers",
]


@functools.cache
def _calibration_text() -> str:
    return CALIBRATION_FILE.read_text(encoding="utf-8")


def load_calibration() -> dict[str, Any]:
    """The calibration parameters (a fresh copy each call)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(_calibration_text(), Loader=loader)  # noqa: S506 (a safe loader)


def build_frames(seed: int | None = None, scale: float = 1.0) -> dict[str, pd.DataFrame]:
    """The seven extracts as typed frames (dates datetime64, yes/no 'Y'/'N'/'', codes canonical)."""
    from pipelines.generate.cpr import generate_cpr
    from pipelines.generate.dat import generate_dat
    from pipelines.generate.ifss import generate_ifss
    from pipelines.generate.workforce import generate_workforce

    cal = load_calibration()
    if scale <= 0:
        raise ValueError(f"scale must be positive, got {scale}")
    seed = int(cal["seed"] if seed is None else seed)
    r_dat, r_cpr, r_ifss, r_wf = (
        np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(4)
    )
    dat, s47, next_child = generate_dat(cal, r_dat, scale, child_base=1)
    reg, rev, next_child = generate_cpr(cal, r_cpr, scale, child_base=next_child, dat_s47=s47)
    ifss, dt_rows, next_child, _ = generate_ifss(
        cal, r_ifss, scale, child_base=next_child, family_base=1
    )
    posts, leavers = generate_workforce(cal, r_wf, scale)
    frames = {
        "dat_referrals": dat,
        "cpr_registrations": reg,
        "cpr_reviews": rev,
        "ifss_referrals": ifss,
        "ifss_distance_travelled": dt_rows,
        "workforce_posts": posts,
        "workforce_leavers": leavers,
    }
    contract = extracts()
    out = {}
    for name in EXTRACT_ORDER:
        cols = list(contract[name]["columns"])
        df = frames[name]
        missing = set(cols) - set(df.columns)
        if missing:
            raise AssertionError(f"generator bug: {name} lacks {sorted(missing)}")
        df = df[cols].copy()
        for c, spec in contract[name]["columns"].items():
            if spec["type"] == "date":
                df[c] = pd.to_datetime(df[c]).astype("datetime64[s]")
            elif spec["type"] == "integer":
                df[c] = df[c].astype("Int64")
        out[name] = df
    return out


def generate_sample(
    out_dir: str | Path,
    seed: int | None = None,
    scale: float = 1.0,
    fmt: str = "csv",
    messy: bool = False,
) -> list[Path]:
    """Write the seven extracts to ``out_dir`` as ``<extract>.csv`` or ``.xlsx``; return paths.

    A delivery holds one file per extract, so a file of the same extract in the other format
    (``dat_referrals.xlsx`` when writing CSV, and the reverse) is removed from ``out_dir``.
    """
    from pipelines.generate.write import (
        MESSY,
        clean_strings,
        load_aliases,
        messify,
        write_csv,
        write_xlsx,
    )

    if fmt not in ("csv", "xlsx"):
        raise ValueError(f"fmt must be 'csv' or 'xlsx', got {fmt!r}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    frames = build_frames(seed, scale)
    cal = load_calibration()
    aliases = load_aliases() if messy else {}
    messy_rng = np.random.default_rng(
        np.random.SeedSequence(int(cal["seed"] if seed is None else seed)).spawn(5)[4]
    )
    paths = []
    for name in EXTRACT_ORDER:
        df = frames[name]
        path = out / f"{name}.{fmt}"
        # a delivery holds one file per extract: drop the other format's file of the same extract
        other = out / f"{name}.{'xlsx' if fmt == 'csv' else 'csv'}"
        if other.exists():
            other.unlink()
        if fmt == "csv":
            if messy:
                write_csv(
                    messify(name, df, messy_rng, aliases, keep_dates=False),
                    path,
                    MESSY[name]["encoding"],
                )
            else:
                write_csv(clean_strings(name, df), path)
        else:
            typed = messify(name, df, messy_rng, aliases, keep_dates=True) if messy else df
            write_xlsx(name, typed, path)
        paths.append(path)
    return paths

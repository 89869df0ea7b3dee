"""Workforce posts (quarterly snapshots) and leavers.

The latest snapshot is the establishment the inspection describes, post by post (calibration.yaml).
Earlier snapshots walk backwards from it; a post holder who leaves between two snapshots (the post
falls vacant, or a new holder takes it) becomes a leaver. Leavers in the 12 months to period_end
are set to the turnover the report gives (leavers / mean FILLED posts over the year's snapshots).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from pipelines.generate.core import d

HELD = {"FILLED", "LTS"}


def _posts(cfg: dict[str, Any]) -> list[dict[str, Any]]:
    posts = []
    for team, roles in cfg["teams"].items():
        for role, items in roles.items():
            for status, caseload, years in items:
                posts.append(
                    {
                        "team": team,
                        "role": role,
                        "status": status,
                        "caseload": caseload,
                        "years": years,
                    }
                )
    return posts


def _one_copy(
    cfg: dict[str, Any], rng: np.random.Generator, pe: np.datetime64, copy: int, staff_next: int
) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    snaps = [d(s) for s in cfg["snapshots"]]
    posts = _posts(cfg)
    q = len(snaps)
    st_keys = list(cfg["earlier_status"])
    st_p = np.array(list(cfg["earlier_status"].values()), dtype=float)
    st_p /= st_p.sum()
    window = (pe - np.timedelta64(365, "D"), pe)
    yr = [i for i, s in enumerate(snaps) if window[0] < s <= window[1] and s <= pe]

    for _attempt in range(200):
        status = np.empty((len(posts), q), dtype=object)
        for p_i, p in enumerate(posts):
            status[p_i, -1] = p["status"]
            for t in range(q - 2, -1, -1):
                status[p_i, t] = (
                    status[p_i, t + 1]
                    if rng.random() < 0.78
                    else st_keys[rng.choice(len(st_keys), p=st_p)]
                )
        # transitions t-1 -> t where the holder leaves: forced (held -> not held) or chosen changes
        forced = np.zeros((len(posts), q), dtype=bool)
        optional = np.zeros((len(posts), q), dtype=bool)
        for t in range(1, q):
            was, now = np.isin(status[:, t - 1], list(HELD)), np.isin(status[:, t], list(HELD))
            forced[:, t] = was & ~now
            optional[:, t] = was & now
        mean_filled = np.mean([(status[:, t] == "FILLED").sum() for t in yr])
        target = int(round(cfg["turnover"] / 100 * mean_filled))
        n_forced = int(forced[:, yr].sum())
        opt_yr = np.argwhere(optional[:, yr])
        if n_forced <= target <= n_forced + len(opt_yr):
            break
    change = forced.copy()
    pick = opt_yr[rng.permutation(len(opt_yr))[: target - n_forced]]
    for p_i, k in pick:
        change[p_i, yr[k]] = True
    # outside the year: some holder changes too, for history
    outside = [t for t in range(1, q) if t not in yr]
    for t in outside:
        change[:, t] |= optional[:, t] & (rng.random(len(posts)) < 0.12)

    rows, leavers = [], []
    prefix = f"K{copy:03d}-" if copy else ""
    for p_i, p in enumerate(posts):
        holder = None
        quals: dict[str, Any] = {}
        for t in range(q):
            s = status[p_i, t]
            if t > 0 and change[p_i, t] and holder is not None:
                lo, hi = snaps[t - 1], snaps[t]
                leave = lo + np.timedelta64(int(rng.integers(1, (hi - lo).astype(int) + 1)), "D")
                leavers.append(
                    {
                        "staff_id": holder,
                        "team": p["team"],
                        "role": p["role"],
                        "leaving_date": leave,
                    }
                )
                holder = None
            if s in HELD and holder is None:
                holder = f"{prefix}S{staff_next:05d}"
                staff_next += 1
            if s not in HELD:
                holder = None
            is_last = t == q - 1
            if holder is not None and holder not in quals:
                if p["role"] in ("FSW", "SWA"):
                    quals[holder] = None
                else:
                    years = p["years"] if (is_last or p["years"] is not None) else None
                    if years is None:
                        years = float(rng.uniform(1.5, 10))
                    quals[holder] = snaps[-1] - np.timedelta64(int(round(years * 365.25)), "D")
            if is_last:
                caseload = p["caseload"] if s in ("FILLED", "AGENCY") else None
            else:
                caseload = (
                    None
                    if (p["role"] == "TM" or s not in ("FILLED", "AGENCY"))
                    else int(rng.integers(10, 29))
                )
            q_date = quals.get(holder) if holder is not None else None
            if q_date is not None and q_date > snaps[t]:
                q_date = snaps[t] - np.timedelta64(30, "D")
            rows.append(
                {
                    "post_id": f"{prefix}P{p_i + 1:04d}",
                    "snapshot_date": snaps[t],
                    "team": p["team"],
                    "role": p["role"],
                    "status": s,
                    "staff_id": holder or "",
                    "qualified_date": q_date if q_date is not None else np.datetime64("NaT"),
                    "caseload": caseload,
                }
            )
    posts_df = pd.DataFrame(rows)
    posts_df["caseload"] = pd.array(posts_df["caseload"], dtype="Int64")
    posts_df["qualified_date"] = posts_df["qualified_date"].astype("datetime64[s]")
    return posts_df, pd.DataFrame(leavers), staff_next


def generate_workforce(
    cal: dict[str, Any], rng: np.random.Generator, scale: float
) -> tuple[pd.DataFrame, pd.DataFrame]:
    cfg = cal["workforce"]
    pe = d(cal["period_end"])
    copies = max(1, int(round(scale)))
    posts, leavers = [], []
    staff_next = 1
    for c in range(copies):
        p, l_, staff_next = _one_copy(cfg, rng, pe, c, staff_next)
        posts.append(p)
        leavers.append(l_)
    posts_df = pd.concat(posts, ignore_index=True).sort_values(
        ["snapshot_date", "post_id"], kind="stable"
    )
    leavers_df = pd.concat(leavers, ignore_index=True).sort_values(
        ["leaving_date", "staff_id"], kind="stable"
    )
    leavers_df["leaving_date"] = leavers_df["leaving_date"].astype("datetime64[s]")
    posts_df["snapshot_date"] = posts_df["snapshot_date"].astype("datetime64[s]")
    return posts_df.reset_index(drop=True), leavers_df.reset_index(drop=True)

"""DAT referrals: families referred again and again, the re-referral rate set per financial year.

Referrals are built month by month at family level (siblings are referred together, one row per
child). Each month takes an exact number of rows; of them an exact number are re-referrals
(families last referred in the 11 full months before), a share are families known from longer
ago, and the rest are new families. Families whose last referral ended in NFA or an NFA letter are
the likeliest to come back (the inspection's finding).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from pipelines.generate.core import (
    add_months,
    choice,
    cut_prefix,
    d,
    dob_for_band,
    fy_start,
    ids,
    quotas,
    weighted_order,
    working_days_after,
)


def _months(cal: dict[str, Any], scale: float) -> list[tuple[np.datetime64, int, float]]:
    """(month start, referrals in the month, re-referral share) from history_start to data_as_at."""
    cfg = cal["dat"]
    as_at = d(cal["data_as_at"])
    weights = cfg["month_weights"]
    out = []
    for fy, volume in cfg["volume_by_fy"].items():
        start = fy_start(fy).astype("datetime64[M]")
        months = [start + i for i in range(12) if (start + i).astype("datetime64[D]") <= as_at]
        n = quotas({i: weights[i] for i in range(len(months))}, int(round(volume * scale)))
        for i, m in enumerate(months):
            out.append((m.astype("datetime64[D]"), n[i], float(cfg["re_referral_by_fy"][fy])))
    return out


def _greedy(order: np.ndarray, sizes: np.ndarray, target: int) -> np.ndarray:
    """Indices from ``order`` (in that order) whose sizes sum to ``target`` exactly if possible."""
    k = cut_prefix(sizes[order], target)
    taken = list(order[:k])
    left = target - int(sizes[order[:k]].sum())
    for i in order[k : k + 5000]:
        if left <= 0:
            break
        if sizes[i] <= left:
            taken.append(i)
            left -= int(sizes[i])
    return np.array(taken, dtype=np.int64)


def _working_days_in_month(
    rng: np.random.Generator, month_start: np.datetime64, n: int, last: np.datetime64
) -> np.ndarray:
    from pipelines.generate.core import holiday_array

    end = min(add_months(np.array([month_start]), 1)[0], last + np.timedelta64(1, "D"))
    nbd = int(np.busday_count(month_start, end, holidays=holiday_array()))
    k = rng.integers(0, nbd, size=n)
    return np.busday_offset(month_start, k, roll="forward", holidays=holiday_array())


def generate_dat(
    cal: dict[str, Any], rng: np.random.Generator, scale: float, child_base: int
) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """The dat_referrals extract, its S47 rows (for the register to link to), next child number."""
    cfg = cal["dat"]
    as_at = d(cal["data_as_at"])
    outcomes = list(cfg["outcome"])
    rr_weight = np.array([cfg["rereferral_weight_after"][o] for o in outcomes])
    size_keys = np.array([int(k) for k in cfg["family_size"]])
    size_p = np.array(list(cfg["family_size"].values()), dtype=float)
    size_p /= size_p.sum()

    fam_size = np.zeros(0, dtype=np.int64)
    fam_last = np.zeros(0, dtype="datetime64[D]")
    fam_last_out = np.zeros(0, dtype=np.int64)
    ev_fam: list[np.ndarray] = []
    ev_date: list[np.ndarray] = []
    ev_out: list[np.ndarray] = []

    for month_start, n_rows, rr_share in _months(cal, scale):
        n_fam = fam_size.size
        target_rr = int(round(n_rows * rr_share))
        window_lo = add_months(np.array([month_start]), -11)[0]
        cand = (
            np.flatnonzero((fam_last >= window_lo) & (fam_last < month_start))
            if n_fam
            else np.zeros(0, int)
        )
        chosen_rr = _greedy(
            cand[weighted_order(rng, rr_weight[fam_last_out[cand]])], fam_size, target_rr
        )
        got = int(fam_size[chosen_rr].sum())
        target_ret = int(round((n_rows - got) * cfg["returning_share"]))
        old_lo = add_months(np.array([month_start]), -12)[0]
        old = np.flatnonzero(fam_last < old_lo) if n_fam else np.zeros(0, int)
        chosen_ret = _greedy(rng.permutation(old), fam_size, target_ret)
        got += int(fam_size[chosen_ret].sum())
        # new families: draw sizes, keep those that fit, fill the remainder with single children
        need = n_rows - got
        sizes = size_keys[rng.choice(size_keys.size, size=max(need, 0), p=size_p)]
        k = cut_prefix(sizes, need)
        sizes = np.concatenate([sizes[:k], np.ones(need - int(sizes[:k].sum()), dtype=np.int64)])
        new_idx = np.arange(n_fam, n_fam + sizes.size)
        fam_size = np.concatenate([fam_size, sizes])
        fam_last = np.concatenate(
            [fam_last, np.full(sizes.size, np.datetime64("NaT"), "datetime64[D]")]
        )
        fam_last_out = np.concatenate([fam_last_out, np.zeros(sizes.size, dtype=np.int64)])

        fams = np.concatenate([chosen_rr, chosen_ret, new_idx]).astype(np.int64)
        dates = _working_days_in_month(rng, month_start, fams.size, as_at)
        outs = rng.choice(len(outcomes), size=fams.size, p=np.array(list(cfg["outcome"].values())))
        fam_last[fams] = dates
        fam_last_out[fams] = outs
        ev_fam.append(fams)
        ev_date.append(dates)
        ev_out.append(outs)

    fam = np.concatenate(ev_fam)
    date = np.concatenate(ev_date).astype("datetime64[D]")
    out = np.concatenate(ev_out)
    n_ev = fam.size

    # children of each family: ages fixed at the family's first referral
    first_date = np.full(fam_size.size, np.datetime64("NaT"), "datetime64[D]")
    order = np.argsort(date, kind="stable")
    _, first_pos = np.unique(fam[order], return_index=True)
    first_date[fam[order][first_pos]] = date[order][first_pos]
    child_start = np.concatenate([[0], np.cumsum(fam_size)[:-1]])
    n_child = int(fam_size.sum())
    child_fam = np.repeat(np.arange(fam_size.size), fam_size)
    rank = np.arange(n_child) - child_start[child_fam]
    bands = choice(rng, cfg["age_at_first_referral"], n_child)
    bands[(bands == "UNBORN") & (rank > 0)] = "0-2"
    dob = dob_for_band(rng, first_date[child_fam], bands)
    sex = choice(rng, cfg["sex"], n_child)
    sex[bands == "UNBORN"] = "U"
    child_id = ids("C", child_base + np.arange(n_child), 7)

    # events -> rows (one per child)
    team = choice(rng, cfg["teams"], n_ev)
    source = choice(rng, cfg["source"], n_ev)
    primary_need = choice(rng, cfg["primary_need"], n_ev)
    lag_keys = np.array([int(k) for k in cfg["decision_working_days"]])
    lag_p = np.array(list(cfg["decision_working_days"].values()), dtype=float)
    lag = lag_keys[rng.choice(lag_keys.size, size=n_ev, p=lag_p / lag_p.sum())]
    decision = np.where(lag > 0, working_days_after(date, lag), date)
    decision = np.where(decision > as_at, date, decision).astype("datetime64[D]")
    lateral = np.where(rng.random(n_ev) < cfg["lateral_checks_yes"], "Y", "N").astype(object)
    lateral[rng.random(n_ev) < cfg["lateral_checks_blank"]] = ""
    concerns = {}
    for name, p in cfg["concern_yes"].items():
        v = np.where(rng.random(n_ev) < p, "Y", "N").astype(object)
        v[rng.random(n_ev) < cfg["concern_blank"]] = ""
        concerns[name] = v

    rows_ev = np.repeat(np.arange(n_ev), fam_size[fam])
    rows_child = child_start[fam[rows_ev]] + (
        np.arange(rows_ev.size) - np.repeat(np.cumsum(fam_size[fam]) - fam_size[fam], fam_size[fam])
    )
    out_code = np.array(outcomes, dtype=object)[out[rows_ev]]
    seen = np.where(rng.random(rows_ev.size) < cfg["child_seen_yes"], "Y", "N").astype(object)
    seen[rng.random(rows_ev.size) < cfg["child_seen_blank"]] = ""
    seen[~np.isin(out_code, ["IA", "S47"])] = ""

    df = pd.DataFrame(
        {
            "child_id": child_id[rows_child],
            "date_of_birth": dob[rows_child],
            "sex": sex[rows_child],
            "referral_date": date[rows_ev],
            "referral_source": source[rows_ev],
            "primary_need": primary_need[rows_ev],
            **{k: v[rows_ev] for k, v in concerns.items()},
            "decision_date": decision[rows_ev],
            "outcome": out_code,
            "lateral_checks": lateral[rows_ev],
            "child_seen": seen,
            "team": team[rows_ev],
            "_event": rows_ev,
            "_family": fam[rows_ev],
        }
    )
    df = df.sort_values(["referral_date", "child_id"], kind="stable").reset_index(drop=True)
    df.insert(0, "referral_id", ids("DR", np.arange(1, len(df) + 1), 7))
    s47 = df.loc[
        df["outcome"] == "S47", ["_event", "_family", "referral_date", "child_id", "date_of_birth"]
    ]
    s47 = s47.sort_values(["referral_date", "_event"], kind="stable").reset_index(drop=True)
    return df.drop(columns=["_event", "_family"]), s47, child_base + n_child

"""CPR registrations and review conferences.

Registrations are made per sibling group (same conference dates). Timeliness of initial
conferences, first core groups and reviews is exact (quotas over rows) in the calibration year and
random elsewhere; the number on the register at the calibration date is trimmed to the target by
ending a few registrations early. Re-registrations reuse a child group whose previous registration
ended before the new strategy discussion, so no child has overlapping registrations.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from pipelines.generate.core import (
    NAT,
    add_months,
    choice,
    d,
    dob_for_band,
    holiday_array,
    ids,
    quotas,
    working_days_after,
)


def _pick_rows(
    rng: np.random.Generator, eligible: np.ndarray, sizes: np.ndarray, target: int
) -> np.ndarray:
    """A boolean mask over events: eligible events, at random, whose sizes sum to ``target``."""
    mask = np.zeros(sizes.size, dtype=bool)
    left = target
    for i in rng.permutation(np.flatnonzero(eligible)):
        if left <= 0:
            break
        if sizes[i] <= left:
            mask[i] = True
            left -= int(sizes[i])
    return mask


def _workday_in(rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    hol = holiday_array()
    n = np.maximum(np.busday_count(lo, hi + np.timedelta64(1, "D"), holidays=hol), 1)
    k = np.floor(rng.random(lo.size) * n).astype(int)
    return np.busday_offset(lo, k, roll="forward", holidays=hol)


def _link_to_dat(
    rng: np.random.Generator,
    s47: pd.DataFrame,
    first_icpc: np.ndarray,
    grp_size: np.ndarray,
    grp_child0: np.ndarray,
    child_ids: np.ndarray,
    dob: np.ndarray,
    share: float,
) -> None:
    """Most registered children were DAT referrals with a child protection enquiry weeks before:
    give a sibling group the IDs and dates of birth of a DAT family of the same size whose S47
    referral came 20-75 days before the first conference (each DAT family used once)."""
    ev = s47["_event"].to_numpy()
    start = np.flatnonzero(np.r_[True, ev[1:] != ev[:-1]])
    counts = np.diff(np.r_[start, ev.size])
    e_date = s47["referral_date"].to_numpy().astype("datetime64[D]")[start]
    e_fam = s47["_family"].to_numpy()[start]
    s_ids = s47["child_id"].to_numpy()
    s_dob = s47["date_of_birth"].to_numpy().astype("datetime64[D]")
    used: set[int] = set()
    for g in np.argsort(first_icpc, kind="stable"):
        if rng.random() >= share:
            continue
        lo = np.searchsorted(e_date, first_icpc[g] - np.timedelta64(75, "D"))
        hi = np.searchsorted(e_date, first_icpc[g] - np.timedelta64(20, "D"), side="right")
        if hi <= lo:
            continue
        for k in lo + rng.permutation(hi - lo)[:40]:
            if counts[k] == grp_size[g] and int(e_fam[k]) not in used:
                used.add(int(e_fam[k]))
                a, n = start[k], counts[k]
                child_ids[grp_child0[g] : grp_child0[g] + n] = s_ids[a : a + n]
                dob[grp_child0[g] : grp_child0[g] + n] = s_dob[a : a + n]
                break


def generate_cpr(
    cal: dict[str, Any],
    rng: np.random.Generator,
    scale: float,
    child_base: int,
    dat_s47: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    cfg = cal["cpr"]
    as_at = d(cal["data_as_at"])
    start = d(cfg["history_start"])
    fy_lo, fy_hi = d(cfg["calibration_fy"]["start"]), d(cfg["calibration_fy"]["end"])

    # --- sibling-group events, registration (= initial conference) dates -------------------------
    months = np.arange(start.astype("datetime64[M]"), as_at.astype("datetime64[M]") + 1)
    n_rows_total = int(round(cfg["registrations_per_year"] * scale * months.size / 12))
    per_month = quotas({i: 1.0 for i in range(months.size)}, n_rows_total)
    sib = cfg["sibling_share"]
    sizes_l, month_l = [], []
    for i, m in enumerate(months):
        left = per_month[i]
        while left > 0:
            s = 1 if rng.random() >= sib else int(min(left, rng.choice([2, 2, 3])))
            sizes_l.append(s)
            month_l.append(m)
            left -= s
    size = np.array(sizes_l, dtype=np.int64)
    mstart = np.array(month_l).astype("datetime64[D]")
    mend = np.minimum(add_months(mstart, 1) - np.timedelta64(1, "D"), as_at)
    icpc = _workday_in(rng, mstart, mend)
    order = np.argsort(icpc, kind="stable")
    size, icpc = size[order], icpc[order]
    n_ev = size.size

    dur_keys = np.array([int(k) for k in cfg["duration_months"]])
    dur_p = np.array(list(cfg["duration_months"].values()), dtype=float)
    dur = dur_keys[rng.choice(dur_keys.size, size=n_ev, p=dur_p / dur_p.sum())]
    target_end = add_months(icpc, dur) + rng.integers(-40, 40, size=n_ev).astype("timedelta64[D]")
    reason = choice(rng, cfg["dereg_reason"], n_ev)

    # --- reviews: first within 3 months of the ICPC, then every 6 months -------------------------
    hol = holiday_array()
    reviews: list[np.ndarray] = []  # per review round, date (NaT when none)
    prev = icpc
    for j in range(12):
        deadline = add_months(prev, 3 if j == 0 else 6)
        slack = rng.integers(0, 22, size=n_ev).astype("timedelta64[D]")
        r = np.busday_offset(deadline - slack, 0, roll="backward", holidays=hol)
        ok = ~np.isnat(prev) & (r < target_end)
        r = np.where(ok, r, NAT)
        reviews.append(r)
        prev = r
    rev = np.stack(reviews, axis=1)  # events x rounds
    n_rev = (~np.isnat(rev)).sum(axis=1)
    last_rev = np.where(n_rev > 0, rev[np.arange(n_ev), np.maximum(n_rev - 1, 0)], NAT)
    # a plan achieved ends at a review conference; after the extract date nothing is known yet:
    # the registration is open and its later reviews are not in the extract
    dereg = np.where((reason == "PLAN_ACHIEVED") & (n_rev > 0), last_rev, target_end)
    dereg = np.where(dereg <= icpc, icpc + np.timedelta64(20, "D"), dereg).astype("datetime64[D]")
    dereg = np.where(dereg > as_at, NAT, dereg)
    rev = np.where(rev > as_at, NAT, rev)

    # --- child groups: new, or re-registered after an earlier registration ended -----------------
    sd_earliest = icpc - np.timedelta64(60, "D")
    grp_size: list[int] = []
    grp_hidden: list[int] = []
    ev_grp = np.zeros(n_ev, dtype=np.int64)
    ev_nth = np.zeros(n_ev, dtype=np.int64)
    grp_count: list[int] = []
    rereg = rng.random(n_ev) < cfg["re_registration_share"]
    free = np.full(n_ev, NAT)
    n_grp = 0
    for i in range(n_ev):
        g = -1
        if rereg[i] and n_grp:
            cands = np.flatnonzero(free[:n_grp] < sd_earliest[i])
            if cands.size:
                g = int(cands[rng.integers(cands.size)])
        if g < 0:
            g = len(grp_size)
            grp_size.append(int(size[i]))
            grp_count.append(0)
            grp_hidden.append(
                int(rng.integers(1, 3)) if rng.random() < cfg["hidden_previous_share"] else 0
            )
            n_grp += 1
        size[i] = grp_size[g]
        ev_grp[i] = g
        ev_nth[i] = grp_count[g]
        grp_count[g] += 1
        free[g] = dereg[i] if not np.isnat(dereg[i]) else NAT
    # --- trim the number on the register at the calibration date ----------------------------------
    t = d(cfg["on_register_target"]["date"])
    target_open = int(round(cfg["on_register_target"]["count"] * scale))
    open_t = (icpc <= t) & (np.isnat(dereg) | (dereg > t))
    surplus = int(size[open_t].sum()) - target_open
    if surplus > 0:
        cut = _pick_rows(rng, open_t & (icpc <= t - np.timedelta64(90, "D")), size, surplus)
        new_end = t - rng.integers(0, 45, size=n_ev).astype("timedelta64[D]")
        new_end = np.maximum(new_end, icpc + np.timedelta64(30, "D"))
        dereg = np.where(cut, new_end, dereg)
        reason = np.where(cut & (reason == "PLAN_ACHIEVED"), "OTHER", reason).astype(object)
        rev = np.where(cut[:, None] & (rev > dereg[:, None]), NAT, rev)

    grp_size_a = np.array(grp_size, dtype=np.int64)
    grp_child0 = child_base + np.concatenate([[0], np.cumsum(grp_size_a)[:-1]])
    n_child = int(grp_size_a.sum())

    # child details fixed at the group's first registration
    first_icpc = np.full(len(grp_size), NAT)
    first_ev = np.full(len(grp_size), -1)
    for i in range(n_ev - 1, -1, -1):
        first_ev[ev_grp[i]] = i
    first_icpc = icpc[first_ev]
    c_grp = np.repeat(np.arange(len(grp_size)), grp_size_a)
    c_rank = np.arange(n_child) - np.repeat(grp_child0 - child_base, grp_size_a)
    bands = choice(rng, cfg["age"], n_child)
    unborn = (rng.random(n_child) < cfg["unborn_share"]) & (c_rank == 0)
    bands[unborn] = "UNBORN"
    dob = dob_for_band(rng, first_icpc[c_grp], bands)
    child_ids = ids("C", child_base + np.arange(n_child), 7)
    if dat_s47 is not None and len(dat_s47):
        _link_to_dat(
            rng,
            dat_s47,
            first_icpc,
            grp_size_a,
            grp_child0 - child_base,
            child_ids,
            dob,
            cfg["linked_to_dat_share"],
        )

    # --- rows: one per child per registration ----------------------------------------------------
    r_ev = np.repeat(np.arange(n_ev), size)
    r_rank = np.arange(r_ev.size) - np.repeat(np.cumsum(size) - size, size)
    r_child = grp_child0[ev_grp[r_ev]] - child_base + r_rank
    n_rows = r_ev.size

    in_fy = (icpc >= fy_lo) & (icpc <= fy_hi)
    oth = cfg["other_years"]
    # initial conference timeliness (event level, exact over rows in the calibration year)
    sd_blank = rng.random(n_ev) < cfg["strategy_discussion_blank"]
    fy_rows_sd = int(size[in_fy & ~sd_blank].sum())
    late_icpc = _pick_rows(
        rng, in_fy & ~sd_blank, size, fy_rows_sd - int(round(fy_rows_sd * cfg["icpc_timely"]))
    )
    late_icpc |= ~in_fy & (rng.random(n_ev) > oth["icpc_timely"])
    k_sd = np.where(late_icpc, rng.integers(16, 26, size=n_ev), rng.integers(3, 16, size=n_ev))
    sd = np.busday_offset(icpc, -k_sd, roll="forward", holidays=hol)
    sd = np.where(sd_blank, NAT, sd)
    # first core group: 10 working days after the conference
    fy_rows = int(size[in_fy].sum())
    late_cg = _pick_rows(rng, in_fy, size, fy_rows - int(round(fy_rows * cfg["core_group_timely"])))
    late_cg |= ~in_fy & (rng.random(n_ev) > oth["core_group_timely"])
    k_cg = np.where(late_cg, rng.integers(11, 22, size=n_ev), rng.integers(4, 11, size=n_ev))
    cg = working_days_after(icpc, k_cg)
    cg = np.where(cg > as_at, NAT, cg)

    # reviews late: exact over reviews in the calibration year, shifted past their deadline
    n_rounds = rev.shape[1]
    prev_all = np.concatenate([icpc[:, None], rev[:, :-1]], axis=1)
    months_allowed = np.where(np.arange(n_rounds) == 0, 3, 6)[None, :]
    deadline = add_months(
        prev_all.ravel(), np.broadcast_to(months_allowed, rev.shape).ravel()
    ).reshape(rev.shape)
    nxt = np.concatenate([rev[:, 1:], np.full((n_ev, 1), NAT)], axis=1)
    shift = rng.integers(1, 15, size=rev.shape).astype("timedelta64[D]")
    moved = np.busday_offset((deadline + shift).ravel(), 0, roll="forward", holidays=hol).reshape(
        rev.shape
    )
    limit = np.where(np.isnat(dereg), as_at, dereg)[:, None]
    can = (
        ~np.isnat(rev)
        & (moved <= limit)
        & (np.isnat(nxt) | (moved < nxt - np.timedelta64(14, "D")))
    )
    rev_in_fy = ~np.isnat(rev) & (rev >= fy_lo) & (rev <= fy_hi)
    w = size[:, None] * np.ones_like(rev, dtype=np.int64)
    fy_reviews = int(w[rev_in_fy].sum())
    n_late = fy_reviews - int(round(fy_reviews * cfg["review_timely"]))
    elig = (can & rev_in_fy & (moved >= fy_lo) & (moved <= fy_hi)).ravel()
    late_rev = _pick_rows(rng, elig, w.ravel(), n_late).reshape(rev.shape)
    late_rev |= (
        can
        & ~rev_in_fy
        & ~((moved >= fy_lo) & (moved <= fy_hi))
        & (rng.random(rev.shape) > oth["review_timely"])
    )
    rev = np.where(late_rev, moved, rev)

    cats = list(cfg["categories"])
    cat1 = choice(rng, cfg["categories"], n_ev)
    cat2 = choice(rng, cfg["categories"], n_ev)
    two = (rng.random(n_ev) < cfg["second_category_share"]) & (cat2 != cat1)
    category = np.array(
        [
            ";".join(sorted({a, b} if t2 else {a}, key=cats.index))
            for a, b, t2 in zip(cat1, cat2, two, strict=True)
        ],
        dtype=object,
    )

    prevs = (ev_nth + np.array(grp_hidden, dtype=np.int64)[ev_grp]).astype(float)
    prevs[rng.random(n_ev) < cfg["previous_blank_share"]] = np.nan

    reg = pd.DataFrame(
        {
            "child_id": child_ids[r_child],
            "date_of_birth": dob[r_child],
            "strategy_discussion_date": sd[r_ev],
            "initial_conference_date": icpc[r_ev],
            "registration_date": icpc[r_ev],
            "category": category[r_ev],
            "first_core_group_date": cg[r_ev],
            "deregistration_date": dereg[r_ev],
            "deregistration_reason": np.where(np.isnat(dereg), "", reason)[r_ev],
            "previous_registrations": pd.array(prevs[r_ev], dtype="Int64"),
        }
    )
    reg.insert(0, "registration_id", ids("CP", np.arange(1, n_rows + 1), 6))

    rv_ev, rv_round = np.nonzero(~np.isnat(rev))
    # one review row per child registration per review date
    ev_first_row = np.cumsum(size) - size
    rows_rep = np.repeat(rv_ev, size[rv_ev])
    within = np.arange(rows_rep.size) - np.repeat(np.cumsum(size[rv_ev]) - size[rv_ev], size[rv_ev])
    review = pd.DataFrame(
        {
            "registration_id": reg["registration_id"].to_numpy()[ev_first_row[rows_rep] + within],
            "review_date": rev[rows_rep, np.repeat(rv_round, size[rv_ev])],
        }
    )
    review = review.sort_values(["review_date", "registration_id"], kind="stable").reset_index(
        drop=True
    )
    review.insert(0, "review_id", ids("RV", np.arange(1, len(review) + 1), 6))
    return reg, review, child_base + n_child

"""IFSS referrals (Prevention, FST, IFST, FASS) and the distance-travelled assessments.

Referrals in the reporting period carry exact quotas for every figure the report quotes (sources,
ages, reasons, case status, substances, acceptance by referral type); referrals before the period
(history for the trend and for families still served) and after it follow the same shares at
random. Prevention's families served and escalations are then trimmed to the report's counts, and
the distance-travelled scores are built so that the paired referrals reduce risk as reported.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from pipelines.generate.core import (
    NAT,
    choice,
    d,
    dob_for_band,
    holiday_array,
    ids,
    quota_array,
    quotas,
    random_days,
)

DOMAINS = [
    "PARENTING",
    "BOUNDARIES",
    "ANGER",
    "HOME_CONDITIONS",
    "SUBSTANCE_USE",
    "DOMESTIC_ABUSE",
    "EMOTIONAL_WELLBEING",
    "SCHOOL_ATTENDANCE",
]
INTERNAL = {"DAT", "CPT", "CDT", "LAC", "YOS"}


def _workdays(
    rng: np.random.Generator, months: np.ndarray, counts: list[int], last: np.datetime64
) -> np.ndarray:
    hol = holiday_array()
    out = []
    for m, n in zip(months, counts, strict=True):
        lo = m.astype("datetime64[D]")
        hi = min((m + 1).astype("datetime64[D]"), last + np.timedelta64(1, "D"))
        nbd = int(np.busday_count(lo, hi, holidays=hol))
        out.append(np.busday_offset(lo, rng.integers(0, nbd, size=n), roll="forward", holidays=hol))
    return np.concatenate(out) if out else np.zeros(0, "datetime64[D]")


def _sources(
    rng: np.random.Generator, groups: np.ndarray, group_source: dict[str, list[str]]
) -> tuple[np.ndarray, np.ndarray]:
    src = np.empty(groups.size, dtype=object)
    team = np.full(groups.size, "", dtype=object)
    for g in np.unique(groups):
        sel = groups == g
        opts = [str(x) for x in group_source[g]]
        src[sel] = np.array(opts, dtype=object)[rng.integers(0, len(opts), size=int(sel.sum()))]
        if g in INTERNAL:
            team[sel] = g
    return src, team


def _draw(rng: np.random.Generator, shares: dict[str, float], n: int, exact: bool) -> np.ndarray:
    return quota_array(rng, shares, n) if exact else choice(rng, shares, n)


def _service_frame(rng, cal, name, scfg, scale, combined) -> pd.DataFrame:
    """Referrals of one service: before, in and after the period."""
    icfg = cal["ifss"]
    ps, pe, as_at = d(cal["period_start"]), d(cal["period_end"]), d(cal["data_as_at"])
    m_before = np.arange(
        d(icfg["history_start"]).astype("datetime64[M]"), ps.astype("datetime64[M]")
    )
    m_in = np.arange(ps.astype("datetime64[M]"), pe.astype("datetime64[M]") + 1)
    m_after = np.arange(pe.astype("datetime64[M]") + 1, as_at.astype("datetime64[M]") + 1)
    n_b = [int(x) for x in rng.poisson(scfg["monthly_before"] * scale, size=m_before.size)]
    n_in_total = int(round(scfg["in_period"] * scale))
    n_i = list(quotas({i: 1.0 for i in range(m_in.size)}, n_in_total).values())
    n_a = [int(x) for x in rng.poisson(scfg["monthly_after"] * scale, size=m_after.size)]
    parts = []
    for label, months, counts in (
        ("before", m_before, n_b),
        ("in", m_in, n_i),
        ("after", m_after, n_a),
    ):
        dates = _workdays(rng, months, counts, as_at)
        parts.append(pd.DataFrame({"part": label, "referral_date": dates}))
    df = pd.concat(parts, ignore_index=True)
    df["service"] = name
    inp = (df["part"] == "in").to_numpy()
    n = len(df)
    exact = inp

    # categorical attributes: exact quotas in the period, random draws elsewhere
    def fill(col: str, shares: dict[str, float] | None) -> None:
        vals = np.full(n, "", dtype=object)
        if shares:
            vals[exact] = _draw(rng, shares, int(exact.sum()), True)
            vals[~exact] = _draw(rng, shares, int((~exact).sum()), False)
        df[col] = vals

    fill("source_group", scfg["source_group"])
    fill("referral_reason", scfg.get("reason"))
    if name in ("IFST", "FASS"):
        df["case_status"] = ""
        df["age_band"] = ""
        df.loc[~inp, "case_status"] = choice(rng, combined["case_status"], int((~inp).sum()))
        df.loc[~inp, "age_band"] = choice(rng, combined["age_band"], int((~inp).sum()))
        types = {t: v[1] for t, v in scfg["accepted_by_type"].items()}
        df["referral_type"] = ""
        df.loc[~inp, "referral_type"] = choice(rng, types, int((~inp).sum()))
    else:
        fill("case_status", scfg["case_status"])
        fill("age_band", scfg["age_band"])
        fill("referral_type", scfg["referral_type"])
    if "primary_substance" in scfg:
        fill("primary_substance", scfg["primary_substance"])
    else:
        df["primary_substance"] = ""
    return df


def _accept(rng, df: pd.DataFrame, cal, scfg, scale) -> np.ndarray:
    """accepted as 'Y'/'N'/'' (pending): exact by referral type in the period where given."""
    icfg = cal["ifss"]
    n = len(df)
    part = df["part"].to_numpy()
    acc = np.where(rng.random(n) < scfg.get("accept_share", 0.85), "Y", "N").astype(object)
    after = part == "after"
    acc[after & (rng.random(n) < icfg["pending_share_after"])] = ""
    if "accepted_by_type" in scfg:
        rtype = df["referral_type"].to_numpy()
        for t, (a, r) in scfg["accepted_by_type"].items():
            sel = np.flatnonzero((part == "in") & (rtype == t))
            n_acc = int(round(sel.size * a / r)) if r else 0
            v = np.array(["Y"] * n_acc + ["N"] * (sel.size - n_acc), dtype=object)
            acc[sel] = rng.permutation(v)
    return acc


def generate_ifss(
    cal: dict[str, Any], rng: np.random.Generator, scale: float, child_base: int, family_base: int
) -> tuple[pd.DataFrame, pd.DataFrame, int, int]:
    icfg = cal["ifss"]
    ps, pe, as_at = d(cal["period_start"]), d(cal["period_end"]), d(cal["data_as_at"])
    services = icfg["services"]
    combined = icfg["ifst_fass"]
    frames = {
        name: _service_frame(rng, cal, name, scfg, scale, combined)
        for name, scfg in services.items()
    }

    # IFST and FASS in the period: case status and age are quotas over both services together
    n_ifst = int((frames["IFST"]["part"] == "in").sum())
    n_fass = int((frames["FASS"]["part"] == "in").sum())
    cs = quota_array(rng, combined["case_status"], n_ifst + n_fass)
    ab = quota_array(rng, combined["age_band"], n_ifst + n_fass)
    for name, sl in (("IFST", slice(0, n_ifst)), ("FASS", slice(n_ifst, n_ifst + n_fass))):
        f = frames[name]
        inp = f["part"] == "in"
        f.loc[inp, "case_status"] = cs[sl]
        f.loc[inp, "age_band"] = ab[sl]
        wanted: list[str] = []
        for t, (_a, r) in services[name]["accepted_by_type"].items():
            wanted += [t] * int(round(r * scale))
        types = np.array(wanted, dtype=object)
        if types.size < int(inp.sum()):
            types = np.concatenate([types, np.array(["NEW"] * (int(inp.sum()) - types.size))])
        f.loc[inp, "referral_type"] = rng.permutation(types[: int(inp.sum())])

    for name, f in frames.items():
        f["accepted"] = _accept(rng, f, cal, services[name], scale)

    df = pd.concat(list(frames.values()), ignore_index=True)
    df = df.sort_values(["referral_date", "service"], kind="stable").reset_index(drop=True)
    n = len(df)
    rdate = df["referral_date"].to_numpy().astype("datetime64[D]")
    service = df["service"].to_numpy()
    part = df["part"].to_numpy()
    acc = df["accepted"].to_numpy().copy()

    # service dates
    start = rdate + rng.integers(0, 29, size=n).astype("timedelta64[D]")
    start = np.where((part == "in") & (start > pe), pe, start)
    start = np.minimum(start, as_at)
    lo_days = np.array([services[s]["service_days"][0] for s in service])
    hi_days = np.array([services[s]["service_days"][1] for s in service])
    length = lo_days + np.floor(rng.random(n) * (hi_days - lo_days + 1)).astype(int)
    end = start + length.astype("timedelta64[D]")
    end = np.where(end > as_at, NAT, end)

    # families: a new one per referral, but re-referrals reuse an earlier family of the service
    # whose service had ended (or was declined) before this referral
    family = np.arange(n, dtype=np.int64)
    rtype = df["referral_type"].to_numpy()
    is_donor = np.zeros(n, dtype=bool)
    finished = np.where(acc == "Y", end, rdate + np.timedelta64(1, "D"))
    by_service = {s: np.flatnonzero(service == s) for s in np.unique(service)}
    for i in np.flatnonzero(rtype == "RE_REFERRAL"):
        pool = by_service[service[i]]
        pool = pool[: np.searchsorted(pool, i)]
        if pool.size == 0:
            continue
        j = pool[rng.integers(0, pool.size, size=40)]
        ok = (
            ~np.isnat(finished[j])
            & (finished[j] < rdate[i])
            & (rdate[j] < rdate[i] - np.timedelta64(60, "D"))
            & (family[j] == j)
            & ~is_donor[j]
            & (rtype[j] != "RE_REFERRAL")
        )
        if ok.any():
            k = int(j[np.argmax(ok)])
            family[i] = family[k]
            is_donor[k] = True

    acc_b = acc == "Y"

    def served_mask(a: np.ndarray) -> np.ndarray:
        return a & (start <= pe) & (np.isnat(end) | (end >= ps))

    # Prevention: families served exactly as the report (distinct families)
    p = services["PREVENTION"]
    target = int(round(p["families_served"] * scale))
    prev = service == "PREVENTION"
    served = served_mask(acc_b) & prev
    n_fam = np.unique(family[served]).size
    single = (np.bincount(family, minlength=n) == 1)[family]
    if n_fam > target:
        cand = np.flatnonzero(served & (part == "in") & (rtype == "NEW") & single & ~is_donor)
        acc_b[rng.permutation(cand)[: n_fam - target]] = False
    elif n_fam < target:
        cand = np.flatnonzero(
            prev & ~acc_b & (part == "in") & (rtype == "NEW") & single & ~is_donor & (acc != "")
        )
        acc_b[rng.permutation(cand)[: target - n_fam]] = True
    acc = np.where(acc == "", "", np.where(acc_b, "Y", "N")).astype(object)
    start = np.where(acc_b, start, NAT)
    end = np.where(acc_b, end, NAT)

    # escalation to social services, within the service dates
    esc = np.where(acc_b, "N", "").astype(object)
    esc_date = np.full(n, NAT)
    win_lo = start
    win_hi = np.where(np.isnat(end), as_at, end)
    served = served_mask(acc_b)
    other = acc_b & ~(prev & served) & (rng.random(n) < icfg["escalation_share_other"])
    other &= ~prev | ~((win_lo <= pe) & (win_hi >= ps))
    esc[other] = "Y"
    esc_date[other] = random_days(rng, win_lo[other], win_hi[other])
    target_esc = int(round(p["escalated_families"] * scale))
    sv = np.flatnonzero(prev & served)
    # one referral per family (the latest), then the families to escalate
    _, first = np.unique(family[sv][::-1], return_index=True)
    per_family = sv[::-1][first]
    e = rng.permutation(per_family)[:target_esc]
    esc[e] = "Y"
    esc_date[e] = random_days(rng, np.maximum(win_lo[e], ps), np.minimum(win_hi[e], pe))

    # lead child: new children; unborn leads sometimes have no child ID yet
    bands = df["age_band"].to_numpy()
    dob = dob_for_band(rng, rdate, bands)
    child_id = ids("C", child_base + np.arange(n), 7)
    child_id[(bands == "UNBORN") & (rng.random(n) < 0.5)] = ""

    src, team = _sources(rng, df["source_group"].to_numpy(), icfg["group_source"])
    fam_num = np.unique(family, return_inverse=True)[1]
    out = pd.DataFrame(
        {
            "ifss_referral_id": ids("IF", np.arange(1, n + 1), 6),
            "family_id": ids("F", family_base + fam_num, 6),
            "child_id": child_id,
            "date_of_birth": dob,
            "service": service,
            "referral_date": rdate,
            "referral_source": src,
            "referring_team": team,
            "referral_type": rtype,
            "referral_reason": df["referral_reason"].to_numpy(),
            "accepted": acc,
            "case_status": df["case_status"].to_numpy(),
            "primary_substance": df["primary_substance"].to_numpy(),
            "service_start_date": start,
            "service_end_date": end,
            "escalated": esc,
            "escalation_date": esc_date,
        }
    )
    dt_rows = _distance(rng, cal, out)
    return out, dt_rows, child_base + n, family_base + int(fam_num.max()) + 1


def _scores(rng: np.random.Generator, base: np.ndarray, mask: np.ndarray) -> np.ndarray:
    s = np.clip(np.rint(base[:, None] + rng.normal(0, 1.4, size=mask.shape)), 1, 10)
    return np.where(mask, s, np.nan)


def _mean_common(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    both = ~np.isnan(a) & ~np.isnan(b)
    k = both.sum(axis=1)
    sa = np.where(both, a, 0).sum(axis=1) / np.maximum(k, 1)
    sb = np.where(both, b, 0).sum(axis=1) / np.maximum(k, 1)
    return sa, sb


def _distance(rng: np.random.Generator, cal: dict[str, Any], ref: pd.DataFrame) -> pd.DataFrame:
    """START / REVIEW / END assessments of accepted referrals, one row per domain scored."""
    icfg = cal["ifss"]
    ps, pe, as_at = d(cal["period_start"]), d(cal["period_end"]), d(cal["data_as_at"])
    acc = (ref["accepted"] == "Y").to_numpy()
    r = ref[acc].reset_index(drop=True)
    n = len(r)
    start = r["service_start_date"].to_numpy().astype("datetime64[D]")
    end = r["service_end_date"].to_numpy().astype("datetime64[D]")
    service = r["service"].to_numpy()
    limit = np.where(np.isnat(end), as_at, end)

    a_start = np.minimum(start + rng.integers(0, 11, size=n).astype("timedelta64[D]"), limit)
    has_end = ~np.isnat(end) & (rng.random(n) >= icfg["no_end_assessment_share"])
    a_end = end - rng.integers(0, 6, size=n).astype("timedelta64[D]")
    a_end = np.maximum(a_end, a_start)
    has_rev = (rng.random(n) < icfg["review_share"]) & ((limit - a_start).astype(int) > 50)
    a_rev = a_start + ((limit - a_start).astype(int) // 2).astype("timedelta64[D]")

    # base risk by service, rising over time for Prevention (the report: risk higher this period)
    svc = icfg["services"]
    lo = np.array([svc[s]["distance"]["start_risk"][0] for s in service])
    hi = np.array([svc[s]["distance"]["start_risk"][1] for s in service])
    base = lo + rng.random(n) * (hi - lo)
    trend = np.array([bool(svc[s]["distance"].get("rising_start")) for s in service])
    years = (a_start - ps).astype(int) / 365.25
    base = base + np.where(trend, 0.6 * years, 0)
    scored = rng.random((n, 8)) < icfg["distance_domains_scored_share"]
    scored[np.arange(n), rng.integers(0, 8, size=n)] = True
    s_start = _scores(rng, base, scored)
    end_mask = scored & (rng.random((n, 8)) > 0.05)
    end_mask |= ~scored & (rng.random((n, 8)) < 0.05)
    end_mask[np.arange(n), np.argmax(scored, axis=1)] = True  # at least one domain in common

    # reduction per referral: exact share reduced, mean reduction near the target
    target_red = np.array([svc[s]["distance"]["mean_risk_reduction"] for s in service]) / 100
    target_share = np.array([svc[s]["distance"]["risk_reduced"] for s in service]) / 100
    paired = has_end & (a_end >= ps) & (a_end <= pe)
    reduced = rng.random(n) < target_share
    for s in np.unique(service):
        sel = np.flatnonzero(paired & (service == s))
        k = int(round(sel.size * svc[s]["distance"]["risk_reduced"] / 100))
        reduced[sel] = False
        reduced[rng.permutation(sel)[:k]] = True
    frac = np.clip(rng.normal(target_red / target_share, 0.12), 0.08, 0.75)
    e_full = np.clip(
        np.rint(
            np.nan_to_num(s_start, nan=base[:, None].repeat(8, 1)) * (1 - frac[:, None])
            + rng.normal(0, 0.5, size=(n, 8))
        ),
        1,
        10,
    )
    worse = np.clip(np.nan_to_num(s_start, nan=5) + rng.integers(0, 2, size=(n, 8)), 1, 10)
    s_end = np.where(end_mask, np.where(reduced[:, None], e_full, worse), np.nan)
    # make each referral's direction as intended (over domains scored at both)
    for _ in range(10):
        m0, m1 = _mean_common(s_start, s_end)
        bad_red = reduced & ~(m1 < m0)
        bad_not = ~reduced & (m1 < m0)
        if not (bad_red.any() or bad_not.any()):
            break
        both = ~np.isnan(s_start) & ~np.isnan(s_end)
        s_end = np.where(bad_red[:, None] & both, np.maximum(s_end - 1, 1), s_end)
        s_end = np.where(bad_not[:, None] & both, s_start, s_end)
    # nudge the paired referrals' mean reduction to the target, one domain score at a time
    for s in np.unique(service):
        sel = np.flatnonzero(paired & (service == s))
        if sel.size == 0:
            continue
        goal = svc[s]["distance"]["mean_risk_reduction"]
        m0, m1 = _mean_common(s_start[sel], s_end[sel])
        pct = 100 * (m0 - m1) / np.where(m0 > 0, m0, 1)
        total = pct.sum()
        for _ in range(50 * sel.size + 500):
            gap = total / sel.size - goal
            if abs(gap) < 0.1:
                break
            t = int(rng.integers(sel.size))
            i = sel[t]
            if not reduced[i]:
                continue
            both = np.flatnonzero(~np.isnan(s_start[i]) & ~np.isnan(s_end[i]))
            j = both[rng.integers(both.size)]
            new = s_end[i, j] + (1 if gap > 0 else -1)
            if not 1 <= new <= 10:
                continue
            old = s_end[i, j]
            s_end[i, j] = new
            a0, a1 = _mean_common(s_start[i : i + 1], s_end[i : i + 1])
            if not a1[0] < a0[0]:
                s_end[i, j] = old
                continue
            p_new = 100 * (a0[0] - a1[0]) / a0[0]
            total += p_new - pct[t]
            pct[t] = p_new
    s_rev = np.where(
        scored, np.rint((s_start + np.where(np.isnan(s_end), s_start, s_end)) / 2), np.nan
    )

    parts = []
    for stage, date, mask, _scores_of_stage in (
        ("START", a_start, np.ones(n, bool), s_start),
        ("REVIEW", a_rev, has_rev, s_rev),
        ("END", a_end, has_end, s_end),
    ):
        idx = np.flatnonzero(mask)
        parts.append(
            pd.DataFrame(
                {
                    "i": idx,
                    "stage": stage,
                    "assessment_date": date[idx],
                    "order": {"START": 0, "REVIEW": 1, "END": 2}[stage],
                }
            )
        )
    asm = pd.concat(parts, ignore_index=True).sort_values(
        ["assessment_date", "i", "order"], kind="stable"
    )
    asm = asm.reset_index(drop=True)
    asm["assessment_id"] = ids("DT", np.arange(1, len(asm) + 1), 6)
    score = {"START": s_start, "REVIEW": s_rev, "END": s_end}
    rows = []
    for stage, g in asm.groupby("stage", sort=False):
        m = score[stage][g["i"].to_numpy()]
        ai, dj = np.nonzero(~np.isnan(m))
        rows.append(
            pd.DataFrame(
                {
                    "assessment_id": g["assessment_id"].to_numpy()[ai],
                    "ifss_referral_id": r["ifss_referral_id"].to_numpy()[g["i"].to_numpy()[ai]],
                    "assessment_date": g["assessment_date"].to_numpy()[ai],
                    "stage": stage,
                    "domain": np.array(DOMAINS, dtype=object)[dj],
                    "risk_score": m[ai, dj].astype(int),
                    "_d": dj,
                }
            )
        )
    out = pd.concat(rows, ignore_index=True).sort_values(["assessment_id", "_d"], kind="stable")
    return out.drop(columns="_d").reset_index(drop=True)

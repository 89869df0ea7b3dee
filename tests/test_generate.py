"""The synthetic sample generator: determinism, the contract, integrity and the calibration.

The calibration test recomputes every docs/METRICS.md reference figure from the generated CSV files
with small pandas code written from the docs/METRICS.md definitions (not from the generator's code),
and checks counts exactly and percentages within one point of the report's figure.
"""

from __future__ import annotations

import datetime as dt
import filecmp
import re
import zipfile
from pathlib import Path

import holidays
import numpy as np
import pandas as pd
import pytest
import yaml

from pipelines import ROOT
from pipelines.contract import code_lists, extracts
from pipelines.generate import EXTRACT_ORDER, generate_sample

SAMPLE = ROOT / "data" / "raw" / "sample"
PS, PE, AS_AT = pd.Timestamp("2012-04-01"), pd.Timestamp("2012-12-31"), pd.Timestamp("2013-01-31")


# --- helpers --------------------------------------------------------------------------------------


def read(folder: Path, name: str) -> pd.DataFrame:
    df = pd.read_csv(folder / f"{name}.csv", dtype=str, keep_default_na=False)
    for col, spec in extracts()[name]["columns"].items():
        if spec["type"] == "date":
            df[col] = pd.to_datetime(df[col].replace("", None), format="%Y-%m-%d")
        elif spec["type"] == "integer":
            df[col] = pd.to_numeric(df[col].replace("", None)).astype("Int64")
    return df


def age(dob: pd.Series, at: pd.Series) -> pd.Series:
    """Whole years by birthday."""
    before = (at.dt.month < dob.dt.month) | (
        (at.dt.month == dob.dt.month) & (at.dt.day < dob.dt.day)
    )
    return at.dt.year - dob.dt.year - before.astype(int)


def band(dob: pd.Series, at: pd.Series) -> pd.Series:
    a = age(dob, at)
    cuts = [(0, 2, "0-2"), (3, 5, "3-5"), (6, 8, "6-8"), (9, 11, "9-11"), (12, 17, "12-17")]
    out = pd.Series("18+", index=dob.index)
    for lo, hi, name in cuts:
        out[(a >= lo) & (a <= hi)] = name
    out[dob > at] = "UNBORN"
    out[dob.isna()] = "UNKNOWN"
    return out


def source_group(df: pd.DataFrame) -> pd.Series:
    groups = {k: v["group"] for k, v in code_lists()["referral_source"].items()}
    g = df["referral_source"].map(groups)
    internal = (df["referral_source"] == "5A") & (df["referring_team"] != "")
    return g.where(~internal, df["referring_team"])


def pct(num: int, den: int) -> float:
    return 100.0 * num / den


def close(value: float, target: float) -> bool:
    return abs(value - target) <= 1.0


_HOL = holidays.UK(subdiv="ENG", years=range(2008, 2015))


def nth_working_day_after(day: dt.date, n: int) -> dt.date:
    d, k = day, 0
    while k < n:
        d += dt.timedelta(days=1)
        if d.weekday() < 5 and d not in _HOL:
            k += 1
    return d


def add_months(day: pd.Timestamp, months: int) -> pd.Timestamp:
    return day + pd.DateOffset(months=months)


# --- fixtures -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sample")
    generate_sample(out)
    return out


@pytest.fixture(scope="module")
def small_clean(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("small")
    generate_sample(out, seed=3, scale=0.02)
    return out


@pytest.fixture(scope="module")
def data(fresh: Path) -> dict[str, pd.DataFrame]:
    return {name: read(fresh, name) for name in EXTRACT_ORDER}


# --- determinism and the contract -----------------------------------------------------------------


def test_holidays_include_2011_and_2012_specials() -> None:
    for day in ("2011-04-29", "2012-06-04", "2012-06-05"):
        assert dt.date.fromisoformat(day) in _HOL


def test_same_seed_same_bytes_other_seed_differs(fresh: Path, tmp_path: Path) -> None:
    generate_sample(tmp_path / "a", seed=7, scale=0.05)
    generate_sample(tmp_path / "b", seed=7, scale=0.05)
    generate_sample(tmp_path / "c", seed=8, scale=0.05)
    for name in EXTRACT_ORDER:
        assert filecmp.cmp(
            tmp_path / "a" / f"{name}.csv", tmp_path / "b" / f"{name}.csv", shallow=False
        )
    assert not filecmp.cmp(
        tmp_path / "a" / "dat_referrals.csv", tmp_path / "c" / "dat_referrals.csv", shallow=False
    )


def test_committed_sample_is_a_fresh_generation(fresh: Path) -> None:
    for name in EXTRACT_ORDER:
        assert (SAMPLE / f"{name}.csv").read_bytes() == (fresh / f"{name}.csv").read_bytes(), name


def test_every_extract_with_contract_columns_in_order(fresh: Path) -> None:
    for name in EXTRACT_ORDER:
        header = (fresh / f"{name}.csv").read_text(encoding="utf-8").split("\n", 1)[0]
        assert header.split(",") == list(extracts()[name]["columns"]), name


def test_codes_and_required_values(data: dict[str, pd.DataFrame]) -> None:
    lists = code_lists()
    for name, df in data.items():
        for col, spec in extracts()[name]["columns"].items():
            s = df[col]
            if spec.get("required"):
                assert not (s.isna() | (s.astype(str) == "")).any(), (name, col)
            if spec["type"] == "code":
                used = set(s[s != ""])
                assert used <= set(lists[spec["codes"]]), (
                    name,
                    col,
                    used - set(lists[spec["codes"]]),
                )
            if spec["type"] == "code_list":
                used = {c for v in s[s != ""] for c in v.split(";")}
                assert used <= set(lists[spec["codes"]])
            if spec["type"] == "yesno":
                assert set(s) <= {"Y", "N", ""}, (name, col)
            if spec["type"] == "id" or spec["type"] == "record_id":
                assert (s == s.str.strip().str.upper()).all()
        key = extracts()[name]["key"]
        if key:
            assert not df.duplicated(key).any(), name


def test_dates_in_range_and_consistent(data: dict[str, pd.DataFrame]) -> None:
    dat = data["dat_referrals"]
    # the history starts in the first week of April 2009 (calibration: history_start)
    first = dat["referral_date"].min()
    assert pd.Timestamp("2009-04-01") <= first < pd.Timestamp("2009-04-08"), first
    assert dat["referral_date"].max() <= AS_AT
    assert (dat["decision_date"] >= dat["referral_date"]).all() and (
        dat["decision_date"] <= AS_AT
    ).all()
    assert not (dat["date_of_birth"] > dat["referral_date"] + pd.DateOffset(months=9)).any()
    seen = dat["child_seen"] != ""
    assert dat.loc[seen, "outcome"].isin(["IA", "S47"]).all()

    reg = data["cpr_registrations"]
    assert (
        reg["strategy_discussion_date"].isna()
        | (reg["strategy_discussion_date"] <= reg["initial_conference_date"])
    ).all()
    assert (
        reg["first_core_group_date"].isna()
        | (reg["first_core_group_date"] > reg["initial_conference_date"])
    ).all()
    assert (
        reg["deregistration_date"].isna() | (reg["deregistration_date"] > reg["registration_date"])
    ).all()
    assert ((reg["deregistration_date"].isna()) == (reg["deregistration_reason"] == "")).all()
    # no overlapping registrations per child
    r = reg.sort_values(["child_id", "registration_date"])
    nxt = r.groupby("child_id")["registration_date"].shift(-1)
    end = r["deregistration_date"]
    assert not (nxt.notna() & (end.isna() | (end >= nxt))).any()
    # some re-registrations carry history from before the extract
    first = ~r.duplicated("child_id")
    assert (r.loc[first, "previous_registrations"].fillna(0) > 0).any()

    rev = data["cpr_reviews"].merge(reg, on="registration_id", how="left", validate="many_to_one")
    assert rev["registration_date"].notna().all()
    assert (rev["review_date"] >= rev["registration_date"]).all()
    assert (
        rev["deregistration_date"].isna() | (rev["review_date"] <= rev["deregistration_date"])
    ).all()

    ifss = data["ifss_referrals"]
    acc = ifss["accepted"] == "Y"
    assert ifss.loc[~acc, "service_start_date"].isna().all()
    assert (ifss.loc[acc, "service_start_date"] >= ifss.loc[acc, "referral_date"]).all()
    ended = ifss["service_end_date"].notna()
    assert (ifss.loc[ended, "service_end_date"] >= ifss.loc[ended, "service_start_date"]).all()
    esc = ifss["escalated"] == "Y"
    assert ifss.loc[esc, "escalation_date"].notna().all()
    assert (ifss.loc[esc, "escalation_date"] >= ifss.loc[esc, "service_start_date"]).all()
    assert (
        ifss.loc[esc, "escalation_date"] <= ifss.loc[esc, "service_end_date"].fillna(AS_AT)
    ).all()
    internal = ifss["referring_team"] != ""
    assert (ifss.loc[internal, "referral_source"] == "5A").all()
    assert (ifss.loc[ifss["service"] != "IFST", "primary_substance"] == "").all()

    dtr = data["ifss_distance_travelled"].merge(ifss, on="ifss_referral_id", how="left")
    assert (dtr["accepted"] == "Y").all()
    assert (dtr["assessment_date"] >= dtr["service_start_date"]).all()
    assert (dtr["assessment_date"] <= dtr["service_end_date"].fillna(AS_AT)).all()
    assert set(dtr["stage"]) == {"START", "REVIEW", "END"}
    one = dtr.groupby("assessment_id").agg(d=("assessment_date", "nunique"), s=("stage", "nunique"))
    assert (one["d"] == 1).all() and (one["s"] == 1).all()
    assert dtr["risk_score"].between(1, 10).all()
    # not every domain is always scored
    assert dtr.groupby("assessment_id").size().lt(8).any()


def test_realistic_structure(data: dict[str, pd.DataFrame]) -> None:
    dat = data["dat_referrals"]
    per_fy = dat.groupby(dat["referral_date"].dt.to_period("Q-MAR").dt.qyear).size()
    assert per_fy.loc[2011] >= 1800 and per_fy.loc[2012] >= 2500  # years ending March 2011, 2012
    siblings = dat.groupby(["referral_date", "referral_source", "team", "decision_date"]).size()
    assert (siblings > 1).mean() > 0.2
    # NFA and NFA letters come back more often than initial assessments
    d = dat.sort_values(["child_id", "referral_date"])
    nxt = d.groupby("child_id")["referral_date"].shift(-1)
    back = nxt.notna() & (nxt <= d["referral_date"] + pd.DateOffset(months=12))
    rate = back.groupby(d["outcome"]).mean()
    assert rate["NFA_LETTER"] > rate["IA"] and rate["NFA"] > rate["IA"]


# --- the calibration: docs/METRICS.md "Reference figures" ---------------------------------------


def in_period(df: pd.DataFrame, col: str = "referral_date") -> pd.DataFrame:
    return df[(df[col] >= PS) & (df[col] <= PE)]


def test_calibration_referrals(data: dict[str, pd.DataFrame]) -> None:
    ifss = in_period(data["ifss_referrals"])
    ifss = ifss.assign(
        group=source_group(ifss), band=band(ifss["date_of_birth"], ifss["referral_date"])
    )
    prev = ifss[ifss["service"] == "PREVENTION"]
    n = len(prev)
    assert n == 434
    g = prev["group"].value_counts()
    assert close(pct(g["SCHOOLS"], n), 35) and close(pct(g["POLICE"], n), 22)
    b = prev["band"].value_counts()
    assert close(pct(b.get("9-11", 0) + b.get("12-17", 0), n), 63)
    assert close(pct(b.get("0-2", 0) + b.get("3-5", 0) + b.get("6-8", 0), n), 36)
    r = prev["referral_reason"].value_counts()
    assert close(pct(r["PREVENTATIVE"], n), 37) and close(pct(r["ANGER_BEHAVIOUR"], n), 19)
    assert close(pct(r["RESTORATIVE_JUSTICE"], n), 13)

    fst = ifss[ifss["service"] == "FST"]
    n = len(fst)
    assert n == 205
    g = fst["group"].value_counts()
    for key, target in {"DAT": 56, "CPT": 24, "CDT": 8, "LAC": 5}.items():
        assert close(pct(g[key], n), target), key
    assert close(pct((fst["case_status"] == "CPR").sum(), n), 18)
    assert close(pct(fst["band"].isin(["UNBORN", "0-2", "3-5", "6-8", "9-11"]).sum(), n), 71)

    for service, total, accepted in (
        ("IFST", 47, {"NEW": (27, 30), "CONSULTATION": (8, 9), "RE_REFERRAL": (6, 8)}),
        ("FASS", 36, {"NEW": (26, 29), "ADVICE": (6, 6), "RE_REFERRAL": (1, 1)}),
    ):
        s = ifss[ifss["service"] == service]
        assert len(s) == total, service
        for rtype, (a, n_type) in accepted.items():
            t = s[s["referral_type"] == rtype]
            assert (len(t), int((t["accepted"] == "Y").sum())) == (n_type, a), (service, rtype)

    ifst = ifss[ifss["service"] == "IFST"]
    sub = ifst.loc[ifst["primary_substance"] != "", "primary_substance"].value_counts()
    for key, target in {
        "ALCOHOL": 45,
        "HEROIN": 32,
        "CANNABIS": 10,
        "AMPHETAMINE": 7,
        "COCAINE": 6,
    }.items():
        assert close(pct(sub[key], sub.sum()), target), key

    both = ifss[ifss["service"].isin(["IFST", "FASS"])]
    n = len(both)
    cs = both["case_status"].value_counts()
    assert (
        close(pct(cs["CIN"], n), 63)
        and close(pct(cs["CPR"], n), 24)
        and close(pct(cs["LAC"], n), 13)
    )
    b = both["band"].value_counts()
    assert close(pct(b.get("UNBORN", 0) + b.get("0-2", 0), n), 30)
    assert close(pct(b.get("3-5", 0), n), 17)
    assert close(pct(b.get("6-8", 0) + b.get("9-11", 0), n), 29)


def test_calibration_distance_travelled(data: dict[str, pd.DataFrame]) -> None:
    ifss = data["ifss_referrals"]
    prev = ifss[ifss["service"] == "PREVENTION"]
    served = prev[
        (prev["accepted"] == "Y")
        & (prev["service_start_date"] <= PE)
        & (prev["service_end_date"].isna() | (prev["service_end_date"] >= PS))
    ]
    families = served["family_id"].nunique()
    assert families == 160
    esc = served[(served["escalated"] == "Y") & served["escalation_date"].between(PS, PE)][
        "family_id"
    ].nunique()
    assert esc == 23 and close(pct(esc, families), 14)

    dtr = data["ifss_distance_travelled"]
    dtr = dtr[dtr["ifss_referral_id"].isin(prev["ifss_referral_id"])]
    starts = dtr[dtr["stage"] == "START"]
    ends = dtr[dtr["stage"] == "END"]
    first_start = starts.loc[
        starts.groupby("ifss_referral_id")["assessment_date"].idxmin(),
        ["ifss_referral_id", "assessment_id"],
    ]
    last_end = ends.loc[
        ends.groupby("ifss_referral_id")["assessment_date"].idxmax(),
        ["ifss_referral_id", "assessment_id", "assessment_date"],
    ]
    last_end = last_end[last_end["assessment_date"].between(PS, PE)]
    pairs = first_start.merge(last_end, on="ifss_referral_id", suffixes=("_s", "_e"))
    s = starts[starts["assessment_id"].isin(pairs["assessment_id_s"])]
    e = ends[ends["assessment_id"].isin(pairs["assessment_id_e"])]
    m = s[["ifss_referral_id", "domain", "risk_score"]].merge(
        e[["ifss_referral_id", "domain", "risk_score"]],
        on=["ifss_referral_id", "domain"],
        suffixes=("_s", "_e"),
    )
    means = m.groupby("ifss_referral_id")[["risk_score_s", "risk_score_e"]].mean()
    assert len(means) == len(pairs) and len(pairs) >= 60
    reduction = 100 * (means["risk_score_s"] - means["risk_score_e"]) / means["risk_score_s"]
    assert close(reduction.mean(), 30)
    assert close(pct((means["risk_score_e"] < means["risk_score_s"]).sum(), len(means)), 91)


def test_calibration_re_referrals(data: dict[str, pd.DataFrame]) -> None:
    dat = data["dat_referrals"][["child_id", "referral_date"]].sort_values(
        ["child_id", "referral_date"]
    )
    prev_date = dat.groupby("child_id")["referral_date"].shift(1)
    # the latest strictly earlier referral decides (same-day referrals are not earlier)
    dat = dat.assign(prev=prev_date)
    same = dat["prev"] == dat["referral_date"]
    assert not same.any()
    dat["re"] = dat["prev"].notna() & (
        dat["prev"] >= dat["referral_date"] - pd.DateOffset(months=12)
    )
    for fy, target in (("2010", 25), ("2011", 44), ("2012", 40)):
        lo = pd.Timestamp(f"{fy}-04-01")
        hi = min(pd.Timestamp(f"{int(fy) + 1}-03-31"), PE)
        sel = dat[dat["referral_date"].between(lo, hi)]
        assert close(100 * sel["re"].mean(), target), (fy, 100 * sel["re"].mean())


def test_calibration_cpr(data: dict[str, pd.DataFrame]) -> None:
    ps, pe = pd.Timestamp("2011-04-01"), pd.Timestamp("2012-03-31")
    reg = data["cpr_registrations"]
    on_reg = reg[
        (reg["registration_date"] <= pe)
        & (reg["deregistration_date"].isna() | (reg["deregistration_date"] > pe))
    ]
    assert abs(len(on_reg) - 110) <= 2
    r = reg[reg["registration_date"].between(ps, pe)]
    with_sd = r[r["strategy_discussion_date"].notna()]
    timely = [
        c.date() <= nth_working_day_after(s.date(), 15)
        for s, c in zip(
            with_sd["strategy_discussion_date"], with_sd["initial_conference_date"], strict=True
        )
    ]
    assert close(100 * np.mean(timely), 96)
    deadline = [nth_working_day_after(c.date(), 10) for c in r["initial_conference_date"]]
    keep = [dl <= AS_AT.date() for dl in deadline]
    cg = [
        (not pd.isna(f)) and f.date() <= dl
        for f, dl, k in zip(r["first_core_group_date"], deadline, keep, strict=True)
        if k
    ]
    assert close(100 * np.mean(cg), 56)

    rev = data["cpr_reviews"].merge(
        reg[["registration_id", "initial_conference_date"]], on="registration_id"
    )
    rev = rev.sort_values(["registration_id", "review_date"])
    before = rev.groupby("registration_id")["review_date"].shift(1)
    first = before.isna()
    due = np.where(
        first,
        [add_months(x, 3) for x in rev["initial_conference_date"]],
        [add_months(x, 6) if not pd.isna(x) else pd.NaT for x in before],
    )
    rev["on_time"] = rev["review_date"] <= pd.to_datetime(due)
    sel = rev[rev["review_date"].between(ps, pe)]
    assert close(100 * sel["on_time"].mean(), 99)


def test_calibration_workforce(data: dict[str, pd.DataFrame]) -> None:
    posts = data["workforce_posts"]
    snap = posts.loc[posts["snapshot_date"] <= PE, "snapshot_date"].max()
    p = posts[posts["snapshot_date"] == snap]
    dat, cpt = p[p["team"] == "DAT"], p[p["team"] == "CPT"]

    def status(df: pd.DataFrame, role: str) -> dict[str, int]:
        return df.loc[df["role"] == role, "status"].value_counts().to_dict()

    assert status(dat, "SP") == {"FILLED": 3, "AGENCY": 1}
    assert status(dat, "SW") == {"FILLED": 9, "AGENCY": 2, "LTS": 1}
    assert status(cpt, "SP") == {"FILLED": 2, "AGENCY": 1, "VACANT": 1}
    assert status(cpt, "SW") == {"FILLED": 11, "AGENCY": 2, "VACANT": 2, "LTS": 2}
    for team in (dat, cpt):
        staffed = team[team["status"].isin(["FILLED", "AGENCY"]) & team["caseload"].notna()]
        assert staffed["caseload"].mean() == 20
    staffed = dat[dat["status"].isin(["FILLED", "AGENCY"]) & dat["caseload"].notna()]
    assert (staffed["caseload"].min(), staffed["caseload"].max()) == (12, 35)

    def experience(df: pd.DataFrame) -> list[int]:
        sw = df[(df["role"] == "SW") & (df["status"] == "FILLED")]
        one, two = (
            sw["qualified_date"] + pd.DateOffset(years=1),
            sw["qualified_date"] + pd.DateOffset(years=2),
        )
        return [
            int((snap < one).sum()),
            int(((snap >= one) & (snap < two)).sum()),
            int((snap >= two).sum()),
        ]

    assert experience(dat) == [5, 4, 0]
    assert experience(cpt) == [6, 2, 3]
    lo = PE - pd.DateOffset(months=12)
    leavers = data["workforce_leavers"]
    n_left = int(((leavers["leaving_date"] > lo) & (leavers["leaving_date"] <= PE)).sum())
    year = posts[(posts["snapshot_date"] > lo) & (posts["snapshot_date"] <= PE)]
    filled = year[year["status"] == "FILLED"].groupby("snapshot_date").size().mean()
    assert close(pct(n_left, filled), 33)


# --- messy and xlsx: the same data in other forms -------------------------------------------------


def _normalise_header(h: str) -> str:
    return re.sub(r"[\s_\-]", "", h.strip().lower())


def parse_messy(path: Path, name: str) -> pd.DataFrame:
    """A small independent reader of the messy forms (not the ingestion code) for the round trip."""
    aliases = yaml.safe_load(
        (ROOT / "pipelines" / "contract" / "aliases.yaml").read_text(encoding="utf-8")
    )
    cols = extracts()[name]["columns"]
    if path.suffix == ".xlsx":
        df = pd.read_excel(path, dtype=object, engine="openpyxl").astype(object)
        df = df.where(df.notna(), "")
    else:
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = raw.decode("cp1252")
        from io import StringIO

        df = pd.read_csv(StringIO(text), dtype=str, keep_default_na=False)
    lookup = {_normalise_header(c): c for c in cols}
    for table in ((aliases.get("extract_headers") or {}).get(name, {}), aliases["headers"]):
        for canon, names in table.items():
            if canon in cols:
                for a in names:
                    lookup.setdefault(_normalise_header(a), canon)
    df.columns = [lookup[_normalise_header(str(c))] for c in df.columns]
    yes = {v.upper() for v in aliases["yes_no"]["yes"]}
    no = {v.upper() for v in aliases["yes_no"]["no"]}
    out = {}
    for col, spec in cols.items():
        s = df[col]
        t = spec["type"]
        if t == "date":

            def parse(v: object) -> pd.Timestamp:
                if isinstance(v, (dt.date, dt.datetime)):
                    return pd.Timestamp(v)
                v = str(v).strip()
                if not v:
                    return pd.NaT
                fmt = "%d/%m/%Y" if "/" in v else "%Y-%m-%d"
                return pd.Timestamp(dt.datetime.strptime(v, fmt))

            out[col] = pd.to_datetime(s.map(parse))
        elif t == "yesno":
            u = s.astype(str).str.strip().str.upper()
            out[col] = np.where(u.isin(yes), "Y", np.where(u.isin(no), "N", ""))
        elif t == "integer":
            out[col] = pd.to_numeric(s.astype(str).str.strip().replace("", None)).astype("Int64")
        elif t == "code":
            labels = {
                re.sub(r"\s+", " ", k.replace("–", "-")).strip().upper(): str(v)
                for k, v in (aliases["codes"].get(spec["codes"]) or {}).items()
            }
            u = s.astype(str).str.strip()
            up = u.str.upper()
            key = u.str.replace("–", "-").str.replace(r"\s+", " ", regex=True).str.upper()
            out[col] = np.where(
                up.isin(list(code_lists()[spec["codes"]])), up, key.map(labels).fillna(up)
            )
        elif t in ("id", "record_id", "code_list"):
            out[col] = s.astype(str).str.strip().str.upper()
        else:
            out[col] = s.astype(str)
    return pd.DataFrame(out)


@pytest.mark.slow  # writes and reads back whole samples, messy and as workbooks
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_messy_and_xlsx_carry_the_same_data(small_clean: Path, tmp_path: Path, fmt: str) -> None:
    clean, messy = small_clean, tmp_path / "messy"
    paths = generate_sample(messy, seed=3, scale=0.02, fmt=fmt, messy=True)
    assert [p.name for p in paths] == [f"{n}.{fmt}" for n in EXTRACT_ORDER]
    for name in EXTRACT_ORDER:
        want = read(clean, name)
        got = parse_messy(messy / f"{name}.{fmt}", name)
        pd.testing.assert_frame_equal(
            got.reset_index(drop=True), want.reset_index(drop=True), check_dtype=False, obj=name
        )
    if fmt == "csv":
        raw = {n: (messy / f"{n}.csv").read_bytes() for n in EXTRACT_ORDER}
        assert any(b.startswith(b"\xef\xbb\xbf") for b in raw.values())
        assert b"\x96" in raw["workforce_posts"]  # an en dash in Windows-1252
        assert re.search(rb"\d\d/\d\d/\d{4}", raw["cpr_registrations"])
        assert b"Schools" in raw["dat_referrals"] or b"Schools" in raw["ifss_referrals"]


def test_xlsx_is_byte_stable(tmp_path: Path) -> None:
    from pipelines.generate.write import write_xlsx

    df = pd.DataFrame(
        {
            "staff_id": ["S00001", "S00002"],
            "team": ["DAT", "Prevention – TAF"],
            "role": ["SW", "FSW"],
            "leaving_date": pd.to_datetime(["2012-05-01", None]),
        }
    )
    write_xlsx("workforce_leavers", df, tmp_path / "a.xlsx")
    write_xlsx("workforce_leavers", df, tmp_path / "b.xlsx")
    assert (tmp_path / "a.xlsx").read_bytes() == (tmp_path / "b.xlsx").read_bytes()
    with zipfile.ZipFile(tmp_path / "a.xlsx") as z:  # no clock time anywhere in the package
        assert {i.date_time for i in z.infolist()} == {(2013, 1, 31, 0, 0, 0)}
        core = z.read("docProps/core.xml").decode()
        assert re.findall(r"\d{4}-\d\d-\d\dT[\d:]+Z", core) == ["2013-01-31T00:00:00Z"] * 2
    back = pd.read_excel(tmp_path / "a.xlsx", engine="openpyxl")
    assert back.loc[0, "leaving_date"] == pd.Timestamp("2012-05-01")
    assert back.loc[1, "team"] == "Prevention – TAF"

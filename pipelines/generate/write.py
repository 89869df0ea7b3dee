"""Writing extracts: clean CSV, XLSX (real date cells, byte-stable) and the messy variants.

Messy mode changes only the *form* of values, never their meaning: every variant is one that
docs/EXTRACTS.md allows and ``contract/aliases.yaml`` maps back, so a messy delivery loads to
the same curated tables as the clean one. Which variant goes where (``MESSY`` below) is chosen so
that every variant appears in at least one file.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from pipelines.contract import HERE as CONTRACT_DIR
from pipelines.contract import extracts

FIXED_TIME = (2013, 1, 31, 0, 0, 0)

# per extract: encoding, date style, header style, yes/no form per column, id columns to mess up,
# whether codes become labels / mixed case
MESSY: dict[str, dict[str, Any]] = {
    "dat_referrals": {
        "encoding": "utf-8-sig",
        "dates": "iso",
        "headers": "alias",
        "yesno": {
            "domestic_abuse": ("Yes", "No"),
            "parental_substance_misuse": ("y", "n"),
            "parental_mental_health": ("TRUE", "false"),
            "parental_learning_disability": ("1", "0"),
            "lateral_checks": ("YES", "no"),
            "child_seen": ("True", "False"),
        },
        "ids": ["child_id", "referral_id"],
        "codes": "labels",
    },
    "cpr_registrations": {
        "encoding": "utf-8",
        "dates": "uk",
        "headers": "title",
        "yesno": {},
        "ids": ["child_id"],
        "codes": "case",
    },
    "cpr_reviews": {
        "encoding": "utf-8-sig",
        "dates": "uk",
        "headers": "upper",
        "yesno": {},
        "ids": ["registration_id", "review_id"],
        "codes": "case",
    },
    "ifss_referrals": {
        "encoding": "utf-8",
        "dates": "uk",
        "headers": "alias",
        "yesno": {"accepted": ("Y", "N"), "escalated": ("1", "0")},
        "ids": ["family_id", "child_id"],
        "codes": "labels",
    },
    "ifss_distance_travelled": {
        "encoding": "utf-8-sig",
        "dates": "iso",
        "headers": "hyphen",
        "yesno": {},
        "ids": ["assessment_id"],
        "codes": "labels",
    },
    "workforce_posts": {
        "encoding": "cp1252",
        "dates": "uk",
        "headers": "alias",
        "yesno": {},
        "ids": ["staff_id"],
        "codes": "labels",
    },
    "workforce_leavers": {
        "encoding": "cp1252",
        "dates": "iso",
        "headers": "title",
        "yesno": {},
        "ids": ["staff_id"],
        "codes": "case",
    },
}


def load_aliases() -> dict[str, Any]:
    path = CONTRACT_DIR / "aliases.yaml"
    if not path.exists():
        return {}
    with open(path, encoding="utf-8") as fh:
        return yaml.safe_load(fh) or {}


def _header(extract: str, col: str, style: str, aliases: dict[str, Any]) -> str:
    if style == "alias":
        ex = (aliases.get("extract_headers") or {}).get(extract, {})
        names = ex.get(col) or (aliases.get("headers") or {}).get(col)
        if names:
            return str(names[0])
        style = "title"
    if style == "title":
        return " ".join(w.upper() if w == "id" else w.capitalize() for w in col.split("_"))
    if style == "upper":
        return col.upper()
    return col.replace("_", "-")


def _labels(aliases: dict[str, Any], code_list: str) -> dict[str, str]:
    """code -> first label that maps to it in aliases.yaml (unambiguous by construction there)."""
    out: dict[str, str] = {}
    for label, code in ((aliases.get("codes") or {}).get(code_list) or {}).items():
        out.setdefault(str(code), str(label))
    return out


def messify(
    extract: str,
    df: pd.DataFrame,
    rng: np.random.Generator,
    aliases: dict[str, Any],
    keep_dates: bool,
) -> pd.DataFrame:
    """The same data written the way real exports arrive (see MESSY)."""
    spec = MESSY[extract]
    cols = extracts()[extract]["columns"]
    out = {}
    n = len(df)
    for col, cs in cols.items():
        s = df[col]
        t = cs["type"]
        if t == "date":
            if keep_dates:
                out[col] = s
                continue
            out[col] = _date_strings(s, spec["dates"])
            continue
        vals = s.astype(object).where(s.notna(), "").astype(str).to_numpy(dtype=object)
        if t == "yesno" and col in spec["yesno"]:
            yes, no = spec["yesno"][col]
            vals = np.where(vals == "Y", yes, np.where(vals == "N", no, vals)).astype(object)
        elif t in ("id", "record_id") and col in spec["ids"]:
            pick = (rng.random(n) < 0.3) & (vals != "")
            vals = vals.copy()
            vals[pick] = np.char.add(
                np.char.add(" ", np.char.lower(vals[pick].astype(str))), " "
            ).astype(object)
        elif t == "code":
            vals = vals.copy()
            r = rng.random(n)
            nonblank = vals != ""
            if spec["codes"] == "labels":
                lab = _labels(aliases, cs["codes"])
                mapped = np.array([lab.get(v, v) for v in vals], dtype=object)
                use = nonblank & (r < 0.5) & (mapped != vals)
                vals[use] = mapped[use]
            low = nonblank & (r >= 0.5) & (r < 0.75)
            vals[low] = np.char.lower(vals[low].astype(str)).astype(object)
            pad = nonblank & (r >= 0.75) & (r < 0.85)
            vals[pad] = np.char.add(np.char.add("  ", vals[pad].astype(str)), " ").astype(object)
        elif t == "code_list":
            vals = np.char.lower(vals.astype(str)).astype(object)
        elif t == "integer":
            if keep_dates:  # XLSX: numbers stay number cells
                out[col] = s
                continue
            vals = (
                s.astype("Int64")
                .astype(object)
                .where(s.notna(), "")
                .astype(str)
                .to_numpy(dtype=object)
            )
        out[col] = vals
    res = pd.DataFrame(out)
    res.columns = [_header(extract, c, spec["headers"], aliases) for c in cols]
    return res


def _date_strings(s: pd.Series, fmt: str = "iso") -> np.ndarray:
    arr = pd.to_datetime(s).to_numpy().astype("datetime64[D]")
    out = np.datetime_as_string(arr, unit="D").astype(object)
    if fmt == "uk":
        out = np.array([f"{v[8:10]}/{v[5:7]}/{v[0:4]}" for v in out], dtype=object)
    out[np.isnat(arr)] = ""
    return out


def clean_strings(extract: str, df: pd.DataFrame) -> pd.DataFrame:
    """Clean CSV form: ISO dates, Y/N, canonical codes, integers without decimals."""
    out = {}
    for col, cs in extracts()[extract]["columns"].items():
        s = df[col]
        if cs["type"] == "date":
            out[col] = _date_strings(s)
        else:
            out[col] = _text(s)
    return pd.DataFrame(out, dtype=object)


def _text(s: pd.Series) -> np.ndarray:
    """Values as str, blank for missing (integers without decimals), as an object array."""
    vals = s.to_numpy(dtype=object)
    miss = pd.isna(vals)
    out = np.empty(vals.size, dtype=object)
    out[:] = [str(v) for v in vals.tolist()]
    out[miss] = ""
    return out


def _csv_field(values: list[str]) -> list[str]:
    """Quote the values that need it (comma, quote, line break), RFC 4180 style."""
    if not any(("," in v) or ('"' in v) or ("\n" in v) or ("\r" in v) for v in values):
        return values
    return [
        ('"' + v.replace('"', '""') + '"')
        if ("," in v or '"' in v or "\n" in v or "\r" in v)
        else v
        for v in values
    ]


def write_csv(df: pd.DataFrame, path: Path, encoding: str = "utf-8") -> None:
    """A plain CSV: header, comma-delimited, '\\n' line ends, quotes only where needed (fast)."""
    cols = [_csv_field([str(v) for v in df[c].tolist()]) for c in df.columns]
    header = ",".join(_csv_field([str(c) for c in df.columns]))
    body = "\n".join(map(",".join, zip(*cols, strict=True)))
    text = header + "\n" + (body + "\n" if len(df) else "")
    with open(path, "wb") as fh:
        fh.write(text.encode(encoding))


def write_xlsx(extract: str, df: pd.DataFrame, path: Path) -> None:
    """First sheet named like the extract; dates as real date cells; byte-stable."""
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(extract[:31])
    ws.append([str(c) for c in df.columns])
    cols = []
    for c in df.columns:
        s = df[c]
        if pd.api.types.is_datetime64_any_dtype(s):
            cols.append([None if pd.isna(x) else x.date() for x in s])
        else:
            cols.append(
                [
                    None
                    if (
                        x is None or x is pd.NA or x == "" or (isinstance(x, float) and np.isnan(x))
                    )
                    else (int(x) if isinstance(x, (np.integer,)) else x)
                    for x in s.astype(object)
                ]
            )
    for row in zip(*cols, strict=True):
        ws.append(list(row))
    fixed = dt.datetime(*FIXED_TIME)
    wb.properties.created = fixed
    wb.properties.creator = "pipelines.generate"
    buf = io.BytesIO()
    wb.save(buf)
    _stabilise_zip(buf.getvalue(), path)


def _stabilise_zip(data: bytes, path: Path) -> None:
    stamp = "2013-01-31T00:00:00Z"
    src = zipfile.ZipFile(io.BytesIO(data))
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            content = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = re.sub(
                    rb"(<dcterms:(?:modified|created)[^>]*>)[^<]*",
                    rb"\g<1>" + stamp.encode(),
                    content,
                )
            zi = zipfile.ZipInfo(info.filename, date_time=FIXED_TIME)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o600 << 16
            dst.writestr(zi, content)

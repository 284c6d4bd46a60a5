"""Site utilization straight from a raw export, with plain pandas — an independent check of the
warehouse's `marts.site_utilization_*` (DESIGN.md section 5).

This module does not use the importer's pipeline (core.py, convert.py, spec.py): it reads the
mapping YAML itself, reads the export with pandas, parses and localizes timestamps with pandas
(`tz_localize`), derives sites and charge points, drops the rows the importer rejects, and then
computes the metrics by the section 5 definitions:

- a session's occupied interval is [plugged_in_at, unplugged_at); its kWh is spread evenly over
  it and split across the site's local days by overlap; an empty interval puts all its kWh on
  the plug-in day;
- a charge point is active on local day D from the local date of its commissioning (the
  mapping's `commissioned_at`: its first session by default) until the day before the local
  date of its decommissioning, if any; CP-days = Σ active charge points over days;
- occupied time = the union of a charge point's occupied intervals (two connectors busy at once
  count once), within the days it was active;
- % time utilised = occupied hours / Σ over CP-days of that day's real length (23, 24 or 25 h)
  × 100; kWh/CP/day = kWh / CP-days.

The mapping features it understands are those the shipped mappings use (const / column /
template / cases values with null_if / replace / map / default / unit / multiply; CSV, XLSX,
JSON, JSON lines); a mapping using more raises `NotImplementedError`.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from orchestration.check.expectations import column_range

KWH_MAX = column_range("sessions", "kwh")[1]  # the warehouse's plausibility limit (expectations/sessions.json)
UNITS = {"wh": 0.001, "kwh": 1.0, "mwh": 1000.0}
HOUR = pd.Timedelta(hours=1)


# --------------------------------------------------------------------------------------------
# Reading the export
# --------------------------------------------------------------------------------------------


def _read(cfg: dict, path: Path) -> pd.DataFrame:
    inp = cfg["input"]
    fmt = inp["format"]
    nulls = [str(v) for v in inp.get("null_values", [])]
    if fmt == "csv":
        enc = inp.get("encoding", "utf-8")
        df = pd.read_csv(
            path,
            sep=inp.get("delimiter", ","),
            quotechar=inp.get("quotechar", '"'),
            encoding="utf-8-sig" if enc.lower() in ("utf-8", "utf8") else enc,
            skiprows=inp.get("skip_rows", 0),
            dtype=str,
            keep_default_na=False,
            skip_blank_lines=True,
        )
    elif fmt == "xlsx":
        df = pd.read_excel(
            path,
            sheet_name=inp.get("sheet", 0) if inp.get("sheet") is not None else 0,
            skiprows=inp.get("skip_rows", 0),
            dtype=object,
        )
    elif fmt == "jsonl":
        records = [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
        df = pd.json_normalize(records)
    else:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
        for part in str(inp.get("records_path") or "").split("."):
            if part:
                doc = doc[part]
        df = pd.json_normalize(doc)
    df.columns = [str(c).strip() for c in df.columns]
    df = df.astype(object).where(df.notna(), None)
    for c in df.columns:
        df[c] = df[c].map(
            lambda v: None if _isnull(v) or (isinstance(v, str) and (not v.strip() or v.strip() in nulls)) else v
        )
    return df.reset_index(drop=True)


def _isnull(v: Any) -> bool:
    return v is None or v is pd.NaT or (isinstance(v, float) and np.isnan(v))


def _text(v: Any) -> str | None:
    if _isnull(v):
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() else repr(v)
    if isinstance(v, (pd.Timestamp, datetime)):
        return v.isoformat(sep=" ")
    return str(v).strip()


# --------------------------------------------------------------------------------------------
# Value specs, vectorised over the whole frame
# --------------------------------------------------------------------------------------------


class _Unmapped(Exception):
    pass


def _spec(df: pd.DataFrame, spec: Any) -> tuple[pd.Series, pd.Series]:
    """(values, unmapped-flag) of a value spec for every row."""
    n = len(df)
    no = pd.Series(False, index=df.index)
    if not isinstance(spec, dict):
        return pd.Series([spec] * n, index=df.index, dtype=object), no
    known = {
        "const",
        "column",
        "template",
        "cases",
        "null_if",
        "replace",
        "map",
        "unmapped",
        "default",
        "unit",
        "multiply",
        "required",
    }
    if set(spec) - known:
        raise NotImplementedError(f"reference: value keys {sorted(set(spec) - known)}")
    unmapped = no.copy()
    if "const" in spec:
        s = pd.Series([spec["const"]] * n, index=df.index, dtype=object)
    elif "column" in spec:
        s = df[spec["column"]].copy()
    elif "template" in spec:
        nulls = {str(v) for v in spec.get("null_if", [])}
        parts = re.split(r"\{([^{}]+)\}", spec["template"])
        cols = {p: [_text(v) for v in df[p]] for p in parts[1::2]}
        values = []
        for i in range(n):
            pieces = []
            for j, p in enumerate(parts):
                if j % 2 == 0:
                    pieces.append(p)
                    continue
                v = cols[p][i]
                if v in (None, "") or v in nulls:
                    break
                pieces.append(v)
            else:
                values.append("".join(pieces))
                continue
            values.append(None)
        s = pd.Series(values, index=df.index, dtype=object)
    else:
        s = pd.Series([None] * n, index=df.index, dtype=object)
        done = pd.Series(False, index=df.index)
        for case in spec["cases"]:
            if "else" in case:
                cond = ~done
                val, um = _spec(df, case["else"])
            else:
                w = case["when"]
                text = df[w["column"]].map(_text)
                if "equals" in w:
                    cond = text == _text(w["equals"])
                elif "in" in w:
                    cond = text.isin([_text(x) for x in w["in"]])
                elif "matches" in w:
                    pattern = re.compile(str(w["matches"]))
                    cond = text.map(lambda x, rx=pattern: x is not None and rx.fullmatch(x) is not None)
                else:
                    cond = text.map(lambda x: x in (None, "")) == bool(w["is_null"])
                cond = cond & ~done
                val, um = _spec(df, case["then"])
            s[cond] = val[cond]
            unmapped |= um & cond
            done |= cond
    if "null_if" in spec:
        nulls = {str(v) for v in spec["null_if"]}
        s = s.map(lambda v: None if _text(v) in nulls else v)
    for rep in spec.get("replace", []):
        s = s.map(lambda v, rep=rep: None if _isnull(v) else re.sub(rep["pattern"], rep["with"], _text(v)))
    if "map" in spec:
        table = {_text(k): v for k, v in spec["map"].items()}
        policy = spec.get("unmapped", "reject")
        keys = s.map(_text)
        hit = keys.map(lambda k: k in table)
        miss = keys.notna() & ~hit
        mapped = keys.map(lambda k: table.get(k))
        if policy == "keep":
            s = s.where(miss, mapped)
        else:
            s = mapped.where(hit, None)
            if policy == "reject":
                unmapped |= miss
    if "default" in spec:
        s = s.map(lambda v: spec["default"] if _isnull(v) else v)
    return s.astype(object), unmapped


def _number(s: pd.Series, spec: Any, decimal_mark: str, thousands: str | None) -> pd.Series:
    def conv(v: Any) -> float:
        if _isnull(v):
            return np.nan
        if isinstance(v, (int, float, Decimal)) and not isinstance(v, bool):
            return float(v)
        t = str(v).strip().replace(" ", "")
        if thousands:
            t = t.replace(thousands, "")
        if decimal_mark != ".":
            if "." in t:
                return np.nan
            t = t.replace(decimal_mark, ".")
        try:
            return float(t)
        except ValueError:
            return np.nan

    out = s.map(conv).astype(float)
    if isinstance(spec, dict):
        if "unit" in spec:
            out = out * UNITS[str(spec["unit"]).lower()]
        if "multiply" in spec:
            out = out * float(spec["multiply"])
    return out


def _timestamps(s: pd.Series, time: dict, zone: str, start: pd.Series | None = None) -> pd.Series:
    """Local wall-clock values → UTC (pandas tz_localize), with the mapping's DST policy."""
    is_dt = s.map(lambda v: isinstance(v, (datetime, pd.Timestamp)))
    text = s.map(lambda v: None if isinstance(v, (datetime, pd.Timestamp)) else _text(v))
    for rep in time.get("replace", []):
        text = text.map(lambda v, rep=rep: None if _isnull(v) else re.sub(rep["pattern"], rep["with"], v))
    naive = pd.Series(pd.NaT, index=s.index, dtype="datetime64[us]")
    for fmt in time.get("formats", ["iso"]):
        parsed = pd.to_datetime(text, format="ISO8601" if fmt == "iso" else fmt, errors="coerce")
        if getattr(parsed.dt, "tz", None) is not None:
            raise NotImplementedError("reference: timestamps with offsets")
        naive = naive.fillna(parsed.astype("datetime64[us]"))
    naive[is_dt] = pd.to_datetime(s[is_dt].tolist()).astype("datetime64[us]") if is_dt.any() else naive[is_dt]
    if time.get("year_offset"):
        low = naive.dt.year < 100
        naive[low] = naive[low] + pd.DateOffset(years=int(time["year_offset"]))
    amb = time.get("ambiguous", "first")
    gap = {"shift_forward": HOUR, "shift_backward": -HOUR, "reject": "NaT"}[time.get("nonexistent", "shift_forward")]
    ones = np.ones(len(naive), dtype=bool)
    first = naive.dt.tz_localize(zone, ambiguous=ones, nonexistent=gap)  # DST reading
    second = naive.dt.tz_localize(zone, ambiguous=~ones, nonexistent=gap)  # standard-time reading
    if amb == "reject":
        chosen = first.where(first == second, pd.NaT)
        other = chosen
    elif amb == "first":
        chosen, other = first, second
    else:
        chosen, other = second, first
    if start is not None:  # an end that would precede its start takes the other reading
        flip = (chosen < start) & (other >= start)
        chosen = chosen.where(~flip, other)
    return chosen.dt.tz_convert("UTC")


# --------------------------------------------------------------------------------------------
# Sessions and charge points from the raw export
# --------------------------------------------------------------------------------------------


def load_raw_sessions(mapping: Path | str, input: Path | str) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """(sessions, charge_points, site_zones) from the raw export, rejected rows dropped.

    sessions: session_id, site_id, charge_point_id, plug, unplug (UTC), kwh.
    charge_points: charge_point_id, site_id, commissioned (UTC), decommissioned (UTC or NaT).
    site_zones: site_id → IANA zone of the site's local calendar."""
    cfg = yaml.safe_load(Path(mapping).read_text(encoding="utf-8"))
    df = _read(cfg, Path(input))
    inp, time, ses, sites, cps = cfg["input"], cfg["time"], cfg["sessions"], cfg["sites"], cfg["charge_points"]
    if isinstance(time["zone"], dict):
        raise NotImplementedError("reference: per-row time zones")
    zone = time["zone"]
    dec, thou = inp.get("decimal", "."), inp.get("thousands")

    bad = pd.Series(False, index=df.index)
    out = pd.DataFrame(index=df.index)
    for name, spec in (
        ("session_id", ses["session_id"]),
        ("site_id", sites["site_id"]),
        ("charge_point_id", cps["charge_point_id"]),
    ):
        vals, um = _spec(df, spec)
        out[name] = vals.map(_text)
        bad |= um | out[name].isna()
    state, um = _spec(df, ses.get("state", "completed"))
    state = state.map(lambda v: "completed" if _isnull(v) or v == "" else v)
    bad |= um
    plug_raw, um = _spec(df, ses["plugged_in_at"])
    bad |= um
    out["plug"] = _timestamps(plug_raw, time, zone)
    if "unplugged_at" in ses:
        unplug_raw, um = _spec(df, ses["unplugged_at"])
        bad |= um
        out["unplug"] = _timestamps(unplug_raw, time, zone, start=out["plug"].dt.tz_convert(zone))
    else:
        out["unplug"] = pd.NaT
    finished = state.isin(["completed", "failed"])
    bad |= out["plug"].isna() | (finished & out["unplug"].isna())
    bad |= out["unplug"].notna() & (out["unplug"] < out["plug"])
    if "kwh" in ses:
        k_raw, um = _spec(df, ses["kwh"])
        out["kwh"] = _number(k_raw, ses["kwh"], dec, thou)
        required = not (isinstance(ses["kwh"], dict) and ses["kwh"].get("required") is False)
        bad |= um | (out["kwh"] < 0) | (out["kwh"] > KWH_MAX)
        if required:
            bad |= out["kwh"].isna()
    else:
        out["kwh"] = np.nan
    if "connector_id" in ses:
        _, um = _spec(df, ses["connector_id"])
        bad |= um
    out["state"] = state
    out = out[~bad]
    out = out[~out["session_id"].duplicated(keep="first")]
    out = out[out["state"] != "in_progress"].copy()
    out["kwh"] = out["kwh"].fillna(0.0)
    out["order"] = np.arange(len(out))

    # Charge points: registered at the site of their first session.
    first = out.sort_values(["plug", "order"]).groupby("charge_point_id", sort=True).first()
    cp = first[["site_id", "plug"]].reset_index().rename(columns={"plug": "commissioned"})
    comm = cps.get("commissioned_at", "first_session")
    if comm not in (None, "first_session"):
        if isinstance(comm, dict):
            raise NotImplementedError("reference: commissioned_at from a column")
        cp["commissioned"] = _const_ts(comm, zone)
    decomm = cps.get("decommissioned_at")
    cp["decommissioned"] = _const_ts(decomm, zone) if decomm not in (None, "") else pd.NaT
    cp["decommissioned"] = pd.to_datetime(cp["decommissioned"], utc=True)
    site_of_cp = dict(zip(cp["charge_point_id"], cp["site_id"]))
    out["site_id"] = out["charge_point_id"].map(site_of_cp)  # sessions count at their charge point's site

    tz_spec = sites.get("time_zone")
    zones = {}
    for site in cp["site_id"].unique():
        zones[site] = tz_spec if isinstance(tz_spec, str) else zone
    return out.reset_index(drop=True), cp, zones


def _const_ts(v: Any, zone: str) -> pd.Timestamp:
    t = pd.Timestamp(v)
    return t.tz_convert("UTC") if t.tzinfo is not None else t.tz_localize(zone).tz_convert("UTC")


# --------------------------------------------------------------------------------------------
# Metrics (DESIGN.md section 5)
# --------------------------------------------------------------------------------------------


def _day_bounds(day: date, zone: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    start = pd.Timestamp(day).tz_localize(zone, nonexistent="shift_forward", ambiguous=True)
    end = (pd.Timestamp(day) + pd.Timedelta(days=1)).tz_localize(zone, nonexistent="shift_forward", ambiguous=True)
    return start.tz_convert("UTC"), end.tz_convert("UTC")


def _split_kwh(sessions: pd.DataFrame, zone: str) -> pd.DataFrame:
    """(local date, kwh) pieces of every session, split over local days by overlap."""
    rows = []
    for r in sessions.itertuples(index=False):
        d0 = r.plug.tz_convert(zone).date()
        if r.unplug == r.plug:
            rows.append((r.site_id, d0, r.kwh))
            continue
        dur = (r.unplug - r.plug) / HOUR
        d = d0
        last = r.unplug.tz_convert(zone).date()
        while d <= last:
            lo, hi = _day_bounds(d, zone)
            ov = (min(hi, r.unplug) - max(lo, r.plug)) / HOUR
            if ov > 0:
                rows.append((r.site_id, d, r.kwh * ov / dur))
            d = (pd.Timestamp(d) + pd.Timedelta(days=1)).date()
    return pd.DataFrame(rows, columns=["site_id", "date", "kwh"])


def _union(intervals: list[tuple[pd.Timestamp, pd.Timestamp]]) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    merged: list[list[pd.Timestamp]] = []
    for lo, hi in sorted(intervals):
        if hi <= lo:
            continue
        if merged and lo <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    return [(a, b) for a, b in merged]


def _month_days(month: Any) -> list[date]:
    if isinstance(month, str):
        first = date.fromisoformat(month + "-01" if len(month) == 7 else month).replace(day=1)
    elif isinstance(month, datetime):
        first = month.date().replace(day=1)
    else:
        first = month.replace(day=1)
    days = pd.date_range(first, periods=pd.Timestamp(first).days_in_month, freq="D")
    return [d.date() for d in days]


def independent_site_utilization(mapping: Path | str, input: Path | str, site_id: str, month: Any) -> dict:
    """Utilization of `site_id` in `month` ('YYYY-MM', or a date in the month) computed straight
    from the raw export: {kwh, cp_days, kwh_per_cp_day, occupied_hours, time_utilised_pct}
    (the two ratios are None when the site has no CP-days in the month)."""
    sessions, cps, zones = load_raw_sessions(mapping, input)
    if site_id not in zones:
        raise KeyError(f"no charge point of the export is at site {site_id!r} (sites: {', '.join(sorted(zones))})")
    zone = zones[site_id]
    days = _month_days(month)
    site_cps = cps[cps["site_id"] == site_id]
    site_sessions = sessions[sessions["site_id"] == site_id]

    pieces = _split_kwh(site_sessions, zone)
    kwh = float(pieces.loc[pieces["date"].isin(days), "kwh"].sum()) if len(pieces) else 0.0

    cp_days = 0
    day_hours = 0.0
    occupied = 0.0
    for cp in site_cps.itertuples(index=False):
        comm_day = cp.commissioned.tz_convert(zone).date()
        decomm_day = cp.decommissioned.tz_convert(zone).date() if not pd.isna(cp.decommissioned) else None
        merged = _union(
            [
                (r.plug, r.unplug)
                for r in site_sessions[site_sessions["charge_point_id"] == cp.charge_point_id].itertuples()
            ]
        )
        for d in days:
            if d < comm_day or (decomm_day is not None and d >= decomm_day):
                continue
            lo, hi = _day_bounds(d, zone)
            cp_days += 1
            day_hours += (hi - lo) / HOUR
            occupied += sum(max(0.0, (min(hi, b) - max(lo, a)) / HOUR) for a, b in merged)
    return {
        "kwh": kwh,
        "cp_days": cp_days,
        "kwh_per_cp_day": kwh / cp_days if cp_days else None,
        "occupied_hours": occupied,
        "time_utilised_pct": occupied / day_hours * 100 if day_hours else None,
    }


def busiest_day(mapping: Path | str, input: Path | str) -> tuple[str, date, float]:
    """The (site_id, local date, kWh) with the most kWh (split over local days) in the export;
    ties go to the smallest site_id, then the earliest date."""
    sessions, _, zones = load_raw_sessions(mapping, input)
    parts = [_split_kwh(sessions[sessions["site_id"] == site], zone) for site, zone in sorted(zones.items())]
    daily = pd.concat(parts).groupby(["site_id", "date"], as_index=False)["kwh"].sum()
    daily = daily.sort_values(["kwh", "site_id", "date"], ascending=[False, True, True])
    top = daily.iloc[0]
    return str(top["site_id"]), top["date"], float(top["kwh"])

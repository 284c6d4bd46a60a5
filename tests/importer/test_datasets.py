"""The three real datasets in ../shared/datasets imported with the shipped mappings, checked
against figures computed independently from the raw files with plain pandas, and loaded by the
warehouse's own loader without a single quarantined record."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from orchestration.importer import import_export
from orchestration.importer.core import KWH_MAX
from orchestration.importer.reference import load_raw_sessions

from .helpers import DATASETS, MAPPINGS

NORWAY = DATASETS / "norway_residential" / "sessions.csv"
WORKPLACE = DATASETS / "workplace_charging" / "sessions.csv"
EPFL = DATASETS / "epfl_dc_fast" / "sessions.xlsx"

pytestmark = pytest.mark.skipif(not DATASETS.is_dir(), reason=f"{DATASETS} not found (shared/ beside the repo)")


@pytest.fixture(scope="module")
def landing(tmp_path_factory):
    """One landing zone holding all three imports (file names do not collide)."""
    out = tmp_path_factory.mktemp("landing")
    summaries = {
        "norway": import_export(MAPPINGS / "norway_residential.yml", NORWAY, out),
        "workplace": import_export(MAPPINGS / "workplace_charging.yml", WORKPLACE, out),
        "epfl": import_export(MAPPINGS / "epfl_dc_fast.yml", EPFL, out),
    }
    return out, summaries


def landed(out: Path, name: str) -> pd.DataFrame:
    """Sessions of one import with the site of their charge point."""
    recs = [json.loads(line) for line in (out / "sessions" / f"{name}__sessions.jsonl").read_text().splitlines()]
    s = pd.DataFrame(recs)
    cps = pd.read_csv(out / "charge_points" / f"{name}__sessions.csv", dtype=str, keep_default_na=False)
    s = s.merge(
        cps[["charge_point_id", "site_id", "commissioned_at"]], on="charge_point_id", how="left", validate="many_to_one"
    )
    assert s["site_id"].notna().all()
    s["plug"] = pd.to_datetime(s["plugged_in_at"], utc=True)
    s["unplug"] = pd.to_datetime(s["unplugged_at"], utc=True)
    return s


def per_site(s: pd.DataFrame) -> pd.DataFrame:
    return s.groupby("site_id").agg(sessions=("session_id", "size"), kwh=("kwh", "sum")).sort_index()


def assert_same_per_site(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    assert list(got.index) == list(expected.index)
    assert got["sessions"].tolist() == expected["sessions"].tolist()
    assert got["kwh"].tolist() == pytest.approx(expected["kwh"].tolist(), abs=1e-6)


# ---------------------------------------------------------------- Norway


def test_norway_residential(landing):
    out, summaries = landing
    summary = summaries["norway"]
    raw = pd.read_csv(
        NORWAY,
        sep=";",
        decimal=",",
        keep_default_na=False,
        dtype={"End_plugout": str, "Shared_ID": str, "User_ID": str},
    )
    missing_end = raw["End_plugout"] == "NA"
    good = raw[~missing_end]

    assert summary["rows_read"] == len(raw) == 6878
    assert summary["rows_rejected"] == int(missing_end.sum()) == 34
    assert summary["rejects_by_reason"] == {"missing unplugged_at": 34}
    assert [r["line"] for r in summary["rejects"]] == [i + 2 for i in raw.index[missing_end]]  # header = line 1
    report = pd.read_csv(out / "_import_rejects" / "norway_residential__sessions.csv", dtype=str)
    assert len(report) == 34 and set(report["reason"]) == {"missing unplugged_at"}
    assert summary["sessions_written"] == len(good)

    expected = (
        good.assign(site_id="nores-" + good["Garage_ID"])
        .groupby("site_id")
        .agg(sessions=("session_ID", "size"), kwh=("El_kWh", "sum"))
        .sort_index()
    )
    s = landed(out, "norway_residential")
    assert_same_per_site(per_site(s), expected)
    assert summary["sites"] == good["Garage_ID"].nunique() == 24

    # charge points: a shared charger per Shared_ID, a private charger per garage and user
    chargers = good.apply(lambda r: (r.Garage_ID, r.Shared_ID if r.User_type == "Shared" else r.User_ID), axis=1)
    assert summary["charge_points"] == chargers.nunique() == 69

    # local Europe/Oslo → UTC, independently with pandas
    local = pd.to_datetime(good["Start_plugin"], format="%d.%m.%Y %H:%M")
    utc = local.dt.tz_localize("Europe/Oslo").dt.tz_convert("UTC").dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert s["plugged_in_at"].tolist() == utc.tolist()

    # DST: sessions across the night of 27 Oct 2019 last one hour more than their wall-clock span;
    # the export's own Duration_hours (seconds precision) agrees
    s = s.assign(
        hours=(s["unplug"] - s["plug"]).dt.total_seconds() / 3600,
        reported=good["Duration_hours"].str.replace(",", ".").astype(float).values,
    )
    night = s[(s["plug"] < "2019-10-27T01:00:00Z") & (s["unplug"] > "2019-10-27T01:00:00Z")]
    assert len(night) == 17
    assert (night["hours"] - night["reported"]).abs().max() < 1 / 60

    # commissioning = the charge point's first session
    first = s.groupby("charge_point_id")["plugged_in_at"].min()
    comm = s.groupby("charge_point_id")["commissioned_at"].first()
    assert (first == comm).all()


# ---------------------------------------------------------------- Workplace (US)


def test_workplace_charging(landing):
    out, summaries = landing
    summary = summaries["workplace"]
    raw = pd.read_csv(WORKPLACE)
    assert summary["rows_read"] == len(raw) == 3395
    assert summary["rows_rejected"] == 0 and summary["sessions_written"] == 3395
    assert summary["sites"] == raw["locationId"].nunique() == 25
    assert summary["charge_points"] == raw["stationId"].nunique() == 105

    expected = (
        raw.assign(site_id="wpc-" + raw["locationId"].astype(str))
        .groupby("site_id")
        .agg(sessions=("sessionId", "size"), kwh=("kwhTotal", "sum"))
        .sort_index()
    )
    s = landed(out, "workplace_charging")
    assert_same_per_site(per_site(s), expected)
    assert s["price_incl_vat"].astype(float).sum() == pytest.approx(raw["dollars"].sum())
    assert set(s["currency"]) == {"USD"}

    # years printed 0014/0015 are 2014/2015; local America/New_York (EST/EDT) → UTC
    created = pd.to_datetime("20" + raw["created"].str[2:], format="%Y-%m-%d %H:%M:%S")
    utc = created.dt.tz_localize("America/New_York").dt.tz_convert("UTC").dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert s["plugged_in_at"].tolist() == utc.tolist()
    assert s["plugged_in_at"].iloc[0] == "2014-11-18T20:40:26Z"  # 15:40:26 EST
    hours = (s["unplug"] - s["plug"]).dt.total_seconds() / 3600
    assert hours.tolist() == pytest.approx(raw["chargeTimeHrs"].tolist(), abs=1e-6)


# ---------------------------------------------------------------- EPFL DC fast charger


def test_epfl_dc_fast(landing):
    out, summaries = landing
    summary = summaries["epfl"]
    raw = pd.read_excel(EPFL)
    assert summary["rows_read"] == len(raw) == 1878
    assert summary["rows_rejected"] == 0 and summary["sessions_written"] == 1878
    assert (summary["sites"], summary["charge_points"]) == (1, 1)

    s = landed(out, "epfl_dc_fast")
    expected = pd.DataFrame(
        {"sessions": [len(raw)], "kwh": [raw["Energy (Wh)"].sum() / 1000]},
        index=pd.Index(["epfl-dcfc"], name="site_id"),
    )
    assert_same_per_site(per_site(s), expected)
    assert s["kwh"].tolist() == pytest.approx((raw["Energy (Wh)"] / 1000).tolist())
    assert s["connector_id"].value_counts().to_dict() == {
        1: int((raw["CCS"] == "CCS1").sum()),
        2: int((raw["CCS"] == "CCS2").sum()),
    }
    utc = raw["Arrival"].dt.tz_localize("Europe/Zurich").dt.tz_convert("UTC").dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert s["plugged_in_at"].tolist() == utc.tolist()
    cp = pd.read_csv(out / "charge_points" / "epfl_dc_fast__sessions.csv", dtype=str).iloc[0]
    assert (cp["charging_type"], cp["max_power_kw"], cp["connector_count"]) == ("DC", "172.5", "2")
    assert cp["commissioned_at"] == utc.min() == "2022-04-12T17:27:00Z"


# ---------------------------------------------------------------- the pandas reference and the loader


@pytest.mark.parametrize(
    "name, path", [("norway_residential", NORWAY), ("workplace_charging", WORKPLACE), ("epfl_dc_fast", EPFL)]
)
def test_reference_reads_the_same_sessions(landing, name, path):
    """reference.py parses the raw export on its own (pandas): same sessions, instants and kWh."""
    out, _ = landing
    ref, cps, zones = load_raw_sessions(MAPPINGS / f"{name}.yml", path)
    got = landed(out, name).set_index("session_id").sort_index()
    ref = ref.set_index("session_id").sort_index()
    assert list(ref.index) == list(got.index)
    assert (ref["plug"] == got["plug"]).all() and (ref["unplug"] == got["unplug"]).all()
    assert ref["kwh"].tolist() == pytest.approx(got["kwh"].tolist())
    assert (ref["site_id"] == got["site_id"]).all()
    assert len(cps) == got["charge_point_id"].nunique()


def test_warehouse_loader_accepts_every_record(landing, tmp_path):
    """The imported landing zone passes the loader's contract checks and expectation suites."""
    from orchestration.load.loader import connect, load_source

    out, _ = landing
    con = connect(tmp_path / "build.duckdb")
    try:
        for source in ("operators", "teams", "sites", "charge_points", "sessions"):
            result = load_source(con, source, out)
            totals = result.summary()
            assert totals["files_refused"] == 0, [f.message for f in result.files]
            assert totals["rows_quarantined"] == 0, con.execute(
                "SELECT file, line, rule FROM raw._quarantine LIMIT 5"
            ).fetchall()
            assert totals["files_loaded"] == 3
        assert con.execute("SELECT count(*) FROM raw.sessions").fetchone()[0] == 6844 + 3395 + 1878
    finally:
        con.close()


def test_kwh_limit_matches_the_sessions_expectation_suite():
    suite = Path(__file__).resolve().parents[2] / "expectations" / "sessions.json"
    if not suite.exists():
        pytest.skip("no sessions expectation suite")
    for e in json.loads(suite.read_text())["expectations"]:
        kw = e.get("kwargs", {})
        if kw.get("column") == "kwh" and "max_value" in kw:
            assert KWH_MAX == kw["max_value"]
            return
    pytest.skip("the suite has no kwh range")

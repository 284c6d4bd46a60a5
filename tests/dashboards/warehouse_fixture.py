"""A small published warehouse for the dashboard tests, made without running the pipeline.

Every table of schema ``marts`` is created with exactly the columns and types its dbt contract
declares (models/marts/**/_*__models.yml, which the pipeline enforces), so the dashboards meet
the same shapes as on a real serving.duckdb. The rows are derived, with pandas, from a hand-made
little world: 2 operators (EUR, SEK), 4 teams, 3 sites, 5 charge points, three months of
sessions (April-June 2025, as_of 2025-06-30), ledger entries, hand-picked invoices, roaming CDRs
with a credit, OCPP errors, ratings, and port uptime (two ports per charge point), idle time and
peak demand. Sessions never cross midnight and never overlap on one
charge point, so the marts' splitting and union rules reduce to plain sums. The numbers are
deterministic (seeded), and internally consistent across marts, so tests can compare what a
page shows with what the marts hold.
"""

from __future__ import annotations

import atexit
import functools
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import yaml

from orchestration.publish import copy_macros

PROJECT = Path(__file__).resolve().parents[2]
AS_OF = date(2025, 6, 30)
MONTHS = [date(2025, 4, 1), date(2025, 5, 1), date(2025, 6, 1)]
FX = {"EUR": 1.0, "SEK": 11.5}

OPERATORS = [
    dict(
        operator_id="OP-A", operator_name="Alpha Charge A/S", parent_operator_id=None, country_code="DK", currency="EUR"
    ),
    dict(
        operator_id="OP-B",
        operator_name="Beta Laddning AB",
        parent_operator_id="OP-A",
        country_code="SE",
        currency="SEK",
    ),
]
TEAMS = [
    dict(team_id="T-A1", team_name="Alpha Fleet", operator_id="OP-A"),
    dict(team_id="T-A2", team_name="Alpha Retail", operator_id="OP-A"),
    dict(team_id="T-B1", team_name="Beta Taxi", operator_id="OP-B"),
    dict(team_id="T-B2", team_name="Beta Idle", operator_id="OP-B"),  # no charge points, no revenue
]
SITES = [
    dict(
        site_id="S-A1",
        site_name="Copenhagen Harbour",
        operator_id="OP-A",
        team_id="T-A1",
        city="Copenhagen",
        country_code="DK",
        latitude=55.676,
        longitude=12.568,
        time_zone="Europe/Copenhagen",
    ),
    dict(
        site_id="S-A2",
        site_name="Aarhus Mall",
        operator_id="OP-A",
        team_id="T-A2",
        city="Aarhus",
        country_code="DK",
        latitude=56.157,
        longitude=10.211,
        time_zone="Europe/Copenhagen",
    ),
    dict(
        site_id="S-B1",
        site_name="Stockholm Central",
        operator_id="OP-B",
        team_id="T-B1",
        city="Stockholm",
        country_code="SE",
        latitude=59.330,
        longitude=18.059,
        time_zone="Europe/Stockholm",
    ),
]
CHARGE_POINTS = [
    dict(
        charge_point_id="CP-1",
        site_id="S-A1",
        charging_type="AC",
        access="public",
        roaming_enabled=True,
        brand="ABB",
        model="Terra AC",
        firmware_version="1.0",
        max_power_kw=22.0,
        commissioned_date=date(2025, 4, 1),
        decommissioned_date=None,
    ),
    dict(
        charge_point_id="CP-2",
        site_id="S-A1",
        charging_type="DC",
        access="public",
        roaming_enabled=True,
        brand="Alpitronic",
        model="HYC300",
        firmware_version="2.1",
        max_power_kw=300.0,
        commissioned_date=date(2024, 11, 10),
        decommissioned_date=None,
    ),
    dict(
        charge_point_id="CP-3",
        site_id="S-A2",
        charging_type="AC",
        access="private",
        roaming_enabled=False,
        brand="Zaptec",
        model="Go",
        firmware_version="3.0",
        max_power_kw=22.0,
        commissioned_date=date(2025, 5, 3),
        decommissioned_date=None,
    ),
    dict(
        charge_point_id="CP-4",
        site_id="S-A2",
        charging_type="AC",
        access="private",
        roaming_enabled=False,
        brand="Zaptec",
        model="Go",
        firmware_version="3.0",
        max_power_kw=22.0,
        commissioned_date=date(2025, 4, 2),
        decommissioned_date=date(2025, 6, 16),
    ),
    dict(
        charge_point_id="CP-5",
        site_id="S-B1",
        charging_type="DC",
        access="public",
        roaming_enabled=True,
        brand="Alpitronic",
        model="HYC300",
        firmware_version="2.2",
        max_power_kw=300.0,
        commissioned_date=date(2025, 4, 10),
        decommissioned_date=None,
    ),
]
PLANS = [
    dict(
        plan_id="PL-A-BASIC",
        plan_name="Alpha Basic",
        operator_id="OP-A",
        price=9.0,
        currency="EUR",
        billing_period="month",
    ),
    dict(
        plan_id="PL-A-FLEET",
        plan_name="Alpha Fleet Pro",
        operator_id="OP-A",
        price=49.0,
        currency="EUR",
        billing_period="month",
    ),
    dict(
        plan_id="PL-B-TAXI",
        plan_name="Beta Taxi Plan",
        operator_id="OP-B",
        price=990.0,
        currency="SEK",
        billing_period="year",
    ),
]
# (subscription plan, team, started, ended)
SUBSCRIPTIONS = [
    ("PL-A-BASIC", "T-A2", date(2025, 4, 1), None),
    ("PL-A-FLEET", "T-A1", date(2025, 4, 1), None),
    ("PL-A-FLEET", "T-A2", date(2025, 4, 1), date(2025, 5, 20)),
    ("PL-B-TAXI", "T-B1", date(2025, 4, 15), None),
]
# Hand-picked invoices: 3 paid, 2 settled, 4 unpaid (of which 2 overdue on 2025-06-30).
INVOICES = [
    # id, operator, customer_type, customer_id, status, wallet, currency, amount, issued, due, paid
    ("INV-001", "OP-A", "team", "T-A1", "paid", "W-A1", "EUR", 120.50, "2025-04-30", "2025-05-14", "2025-05-10"),
    ("INV-002", "OP-A", "team", "T-A2", "paid", "W-A2", "EUR", 80.00, "2025-04-30", "2025-05-14", "2025-05-12"),
    ("INV-003", "OP-A", "team", "T-A1", "settled", "W-A1", "EUR", 64.25, "2025-05-31", "2025-06-14", None),
    ("INV-004", "OP-A", "team", "T-A1", "unpaid", "W-A1", "EUR", 210.00, "2025-05-31", "2025-06-10", None),
    ("INV-005", "OP-A", "operator", "OP-B", "unpaid", "W-OPB", "EUR", 500.00, "2025-06-30", "2025-07-14", None),
    ("INV-006", "OP-B", "team", "T-B1", "paid", "W-B1", "SEK", 1450.00, "2025-04-30", "2025-05-14", "2025-05-02"),
    ("INV-007", "OP-B", "team", "T-B1", "settled", "W-B1", "SEK", 980.00, "2025-05-31", "2025-06-14", None),
    ("INV-008", "OP-B", "team", "T-B1", "unpaid", "W-B1", "SEK", 1720.00, "2025-05-31", "2025-06-20", None),
    ("INV-009", "OP-B", "team", "T-B2", "unpaid", "W-B2", "SEK", 99.00, "2025-06-30", "2025-07-14", None),
]
WALLETS = {
    "W-A1": ("EUR", 35.10),
    "W-A2": ("EUR", 0.0),
    "W-OPB": ("EUR", -120.0),
    "W-B1": ("SEK", 410.0),
    "W-B2": ("SEK", 0.0),
}
BENCHMARKS = [
    ("kwh_per_cp_day", "top", ">", 220.0, 1),
    ("kwh_per_cp_day", "great", ">", 150.0, 2),
    ("kwh_per_cp_day", "poor", "<", 20.0, 3),
    ("kwh_per_cp_day", "average", "otherwise", None, 4),
    ("time_utilised_pct", "top", ">", 20.0, 1),
    ("time_utilised_pct", "great", ">", 15.0, 2),
    ("time_utilised_pct", "poor", "<", 5.0, 3),
    ("time_utilised_pct", "average", "otherwise", None, 4),
]
FAILURE_REASONS = ["GroundFailure", "ConnectorLockFailure", "EVCommunicationError", "PowerSwitchFailure"]
PROVIDERS = ["hubject", "gireve"]
EMSPS = ["DE*SHL", "NL*TNM", "SE*CLV"]
SEGMENT = ["operator_id", "team_id", "site_id", "charging_type", "access"]


def contracts() -> dict[str, list[tuple[str, str]]]:
    """{mart: [(column, data_type)]} from the dbt model YAML of models/marts."""
    out = {}
    for yml in sorted((PROJECT / "models" / "marts").rglob("_*.yml")):
        for model in (yaml.safe_load(yml.read_text()) or {}).get("models", []):
            out[model["name"]] = [(c["name"], c["data_type"]) for c in model["columns"]]
    return out


def _month(d: date) -> date:
    return d.replace(day=1)


def _months_between(first: date, last: date) -> list[date]:
    out, m = [], _month(first)
    while m <= last:
        out.append(m)
        m = (m.replace(day=28) + timedelta(days=4)).replace(day=1)
    return out


def _active(cp: dict, d: date) -> bool:
    return cp["commissioned_date"] <= d and (cp["decommissioned_date"] is None or d < cp["decommissioned_date"])


def _world():
    rng = random.Random(20250630)
    ops = pd.DataFrame(OPERATORS)
    names = ops.set_index("operator_id")["operator_name"]
    ops["parent_operator_name"] = ops["parent_operator_id"].map(names)
    ops["is_top_level"] = ops["parent_operator_id"].isna()
    teams = pd.DataFrame(TEAMS).merge(
        ops[["operator_id", "operator_name", "parent_operator_id", "parent_operator_name"]], on="operator_id"
    )
    sites = (
        pd.DataFrame(SITES)
        .merge(ops[["operator_id", "operator_name"]], on="operator_id")
        .merge(teams[["team_id", "team_name"]], on="team_id")
    )
    cps = pd.DataFrame(CHARGE_POINTS).merge(
        sites[["site_id", "operator_id", "team_id", "site_name", "time_zone"]], on="site_id"
    )
    cps["is_active"] = [_active(cp, AS_OF) for cp in cps.to_dict("records")]

    # Sessions: sequential on each charge point, within one day.
    sessions = []
    day = date(2025, 4, 1)
    n = 0
    while day <= AS_OF:
        for cp in cps.to_dict("records"):
            if not _active(cp, day):
                continue
            dc = cp["charging_type"] == "DC"
            count = rng.choice([2, 3, 4, 5] if dc else [0, 1, 1, 2, 3])
            hour = 6.0
            for _ in range(count):
                n += 1
                start = hour + rng.choice([0.5, 1.0, 1.5, 2.0])
                length = rng.choice([0.5, 0.75, 1.0] if dc else [2.0, 3.0, 4.0, 5.0])
                if start + length >= 23.5:
                    break
                hour = start + length
                failed = rng.random() < (0.12 if cp["brand"] == "Zaptec" else 0.06)
                kwh = 0.0 if failed else round(length * (rng.uniform(45, 110) if dc else rng.uniform(6, 11)), 3)
                plugged = datetime.combine(day, datetime.min.time()) + timedelta(hours=start)
                roaming = cp["roaming_enabled"] and rng.random() < 0.4
                paying = None if roaming else rng.choice([None, cp["team_id"], cp["team_id"]])
                cur = "SEK" if cp["operator_id"] == "OP-B" else "EUR"
                price = round(kwh * (4.2 if cur == "SEK" else 0.39), 4)
                sessions.append(
                    dict(
                        session_id=f"SES-{n:05d}",
                        charge_point_id=cp["charge_point_id"],
                        connector_id=1,
                        site_id=cp["site_id"],
                        operator_id=cp["operator_id"],
                        team_id=cp["team_id"],
                        paying_team_id=paying,
                        charging_type=cp["charging_type"],
                        access=cp["access"],
                        brand=cp["brand"],
                        model=cp["model"],
                        firmware_version=cp["firmware_version"],
                        state="failed" if failed else "completed",
                        is_finished=True,
                        is_completed=not failed,
                        is_failed=failed,
                        is_roaming=roaming,
                        time_zone=cp["time_zone"],
                        plugged_in_at=plugged,
                        charging_started_at=None if failed else plugged,
                        # charged for 40-95 % of the stay (the rest idle), spread without drawing randomness
                        charging_ended_at=None
                        if failed
                        else plugged + timedelta(hours=length * (0.4 + 0.55 * ((n * 37) % 100) / 100)),
                        unplugged_at=plugged + timedelta(hours=length),
                        failed_at=plugged if failed else None,
                        plugged_in_date=day,
                        plugged_in_month=_month(day),
                        unplugged_date=day,
                        failure_reason=rng.choice(FAILURE_REASONS) if failed else None,
                        stop_reason=None if failed else "EVDisconnected",
                        kwh=kwh,
                        occupied_hours=length,
                        price_excl_vat=price,
                        price_incl_vat=round(price * 1.25, 4),
                        currency=cur,
                        updated_at=plugged + timedelta(hours=length),
                    )
                )
        day += timedelta(days=1)
    # one in-progress session (counts in no metric)
    last = dict(sessions[-1])
    last.update(
        session_id="SES-99999",
        state="in_progress",
        is_finished=False,
        is_completed=False,
        is_failed=False,
        unplugged_at=None,
        occupied_hours=None,
        kwh=0.0,
        failure_reason=None,
    )
    sessions.append(last)
    ses = pd.DataFrame(sessions)
    return rng, ops, teams, sites, cps, ses


def build_tables(as_of: date = AS_OF) -> dict[str, pd.DataFrame]:
    rng, ops, teams, sites, cps, ses = _world()
    cm = _month(as_of)
    fin = ses[ses["is_finished"]].copy()
    t: dict[str, pd.DataFrame] = {}

    # ---- dims
    t["dim_operators"] = ops.assign(updated_at=datetime(2025, 1, 1))
    t["dim_teams"] = teams.assign(created_at=datetime(2024, 1, 1), updated_at=datetime(2025, 1, 1))
    site_cp = (
        cps.groupby("site_id")
        .agg(charge_points=("charge_point_id", "count"), active_charge_points=("is_active", "sum"))
        .reset_index()
    )
    t["dim_sites"] = sites.merge(site_cp, on="site_id", how="left").assign(
        address="Street 1", postal_code="1000", created_at=datetime(2024, 1, 1)
    )
    t["dim_charge_points"] = cps.assign(
        connector_count=2,
        commissioned_at=pd.to_datetime(cps["commissioned_date"]),
        decommissioned_at=pd.to_datetime(cps["decommissioned_date"]),
        commissioned_month=[_month(d) for d in cps["commissioned_date"]],
    )
    plans = pd.DataFrame(PLANS).merge(
        ops[["operator_id", "operator_name", "parent_operator_id", "parent_operator_name"]], on="operator_id"
    )
    t["dim_plans"] = plans.assign(updated_at=datetime(2025, 1, 1))
    t["fct_charge_sessions"] = ses

    # ---- charge points dashboard
    t["cp_status_splits"] = (
        cps.groupby(SEGMENT + ["roaming_enabled", "is_active"]).size().rename("charge_points").reset_index()
    )
    seg_rows = []
    for key, grp in cps.groupby(SEGMENT):
        first = min(grp["commissioned_date"])
        cum_new = cum_dec = 0
        for m in _months_between(first, cm):
            new = sum(_month(d) == m for d in grp["commissioned_date"])
            dec = sum(d is not None and not pd.isna(d) and _month(d) == m for d in grp["decommissioned_date"])
            cum_new, cum_dec = cum_new + new, cum_dec + dec
            seg_rows.append(
                dict(
                    zip(SEGMENT, key),
                    month=m,
                    new_charge_points=new,
                    decommissioned_charge_points=dec,
                    total_charge_points=cum_new - cum_dec,
                    cumulative_new_charge_points=cum_new,
                )
            )
    t["cp_counts_monthly"] = pd.DataFrame(seg_rows)
    act_rows = []
    for key, grp in cps.groupby(SEGMENT):
        s = fin[fin["charge_point_id"].isin(grp["charge_point_id"])]
        run = dict(s=0, c=0, k=0.0)
        for m in _months_between(min(grp["commissioned_date"]), cm):
            sm = s[s["plugged_in_month"] == m]
            run["s"] += len(sm)
            run["c"] += int(sm["is_completed"].sum())
            run["k"] += float(sm["kwh"].sum())
            act_rows.append(
                dict(
                    zip(SEGMENT, key),
                    month=m,
                    sessions=len(sm),
                    completed_sessions=int(sm["is_completed"].sum()),
                    failed_sessions=int(sm["is_failed"].sum()),
                    kwh=float(sm["kwh"].sum()),
                    running_sessions=run["s"],
                    running_completed_sessions=run["c"],
                    running_kwh=run["k"],
                )
            )
    t["cp_activity_monthly"] = pd.DataFrame(act_rows)
    rat = []
    for cp in cps.to_dict("records"):
        for m in MONTHS:
            if m < _month(cp["commissioned_date"]):
                continue
            stars = [rng.choice([3, 4, 4, 5, 5, 2]) for _ in range(rng.randint(1, 6))]
            rat.append(
                dict(
                    {k: cp[k] for k in SEGMENT + ["charge_point_id"]},
                    month=m,
                    ratings=len(stars),
                    total_stars=sum(stars),
                    average_stars=sum(stars) / len(stars),
                )
            )
    t["cp_ratings_monthly"] = pd.DataFrame(rat)

    def summary(by, frame):
        cp_n = cps.groupby(by).agg(
            charge_points=("charge_point_id", "count"), active_charge_points=("is_active", "sum")
        )
        tm = fin[fin["plugged_in_month"] == cm]
        out = (
            frame.set_index(by)
            .join(cp_n)
            .join(
                tm.groupby(by).agg(
                    sessions_this_month=("session_id", "count"), completed_sessions_this_month=("is_completed", "sum")
                )
            )
            .join(
                fin.groupby(by).agg(
                    total_sessions=("session_id", "count"), total_completed_sessions=("is_completed", "sum")
                )
            )
        )
        return out.fillna(0).reset_index().assign(as_of_month=cm)

    t["cp_team_summary"] = summary("team_id", teams[["team_id", "team_name", "operator_id"]])
    t["cp_site_summary"] = summary(
        "site_id", sites[["site_id", "site_name", "operator_id", "team_id", "city", "country_code"]]
    )

    # ---- failed charges
    def failed_agg(frame, by):
        g = (
            frame.groupby(by, dropna=False)
            .agg(
                total_sessions=("session_id", "count"),
                completed_sessions=("is_completed", "sum"),
                failed_sessions=("is_failed", "sum"),
            )
            .reset_index()
        )
        g["failed_pct"] = 100.0 * g["failed_sessions"] / g["total_sessions"]
        return g

    fd = fin.rename(columns={"plugged_in_date": "date", "plugged_in_month": "month"})
    t["failed_charges_daily"] = failed_agg(fd, ["date", "month", "operator_id", "team_id", "site_id"]).merge(
        sites[["site_id", "site_name"]], on="site_id"
    )
    t["failed_charges_by_charge_point_daily"] = failed_agg(
        fd, ["date", "month", "charge_point_id", "brand", "model", "firmware_version"] + SEGMENT
    )
    t["failed_charges_by_hardware"] = failed_agg(fd, ["month", "brand", "model", "firmware_version"])
    t["failed_charges_by_reason_monthly"] = (
        fd[fd["is_failed"]]
        .groupby(SEGMENT + ["month", "failure_reason"])
        .size()
        .rename("failed_sessions")
        .reset_index()
    )
    err = []
    for cp in cps.to_dict("records"):
        for _ in range(6 if cp["brand"] == "Zaptec" else 3):
            d = date(2025, 4, 5) + timedelta(days=rng.randint(0, 80))
            err.append(
                dict(
                    {k: cp[k] for k in SEGMENT + ["charge_point_id"]},
                    date=d,
                    month=_month(d),
                    error_code=rng.choice(["GroundFailure", "OverCurrentFailure", "ConnectorLockFailure"]),
                    error_count=rng.randint(1, 4),
                )
            )
    t["ocpp_errors_daily"] = (
        pd.DataFrame(err)
        .groupby(SEGMENT + ["charge_point_id", "date", "month", "error_code"])
        .agg(error_count=("error_count", "sum"))
        .reset_index()
    )

    # ---- site utilization
    cpd = []
    for cp in cps.to_dict("records"):
        d = date(2025, 4, 1)
        while d <= as_of:
            s = fin[(fin["charge_point_id"] == cp["charge_point_id"]) & (fin["plugged_in_date"] == d)]
            active = _active(cp, d)
            if active or len(s):
                occ = float(s["occupied_hours"].sum())
                cpd.append(
                    dict(
                        {k: cp[k] for k in SEGMENT + ["charge_point_id", "roaming_enabled"]},
                        date=d,
                        month=_month(d),
                        is_active=active,
                        cp_days=int(active),
                        day_hours=24.0,
                        available_hours=24.0 if active else 0.0,
                        kwh=float(s["kwh"].sum()),
                        occupied_hours=occ if active else 0.0,
                        total_occupied_hours=occ,
                        sessions=len(s),
                        completed_sessions=int(s["is_completed"].sum()),
                        failed_sessions=int(s["is_failed"].sum()),
                    )
                )
            d += timedelta(days=1)
    cpu = pd.DataFrame(cpd)
    cpu["kwh_per_cp_day"] = cpu["kwh"] / cpu["cp_days"].where(cpu["cp_days"] > 0)
    cpu["time_utilised_pct"] = 100.0 * cpu["occupied_hours"] / cpu["available_hours"].where(cpu["available_hours"] > 0)
    t["cp_utilization_daily"] = cpu
    sd = (
        cpu.groupby(["site_id", "date", "month"])
        .agg(
            active_charge_points=("cp_days", "sum"),
            available_hours=("available_hours", "sum"),
            kwh=("kwh", "sum"),
            occupied_hours=("occupied_hours", "sum"),
            sessions=("sessions", "sum"),
        )
        .reset_index()
    )
    sd = sd[sd["active_charge_points"] > 0]
    sd["kwh_per_cp_day"] = sd["kwh"] / sd["active_charge_points"]
    sd["time_utilised_pct"] = 100.0 * sd["occupied_hours"] / sd["available_hours"]
    t["site_utilization_daily"] = sd.merge(sites[["site_id", "site_name", "operator_id", "team_id"]], on="site_id")
    sm = (
        cpu.groupby(["site_id", "month"])
        .agg(
            cp_days=("cp_days", "sum"),
            available_hours=("available_hours", "sum"),
            kwh=("kwh", "sum"),
            occupied_hours=("occupied_hours", "sum"),
            sessions=("sessions", "sum"),
        )
        .reset_index()
    )
    sm = sm[sm["cp_days"] > 0]
    sm["kwh_per_cp_day"] = sm["kwh"] / sm["cp_days"]
    sm["time_utilised_pct"] = 100.0 * sm["occupied_hours"] / sm["available_hours"]
    bench = pd.DataFrame(BENCHMARKS, columns=["metric", "tier", "comparison", "threshold", "evaluation_order"])
    t["site_utilization_benchmarks"] = bench

    def tier(v, metric):
        for r in bench[bench["metric"] == metric].itertuples():
            if (
                r.comparison == "otherwise"
                or (r.comparison == ">" and v > r.threshold)
                or (r.comparison == "<" and v < r.threshold)
            ):
                return r.tier

    sm["kwh_tier"] = [tier(v, "kwh_per_cp_day") for v in sm["kwh_per_cp_day"]]
    sm["time_tier"] = [tier(v, "time_utilised_pct") for v in sm["time_utilised_pct"]]
    t["site_utilization_monthly"] = sm.merge(sites[["site_id", "site_name", "operator_id", "team_id"]], on="site_id")

    # ---- roaming
    rs = (
        fd[fd["is_roaming"]]
        .groupby(["date", "month", "site_id"])
        .agg(
            roaming_sessions=("session_id", "count"),
            successful_sessions=("is_completed", "sum"),
            failed_sessions=("is_failed", "sum"),
        )
        .reset_index()
    )
    rs["success_pct"] = 100.0 * rs["successful_sessions"] / rs["roaming_sessions"]
    t["roaming_sessions_daily"] = rs.merge(sites[["site_id", "site_name", "operator_id", "team_id"]], on="site_id")
    cdrs = fd[fd["is_roaming"] & fd["is_completed"]].copy()
    cdrs["provider"] = [PROVIDERS[i % 2] for i in range(len(cdrs))]
    cdrs["emsp_party"] = [EMSPS[i % 3] for i in range(len(cdrs))]
    cdrs["cdr_sign"] = 1
    cdrs["revenue"] = cdrs["price_excl_vat"]
    cdrs["revenue_incl_vat"] = cdrs["price_incl_vat"]
    credit = cdrs.iloc[[0]].copy()  # the first CDR is cancelled by a credit CDR
    credit["cdr_sign"] = -1
    for c in ("kwh", "revenue", "revenue_incl_vat"):
        credit[c] = -credit[c]
    allc = pd.concat([cdrs, credit])
    allc["revenue_eur"] = allc["revenue"] / allc["currency"].map(FX)
    allc["credit_cdrs"] = (allc["cdr_sign"] < 0).astype(int)
    allc = allc.rename(columns={"cdr_sign": "cdrs"})
    keys = ["date", "month", "site_id", "provider", "emsp_party", "currency"]
    meas = dict(
        cdrs=("cdrs", "sum"),
        credit_cdrs=("credit_cdrs", "sum"),
        kwh=("kwh", "sum"),
        revenue=("revenue", "sum"),
        revenue_incl_vat=("revenue_incl_vat", "sum"),
        revenue_eur=("revenue_eur", "sum"),
    )
    loc = sites[["site_id", "site_name", "operator_id", "team_id", "latitude", "longitude", "city", "country_code"]]
    t["roaming_daily"] = allc.groupby(keys).agg(**meas).reset_index().merge(loc, on="site_id")
    t["roaming_charge_points_daily"] = (
        allc.groupby(keys + ["charge_point_id", "charging_type", "access", "operator_id", "team_id"])
        .agg(**{k: v for k, v in meas.items() if k != "revenue_incl_vat"})
        .reset_index()
    )
    rl = (
        allc.groupby(["site_id", "currency"])
        .agg(
            cdrs=("cdrs", "sum"),
            kwh=("kwh", "sum"),
            revenue=("revenue", "sum"),
            revenue_eur=("revenue_eur", "sum"),
            first_cdr_date=("date", "min"),
            last_cdr_date=("date", "max"),
        )
        .reset_index()
    )
    rl["charge_points"] = rl["site_id"].map(cdrs.groupby("site_id")["charge_point_id"].nunique())
    t["roaming_locations"] = rl.merge(loc, on="site_id")

    # ---- ledger, revenue, team revenue
    led = []
    for s in fin[fin["is_completed"] & ~fin["is_roaming"]].to_dict("records"):
        led.append(
            dict(
                operator_id=s["operator_id"],
                team_id=s["paying_team_id"],
                plan_id=None,
                kind="charge",
                currency=s["currency"],
                amount=s["price_excl_vat"],
                booked_date=s["plugged_in_date"],
                session_id=s["session_id"],
                charge_point_id=s["charge_point_id"],
                site_id=s["site_id"],
                charging_type=s["charging_type"],
                access=s["access"],
            )
        )
    plan_of = {p["plan_id"]: p for p in PLANS}
    for plan_id, team_id, started, ended in SUBSCRIPTIONS:
        p = plan_of[plan_id]
        for m in MONTHS:
            if started <= m.replace(day=28) and (ended is None or ended > m):
                amount = p["price"] if p["billing_period"] == "month" else (p["price"] if m == _month(started) else 0)
                if amount:
                    led.append(
                        dict(
                            operator_id=p["operator_id"],
                            team_id=team_id,
                            plan_id=plan_id,
                            kind="subscription",
                            currency=p["currency"],
                            amount=amount,
                            booked_date=max(m, started),
                        )
                    )
    for team in TEAMS[:3]:
        cur = "SEK" if team["operator_id"] == "OP-B" else "EUR"
        for m in MONTHS:
            led.append(
                dict(
                    operator_id=team["operator_id"],
                    team_id=team["team_id"],
                    kind="fee",
                    currency=cur,
                    amount=25.0 if cur == "EUR" else 250.0,
                    booked_date=m + timedelta(days=27),
                )
            )
    led += [
        dict(
            operator_id="OP-A",
            team_id="T-A1",
            kind="write_off",
            currency="EUR",
            amount=-15.0,
            booked_date=date(2025, 5, 31),
        ),
        dict(
            operator_id="OP-B",
            team_id="T-B1",
            kind="tax_refund",
            currency="SEK",
            amount=120.0,
            booked_date=date(2025, 6, 15),
        ),
        dict(
            operator_id="OP-A",
            team_id="T-A2",
            kind="intercompany_transfer",
            currency="EUR",
            amount=40.0,
            booked_date=date(2025, 4, 20),
        ),
        dict(
            operator_id="OP-A", team_id=None, kind="fee", currency="EUR", amount=10.0, booked_date=date(2025, 6, 2)
        ),  # operator-level entry without a paying team
    ]
    ledger = pd.DataFrame(led)
    for c in ("team_id", "plan_id", "session_id", "charge_point_id", "site_id", "charging_type", "access"):
        ledger[c] = ledger.get(c).astype(object).where(ledger.get(c).notna(), None)
    ledger["entry_id"] = [f"LE-{i:05d}" for i in range(len(ledger))]
    ledger["booked_at"] = pd.to_datetime(ledger["booked_date"]) + pd.Timedelta(hours=12)
    ledger["booked_month"] = [_month(d) for d in ledger["booked_date"]]
    ledger["fx_rate"] = ledger["currency"].map(FX)
    ledger["revenue_eur"] = ledger["amount"] / ledger["fx_rate"]
    t["fct_ledger_entries"] = ledger
    lm = ledger.rename(columns={"booked_month": "month"})
    rm = (
        lm.groupby(["month", "operator_id", "team_id", "plan_id", "kind", "currency"], dropna=False)
        .agg(revenue=("amount", "sum"), revenue_eur=("revenue_eur", "sum"), entry_count=("entry_id", "count"))
        .reset_index()
    )
    rm["year"] = [m.year for m in rm["month"]]
    rm = (
        rm.merge(ops[["operator_id", "operator_name", "parent_operator_id", "parent_operator_name"]], on="operator_id")
        .merge(teams[["team_id", "team_name"]], on="team_id", how="left")
        .merge(plans[["plan_id", "plan_name"]], on="plan_id", how="left")
    )
    t["revenue_monthly"] = rm

    def running(frame, key, cols, first_col="month"):
        rows = []
        for k, g in frame.groupby(key):
            g = g.set_index("month")
            acc = {c: 0.0 for c in cols}
            for m in _months_between(min(g.index), max(cm, max(g.index))):
                r = dict(zip(key, k), month=m)
                for c in cols:
                    v = float(g.loc[m, c]) if m in g.index else 0.0
                    acc[c] += v
                    r[c] = v
                    r["running_" + c] = acc[c]
                rows.append(r)
        return pd.DataFrame(rows)

    by_op = (
        lm.groupby(["month", "operator_id", "currency"])
        .agg(revenue=("amount", "sum"), revenue_eur=("revenue_eur", "sum"))
        .reset_index()
    )
    rro = running(by_op, ["operator_id", "currency"], ["revenue", "revenue_eur"])
    rro["year"] = [m.year for m in rro["month"]]
    t["revenue_running_by_operator"] = rro.merge(
        ops[["operator_id", "operator_name", "parent_operator_id", "parent_operator_name"]], on="operator_id"
    )
    ro = (
        by_op.groupby(["operator_id", "currency"])
        .apply(
            lambda g: pd.Series(
                dict(
                    revenue_current_month=g.loc[g["month"] == cm, "revenue"].sum(),
                    revenue_past_months=g.loc[g["month"] < cm, "revenue"].sum(),
                    total_revenue=g["revenue"].sum(),
                    revenue_current_month_eur=g.loc[g["month"] == cm, "revenue_eur"].sum(),
                    revenue_past_months_eur=g.loc[g["month"] < cm, "revenue_eur"].sum(),
                    total_revenue_eur=g["revenue_eur"].sum(),
                    first_revenue_month=g["month"].min(),
                    last_revenue_month=g["month"].max(),
                )
            )
        )
        .reset_index()
    )
    t["revenue_operators"] = ro.merge(
        ops[["operator_id", "operator_name", "parent_operator_id", "parent_operator_name"]], on="operator_id"
    ).assign(current_month=cm)
    tl = lm[lm["team_id"].notna()]
    pt = (
        tl.groupby(["team_id", "currency"])
        .apply(
            lambda g: pd.Series(
                dict(
                    revenue_current_month=g.loc[g["month"] == cm, "amount"].sum(),
                    total_revenue=g["amount"].sum(),
                    revenue_current_month_eur=g.loc[g["month"] == cm, "revenue_eur"].sum(),
                    total_revenue_eur=g["revenue_eur"].sum(),
                    entry_count=len(g),
                    first_revenue_month=g["month"].min(),
                    last_revenue_month=g["month"].max(),
                )
            )
        )
        .reset_index()
    )
    t["revenue_paying_teams"] = pt.merge(teams, on="team_id").assign(current_month=cm)
    subs = pd.DataFrame(SUBSCRIPTIONS, columns=["plan_id", "team_id", "started", "ended"])
    subs["active"] = [
        (s <= date(2025, 6, 30)) and (e is None or e >= cm) for s, e in zip(subs["started"], subs["ended"])
    ]
    rp = (
        plans.set_index("plan_id")
        .join(
            subs.groupby("plan_id").agg(
                subscriptions=("team_id", "count"), active_subscriptions_this_month=("active", "sum")
            )
        )
        .fillna({"subscriptions": 0, "active_subscriptions_this_month": 0})
        .reset_index()
    )
    t["revenue_plans"] = rp.assign(current_month=cm)
    kinds = {
        "fee": "fees",
        "charge": "charges",
        "subscription": "subscriptions",
        "write_off": "write_offs",
        "intercompany_transfer": "intercompany_transfers",
        "tax_refund": "tax_refunds",
    }
    tk = tl.assign(col=tl["kind"].map(kinds)).pivot_table(
        index=["month", "team_id", "currency"], columns="col", values="amount", aggfunc="sum", fill_value=0.0
    )
    tk = tk.reindex(columns=list(kinds.values()), fill_value=0.0).reset_index()
    tk["total_revenue"] = tk[list(kinds.values())].sum(axis=1)
    tk = tk.merge(
        tl.groupby(["month", "team_id", "currency"]).agg(total_revenue_eur=("revenue_eur", "sum")).reset_index(),
        on=["month", "team_id", "currency"],
    )
    trm = running(tk, ["team_id", "currency"], list(kinds.values()) + ["total_revenue", "total_revenue_eur"])
    trm = trm.rename(
        columns={"running_total_revenue": "running_revenue", "running_total_revenue_eur": "running_revenue_eur"}
    )
    trm["year"] = [m.year for m in trm["month"]]
    t["team_revenue_monthly"] = trm.merge(teams, on="team_id")
    ttr = []
    for team in teams.to_dict("records"):
        g = pt[pt["team_id"] == team["team_id"]]
        if len(g):
            for r in g.to_dict("records"):
                ttr.append(
                    dict(
                        team,
                        currency=r["currency"],
                        revenue_current_month=r["revenue_current_month"],
                        revenue_current_month_eur=r["revenue_current_month_eur"],
                        total_revenue=r["total_revenue"],
                        total_revenue_eur=r["total_revenue_eur"],
                        has_revenue=True,
                    )
                )
        else:
            cur = ops.set_index("operator_id").at[team["operator_id"], "currency"]
            ttr.append(
                dict(
                    team,
                    currency=cur,
                    revenue_current_month=0.0,
                    revenue_current_month_eur=0.0,
                    total_revenue=0.0,
                    total_revenue_eur=0.0,
                    has_revenue=False,
                )
            )
    t["team_revenue_teams"] = pd.DataFrame(ttr).assign(current_month=cm)

    # ---- reliability and operations
    t.update(_reliability_tables(rng, cps, sites, fin, as_of))

    # ---- invoices
    inv = pd.DataFrame(
        INVOICES,
        columns=[
            "invoice_id",
            "operator_id",
            "customer_type",
            "customer_id",
            "status",
            "wallet_id",
            "currency",
            "payable_amount",
            "issued",
            "due",
            "paid",
        ],
    )
    inv["issued_at"] = pd.to_datetime(inv["issued"]) + pd.Timedelta(hours=9)
    inv["due_at"] = pd.to_datetime(inv["due"]) + pd.Timedelta(hours=23)
    inv["due_date"] = [d.date() for d in inv["due_at"]]
    inv["paid_at"] = pd.to_datetime(inv["paid"])
    inv["period_from"] = [pd.Timestamp(d.replace(day=1)) for d in inv["issued_at"]]
    inv["period_to"] = inv["issued_at"].dt.normalize()
    inv["days_overdue"] = [
        max(0, (as_of - d).days) if s == "unpaid" else 0 for s, d in zip(inv["status"], inv["due_date"])
    ]
    inv["wallet_currency"] = inv["wallet_id"].map(lambda w: WALLETS[w][0])
    inv["wallet_balance"] = inv["wallet_id"].map(lambda w: WALLETS[w][1])
    inv["wallet_balance_at"] = datetime(2025, 6, 29)
    inv["updated_at"] = inv["issued_at"]
    cust = {**teams.set_index("team_id")["team_name"].to_dict(), **ops.set_index("operator_id")["operator_name"]}
    inv["customer_name"] = inv["customer_id"].map(cust)
    inv = inv.merge(
        ops[["operator_id", "operator_name", "parent_operator_id", "parent_operator_name"]], on="operator_id"
    )
    t["invoices"] = inv
    ss = []
    for (op_id, cur), g in inv.groupby(["operator_id", "currency"]):
        for status in ("paid", "settled", "unpaid"):
            gs = g[g["status"] == status]
            od = gs[gs["days_overdue"] > 0]
            ss.append(
                dict(
                    operator_id=op_id,
                    currency=cur,
                    status=status,
                    invoice_count=len(gs),
                    payable_amount=float(gs["payable_amount"].sum()),
                    overdue_invoice_count=len(od),
                    overdue_amount=float(od["payable_amount"].sum()),
                    max_days_overdue=int(gs["days_overdue"].max()) if len(gs) else 0,
                )
            )
    t["invoice_status_summary"] = pd.DataFrame(ss).merge(
        ops[["operator_id", "operator_name", "parent_operator_id", "parent_operator_name"]], on="operator_id"
    )
    return t


def _reliability_tables(
    rng, cps: pd.DataFrame, sites: pd.DataFrame, fin: pd.DataFrame, as_of: date
) -> dict[str, pd.DataFrame]:
    """Port uptime (two ports per charge point; CP-3 a lemon that misses NEVI, CP-5 a rapid one
    with a long fault), rapid-charger reliability, idle time and peak demand, as the reliability
    marts define them (DESIGN.md section 5)."""
    t: dict[str, pd.DataFrame] = {}
    rows = []
    outage_rate = {"CP-1": 0.04, "CP-2": 0.08, "CP-3": 0.35, "CP-4": 0.05, "CP-5": 0.1}
    for cp in cps.to_dict("records"):
        d = max(date(2025, 4, 1), cp["commissioned_date"])
        while d <= as_of:
            if _active(cp, d):
                for conn in (1, 2):
                    outage = excluded = 0.0
                    if rng.random() < outage_rate[cp["charge_point_id"]]:
                        outage = float(rng.choice([12, 45, 90, 240, 600]))
                    if rng.random() < 0.03:  # a maintenance window
                        excluded = float(rng.choice([60, 120]))
                        outage += excluded
                    if cp["charge_point_id"] == "CP-5" and date(2025, 5, 12) <= d <= date(2025, 5, 14):
                        outage = 1440.0  # dead for three days
                    rows.append(
                        dict(
                            {k: cp[k] for k in SEGMENT + ["charge_point_id"]},
                            date=d,
                            month=_month(d),
                            connector_id=conn,
                            period_minutes=1440.0,
                            outage_minutes=outage,
                            excluded_minutes=excluded,
                        )
                    )
            d += timedelta(days=1)
    cu = pd.DataFrame(rows)
    cu["uptime_pct"] = (
        100.0 * (cu["period_minutes"] - (cu["outage_minutes"] - cu["excluded_minutes"])) / cu["period_minutes"]
    )
    t["connector_uptime_daily"] = cu
    window = cu[(cu["date"] > as_of - timedelta(days=365)) & (cu["date"] <= as_of)]
    tr = (
        window.groupby(["charge_point_id", "connector_id"])
        .agg(
            first_date=("date", "min"),
            last_date=("date", "max"),
            active_days=("date", "count"),
            period_minutes=("period_minutes", "sum"),
            outage_minutes=("outage_minutes", "sum"),
            excluded_minutes=("excluded_minutes", "sum"),
        )
        .reset_index()
    )
    tr["uptime_pct"] = (
        100.0 * (tr["period_minutes"] - (tr["outage_minutes"] - tr["excluded_minutes"])) / tr["period_minutes"]
    )
    tr["meets_nevi_97"] = tr["uptime_pct"] > 97
    t["charge_point_uptime_trailing"] = tr.merge(
        cps[SEGMENT + ["charge_point_id", "max_power_kw"]], on="charge_point_id"
    ).assign(as_of_date=as_of, window_start=as_of - timedelta(days=364))
    port_year = (
        cu.assign(year=[d.year for d in cu["date"]])
        .groupby(["year", "charge_point_id", "connector_id"])
        .agg(p=("period_minutes", "sum"), o=("outage_minutes", "sum"), e=("excluded_minutes", "sum"))
        .reset_index()
    )
    port_year["u"] = 100.0 * (port_year["p"] - (port_year["o"] - port_year["e"])) / port_year["p"]
    cp_year = port_year.groupby(["year", "charge_point_id"])["u"].mean().reset_index()
    rapid = cps[(cps["charging_type"] == "DC") & (cps["max_power_kw"] >= 50)][["charge_point_id", "operator_id"]]
    ny = (
        cp_year.merge(rapid, on="charge_point_id")
        .groupby(["year", "operator_id"])
        .agg(
            rapid_charge_points=("u", "count"),
            average_uptime_pct=("u", "mean"),
            lowest_uptime_pct=("u", "min"),
            charge_points_below_99=("u", lambda v: int((v < 99).sum())),
        )
        .reset_index()
    )
    ny["meets_uk_99"] = ny["average_uptime_pct"] >= 99
    ny["first_date"], ny["last_date"], ny["is_complete_year"] = date(2025, 4, 1), as_of, False
    t["network_reliability_yearly"] = ny

    # idle time (unplugged - charging ended, 0 without a charging end) on the plug-in date
    ses = fin.copy()
    ended = ses["charging_ended_at"].notna()
    ses["idle_s"] = 0.0
    ses.loc[ended, "idle_s"] = (
        (ses.loc[ended, "unplugged_at"] - ses.loc[ended, "charging_ended_at"]).dt.total_seconds().clip(lower=0)
    )
    ses["idle_over_1h"] = ses["idle_s"] > 3600
    ops = (
        ses.groupby(["plugged_in_date", "charge_point_id"])
        .agg(sessions=("session_id", "count"), idle_s=("idle_s", "sum"), sessions_idle_over_1h=("idle_over_1h", "sum"))
        .reset_index()
        .rename(columns={"plugged_in_date": "date"})
    )
    ops["idle_hours"] = ops["idle_s"] / 3600.0
    ops["month"] = [_month(d) for d in ops["date"]]
    t["charge_point_operations_daily"] = ops.merge(cps[SEGMENT + ["charge_point_id"]], on="charge_point_id")
    # peak demand: completed sessions' kWh spread over their charging interval, 15-minute slots
    slot_kwh: dict[tuple[str, datetime], float] = {}
    site_of = cps.set_index("charge_point_id")["site_id"].to_dict()
    for r in ses[ses["is_completed"] & (ses["kwh"] > 0)].to_dict("records"):
        a, b = r["charging_started_at"], r["charging_ended_at"]
        kw = r["kwh"] / ((b - a).total_seconds() / 3600)
        slot = a.replace(minute=a.minute - a.minute % 15, second=0, microsecond=0)
        while slot < b:
            end = slot + timedelta(minutes=15)
            key = (site_of[r["charge_point_id"]], slot)
            slot_kwh[key] = slot_kwh.get(key, 0.0) + kw * (min(b, end) - max(a, slot)).total_seconds() / 3600
            slot = end
    demand = pd.DataFrame(
        [(k[0], k[1], v * 4) for k, v in slot_kwh.items()], columns=["site_id", "peak_slot_start", "peak_demand_kw"]
    )
    demand["date"] = [ts.date() for ts in demand["peak_slot_start"]]
    demand = demand.sort_values(
        ["site_id", "date", "peak_demand_kw", "peak_slot_start"], ascending=[True, True, False, True]
    ).drop_duplicates(["site_id", "date"])
    demand["peak_slot_start_utc"] = demand["peak_slot_start"] - pd.Timedelta(hours=2)  # CEST
    active = []
    for cp in cps.to_dict("records"):
        d = date(2025, 4, 1)
        while d <= as_of:
            if _active(cp, d):
                active.append(dict(site_id=cp["site_id"], date=d, power=cp["max_power_kw"]))
            d += timedelta(days=1)
    inst = (
        pd.DataFrame(active)
        .groupby(["site_id", "date"])
        .agg(active_charge_points=("power", "count"), installed_power_kw=("power", "sum"))
        .reset_index()
    )
    site_ops = (
        ops.merge(cps[["charge_point_id", "site_id"]], on="charge_point_id")
        .groupby(["site_id", "date"])
        .agg(
            sessions=("sessions", "sum"),
            idle_hours=("idle_hours", "sum"),
            sessions_idle_over_1h=("sessions_idle_over_1h", "sum"),
        )
        .reset_index()
    )
    so = inst.merge(site_ops, on=["site_id", "date"], how="outer").merge(demand, on=["site_id", "date"], how="left")
    so = so.fillna(
        {
            "active_charge_points": 0,
            "installed_power_kw": 0.0,
            "sessions": 0,
            "idle_hours": 0.0,
            "sessions_idle_over_1h": 0,
            "peak_demand_kw": 0.0,
        }
    )
    so["month"] = [_month(d) for d in so["date"]]
    t["site_operations_daily"] = so.merge(sites[["site_id", "operator_id", "team_id"]], on="site_id")
    return t


def build_serving(
    path: Path, as_of: date = AS_OF, *, tables: dict[str, pd.DataFrame] | None = None, run_id: str = "fixture-run"
) -> dict[str, pd.DataFrame]:
    """Write the fixture warehouse to ``path`` (schema marts, contract columns and types) the way
    publishing does: a new file renamed onto the path. Returns the tables written."""
    tables = build_tables(as_of) if tables is None else tables
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{run_id}.tmp")
    tmp.unlink(missing_ok=True)
    con = duckdb.connect(str(tmp))
    try:
        con.execute("CREATE SCHEMA marts")
        counts = {}
        for name, cols in contracts().items():
            con.execute(f'CREATE TABLE marts."{name}" (' + ", ".join(f'"{c}" {ty}' for c, ty in cols) + ")")
            df = tables.get(name)
            if df is not None and len(df):
                df = df[[c for c, _ in cols if c in df.columns]]
                con.register("src_df", df)
                con.execute(f'INSERT INTO marts."{name}" BY NAME SELECT * FROM src_df')
                con.unregister("src_df")
            counts[f"marts.{name}"] = con.execute(f'SELECT count(*) FROM marts."{name}"').fetchone()[0]
        con.execute(
            "CREATE TABLE marts._publish_info (run_id VARCHAR, as_of_date DATE, published_at TIMESTAMP, "
            "table_row_counts JSON)"
        )
        con.execute(
            "INSERT INTO marts._publish_info VALUES (?, ?, ?, ?)",
            [run_id, as_of, datetime(2025, 7, 1, 6, 0), json.dumps(counts)],
        )
        con.execute("CHECKPOINT")
    finally:
        con.close()
    _add_formulas(tmp)
    os.replace(tmp, path)
    return tables


def _add_formulas(path: Path) -> None:
    """Copy the published formulas (marts.failed_pct, marts.benchmark_tier, ...) into the file
    the way publishing does (orchestration.publish.copy_macros), from a database where dbt made
    them (formulas_db)."""
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH '{formulas_db()}' AS build (READ_ONLY)")
        con.execute(f"ATTACH '{path}' AS serving")
        copy_macros(con, "build", "serving")
        con.execute("CHECKPOINT serving")
    finally:
        con.close()


@functools.cache
def formulas_db() -> Path:
    """A build database holding the published formulas exactly as a build makes them: `dbt
    run-operation create_serving_macros` (the on-run-end hook's macro) on an empty marts schema
    with the benchmark rules table. Once per test process; dbt parses partially from the
    project's target/ (tests/conftest.py parses it first), in a scratch directory whose
    warehouse/build.duckdb is the profile's default path, so the profile is the parsed one."""
    scratch = Path(tempfile.mkdtemp(prefix="serving-formulas-"))
    atexit.register(shutil.rmtree, scratch, ignore_errors=True)
    build = scratch / "warehouse" / "build.duckdb"
    build.parent.mkdir()
    con = duckdb.connect(str(build))
    try:
        con.execute("CREATE SCHEMA marts")
        cols = contracts()["site_utilization_benchmarks"]
        con.execute(
            "CREATE TABLE marts.site_utilization_benchmarks (" + ", ".join(f'"{c}" {ty}' for c, ty in cols) + ")"
        )
    finally:
        con.close()
    target = scratch / "target"
    target.mkdir()
    if (PROJECT / "target" / "partial_parse.msgpack").exists():
        shutil.copy(PROJECT / "target" / "partial_parse.msgpack", target)
    env = {k: v for k, v in os.environ.items() if k not in ("WAREHOUSE_DIR", "DBT_TARGET_PATH", "DBT_LOG_PATH")}
    proc = subprocess.run(
        [
            str(Path(sys.executable).parent / "dbt"),
            "run-operation",
            "create_serving_macros",
            "--project-dir",
            str(PROJECT),
            "--profiles-dir",
            str(PROJECT / "profiles"),
            "--target-path",
            str(target),
            "--log-path",
            str(scratch),
        ],
        cwd=scratch,
        env=env,
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"dbt run-operation create_serving_macros failed:\n{proc.stdout}\n{proc.stderr}")
    return build


if __name__ == "__main__":  # python tests/dashboards/warehouse_fixture.py OUT.duckdb
    import sys

    out = Path(sys.argv[1] if len(sys.argv) > 1 else "warehouse/serving.duckdb")
    build_serving(out)
    print(out)

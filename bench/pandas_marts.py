"""The published marts (DESIGN.md section 6) in idiomatic, vectorised pandas: what an analyst might
write instead of the warehouse. Reads the raw tables of the build database (only the columns it
needs, whole tables, through DuckDB's .df()), computes everything in pandas/numpy and writes the
marts into a DuckDB file (schema `marts`) for the benchmark's equality check.

    python -m bench.pandas_marts --raw BUILD.duckdb --out OUT.duckdb --as-of YYYY-MM-DD

Conventions: dates are datetime64 at midnight; money is int64 in ten-thousandths (exact sums,
converted to DECIMAL(18,4) on output); EUR amounts are rounded per entry like a DOUBLE ->
DECIMAL(18,4) cast (half away from zero), then summed.
"""

from __future__ import annotations

import argparse
import time
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

US_PER_HOUR = 3_600_000_000
DAY = pd.Timedelta(days=1)


# ------------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------------
def latest(df: pd.DataFrame, key: str | list[str], order: str = "updated_at") -> pd.DataFrame:
    """The current version of each key: the row with the latest `order`."""
    return df.sort_values(order).drop_duplicates(key, keep="last")


def local_dates(ts: pd.Series, tz: pd.Series) -> pd.Series:
    """Local calendar date (midnight, naive) of naive-UTC timestamps, each in its own time zone."""
    out = pd.Series(pd.NaT, index=ts.index, dtype="datetime64[us]")
    for zone in tz.dropna().unique():
        mask = (tz == zone).to_numpy()
        local = ts[mask].dt.tz_localize("UTC").dt.tz_convert(zone).dt.tz_localize(None)
        out[mask] = local.dt.floor("D").astype("datetime64[us]")
    return out


def month_start(d: pd.Series) -> pd.Series:
    return d.dt.to_period("M").dt.to_timestamp().astype("datetime64[us]")


def money_units(x: pd.Series) -> pd.Series:
    """DECIMAL(18,4) read as DOUBLE -> exact int64 ten-thousandths."""
    return np.round(x.to_numpy(dtype="float64") * 10_000).astype("int64")


def round_units(x: np.ndarray) -> pd.Series:
    """DOUBLE -> ten-thousandths rounded half away from zero (DuckDB's DOUBLE -> DECIMAL cast);
    NaN stays missing."""
    v = x * 10_000
    r = np.sign(v) * np.floor(np.abs(v) + 0.5)
    missing = np.isnan(r)
    return pd.arrays.IntegerArray(np.where(missing, 0, r).astype("int64"), missing)


def expand_days(df: pd.DataFrame, first: str, last: str, name: str = "date") -> pd.DataFrame:
    """One row per day from df[first] to df[last] (inclusive) for every row (vectorised)."""
    n = ((df[last] - df[first]) // DAY).astype("int64").to_numpy() + 1
    out = df.loc[df.index.repeat(n)].copy()
    offsets = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)
    out[name] = out[first].to_numpy() + offsets.astype("timedelta64[D]")
    return out.reset_index(drop=True)


def epoch_us(s: pd.Series) -> np.ndarray:
    return s.to_numpy(dtype="datetime64[us]").astype("int64")


# ------------------------------------------------------------------------------------------------
# the marts
# ------------------------------------------------------------------------------------------------
def build(con: duckdb.DuckDBPyConnection, as_of: date) -> dict[str, pd.DataFrame]:
    read = lambda sql: con.sql(sql).df()  # noqa: E731
    as_of_ts = pd.Timestamp(as_of)
    as_of_month = pd.Timestamp(as_of.replace(day=1))
    marts: dict[str, pd.DataFrame] = {}

    # registries (current versions)
    sites = latest(read("SELECT site_id, operator_id, team_id, time_zone, updated_at FROM raw.sites"), "site_id")
    ops_all = latest(read("SELECT operator_id, name, parent_operator_id, updated_at FROM raw.operators"), "operator_id")
    ops = ops_all.assign(parent_operator_id=ops_all["parent_operator_id"].replace("", pd.NA))
    names = ops.set_index("operator_id")["name"]
    ops = ops.assign(operator_name=ops["name"], parent_operator_name=ops["parent_operator_id"].map(names))
    teams = latest(read("SELECT team_id, operator_id, name, updated_at FROM raw.teams"), "team_id")

    cp_versions = read("""SELECT charge_point_id, site_id, team_id, operator_id, brand, model, firmware_version,
                                 commissioned_at, decommissioned_at, updated_at FROM raw.charge_points""")
    cps = latest(cp_versions, "charge_point_id").drop(columns=["brand", "model", "firmware_version"])
    cps["tz"] = cps["site_id"].map(sites.set_index("site_id")["time_zone"]).fillna("UTC")
    cps["comm_date"] = local_dates(cps["commissioned_at"], cps["tz"])
    cps["decom_date"] = local_dates(cps["decommissioned_at"], cps["tz"])
    cps["is_active"] = (cps["comm_date"] <= as_of_ts) & (cps["decom_date"].isna() | (cps["decom_date"] > as_of_ts))

    # finished sessions (current version) on their charge point's current site, with local dates
    raw_sessions = read("""SELECT session_id, charge_point_id, state, plugged_in_at, unplugged_at, kwh,
                                  is_roaming, updated_at FROM raw.sessions""")
    sess = latest(raw_sessions, "session_id")
    del raw_sessions
    sess = sess[sess["state"].isin(["completed", "failed"])]
    sess = sess.merge(cps[["charge_point_id", "site_id", "team_id", "tz"]], on="charge_point_id", how="left")
    sess["tz"] = sess["tz"].fillna("UTC")
    sess["is_failed"] = sess["state"] == "failed"
    sess["is_roaming"] = sess["is_roaming"].fillna(False).astype(bool)
    sess["kwh"] = sess["kwh"].fillna(0.0)
    sess["d_s"] = local_dates(sess["plugged_in_at"], sess["tz"])
    sess["d_e"] = local_dates(sess["unplugged_at"], sess["tz"])
    sess["month"] = month_start(sess["d_s"])

    # local calendars: end = later of as_of and the last local day with finished-session activity
    last_activity = sess.assign(last=sess["d_e"].fillna(sess["d_s"])).groupby("tz")["last"].max()
    first_dates = pd.concat([cps.groupby("tz")["comm_date"].min(), sess.groupby("tz")["d_s"].min()])
    zones = sorted(set(cps["tz"]) | set(sess["tz"]) | {"UTC"})
    cal = pd.DataFrame({"tz": zones})
    cal["first"] = cal["tz"].map(first_dates.groupby(level=0).min()).fillna(as_of_ts).clip(upper=as_of_ts)
    cal["last"] = cal["tz"].map(last_activity).fillna(as_of_ts).clip(lower=as_of_ts)
    day_parts = []
    for row in cal.itertuples():
        dates = pd.date_range(row.first, row.last + DAY, freq="D")
        bounds = (
            dates.tz_localize(row.tz, ambiguous=np.ones(len(dates), bool), nonexistent="shift_forward")
            .tz_convert("UTC")
            .tz_localize(None)
        )
        b = bounds.to_numpy(dtype="datetime64[us]").astype("int64")
        day_parts.append(
            pd.DataFrame({"tz": row.tz, "date": dates[:-1].as_unit("us"), "start_us": b[:-1], "end_us": b[1:]})
        )
    local_days = pd.concat(day_parts, ignore_index=True)
    local_days["day_hours"] = (local_days["end_us"] - local_days["start_us"]) / US_PER_HOUR

    # kWh per site and local day: spread evenly over the occupied interval
    closed = sess[sess["unplugged_at"].notna() & (sess["d_e"] >= sess["d_s"]) & sess["site_id"].notna()]
    one = closed[closed["d_e"] == closed["d_s"]]
    multi = expand_days(closed[closed["d_e"] > closed["d_s"]], "d_s", "d_e")
    multi = multi.merge(local_days, on=["tz", "date"])
    s_us, e_us = epoch_us(multi["plugged_in_at"]), epoch_us(multi["unplugged_at"])
    ov = np.maximum(np.minimum(e_us, multi["end_us"].to_numpy()) - np.maximum(s_us, multi["start_us"].to_numpy()), 0)
    length = e_us - s_us
    multi["kwh"] = np.where(length > 0, multi["kwh"].to_numpy() * ov / np.where(length > 0, length, 1), multi["kwh"])
    multi = multi[(ov > 0) | (length == 0)]
    site_day_kwh = (
        pd.concat([one[["site_id", "d_s", "kwh"]].rename(columns={"d_s": "date"}), multi[["site_id", "date", "kwh"]]])
        .groupby(["site_id", "date"], as_index=False)["kwh"]
        .sum()
    )

    # occupied time: union of each charge point's intervals (islands), split by local day, on the
    # charge point's active days only
    iv = sess.loc[
        (sess["unplugged_at"] > sess["plugged_in_at"]) & sess["site_id"].notna(),
        ["charge_point_id", "plugged_in_at", "unplugged_at"],
    ]
    iv = iv.sort_values(["charge_point_id", "plugged_in_at", "unplugged_at"])
    prev_end = iv.groupby("charge_point_id")["unplugged_at"].cummax().groupby(iv["charge_point_id"]).shift()
    island = (prev_end.isna() | (iv["plugged_in_at"] > prev_end)).cumsum()
    islands = iv.groupby(island.to_numpy()).agg(
        charge_point_id=("charge_point_id", "first"), s=("plugged_in_at", "min"), e=("unplugged_at", "max")
    )
    islands = islands.merge(cps[["charge_point_id", "site_id", "tz", "comm_date", "decom_date"]], on="charge_point_id")
    islands["d_s"] = local_dates(islands["s"], islands["tz"])
    islands["d_e"] = local_dates(islands["e"], islands["tz"])
    one = islands[islands["d_e"] == islands["d_s"]].assign(
        date=lambda x: x["d_s"], ov=lambda x: epoch_us(x["e"]) - epoch_us(x["s"])
    )
    multi = expand_days(islands[islands["d_e"] > islands["d_s"]], "d_s", "d_e").merge(local_days, on=["tz", "date"])
    multi["ov"] = np.maximum(
        np.minimum(epoch_us(multi["e"]), multi["end_us"].to_numpy())
        - np.maximum(epoch_us(multi["s"]), multi["start_us"].to_numpy()),
        0,
    )
    occ = pd.concat([one, multi], ignore_index=True)
    occ = occ[
        (occ["ov"] > 0)
        & (occ["comm_date"] <= occ["date"])
        & (occ["decom_date"].isna() | (occ["decom_date"] > occ["date"]))
    ]
    site_day_occ = occ.groupby(["site_id", "date"], as_index=False)["ov"].sum()
    site_day_occ["occupied_hours"] = site_day_occ.pop("ov") / US_PER_HOUR

    # active charge points per site and local day: +1 at commissioning, -1 after the last active day
    r = cps.merge(cal[["tz", "last"]], on="tz")
    r["first"] = r["comm_date"]
    ends_early = r["decom_date"].notna() & (r["decom_date"] - DAY < r["last"])
    r["last"] = r["last"].where(~ends_early, r["decom_date"] - DAY)
    r = r[r["last"] >= r["first"]]
    events = (
        pd.concat(
            [
                r[["site_id", "first"]].rename(columns={"first": "date"}).assign(delta=1),
                r[["site_id", "last"]]
                .rename(columns={"last": "date"})
                .assign(delta=-1)
                .assign(date=lambda x: x["date"] + DAY),
            ]
        )
        .groupby(["site_id", "date"], as_index=False)["delta"]
        .sum()
    )
    site_ranges = r.groupby("site_id", as_index=False).agg(
        tz=("tz", "first"), first=("first", "min"), last=("last", "max")
    )
    site_days = expand_days(site_ranges, "first", "last")[["site_id", "tz", "date"]]
    site_days = site_days.merge(events, on=["site_id", "date"], how="left").sort_values(["site_id", "date"])
    site_days["active"] = site_days["delta"].fillna(0).astype("int64").groupby(site_days["site_id"]).cumsum()
    active = site_days[site_days["active"] > 0].merge(local_days[["tz", "date", "day_hours"]], on=["tz", "date"])
    active["available_hours"] = active["active"] * active["day_hours"]

    site_attrs = sites[["site_id", "operator_id", "team_id"]]
    daily = (
        active[["site_id", "date", "active", "available_hours"]]
        .merge(site_day_kwh, on=["site_id", "date"], how="left")
        .merge(site_day_occ, on=["site_id", "date"], how="left")
        .fillna({"kwh": 0.0, "occupied_hours": 0.0})
    )
    daily["kwh_per_cp_day"] = daily["kwh"] / daily["active"]
    daily["time_utilised_pct"] = 100.0 * daily["occupied_hours"] / daily["available_hours"]
    marts["site_utilization_daily"] = (
        daily.merge(site_attrs, on="site_id", how="left")
        .rename(columns={"active": "active_charge_points"})
        .assign(month=lambda x: month_start(x["date"]))
    )

    monthly = (
        active.assign(month=month_start(active["date"]))
        .groupby(["site_id", "month"], as_index=False)
        .agg(cp_days=("active", "sum"), available_hours=("available_hours", "sum"))
    )
    kwh_m = (
        site_day_kwh.assign(month=month_start(site_day_kwh["date"]))
        .groupby(["site_id", "month"], as_index=False)["kwh"]
        .sum()
    )
    occ_m = (
        site_day_occ.assign(month=month_start(site_day_occ["date"]))
        .groupby(["site_id", "month"], as_index=False)["occupied_hours"]
        .sum()
    )
    monthly = (
        monthly.merge(kwh_m, on=["site_id", "month"], how="left")
        .merge(occ_m, on=["site_id", "month"], how="left")
        .fillna({"kwh": 0.0, "occupied_hours": 0.0})
    )
    monthly["kwh_per_cp_day"] = monthly["kwh"] / monthly["cp_days"]
    monthly["time_utilised_pct"] = 100.0 * monthly["occupied_hours"] / monthly["available_hours"]
    k, t = monthly["kwh_per_cp_day"], monthly["time_utilised_pct"]
    monthly["kwh_tier"] = np.select([k > 220, k > 150, k < 20], ["top", "great", "poor"], "average")
    monthly["time_tier"] = np.select([t > 20, t > 15, t < 5], ["top", "great", "poor"], "average")
    marts["site_utilization_monthly"] = monthly.merge(site_attrs, on="site_id", how="left")

    # failed charges, roaming sessions, hardware, OCPP errors
    on_sites = sess[sess["site_id"].notna()]
    fc = (
        on_sites.groupby(["site_id", "d_s"], as_index=False)
        .agg(total_sessions=("is_failed", "size"), failed_sessions=("is_failed", "sum"))
        .rename(columns={"d_s": "date"})
    )
    fc["failed_pct"] = 100.0 * fc["failed_sessions"] / fc["total_sessions"]
    marts["failed_charges_daily"] = fc.merge(site_attrs, on="site_id", how="left")

    rs = (
        on_sites[on_sites["is_roaming"]]
        .assign(ok=lambda x: ~x["is_failed"])
        .groupby(["site_id", "d_s"], as_index=False)
        .agg(roaming_sessions=("ok", "size"), successful_sessions=("ok", "sum"))
    )
    rs["success_pct"] = 100.0 * rs["successful_sessions"] / rs["roaming_sessions"]
    marts["roaming_sessions_daily"] = rs.rename(columns={"d_s": "date"})

    versions = cp_versions.sort_values(["charge_point_id", "updated_at"])
    first = ~versions["charge_point_id"].duplicated()
    versions["valid_from"] = versions["updated_at"].where(~first, pd.Timestamp("1900-01-01"))
    hw = pd.merge_asof(
        sess[["charge_point_id", "plugged_in_at", "month", "is_failed"]].sort_values("plugged_in_at"),
        versions[["charge_point_id", "valid_from", "brand", "model", "firmware_version"]]
        .sort_values("valid_from")
        .astype({"valid_from": "datetime64[us]"}),
        left_on="plugged_in_at",
        right_on="valid_from",
        by="charge_point_id",
    )
    hw = hw.fillna({"brand": "unknown", "model": "unknown", "firmware_version": "unknown"})
    hw = hw.groupby(["month", "brand", "model", "firmware_version"], as_index=False).agg(
        total_sessions=("is_failed", "size"), failed_sessions=("is_failed", "sum")
    )
    hw["failed_pct"] = 100.0 * hw["failed_sessions"] / hw["total_sessions"]
    marts["failed_charges_by_hardware"] = hw

    ocpp = read("SELECT charge_point_id, action, error_code, payload_timestamp, received_at FROM raw.ocpp")
    err = ocpp[
        (ocpp["action"] == "StatusNotification") & ocpp["error_code"].notna() & (ocpp["error_code"] != "NoError")
    ]
    del ocpp
    err = err.merge(cps[["charge_point_id", "site_id", "tz"]], on="charge_point_id", how="left")
    err["date"] = local_dates(err["payload_timestamp"].fillna(err["received_at"]), err["tz"].fillna("UTC"))
    marts["ocpp_errors_daily"] = err.groupby(
        ["date", "charge_point_id", "error_code"], as_index=False, dropna=False
    ).agg(site_id=("site_id", "first"), error_count=("tz", "size"))

    # charge points dashboard: teams and sites
    this_month = sess["month"] == as_of_month
    counts = on_sites.assign(this_month=this_month[on_sites.index])
    for key, registry in (("team_id", teams[["team_id"]]), ("site_id", sites[["site_id"]])):
        cpc = (
            cps[cps[key].notna()]
            .groupby(key)
            .agg(charge_points=("is_active", "size"), active_charge_points=("is_active", "sum"))
        )
        sc = (
            counts[counts[key].notna()]
            .groupby(key)
            .agg(sessions_this_month=("this_month", "sum"), total_sessions=("this_month", "size"))
        )
        ids = (
            registry
            if key == "site_id"
            else pd.DataFrame({key: sorted(set(registry[key]) | set(cpc.index) | set(sc.index))})
        )
        out = ids.merge(cpc, left_on=key, right_index=True, how="left").merge(
            sc, left_on=key, right_index=True, how="left"
        )
        marts[f"cp_{key[:-3]}_summary"] = out.fillna(0).astype({c: "int64" for c in out.columns if c != key})

    # roaming CDRs, net of credits, attributed to the CDR a credit cancels
    cdrs = read("""SELECT country_code, party_id, id, end_date_time, location_id, provider, currency,
                          token_country_code, token_party_id, credit, credit_reference_id,
                          total_energy, CAST(total_cost_excl_vat AS DOUBLE) AS excl_vat FROM raw.cdrs""")
    cdrs["emsp_party"] = cdrs["token_country_code"] + "*" + cdrs["token_party_id"]
    cdrs["is_credit"] = cdrs["credit"].fillna(False).astype(bool)
    cdrs["ref_id"] = cdrs["credit_reference_id"].replace("", pd.NA)
    originals = cdrs.loc[
        ~cdrs["is_credit"], ["country_code", "party_id", "id", "end_date_time", "location_id", "provider", "emsp_party"]
    ]
    cdrs = cdrs.merge(
        originals.rename(columns=lambda c: c if c in ("country_code", "party_id") else "o_" + c),
        left_on=["country_code", "party_id", "ref_id"],
        right_on=["country_code", "party_id", "o_id"],
        how="left",
    )
    cdrs.loc[~cdrs["is_credit"], ["o_end_date_time", "o_location_id", "o_provider", "o_emsp_party"]] = None
    sign = np.where(cdrs["is_credit"], -1, 1)
    rev_units = money_units(cdrs["excl_vat"])
    roaming = pd.DataFrame(
        {
            "date": cdrs["o_end_date_time"].fillna(cdrs["end_date_time"]).dt.floor("D"),
            "site_id": cdrs["o_location_id"].fillna(cdrs["location_id"]),
            "provider": cdrs["o_provider"].fillna(cdrs["provider"]),
            "emsp_party": cdrs["o_emsp_party"].fillna(cdrs["emsp_party"]),
            "currency": cdrs["currency"],
            "cdrs": sign,
            "kwh": np.where(cdrs["is_credit"], -cdrs["total_energy"].abs(), cdrs["total_energy"]),
            "revenue": np.where(cdrs["is_credit"], -np.abs(rev_units), rev_units),
        }
    )
    marts["roaming_daily"] = roaming.groupby(
        ["date", "site_id", "provider", "emsp_party", "currency"], as_index=False, dropna=False
    ).sum()

    # revenue: ledger by UTC month, EUR at the ECB rate of the booking date or the latest earlier one
    ledger = read("""SELECT operator_id, team_id, plan_id, kind, CAST(amount AS DOUBLE) AS amount, currency,
                            booked_at FROM raw.ledger""")
    ledger["team_id"] = ledger["team_id"].replace("", pd.NA)
    ledger["plan_id"] = ledger["plan_id"].replace("", pd.NA)
    ledger["booked_date"] = ledger["booked_at"].dt.floor("D")
    fx = read(
        "SELECT currency, CAST(rate_date AS TIMESTAMP) AS rate_date, rate FROM raw.fx_rates WHERE currency <> 'EUR'"
    )
    ledger = pd.merge_asof(
        ledger.sort_values("booked_date"),
        fx.sort_values("rate_date").astype({"rate_date": "datetime64[us]"}),
        left_on="booked_date",
        right_on="rate_date",
        by="currency",
    )
    ledger.loc[ledger["currency"] == "EUR", "rate"] = 1.0
    ledger["revenue"] = money_units(ledger["amount"])
    ledger["revenue_eur"] = round_units(ledger["amount"].to_numpy() / ledger["rate"].to_numpy())
    ledger["month"] = month_start(ledger["booked_date"])
    keys = ["month", "operator_id", "team_id", "plan_id", "kind", "currency"]
    rm = ledger.groupby(keys, as_index=False, dropna=False).agg(
        revenue=("revenue", "sum"), revenue_eur=("revenue_eur", lambda x: x.sum(min_count=1))
    )
    marts["revenue_monthly"] = rm

    last_month = max(ledger["month"].max(), as_of_month) if len(ledger) else as_of_month

    def gap_filled(df: pd.DataFrame, key: list[str], measures: list[str]) -> pd.DataFrame:
        """Every month from each key's first month to `last_month`, 0 in gap months, running total."""
        firsts = df.groupby(key, as_index=False)["month"].min().assign(last=last_month)
        spine = expand_days(firsts.rename(columns={"month": "first"}), "first", "last", "day")
        spine = spine[spine["day"].dt.day == 1].rename(columns={"day": "month"})[key + ["month"]]
        out = spine.merge(df, on=key + ["month"], how="left").fillna({m: 0 for m in measures})
        out = out.astype({m: "int64" for m in measures})
        out = out.sort_values(key + ["month"])
        out["running_revenue"] = out.groupby(key)[measures[-1]].cumsum()
        return out

    op_m = ledger.groupby(["month", "operator_id", "currency"], as_index=False)["revenue"].sum()
    marts["revenue_running_by_operator"] = gap_filled(op_m, ["operator_id", "currency"], ["revenue"])

    kinds = {
        "fee": "fees",
        "charge": "charges",
        "subscription": "subscriptions",
        "write_off": "write_offs",
        "intercompany_transfer": "intercompany_transfers",
        "tax_refund": "tax_refunds",
    }
    team_ledger = ledger[ledger["team_id"].notna()]
    tm = team_ledger.pivot_table(
        index=["month", "team_id", "currency"], columns="kind", values="revenue", aggfunc="sum", fill_value=0
    )
    tm = tm.reindex(columns=list(kinds), fill_value=0).rename(columns=kinds)
    tm["total_revenue"] = tm.sum(axis=1)
    tm = tm.reset_index()
    tm.columns.name = None
    team_ops = team_ledger.groupby("team_id")["operator_id"].max()
    team_ops = teams.set_index("team_id")["operator_id"].reindex(team_ops.index).fillna(team_ops)
    trm = gap_filled(tm, ["team_id", "currency"], list(kinds.values()) + ["total_revenue"])
    marts["team_revenue_monthly"] = trm.assign(operator_id=trm["team_id"].map(team_ops))

    # invoices
    inv = latest(
        read("""SELECT invoice_id, operator_id, customer_type, customer_id, status, wallet_id, currency,
                                CAST(payable_amount AS DOUBLE) AS payable_amount, due_at, period_from, period_to,
                                updated_at FROM raw.invoices"""),
        "invoice_id",
    )
    wallets = latest(
        read("SELECT wallet_id, CAST(balance AS DOUBLE) AS balance, updated_at FROM raw.wallets"), "wallet_id"
    )
    customers = pd.concat(
        [
            teams.assign(customer_type="team").rename(columns={"team_id": "customer_id", "name": "customer_name"}),
            ops.assign(customer_type="operator").rename(
                columns={"operator_id": "customer_id", "name": "customer_name"}
            ),
        ]
    )[["customer_type", "customer_id", "customer_name"]]
    inv = (
        inv.merge(
            ops[["operator_id", "operator_name", "parent_operator_id", "parent_operator_name"]],
            on="operator_id",
            how="left",
        )
        .merge(customers, on=["customer_type", "customer_id"], how="left")
        .merge(wallets[["wallet_id", "balance"]], on="wallet_id", how="left")
    )
    overdue = (as_of_ts - inv["due_at"].dt.floor("D")) // DAY
    inv["days_overdue"] = np.where(
        (inv["status"] == "unpaid") & inv["due_at"].notna(), overdue.clip(lower=0), 0
    ).astype("int64")
    inv["payable_amount"] = money_units(inv["payable_amount"])
    inv["wallet_balance"] = pd.array(np.round(inv["balance"] * 10_000), dtype="Int64")
    marts["invoices"] = inv.drop(columns=["balance", "updated_at"])

    statuses = pd.DataFrame({"status": ["paid", "settled", "unpaid"]})
    totals = inv.groupby(["operator_id", "currency", "status"], as_index=False).agg(
        invoice_count=("invoice_id", "size"), payable_amount=("payable_amount", "sum")
    )
    summary = (
        inv[["operator_id", "currency"]]
        .drop_duplicates()
        .merge(statuses, how="cross")
        .merge(totals, on=["operator_id", "currency", "status"], how="left")
        .fillna({"invoice_count": 0, "payable_amount": 0})
    )
    marts["invoice_status_summary"] = summary.astype({"invoice_count": "int64", "payable_amount": "int64"})
    return marts


MONEY = {
    "revenue_monthly": ["revenue", "revenue_eur"],
    "revenue_running_by_operator": ["revenue", "running_revenue"],
    "team_revenue_monthly": [
        "fees",
        "charges",
        "subscriptions",
        "write_offs",
        "intercompany_transfers",
        "tax_refunds",
        "total_revenue",
        "running_revenue",
    ],
    "invoices": ["payable_amount", "wallet_balance"],
    "invoice_status_summary": ["payable_amount"],
    "roaming_daily": ["revenue"],
}


def write(marts: dict[str, pd.DataFrame], out: Path) -> None:
    out.unlink(missing_ok=True)
    con = duckdb.connect(str(out))
    try:
        con.execute("CREATE SCHEMA marts")
        for name, df in marts.items():
            con.register("_df", df)
            money = MONEY.get(name, [])
            replace = ", ".join(f"CAST(CAST({c} AS DECIMAL(38, 0)) * 0.0001 AS DECIMAL(18, 4)) AS {c}" for c in money)
            con.execute(f"CREATE TABLE marts.{name} AS SELECT * {f'REPLACE ({replace})' if money else ''} FROM _df")
            con.unregister("_df")
    finally:
        con.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--raw", required=True, type=Path, help="DuckDB file with the raw schema (read-only)")
    ap.add_argument("--out", required=True, type=Path, help="DuckDB file to write the marts into")
    ap.add_argument("--as-of", required=True, type=date.fromisoformat)
    args = ap.parse_args()
    t0 = time.perf_counter()
    con = duckdb.connect(str(args.raw), read_only=True)
    try:
        marts = build(con, args.as_of)
    finally:
        con.close()
    t1 = time.perf_counter()
    write(marts, args.out)
    print(f"pandas: computed in {t1 - t0:.2f}s, written in {time.perf_counter() - t1:.2f}s")


if __name__ == "__main__":
    main()

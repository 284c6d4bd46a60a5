"""Queries of the Site utilization page (dashboards/views/site_utilization.py): SQL on the published marts only.

See dashboards/data/core.py for the connection, the filters and how parameters are bound."""

from __future__ import annotations

import operator as _op

import pandas as pd

from dashboards.data import core
from dashboards.data.core import CP_COLS, SITE_COLS, Filters, _period, _Sql, _where


def benchmarks() -> pd.DataFrame:
    """The benchmark rules (site_utilization_benchmarks), in evaluation order."""
    return core.query(
        "SELECT metric, tier, comparison, threshold, evaluation_order "
        "FROM marts.site_utilization_benchmarks ORDER BY metric, evaluation_order"
    )


_COMPARE = {">": _op.gt, ">=": _op.ge, "<": _op.lt, "<=": _op.le}


def tier(value: float | None, metric: str, rules: pd.DataFrame) -> str | None:
    """The benchmark tier of a value: the first rule (in evaluation_order) that matches."""
    if value is None or pd.isna(value):
        return None
    for r in rules[rules["metric"] == metric].sort_values("evaluation_order").itertuples():
        if r.comparison == "otherwise":
            return r.tier
        if (
            r.comparison in _COMPARE
            and r.threshold is not None
            and not pd.isna(r.threshold)
            and _COMPARE[r.comparison](value, r.threshold)
        ):
            return r.tier
    return None


def _util_source(f: Filters, s: _Sql) -> str:
    """Month x site CP-days, hours and kWh: site_utilization_monthly, or cp_utilization_daily
    under an AC/DC or public/private filter."""
    if f.cp_level():
        w = _where(s.conds(f, **CP_COLS, month="month"))
        return f"""(SELECT month, site_id, cp_days, available_hours, kwh, occupied_hours, sessions
                    FROM marts.cp_utilization_daily {w})"""
    w = _where(s.conds(f, **SITE_COLS, month="month"))
    return f"""(SELECT month, site_id, cp_days, available_hours, kwh, occupied_hours, sessions
                FROM marts.site_utilization_monthly {w})"""


_UTIL_MEASURES = """sum(cp_days)::BIGINT AS cp_days, sum(kwh) AS kwh,
    sum(occupied_hours) AS occupied_hours, sum(available_hours) AS available_hours,
    sum(sessions)::BIGINT AS sessions,
    sum(kwh) / nullif(sum(cp_days), 0) AS kwh_per_cp_day,
    100.0 * sum(occupied_hours) / nullif(sum(available_hours), 0) AS time_utilised_pct"""


def utilization_by_site(f: Filters) -> pd.DataFrame:
    s = _Sql()
    src = _util_source(f, s)
    df = core.query(
        f"""
        WITH a AS (SELECT site_id, {_UTIL_MEASURES} FROM {src} GROUP BY site_id)
        SELECT coalesce(d.site_name, a.site_id) AS site_name, d.operator_name, d.team_name,
               a.* FROM a LEFT JOIN marts.dim_sites d USING (site_id)
        ORDER BY a.kwh_per_cp_day DESC NULLS LAST, site_name""",
        s.params,
    )
    return _with_tiers(df)


def utilization_over_time(f: Filters) -> pd.DataFrame:
    s = _Sql()
    src = _util_source(f, s)
    return _with_tiers(
        core.query(
            f"""SELECT {_period("month", f)} AS period, {_UTIL_MEASURES}
                                 FROM {src} GROUP BY 1 ORDER BY 1""",
            s.params,
        )
    )


def utilization_totals(f: Filters) -> dict:
    s = _Sql()
    src = _util_source(f, s)
    df = _with_tiers(core.query(f"SELECT {_UTIL_MEASURES}, count(DISTINCT site_id) AS sites FROM {src}", s.params))
    return df.iloc[0].to_dict()


def utilization_daily(f: Filters) -> pd.DataFrame:
    """Per local day across the selected sites (site_utilization_daily, or cp_utilization_daily
    under an AC/DC or public/private filter)."""
    s = _Sql()
    if f.cp_level():
        w = _where(s.conds(f, **CP_COLS, month="month"))
        src = f"""(SELECT date, cp_days AS active_charge_points, available_hours, kwh,
                          occupied_hours FROM marts.cp_utilization_daily {w})"""
    else:
        w = _where(s.conds(f, **SITE_COLS, month="month"))
        src = f"""(SELECT date, active_charge_points, available_hours, kwh, occupied_hours
                   FROM marts.site_utilization_daily {w})"""
    return core.query(
        f"""
        SELECT date, sum(active_charge_points)::BIGINT AS active_charge_points, sum(kwh) AS kwh,
               sum(kwh) / nullif(sum(active_charge_points), 0) AS kwh_per_cp_day,
               100.0 * sum(occupied_hours) / nullif(sum(available_hours), 0) AS time_utilised_pct
        FROM {src} GROUP BY date ORDER BY date""",
        s.params,
    )


def _with_tiers(df: pd.DataFrame) -> pd.DataFrame:
    rules = benchmarks()
    df = df.copy()
    df["kwh_tier"] = [tier(v, "kwh_per_cp_day", rules) for v in df["kwh_per_cp_day"]]
    df["time_tier"] = [tier(v, "time_utilised_pct", rules) for v in df["time_utilised_pct"]]
    return df

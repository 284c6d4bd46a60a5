"""Queries of the Site utilization page (dashboards/views/site_utilization.py): SQL on the published marts only.

See dashboards/data/core.py for the connection, the filters and how parameters are bound."""

from __future__ import annotations

import pandas as pd

from dashboards.data import core
from dashboards.data.core import CP_COLS, SITE_COLS, Filters, _period, _Sql, _where


def benchmarks() -> pd.DataFrame:
    """The benchmark rules (site_utilization_benchmarks), in evaluation order."""
    return core.query(
        "SELECT metric, tier, comparison, threshold, evaluation_order "
        "FROM marts.site_utilization_benchmarks ORDER BY metric, evaluation_order"
    )


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
    marts.kwh_per_cp_day(sum(kwh), sum(cp_days)) AS kwh_per_cp_day,
    marts.time_utilised_pct(sum(occupied_hours), sum(available_hours)) AS time_utilised_pct"""

# The benchmark tiers of the aggregated figures (marts.benchmark_tier: the rules of
# site_utilization_benchmarks), for a select over a relation with the two metrics.
_TIERS = """marts.benchmark_tier('kwh_per_cp_day', kwh_per_cp_day) AS kwh_tier,
    marts.benchmark_tier('time_utilised_pct', time_utilised_pct) AS time_tier"""


def utilization_by_site(f: Filters) -> pd.DataFrame:
    s = _Sql()
    src = _util_source(f, s)
    return core.query(
        f"""
        WITH a AS (SELECT site_id, {_UTIL_MEASURES} FROM {src} GROUP BY site_id)
        SELECT coalesce(d.site_name, a.site_id) AS site_name, d.operator_name, d.team_name,
               a.*, {_TIERS} FROM a LEFT JOIN marts.dim_sites d USING (site_id)
        ORDER BY a.kwh_per_cp_day DESC NULLS LAST, site_name""",
        s.params,
    )


def utilization_over_time(f: Filters) -> pd.DataFrame:
    s = _Sql()
    src = _util_source(f, s)
    return core.query(
        f"""
        WITH a AS (SELECT {_period("month", f)} AS period, {_UTIL_MEASURES} FROM {src} GROUP BY 1)
        SELECT *, {_TIERS} FROM a ORDER BY period""",
        s.params,
    )


def utilization_totals(f: Filters) -> dict:
    s = _Sql()
    src = _util_source(f, s)
    df = core.query(
        f"""
        WITH a AS (SELECT {_UTIL_MEASURES}, count(DISTINCT site_id) AS sites FROM {src})
        SELECT *, {_TIERS} FROM a""",
        s.params,
    )
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
               marts.kwh_per_cp_day(sum(kwh), sum(active_charge_points)) AS kwh_per_cp_day,
               marts.time_utilised_pct(sum(occupied_hours), sum(available_hours)) AS time_utilised_pct
        FROM {src} GROUP BY date ORDER BY date""",
        s.params,
    )

"""Queries of the Reliability and operations page (dashboards/views/reliability.py): SQL on the published marts only.

See dashboards/data/core.py for the connection, the filters and how parameters are bound."""

from __future__ import annotations

import pandas as pd

from dashboards.data import core
from dashboards.data.core import CP_COLS, SITE_COLS, Filters, _period, _Sql, _where


def uptime_limits() -> tuple[float, float]:
    """(NEVI, UK) uptime limits in %, the published ones the marts' meets_nevi_97 / meets_uk_99
    apply: every port > NEVI over the trailing 365 days (23 CFR 680.116(b)); the rapid network's
    average >= UK per calendar year (UK Public Charge Point Regulations 2023)."""
    df = core.query("SELECT marts.nevi_uptime_limit_pct() AS nevi, marts.uk_rapid_uptime_limit_pct() AS uk")
    return float(df.at[0, "nevi"]), float(df.at[0, "uk"])


# uptime % of summed minutes (DESIGN section 5), by the published formula
_POOLED_UPTIME = "marts.uptime_pct(sum(period_minutes), sum(outage_minutes), sum(excluded_minutes))"


def ports_trailing(f: Filters) -> pd.DataFrame:
    """Every charging port's NEVI uptime over the trailing 365 days (charge_point_uptime_trailing),
    worst first, with its site name."""
    s = _Sql()
    w = _where(s.conds(f, **CP_COLS))
    return core.query(
        f"""
        SELECT coalesce(d.site_name, u.site_id) AS site_name,
               u.charge_point_id || ' #' || CAST(u.connector_id AS VARCHAR) AS port,
               u.charging_type, u.access, u.max_power_kw, u.active_days, u.period_minutes,
               u.outage_minutes, u.excluded_minutes, u.uptime_pct, u.meets_nevi_97,
               u.charge_point_id, u.connector_id, u.site_id, u.operator_id, u.as_of_date,
               u.window_start
        FROM (SELECT * FROM marts.charge_point_uptime_trailing {w}) u
        LEFT JOIN (SELECT site_id, site_name FROM marts.dim_sites) d USING (site_id)
        ORDER BY u.uptime_pct, u.charge_point_id, u.connector_id""",
        s.params,
    )


def rapid_reliability(f: Filters) -> pd.DataFrame:
    """The UK view (network_reliability_yearly): each operator's rapid charge points per calendar
    year, the years of the selected range. Per operator: team, site and access filters do not apply."""
    s = _Sql()
    conds = s.conds(f, operator="operator_id")
    if f.start is not None:
        conds.append(f"year >= {s.bind('start_year', f.start.year)}")
    if f.end is not None:
        conds.append(f"year <= {s.bind('end_year', f.end.year)}")
    return core.query(
        f"""
        SELECT n.year, coalesce(o.operator_name, n.operator_id) AS operator_name, n.rapid_charge_points,
               n.average_uptime_pct, n.meets_uk_99, n.lowest_uptime_pct, n.charge_points_below_99,
               n.is_complete_year, n.first_date, n.last_date, n.operator_id
        FROM (SELECT * FROM marts.network_reliability_yearly {_where(conds)}) n
        LEFT JOIN (SELECT operator_id, operator_name FROM marts.dim_operators) o USING (operator_id)
        ORDER BY n.year, operator_name""",
        s.params,
    )


def reliability_kpis(f: Filters) -> dict:
    """Ports and ports meeting NEVI (trailing 365 days), their pooled uptime, the rapid charge
    points' reliability in the latest year (mean over all of them across the selected operators:
    the operators' means weighted by their counts) and idle time per session in the period."""
    s = _Sql()
    pw = _where(s.conds(f, **CP_COLS))
    rw = _where(s.conds(f, operator="operator_id"))
    ops = _ops_source(f, s)
    df = core.query(
        f"""
        WITH p AS (SELECT * FROM marts.charge_point_uptime_trailing {pw}),
        r AS (SELECT * FROM marts.network_reliability_yearly {rw}),
        ry AS (SELECT * FROM r WHERE year = (SELECT max(year) FROM r))
        SELECT (SELECT count(*) FROM p) AS ports,
               (SELECT count(*) FILTER (WHERE meets_nevi_97) FROM p) AS ports_meeting_nevi,
               (SELECT {_POOLED_UPTIME} FROM p) AS port_uptime_pct,
               (SELECT max(year) FROM ry) AS rapid_year,
               (SELECT sum(rapid_charge_points) FROM ry) AS rapid_charge_points,
               (SELECT marts.ratio(sum(average_uptime_pct * rapid_charge_points), sum(rapid_charge_points))
                FROM ry) AS rapid_uptime_pct,
               (SELECT bool_and(is_complete_year) FROM ry) AS rapid_year_complete,
               (SELECT sum(sessions) FROM {ops}) AS sessions,
               (SELECT sum(idle_hours) FROM {ops}) AS idle_hours,
               (SELECT sum(sessions_idle_over_1h) FROM {ops}) AS sessions_idle_over_1h,
               (SELECT marts.idle_minutes_per_session(sum(idle_hours), sum(sessions)) FROM {ops})
                   AS idle_minutes_per_session""",
        s.params,
    )
    return df.iloc[0].to_dict()


def uptime_over_time(f: Filters) -> pd.DataFrame:
    """Uptime of the selected ports per local day (connector_uptime_daily, minutes summed)."""
    s = _Sql()
    w = _where(s.conds(f, **CP_COLS, month="month"))
    return core.query(
        f"""
        SELECT date, count(*) AS ports, sum(outage_minutes) / 60.0 AS outage_hours,
               sum(excluded_minutes) / 60.0 AS excluded_hours, {_POOLED_UPTIME} AS uptime_pct
        FROM marts.connector_uptime_daily {w} GROUP BY date ORDER BY date""",
        s.params,
    )


def _ops_source(f: Filters, s: _Sql) -> str:
    """Sessions and idle time by date and site: site_operations_daily, or
    charge_point_operations_daily under an AC/DC or public/private filter."""
    if f.cp_level():
        w = _where(s.conds(f, **CP_COLS, month="month") + ["site_id IS NOT NULL"])
        return f"""(SELECT date, month, site_id, sessions, idle_hours, sessions_idle_over_1h
                    FROM marts.charge_point_operations_daily {w})"""
    w = _where(s.conds(f, **SITE_COLS, month="month"))
    return f"""(SELECT date, month, site_id, sessions, idle_hours, sessions_idle_over_1h
                FROM marts.site_operations_daily {w})"""


_SITE_NAMES = "LEFT JOIN (SELECT site_id, site_name FROM marts.dim_sites) d USING (site_id)"


def idle_by_site(f: Filters) -> pd.DataFrame:
    """Sessions, idle hours, idle minutes per session and the share idle over an hour, per site."""
    s = _Sql()
    src = _ops_source(f, s)
    return core.query(
        f"""
        WITH a AS (SELECT site_id, sum(sessions) AS sessions, sum(idle_hours) AS idle_hours,
                          sum(sessions_idle_over_1h) AS sessions_idle_over_1h FROM {src} GROUP BY site_id)
        SELECT coalesce(d.site_name, a.site_id) AS site_name, a.sessions::BIGINT AS sessions,
               a.idle_hours, marts.idle_minutes_per_session(a.idle_hours, a.sessions) AS idle_minutes_per_session,
               a.sessions_idle_over_1h::BIGINT AS sessions_idle_over_1h,
               marts.idle_over_1h_pct(a.sessions_idle_over_1h, a.sessions) AS idle_over_1h_pct, a.site_id
        FROM a {_SITE_NAMES} WHERE a.sessions > 0
        ORDER BY a.idle_hours DESC, site_name""",
        s.params,
    )


def idle_over_time(f: Filters, sites: int = 8) -> pd.DataFrame:
    """Idle hours per period of the sites with the most idle time (the rest summed as 'Other')."""
    s = _Sql()
    src = _ops_source(f, s)
    top = s.bind("top_sites", sites)
    return core.query(
        f"""
        WITH a AS (SELECT {_period("month", f)} AS period, site_id, sum(sessions) AS sessions,
                          sum(idle_hours) AS idle_hours FROM {src} GROUP BY 1, 2),
        t AS (SELECT site_id FROM a GROUP BY site_id HAVING sum(sessions) > 0
              ORDER BY sum(idle_hours) DESC, site_id LIMIT {top})
        SELECT a.period, CASE WHEN t.site_id IS NULL THEN 'Other sites'
                              ELSE coalesce(d.site_name, a.site_id) END AS site_name,
               sum(a.sessions)::BIGINT AS sessions, sum(a.idle_hours) AS idle_hours,
               marts.idle_minutes_per_session(sum(a.idle_hours), sum(a.sessions)) AS idle_minutes_per_session
        FROM a LEFT JOIN t USING (site_id) {_SITE_NAMES}
        GROUP BY 1, 2 ORDER BY 1, 2""",
        s.params,
    )


def _demand_source(f: Filters, s: _Sql) -> str:
    """site_operations_daily rows of the selection. Demand is the whole site's (its grid
    connection): an AC/DC or public/private filter keeps the sites that have such charge points."""
    conds = s.conds(f, **SITE_COLS, month="month")
    if f.cp_level():
        cw = _where(s.conds(f, charging_type="charging_type", access="access"))
        conds.append(f"site_id IN (SELECT site_id FROM marts.dim_charge_points {cw})")
    return f"(SELECT * FROM marts.site_operations_daily {_where(conds)})"


def peak_by_site(f: Filters) -> pd.DataFrame:
    """Per site: the highest daily peak of the period, when (local slot start), the average daily
    peak over days with charging, installed power and the peak as a share of it."""
    s = _Sql()
    src = _demand_source(f, s)
    return core.query(
        f"""
        WITH a AS (SELECT site_id, max(peak_demand_kw) AS peak_demand_kw,
                          arg_max(peak_slot_start, peak_demand_kw) AS peak_slot_start,
                          avg(peak_demand_kw) FILTER (WHERE peak_demand_kw > 0) AS average_daily_peak_kw,
                          max(installed_power_kw) AS installed_power_kw
                   FROM {src} GROUP BY site_id)
        SELECT coalesce(d.site_name, a.site_id) AS site_name, a.peak_demand_kw, a.peak_slot_start,
               a.average_daily_peak_kw, a.installed_power_kw,
               marts.peak_of_installed_pct(a.peak_demand_kw, a.installed_power_kw) AS peak_of_installed_pct, a.site_id
        FROM a {_SITE_NAMES} WHERE a.peak_demand_kw > 0
        ORDER BY a.peak_demand_kw DESC, site_name""",
        s.params,
    )


def peak_demand_daily(f: Filters, sites: int = 12) -> pd.DataFrame:
    """Daily peak demand of the sites with the highest peaks in the period (a day x site grid)."""
    s = _Sql()
    src = _demand_source(f, s)
    top = s.bind("top_sites", sites)
    return core.query(
        f"""
        WITH t AS (SELECT site_id FROM {src} GROUP BY site_id HAVING max(peak_demand_kw) > 0
                   ORDER BY max(peak_demand_kw) DESC, site_id LIMIT {top})
        SELECT x.date, coalesce(d.site_name, x.site_id) AS site_name, x.peak_demand_kw,
               x.peak_slot_start, x.installed_power_kw, x.site_id
        FROM {src} x JOIN t USING (site_id) {_SITE_NAMES}
        ORDER BY x.date, site_name""",
        s.params,
    )

"""Queries of the Roaming charges page (dashboards/views/roaming.py): SQL on the published marts only.

See dashboards/data/core.py for the connection, the filters and how parameters are bound."""

from __future__ import annotations

import pandas as pd

from dashboards.data import core
from dashboards.data.core import CP_COLS, SITE_COLS, Filters, _period, _Sql, _where
from dashboards.data.revenue import _amount


def _roaming_cdr_source(f: Filters, s: _Sql) -> str:
    """CDR totals (net of credits): roaming_daily, or roaming_charge_points_daily under an
    AC/DC or public/private filter. Both have date, month, site_id, operator_id, team_id,
    provider, emsp_party, currency, cdrs, kwh, revenue, revenue_eur."""
    table = "marts.roaming_charge_points_daily" if f.cp_level() else "marts.roaming_daily"
    w = _where(s.conds(f, **CP_COLS if f.cp_level() else SITE_COLS, currency="currency", month="month"))
    return f"(SELECT * FROM {table} {w})"


def _roaming_session_source(f: Filters, s: _Sql) -> str:
    """Finished roaming sessions: roaming_sessions_daily, or fct_charge_sessions under an AC/DC
    or public/private filter (the session mart has no charge point attributes)."""
    if not f.cp_level():
        w = _where(s.conds(f, **SITE_COLS, month="month"))
        return f"""(SELECT month, site_id, roaming_sessions, successful_sessions
                    FROM marts.roaming_sessions_daily {w})"""
    w = _where(s.conds(f, **CP_COLS, month="plugged_in_month") + ["is_roaming", "is_finished", "site_id IS NOT NULL"])
    return f"""(SELECT plugged_in_month AS month, site_id, 1 AS roaming_sessions,
                       CASE WHEN is_completed THEN 1 ELSE 0 END AS successful_sessions
                FROM marts.fct_charge_sessions {w})"""


def roaming_kpis(f: Filters) -> dict:
    s = _Sql()
    cdr, ses = _roaming_cdr_source(f, s), _roaming_session_source(f, s)
    amt = _amount(f, "revenue", "revenue_eur")
    df = core.query(
        f"""
        SELECT (SELECT coalesce(sum(roaming_sessions), 0) FROM {ses}) AS sessions,
               (SELECT coalesce(sum(successful_sessions), 0) FROM {ses}) AS successful_sessions,
               (SELECT marts.success_pct(sum(successful_sessions), sum(roaming_sessions)) FROM {ses})
                   AS success_pct,
               (SELECT coalesce(sum(cdrs), 0) FROM {cdr}) AS cdrs,
               (SELECT coalesce(sum(kwh), 0) FROM {cdr}) AS kwh,
               (SELECT coalesce(sum({amt}), 0) FROM {cdr}) AS revenue""",
        s.params,
    )
    return df.iloc[0].to_dict()


def roaming_over_time(f: Filters) -> pd.DataFrame:
    s = _Sql()
    cdr, ses = _roaming_cdr_source(f, s), _roaming_session_source(f, s)
    amt = _amount(f, "revenue", "revenue_eur")
    per = _period("month", f)
    return core.query(
        f"""
        WITH a AS (SELECT {per} AS period, sum(roaming_sessions) AS sessions,
                          sum(successful_sessions) AS successful_sessions FROM {ses} GROUP BY 1),
        b AS (SELECT {per} AS period, sum(cdrs) AS cdrs, sum(kwh) AS kwh, sum({amt}) AS revenue
              FROM {cdr} GROUP BY 1)
        SELECT period, coalesce(a.sessions, 0)::BIGINT AS sessions,
               coalesce(a.successful_sessions, 0)::BIGINT AS successful_sessions,
               marts.success_pct(a.successful_sessions, a.sessions) AS success_pct,
               coalesce(b.cdrs, 0)::BIGINT AS cdrs, coalesce(b.kwh, 0) AS kwh,
               coalesce(b.revenue, 0) AS revenue
        FROM a FULL JOIN b USING (period) ORDER BY period""",
        s.params,
    )


def roaming_locations(f: Filters) -> pd.DataFrame:
    """Sites with roaming CDRs in the selection and their coordinates (roaming_locations)."""
    s = _Sql()
    cdr = _roaming_cdr_source(f, s)
    amt = _amount(f, "revenue", "revenue_eur")
    return core.query(
        f"""
        WITH t AS (SELECT site_id, sum(cdrs) AS cdrs, sum(kwh) AS kwh, sum({amt}) AS revenue
                   FROM {cdr} GROUP BY site_id),
        loc AS (SELECT site_id, any_value(site_name) AS site_name, any_value(city) AS city,
                       any_value(country_code) AS country_code, any_value(latitude) AS latitude,
                       any_value(longitude) AS longitude
                FROM marts.roaming_locations GROUP BY site_id)
        SELECT coalesce(loc.site_name, t.site_id) AS site_name, loc.city, loc.country_code,
               loc.latitude, loc.longitude, t.cdrs, t.kwh, t.revenue, t.site_id
        FROM t LEFT JOIN loc USING (site_id) ORDER BY t.kwh DESC, t.site_id""",
        s.params,
    )


def roaming_breakdown(f: Filters, by: str) -> pd.DataFrame:
    """CDRs, kWh and revenue by roaming provider ("provider") or paying eMSP ("emsp_party")."""
    col = {"provider": "provider", "emsp_party": "emsp_party"}[by]
    s = _Sql()
    cdr = _roaming_cdr_source(f, s)
    amt = _amount(f, "revenue", "revenue_eur")
    return core.query(
        f"""
        SELECT {col}, sum(cdrs)::BIGINT AS cdrs, sum(kwh) AS kwh, sum({amt}) AS revenue,
               count(DISTINCT site_id) AS sites
        FROM {cdr} GROUP BY 1 ORDER BY revenue DESC, {col}""",
        s.params,
    )

"""Queries of the Charge points page (dashboards/views/charge_points.py): SQL on the published marts only.

See dashboards/data/core.py for the connection, the filters and how parameters are bound."""

from __future__ import annotations

import pandas as pd

from dashboards.data import core
from dashboards.data.core import CP_COLS, Filters, _period, _Sql, _where


def cp_splits(f: Filters) -> pd.DataFrame:
    """Charge points by roaming / active / access (cp_status_splits): split, value, charge_points."""
    s = _Sql()
    w = _where(s.conds(f, **CP_COLS))
    return core.query(
        f"""
        WITH c AS (SELECT * FROM marts.cp_status_splits {w})
        SELECT 'Roaming' AS split, CASE WHEN roaming_enabled THEN 'Roaming' ELSE 'Non-roaming' END
               AS value, sum(charge_points)::BIGINT AS charge_points FROM c GROUP BY ALL
        UNION ALL
        SELECT 'Active', CASE WHEN is_active THEN 'Active' ELSE 'Inactive' END,
               sum(charge_points)::BIGINT FROM c GROUP BY ALL
        UNION ALL
        SELECT 'Access', CASE WHEN access = 'public' THEN 'Public' ELSE 'Private' END,
               sum(charge_points)::BIGINT FROM c GROUP BY ALL
        ORDER BY 1, 2""",
        s.params,
    )


_CP_TABLE_ORDER = "sessions_this_month DESC, charge_points DESC, total_sessions DESC"


def cp_teams_table(f: Filters) -> pd.DataFrame:
    """The Teams table: cp_team_summary; under site / AC-DC / access filters the same figures
    re-aggregated from cp_status_splits and cp_activity_monthly (the as_of month)."""
    s = _Sql()
    tw = _where(s.conds(f, operator="t.operator_id", team="t.team_id"))
    base = """SELECT t.team_name, o.operator_name, {cols}, t.team_id, t.operator_id
              FROM marts.cp_team_summary t LEFT JOIN marts.dim_operators o USING (operator_id)"""
    if not (f.sites or f.cp_level()):
        return core.query(
            base.format(
                cols="t.charge_points, t.active_charge_points, "
                "t.sessions_this_month, t.completed_sessions_this_month, "
                "t.total_sessions"
            )
            + f" {tw} ORDER BY {_CP_TABLE_ORDER}, t.team_name, t.team_id",
            s.params,
        )
    cw = _where(s.conds(f, **CP_COLS))
    aw = _where(s.conds(f, **{k: f"a.{v}" for k, v in CP_COLS.items()}))
    sql = f"""
        WITH cps AS (SELECT team_id, sum(charge_points) AS charge_points,
                            coalesce(sum(charge_points) FILTER (WHERE is_active), 0) AS active
                     FROM marts.cp_status_splits {cw} GROUP BY team_id),
        act AS (SELECT a.team_id,
                       coalesce(sum(a.sessions) FILTER (WHERE a.month = t.as_of_month), 0) AS tm,
                       coalesce(sum(a.completed_sessions) FILTER (WHERE a.month = t.as_of_month), 0) AS ctm,
                       sum(a.sessions) AS total
                FROM marts.cp_activity_monthly a,
                     (SELECT max(as_of_month) AS as_of_month FROM marts.cp_team_summary) t
                {aw} GROUP BY a.team_id)
        {
        base.format(
            cols='''coalesce(cps.charge_points, 0)::BIGINT AS charge_points,
                             coalesce(cps.active, 0)::BIGINT AS active_charge_points,
                             coalesce(act.tm, 0)::BIGINT AS sessions_this_month,
                             coalesce(act.ctm, 0)::BIGINT AS completed_sessions_this_month,
                             coalesce(act.total, 0)::BIGINT AS total_sessions'''
        )
    }
        LEFT JOIN cps USING (team_id) LEFT JOIN act USING (team_id)
        {
        _where(
            s.conds(f, operator="t.operator_id", team="t.team_id")
            + ["(cps.team_id IS NOT NULL OR act.team_id IS NOT NULL)"]
        )
    }
        ORDER BY {_CP_TABLE_ORDER}, t.team_name, t.team_id"""
    return core.query(sql, s.params)


def cp_sites_table(f: Filters) -> pd.DataFrame:
    """The Sites table: cp_site_summary; under AC-DC / access filters re-aggregated from
    cp_status_splits and cp_activity_monthly."""
    s = _Sql()
    base = """SELECT c.site_name, c.city, c.country_code, o.operator_name, tm.team_name, {cols},
                     c.site_id, c.operator_id, c.team_id
              FROM marts.cp_site_summary c LEFT JOIN marts.dim_operators o USING (operator_id)
              LEFT JOIN marts.dim_teams tm ON tm.team_id = c.team_id"""
    if not f.cp_level():
        w = _where(s.conds(f, operator="c.operator_id", team="c.team_id", site="c.site_id"))
        return core.query(
            base.format(
                cols="c.charge_points, c.active_charge_points, "
                "c.sessions_this_month, c.completed_sessions_this_month, "
                "c.total_sessions"
            )
            + f" {w} ORDER BY {_CP_TABLE_ORDER}, c.site_name, c.site_id",
            s.params,
        )
    cw = _where(s.conds(f, **CP_COLS))
    aw = _where(s.conds(f, **{k: f"a.{v}" for k, v in CP_COLS.items()}))
    sql = f"""
        WITH cps AS (SELECT site_id, sum(charge_points) AS charge_points,
                            coalesce(sum(charge_points) FILTER (WHERE is_active), 0) AS active
                     FROM marts.cp_status_splits {cw} GROUP BY site_id),
        act AS (SELECT a.site_id,
                       coalesce(sum(a.sessions) FILTER (WHERE a.month = c.as_of_month), 0) AS tm,
                       coalesce(sum(a.completed_sessions) FILTER (WHERE a.month = c.as_of_month), 0) AS ctm,
                       sum(a.sessions) AS total
                FROM marts.cp_activity_monthly a,
                     (SELECT max(as_of_month) AS as_of_month FROM marts.cp_site_summary) c
                {aw} GROUP BY a.site_id)
        {
        base.format(
            cols='''coalesce(cps.charge_points, 0)::BIGINT AS charge_points,
                             coalesce(cps.active, 0)::BIGINT AS active_charge_points,
                             coalesce(act.tm, 0)::BIGINT AS sessions_this_month,
                             coalesce(act.ctm, 0)::BIGINT AS completed_sessions_this_month,
                             coalesce(act.total, 0)::BIGINT AS total_sessions'''
        )
    }
        LEFT JOIN cps USING (site_id) LEFT JOIN act USING (site_id)
        {
        _where(
            s.conds(f, operator="c.operator_id", team="c.team_id", site="c.site_id")
            + ["(cps.site_id IS NOT NULL OR act.site_id IS NOT NULL)"]
        )
    }
        ORDER BY {_CP_TABLE_ORDER}, c.site_name, c.site_id"""
    return core.query(sql, s.params)


def cp_counts_over_time(f: Filters) -> pd.DataFrame:
    """New vs total charge points per period (cp_counts_monthly; total = at the period's end)."""
    s = _Sql()
    w = _where(s.conds(f, **CP_COLS, month="month"))
    return core.query(
        f"""
        WITH m AS (SELECT month, sum(new_charge_points) AS n,
                          sum(decommissioned_charge_points) AS d, sum(total_charge_points) AS t
                   FROM marts.cp_counts_monthly {w} GROUP BY month)
        SELECT {_period("month", f)} AS period, sum(n)::BIGINT AS new_charge_points,
               sum(d)::BIGINT AS decommissioned_charge_points,
               arg_max(t, month)::BIGINT AS total_charge_points
        FROM m GROUP BY 1 ORDER BY 1""",
        s.params,
    )


def cp_activity_over_time(f: Filters) -> pd.DataFrame:
    """Sessions, completed sessions, kWh per period and the accumulated totals at each period's
    end (cp_activity_monthly)."""
    s = _Sql()
    w = _where(s.conds(f, **CP_COLS, month="month"))
    return core.query(
        f"""
        WITH m AS (SELECT month, sum(sessions) AS se, sum(completed_sessions) AS co,
                          sum(failed_sessions) AS fa, sum(kwh) AS kwh,
                          sum(running_completed_sessions) AS rco, sum(running_kwh) AS rkwh
                   FROM marts.cp_activity_monthly {w} GROUP BY month)
        SELECT {_period("month", f)} AS period, sum(se)::BIGINT AS sessions,
               sum(co)::BIGINT AS completed_sessions, sum(fa)::BIGINT AS failed_sessions,
               sum(kwh) AS kwh, arg_max(rco, month)::BIGINT AS running_completed_sessions,
               arg_max(rkwh, month) AS running_kwh
        FROM m GROUP BY 1 ORDER BY 1""",
        s.params,
    )


def cp_ratings_over_time(f: Filters) -> pd.DataFrame:
    """Ratings and average stars per period (cp_ratings_monthly; marts.average_stars)."""
    s = _Sql()
    w = _where(s.conds(f, **CP_COLS, month="month"))
    return core.query(
        f"""
        SELECT {_period("month", f)} AS period, sum(ratings)::BIGINT AS ratings,
               sum(total_stars)::BIGINT AS total_stars,
               marts.average_stars(sum(total_stars), sum(ratings)) AS average_stars
        FROM marts.cp_ratings_monthly {w} GROUP BY 1 ORDER BY 1""",
        s.params,
    )


def cp_ratings_totals(f: Filters) -> dict:
    """Ratings and average stars over the whole selected period (cp_ratings_monthly)."""
    s = _Sql()
    w = _where(s.conds(f, **CP_COLS, month="month"))
    df = core.query(
        f"""
        SELECT coalesce(sum(ratings), 0)::BIGINT AS ratings,
               marts.average_stars(sum(total_stars), sum(ratings)) AS average_stars
        FROM marts.cp_ratings_monthly {w}""",
        s.params,
    )
    return df.iloc[0].to_dict()

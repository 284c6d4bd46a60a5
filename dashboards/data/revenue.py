"""Queries of the Revenue page (dashboards/views/revenue.py): SQL on the published marts only.

See dashboards/data/core.py for the connection, the filters and how parameters are bound."""

from __future__ import annotations

import pandas as pd

from dashboards.data import core
from dashboards.data.core import Filters, _period, _Sql, _where, current_month


def _amount(f: Filters, native: str, eur: str) -> str:
    """The money column: native amounts when one currency is selected, else the EUR one."""
    return native if f.currency else eur


def _revenue_source(f: Filters, s: _Sql) -> str:
    """Ledger revenue at month grain: revenue_monthly, or fct_ledger_entries when a site,
    AC/DC or public/private filter is set (only entries with a session carry those)."""
    if not (f.sites or f.cp_level()):
        return "marts.revenue_monthly"
    w = _where(s.conds(f, site="site_id", charging_type="charging_type", access="access"))
    return f"""(SELECT booked_month AS month, operator_id, team_id, plan_id, kind, currency,
                       amount AS revenue, revenue_eur FROM marts.fct_ledger_entries {w})"""


_REV_COLS = dict(operator="operator_id", team="team_id", plan="plan_id", currency="currency")


def revenue_over_time(f: Filters) -> pd.DataFrame:
    """Revenue per period and running revenue (cumulative from the first month with revenue,
    gap months included, DESIGN section 5) at each period's end."""
    s = _Sql()
    src = _revenue_source(f, s)
    w = _where(s.conds(f, **_REV_COLS))
    amt = _amount(f, "revenue", "revenue_eur")
    start, end = s.bind("start", f.start), s.bind("end", f.end)
    return core.query(
        f"""
        WITH src AS (SELECT month, {amt} AS amount FROM {src} {w}),
        months AS (SELECT CAST(range AS DATE) AS month
                   FROM range((SELECT coalesce(min(month), {start}::DATE) FROM src)::TIMESTAMP,
                              ({end}::DATE + INTERVAL 1 MONTH)::TIMESTAMP, INTERVAL 1 MONTH)),
        m AS (SELECT months.month, coalesce(sum(src.amount), 0) AS revenue
              FROM months LEFT JOIN src USING (month) GROUP BY months.month),
        r AS (SELECT month, revenue, sum(revenue) OVER (ORDER BY month) AS running FROM m)
        SELECT {_period("month", f)} AS period, sum(revenue) AS revenue,
               arg_max(running, month) AS running_revenue
        FROM r WHERE month BETWEEN {start}::DATE AND {end}::DATE GROUP BY 1 ORDER BY 1""",
        s.params,
    )


def revenue_kpis(f: Filters) -> dict:
    s = _Sql()
    src = _revenue_source(f, s)
    amt = _amount(f, "revenue", "revenue_eur")
    w = _where(s.conds(f, **_REV_COLS))
    start, end = s.bind("start", f.start), s.bind("end", f.end)
    cm = s.bind("current_month", current_month())
    df = core.query(
        f"""
        SELECT sum({amt}) FILTER (WHERE month BETWEEN {start}::DATE AND {end}::DATE) AS period_revenue,
               coalesce(sum({amt}) FILTER (WHERE month = {cm}::DATE), 0) AS current_month_revenue,
               count(DISTINCT team_id) FILTER (WHERE month BETWEEN {start}::DATE AND {end}::DATE)
                   AS paying_teams
        FROM {src} {w}""",
        s.params,
    )
    return df.iloc[0].to_dict()


def revenue_operators_table(f: Filters) -> pd.DataFrame:
    """The Operators table: revenue_operators (current month, past months, total per operator x
    currency); under paying team / plan / site / AC-DC / access filters the same aggregation of
    revenue_monthly (or fct_ledger_entries). Plus the selected period's revenue."""
    s = _Sql()
    src = _revenue_source(f, s)
    w = _where(s.conds(f, **_REV_COLS))
    start, end = s.bind("start", f.start), s.bind("end", f.end)
    period = f"""SELECT operator_id, currency, sum(revenue) AS revenue_selected_period,
                        sum(revenue_eur) AS revenue_selected_period_eur
                 FROM {src} {w} {"AND" if w else "WHERE"} month BETWEEN {start}::DATE AND {end}::DATE
                 GROUP BY ALL"""
    if not (f.teams or f.plans or f.sites or f.cp_level()):
        mw = _where(s.conds(f, operator="r.operator_id", currency="r.currency"))
        return core.query(
            f"""
            WITH p AS ({period})
            SELECT r.operator_name, r.parent_operator_name, r.currency, r.revenue_current_month,
                   r.revenue_past_months, r.total_revenue, p.revenue_selected_period,
                   r.revenue_current_month_eur, r.revenue_past_months_eur, r.total_revenue_eur,
                   p.revenue_selected_period_eur, r.operator_id
            FROM marts.revenue_operators r LEFT JOIN p USING (operator_id, currency) {mw}
            ORDER BY r.total_revenue_eur DESC NULLS LAST, r.operator_id, r.currency""",
            s.params,
        )
    cm = s.bind("current_month", current_month())
    return core.query(
        f"""
        WITH p AS ({period}),
        a AS (SELECT operator_id, currency,
                     coalesce(sum(revenue) FILTER (WHERE month = {cm}::DATE), 0) AS revenue_current_month,
                     coalesce(sum(revenue) FILTER (WHERE month < {cm}::DATE), 0) AS revenue_past_months,
                     sum(revenue) AS total_revenue,
                     coalesce(sum(revenue_eur) FILTER (WHERE month = {cm}::DATE), 0) AS revenue_current_month_eur,
                     coalesce(sum(revenue_eur) FILTER (WHERE month < {cm}::DATE), 0) AS revenue_past_months_eur,
                     sum(revenue_eur) AS total_revenue_eur
              FROM {src} {w} GROUP BY ALL)
        SELECT o.operator_name, o.parent_operator_name, a.currency, a.revenue_current_month,
               a.revenue_past_months, a.total_revenue, p.revenue_selected_period,
               a.revenue_current_month_eur, a.revenue_past_months_eur, a.total_revenue_eur,
               p.revenue_selected_period_eur, a.operator_id
        FROM a LEFT JOIN p USING (operator_id, currency)
        LEFT JOIN marts.dim_operators o USING (operator_id)
        ORDER BY a.total_revenue_eur DESC NULLS LAST, a.operator_id, a.currency""",
        s.params,
    )


def revenue_paying_teams_table(f: Filters) -> pd.DataFrame:
    """Paying teams: revenue_paying_teams (team, operator, current month, total); under plan /
    site / AC-DC / access filters the same aggregation of the ledger revenue. Plus the selected
    period's revenue."""
    s = _Sql()
    src = _revenue_source(f, s)
    w = _where(s.conds(f, **_REV_COLS) + ["team_id IS NOT NULL"])
    start, end = s.bind("start", f.start), s.bind("end", f.end)
    period = f"""SELECT team_id, currency, sum(revenue) AS revenue_selected_period,
                        sum(revenue_eur) AS revenue_selected_period_eur
                 FROM {src} {w} AND month BETWEEN {start}::DATE AND {end}::DATE GROUP BY ALL"""
    if not (f.plans or f.sites or f.cp_level()):
        mw = _where(s.conds(f, operator="r.operator_id", team="r.team_id", currency="r.currency"))
        return core.query(
            f"""
            WITH p AS ({period})
            SELECT r.team_name, r.operator_name, r.currency, r.revenue_current_month,
                   r.total_revenue, p.revenue_selected_period, r.revenue_current_month_eur,
                   r.total_revenue_eur, p.revenue_selected_period_eur, r.team_id, r.operator_id
            FROM marts.revenue_paying_teams r LEFT JOIN p USING (team_id, currency) {mw}
            ORDER BY r.total_revenue_eur DESC NULLS LAST, r.team_id, r.currency""",
            s.params,
        )
    cm = s.bind("current_month", current_month())
    return core.query(
        f"""
        WITH p AS ({period}),
        a AS (SELECT team_id, currency,
                     coalesce(sum(revenue) FILTER (WHERE month = {cm}::DATE), 0) AS revenue_current_month,
                     sum(revenue) AS total_revenue,
                     coalesce(sum(revenue_eur) FILTER (WHERE month = {cm}::DATE), 0) AS revenue_current_month_eur,
                     sum(revenue_eur) AS total_revenue_eur
              FROM {src} {w} GROUP BY ALL)
        SELECT t.team_name, t.operator_name, a.currency, a.revenue_current_month, a.total_revenue,
               p.revenue_selected_period, a.revenue_current_month_eur, a.total_revenue_eur,
               p.revenue_selected_period_eur, a.team_id, t.operator_id
        FROM a LEFT JOIN p USING (team_id, currency) LEFT JOIN marts.dim_teams t USING (team_id)
        ORDER BY a.total_revenue_eur DESC NULLS LAST, a.team_id, a.currency""",
        s.params,
    )


def revenue_plans_table(f: Filters) -> pd.DataFrame:
    """The Plans table (revenue_plans), filtered by operator, plan and currency."""
    s = _Sql()
    w = _where(s.conds(f, operator="operator_id", plan="plan_id", currency="currency"))
    return core.query(
        f"""
        SELECT plan_name, operator_name, subscriptions, active_subscriptions_this_month, price,
               currency, billing_period, plan_id, operator_id
        FROM marts.revenue_plans {w}
        ORDER BY active_subscriptions_this_month DESC, subscriptions DESC, plan_name""",
        s.params,
    )

"""Queries of the Team revenue page (dashboards/views/team_revenue.py): SQL on the published marts only.

See dashboards/data/core.py for the connection, the filters and how parameters are bound."""

from __future__ import annotations

import pandas as pd

from dashboards.data import core
from dashboards.data.core import Filters, _period, _Sql, _where

REVENUE_KINDS = {  # team_revenue_monthly column -> ledger kind
    "fees": "fee",
    "charges": "charge",
    "subscriptions": "subscription",
    "write_offs": "write_off",
    "intercompany_transfers": "intercompany_transfer",
    "tax_refunds": "tax_refund",
}


def team_revenue_over_time(f: Filters) -> pd.DataFrame:
    """Per period: revenue of paying teams by kind and in total, and the running revenue at the
    period's end (team_revenue_monthly.running_revenue summed over the selected teams). With one
    currency selected everything comes from team_revenue_monthly; for all currencies (EUR) the
    kinds come from revenue_monthly (entries with a paying team), because team_revenue_monthly
    has EUR only for the total."""
    s = _Sql()
    tw = _where(s.conds(f, operator="operator_id", team="team_id", currency="currency", month="month"))
    per = _period("month", f)
    if f.currency:
        kinds = ", ".join(f"sum({c}) AS {c}" for c in REVENUE_KINDS)
        bars = f"""SELECT {per} AS period, {kinds}, sum(total_revenue) AS total_revenue
                   FROM marts.team_revenue_monthly {tw} GROUP BY 1"""
        running = "running_revenue"
    else:
        kinds = ", ".join(
            f"coalesce(sum(revenue_eur) FILTER (WHERE kind = '{k}'), 0) AS {c}" for c, k in REVENUE_KINDS.items()
        )
        rw = _where(
            s.conds(f, team="team_id", month="month")
            + ["team_id IS NOT NULL"]
            + (
                [
                    f"team_id IN (SELECT team_id FROM marts.dim_teams WHERE "
                    f"list_contains({s.bind('operators', f.operators)}::VARCHAR[], operator_id))"
                ]
                if f.operators
                else []
            )
        )
        bars = f"""SELECT {per} AS period, {kinds}, sum(revenue_eur) AS total_revenue
                   FROM marts.revenue_monthly {rw} GROUP BY 1"""
        running = "running_revenue_eur"
    return core.query(
        f"""
        WITH bars AS ({bars}),
        run AS (SELECT {per} AS period, arg_max(r, month) AS running_revenue
                FROM (SELECT month, sum({running}) AS r FROM marts.team_revenue_monthly {tw}
                      GROUP BY month) GROUP BY 1)
        SELECT period, bars.* EXCLUDE (period), run.running_revenue
        FROM bars FULL JOIN run USING (period) ORDER BY period""",
        s.params,
    )


def team_revenue_teams_table(f: Filters) -> pd.DataFrame:
    """The Teams table (team_revenue_teams): every team with its current-month and total revenue."""
    s = _Sql()
    w = _where(s.conds(f, operator="operator_id", team="team_id", currency="currency"))
    return core.query(
        f"""
        SELECT team_name, operator_name, currency, revenue_current_month, total_revenue,
               revenue_current_month_eur, total_revenue_eur, has_revenue, team_id, operator_id
        FROM marts.team_revenue_teams {w}
        ORDER BY revenue_current_month_eur DESC NULLS LAST, total_revenue_eur DESC NULLS LAST,
                 team_name, currency""",
        s.params,
    )


def team_paying_teams_table(f: Filters) -> pd.DataFrame:
    """Paying teams (revenue_paying_teams) with the selected period's revenue from
    team_revenue_monthly."""
    s = _Sql()
    w = _where(s.conds(f, operator="r.operator_id", team="r.team_id", currency="r.currency"))
    pw = _where(s.conds(f, operator="operator_id", team="team_id", currency="currency", month="month"))
    return core.query(
        f"""
        WITH p AS (SELECT team_id, currency, sum(total_revenue) AS revenue_selected_period,
                          sum(total_revenue_eur) AS revenue_selected_period_eur
                   FROM marts.team_revenue_monthly {pw} GROUP BY ALL)
        SELECT r.team_name, r.operator_name, r.currency, r.total_revenue,
               coalesce(p.revenue_selected_period, 0) AS revenue_selected_period,
               r.total_revenue_eur, coalesce(p.revenue_selected_period_eur, 0)
                   AS revenue_selected_period_eur, r.team_id, r.operator_id
        FROM marts.revenue_paying_teams r LEFT JOIN p USING (team_id, currency) {w}
        ORDER BY r.total_revenue_eur DESC NULLS LAST, r.team_id, r.currency""",
        s.params,
    )

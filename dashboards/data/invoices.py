"""Queries of the Invoices page (dashboards/views/invoices.py): SQL on the published marts only.

See dashboards/data/core.py for the connection, the filters and how parameters are bound."""

from __future__ import annotations

import pandas as pd

from dashboards.data import core
from dashboards.data.core import Filters, _Sql, _where

INVOICE_STATUSES = ("paid", "settled", "unpaid")


def _invoice_conds(f: Filters, s: _Sql) -> list[str]:
    conds = s.conds(
        f, operator="operator_id", currency="currency", month="CAST(date_trunc('month', issued_at) AS DATE)"
    )
    if f.teams:
        conds.append(f"customer_type = 'team' AND list_contains({s.bind('teams', f.teams)}::VARCHAR[], customer_id)")
    return conds


def invoices_table(f: Filters) -> pd.DataFrame:
    """The invoice table (marts.invoices), the dashboard's 13 columns and the customer type."""
    s = _Sql()
    w = _where(_invoice_conds(f, s))
    return core.query(
        f"""
        SELECT operator_name, parent_operator_name, customer_name, customer_type, invoice_id,
               status, wallet_id, currency, wallet_balance, due_at, days_overdue, payable_amount,
               period_from, period_to, wallet_currency, issued_at, operator_id, customer_id
        FROM marts.invoices {w}
        ORDER BY days_overdue DESC, due_at DESC NULLS LAST, invoice_id""",
        s.params,
    )


def invoice_status_summary(f: Filters) -> pd.DataFrame:
    """Counts and amounts per currency and status: invoice_status_summary, or the same
    aggregation of marts.invoices under a team (customer) or date filter."""
    s = _Sql()
    if not f.teams and f.full_range:
        w = _where(s.conds(f, operator="operator_id", currency="currency"))
        src = f"SELECT * FROM marts.invoice_status_summary {w}"
    else:
        w = _where(_invoice_conds(f, s))
        src = f"""SELECT currency, status, count(*) AS invoice_count,
                         sum(payable_amount) AS payable_amount,
                         count(*) FILTER (WHERE days_overdue > 0) AS overdue_invoice_count,
                         coalesce(sum(payable_amount) FILTER (WHERE days_overdue > 0), 0) AS overdue_amount,
                         max(days_overdue) AS max_days_overdue
                  FROM marts.invoices {w} GROUP BY ALL"""
    return core.query(
        f"""
        SELECT currency, status, sum(invoice_count)::BIGINT AS invoice_count,
               sum(payable_amount) AS payable_amount,
               sum(overdue_invoice_count)::BIGINT AS overdue_invoice_count,
               sum(overdue_amount) AS overdue_amount, max(max_days_overdue) AS max_days_overdue
        FROM ({src}) GROUP BY ALL ORDER BY currency, status""",
        s.params,
    )

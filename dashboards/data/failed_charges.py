"""Queries of the Failed charges page (dashboards/views/failed_charges.py): SQL on the published marts only.

See dashboards/data/core.py for the connection, the filters and how parameters are bound."""

from __future__ import annotations

import pandas as pd

from dashboards.data import core
from dashboards.data.core import CP_COLS, SITE_COLS, Filters, _period, _Sql, _where


def _failed_source(f: Filters, s: _Sql) -> str:
    """Finished / failed sessions by date and site: failed_charges_daily, or
    failed_charges_by_charge_point_daily under an AC/DC or public/private filter."""
    if f.cp_level():
        w = _where(s.conds(f, **CP_COLS, month="month"))
        return f"""(SELECT month, operator_id, team_id, site_id, total_sessions, failed_sessions
                    FROM marts.failed_charges_by_charge_point_daily {w})"""
    w = _where(s.conds(f, **SITE_COLS, month="month"))
    return f"""(SELECT month, operator_id, team_id, site_id, total_sessions, failed_sessions
                FROM marts.failed_charges_daily {w})"""


def failed_over_time(f: Filters) -> pd.DataFrame:
    s = _Sql()
    src = _failed_source(f, s)
    return core.query(
        f"""
        SELECT {_period("month", f)} AS period, sum(total_sessions)::BIGINT AS total_sessions,
               sum(failed_sessions)::BIGINT AS failed_sessions,
               marts.failed_pct(sum(failed_sessions), sum(total_sessions)) AS failed_pct
        FROM {src} GROUP BY 1 ORDER BY 1""",
        s.params,
    )


def failed_kpis(f: Filters) -> dict:
    s = _Sql()
    src = _failed_source(f, s)
    ow = _where(s.conds(f, **CP_COLS, month="month"))
    df = core.query(
        f"""
        SELECT coalesce(sum(total_sessions), 0)::BIGINT AS total_sessions,
               coalesce(sum(failed_sessions), 0)::BIGINT AS failed_sessions,
               marts.failed_pct(sum(failed_sessions), sum(total_sessions)) AS failed_pct,
               (SELECT coalesce(sum(error_count), 0) FROM marts.ocpp_errors_daily {ow})::BIGINT
                   AS ocpp_errors
        FROM {src}""",
        s.params,
    )
    return df.iloc[0].to_dict()


def failed_breakdown(f: Filters, by: str) -> pd.DataFrame:
    """Sessions, failed sessions and % failed by operator, team or site (names from the dims)."""
    key, name_sql, join = {
        "operator": (
            "operator_id",
            "o.operator_name",
            "LEFT JOIN marts.dim_operators o ON o.operator_id = a.operator_id",
        ),
        "team": ("team_id", "t.team_name", "LEFT JOIN marts.dim_teams t ON t.team_id = a.team_id"),
        "site": ("site_id", "x.site_name", "LEFT JOIN marts.dim_sites x ON x.site_id = a.site_id"),
    }[by]
    s = _Sql()
    src = _failed_source(f, s)
    return core.query(
        f"""
        WITH a AS (SELECT {key}, sum(total_sessions) AS total_sessions,
                          sum(failed_sessions) AS failed_sessions FROM {src} GROUP BY 1)
        SELECT coalesce({name_sql}, a.{key}, '(unknown)') AS name,
               a.total_sessions::BIGINT AS total_sessions,
               a.failed_sessions::BIGINT AS failed_sessions,
               marts.failed_pct(a.failed_sessions, a.total_sessions) AS failed_pct, a.{key} AS id
        FROM a {join} ORDER BY failed_pct DESC NULLS LAST, name""",
        s.params,
    )


def failed_by_hardware(f: Filters) -> pd.DataFrame:
    """By brand, model and firmware valid at plug-in: failed_charges_by_hardware, or
    failed_charges_by_charge_point_daily when operator / team / site / AC-DC / access is set."""
    s = _Sql()
    if f.operators or f.teams or f.sites or f.cp_level():
        w = _where(s.conds(f, **CP_COLS, month="month"))
        src = f"marts.failed_charges_by_charge_point_daily {w}"
    else:
        src = f"marts.failed_charges_by_hardware {_where(s.conds(f, month='month'))}"
    return core.query(
        f"""
        SELECT brand, model, firmware_version, sum(total_sessions)::BIGINT AS total_sessions,
               sum(failed_sessions)::BIGINT AS failed_sessions,
               marts.failed_pct(sum(failed_sessions), sum(total_sessions)) AS failed_pct
        FROM {src} GROUP BY ALL
        ORDER BY failed_sessions DESC, brand, model, firmware_version""",
        s.params,
    )


def failure_reasons(f: Filters) -> pd.DataFrame:
    """Failed sessions by failure reason (failed_charges_by_reason_monthly)."""
    s = _Sql()
    w = _where(s.conds(f, **CP_COLS, month="month"))
    return core.query(
        f"""
        SELECT failure_reason, sum(failed_sessions)::BIGINT AS failed_sessions
        FROM marts.failed_charges_by_reason_monthly {w} GROUP BY 1
        ORDER BY failed_sessions DESC, failure_reason""",
        s.params,
    )


def ocpp_errors(f: Filters) -> pd.DataFrame:
    """OCPP StatusNotification errors by error code (ocpp_errors_daily)."""
    s = _Sql()
    w = _where(s.conds(f, **CP_COLS, month="month"))
    return core.query(
        f"""
        SELECT error_code, sum(error_count)::BIGINT AS error_count,
               count(DISTINCT charge_point_id) AS charge_points
        FROM marts.ocpp_errors_daily {w} GROUP BY 1 ORDER BY error_count DESC, error_code""",
        s.params,
    )

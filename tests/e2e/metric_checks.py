"""Each dashboard key figure queried through MetricFlow (the semantic layer, models/semantic/) and
compared with the published mart that holds it, row by row at the mart's grain.

A check is (MetricFlow metrics, MetricFlow group-by names, SQL on serving.duckdb returning the
same key columns then the same figures in the same order). Every mart row must be matched by a
MetricFlow row with equal figures; MetricFlow rows the mart has no row for must be empty (the marts
leave out, e.g., site-days without an active charge point).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class MetricCheck:
    name: str
    metrics: tuple[str, ...]
    group_by: tuple[str, ...]
    mart_sql: str
    where: tuple[str, ...] = ()
    # MetricFlow rows without a mart row must have these metrics 0 or NULL
    absent_means_zero: tuple[str, ...] = ()
    time_start: str | None = None
    time_end: str | None = None
    # sums MetricFlow leaves NULL where nothing was summed yet (a cumulative metric before the
    # first event) and the mart gap-fills with 0
    null_is_zero: bool = False


CHECKS = [
    MetricCheck(
        "site_utilization_daily",
        ("cp_days", "kwh", "occupied_hours", "kwh_per_cp_day", "time_utilised_pct"),
        ("site", "metric_time__day"),
        """SELECT site_id, date, active_charge_points, kwh, occupied_hours, kwh_per_cp_day, time_utilised_pct
           FROM marts.site_utilization_daily""",
        absent_means_zero=("cp_days",),
    ),
    MetricCheck(
        "site_utilization_monthly",
        ("cp_days", "kwh", "occupied_hours", "kwh_per_cp_day", "time_utilised_pct"),
        ("site", "metric_time__month"),
        """SELECT site_id, month, cp_days, kwh, occupied_hours, kwh_per_cp_day, time_utilised_pct
           FROM marts.site_utilization_monthly""",
        absent_means_zero=("cp_days",),
    ),
    MetricCheck(
        "failed_charges_daily",
        ("sessions", "failed_sessions", "failed_pct"),
        ("site", "metric_time__day"),
        "SELECT site_id, date, total_sessions, failed_sessions, failed_pct FROM marts.failed_charges_daily",
        where=("{{ Entity('site') }} IS NOT NULL",),
        absent_means_zero=("sessions",),
    ),
    MetricCheck(
        "failed_charges_by_hardware",
        ("sessions", "failed_sessions", "failed_pct"),
        ("session__brand", "session__model", "session__firmware_version", "metric_time__month"),
        """SELECT brand, model, firmware_version, month, total_sessions, failed_sessions, failed_pct
           FROM marts.failed_charges_by_hardware""",
        absent_means_zero=("sessions",),
    ),
    MetricCheck(
        "roaming_sessions_daily",
        ("roaming_sessions", "successful_roaming_sessions", "roaming_success_pct"),
        ("site", "metric_time__day"),
        "SELECT site_id, date, roaming_sessions, successful_sessions, success_pct FROM marts.roaming_sessions_daily",
        where=("{{ Entity('site') }} IS NOT NULL",),
        absent_means_zero=("roaming_sessions",),
    ),
    MetricCheck(
        "cp_activity_monthly (accumulated sessions per site)",
        ("sessions", "accumulated_sessions", "accumulated_completed_sessions", "kwh", "accumulated_kwh"),
        ("site", "metric_time__month"),
        """SELECT site_id, month, sum(sessions), sum(running_sessions), sum(running_completed_sessions),
                  sum(kwh), sum(running_kwh)
           FROM marts.cp_activity_monthly WHERE site_id IS NOT NULL GROUP BY ALL""",
        where=("{{ Entity('site') }} IS NOT NULL",),
        absent_means_zero=("sessions",),
        null_is_zero=True,
    ),
    MetricCheck(
        "cp_ratings_monthly (per site)",
        ("ratings", "total_stars", "average_stars"),
        ("site", "metric_time__month"),
        """SELECT site_id, month, sum(ratings), sum(total_stars), sum(total_stars) / sum(ratings)
           FROM marts.cp_ratings_monthly WHERE site_id IS NOT NULL GROUP BY ALL HAVING sum(ratings) > 0""",
        where=("{{ Entity('site') }} IS NOT NULL",),
        absent_means_zero=("ratings",),
    ),
    MetricCheck(
        "site_operations_daily",
        ("sessions", "idle_hours", "sessions_idle_over_1h", "idle_minutes_per_session", "peak_demand_kw"),
        ("site", "metric_time__day"),
        """SELECT site_id, date, sessions, idle_hours, sessions_idle_over_1h, 60.0 * idle_hours / sessions,
                  peak_demand_kw
           FROM marts.site_operations_daily WHERE sessions > 0""",
        where=("{{ Entity('site') }} IS NOT NULL",),
        absent_means_zero=("sessions",),
    ),
    MetricCheck(
        "ocpp_errors_daily",
        ("ocpp_errors",),
        ("charge_point", "ocpp_error_day__error_code", "metric_time__day"),
        "SELECT charge_point_id, error_code, date, error_count FROM marts.ocpp_errors_daily",
    ),
    MetricCheck(
        "revenue_monthly",
        ("revenue", "revenue_eur"),
        ("operator", "team", "plan", "ledger_entry__kind", "ledger_entry__currency", "metric_time__month"),
        """SELECT operator_id, team_id, plan_id, kind, currency, month, revenue, revenue_eur
           FROM marts.revenue_monthly""",
    ),
    MetricCheck(
        "revenue_running_by_operator",
        ("revenue", "running_revenue", "running_revenue_eur"),
        ("operator", "ledger_entry__currency", "metric_time__month"),
        """SELECT operator_id, currency, month, revenue, running_revenue, running_revenue_eur
           FROM marts.revenue_running_by_operator""",
        absent_means_zero=("revenue",),
    ),
    MetricCheck(
        "team_revenue_monthly",
        ("revenue", "running_revenue"),
        ("team", "ledger_entry__currency", "metric_time__month"),
        """SELECT team_id, currency, month, total_revenue, running_revenue FROM marts.team_revenue_monthly""",
        where=("{{ Entity('team') }} IS NOT NULL",),
        absent_means_zero=("revenue",),
    ),
    MetricCheck(
        "roaming_daily",
        ("roaming_cdrs", "roaming_kwh", "roaming_revenue", "roaming_revenue_eur"),
        ("site", "cdr__provider", "cdr__emsp_party", "cdr__currency", "metric_time__day"),
        """SELECT site_id, provider, emsp_party, currency, date, cdrs, kwh, revenue, revenue_eur
           FROM marts.roaming_daily""",
    ),
    MetricCheck(
        "invoice_status_summary",
        ("invoice_count", "payable_amount", "overdue_invoice_count", "overdue_amount"),
        ("operator", "invoice__currency", "invoice__status"),
        """SELECT operator_id, currency, status, invoice_count, payable_amount, overdue_invoice_count,
                  overdue_amount
           FROM marts.invoice_status_summary WHERE invoice_count > 0""",
    ),
]


def trailing_uptime_check(as_of: str, window_start: str) -> MetricCheck:
    """NEVI uptime per port over the trailing window (charge_point_uptime_trailing)."""
    return MetricCheck(
        "charge_point_uptime_trailing",
        ("port_period_minutes", "uptime_pct"),
        ("charge_point", "port_day__connector_id"),
        """SELECT charge_point_id, connector_id, period_minutes, uptime_pct
           FROM marts.charge_point_uptime_trailing""",
        time_start=window_start,
        time_end=as_of,
    )


def metricflow_engine(warehouse: Path):
    """A MetricFlow engine on the build database of `warehouse` (dbt profile `duckdb`), from the
    project's target/semantic_manifest.json (written by dbt parse)."""
    from dbt_metricflow.cli.cli_configuration import CLIConfiguration

    os.environ["WAREHOUSE_DIR"] = str(warehouse)
    os.environ.setdefault("WAREHOUSE_DBT_TARGET", "duckdb")
    config = CLIConfiguration()
    config.setup(dbt_profiles_path=PROJECT / "profiles", dbt_project_path=PROJECT, configure_file_logging=False)
    return config


def query(config, check: MetricCheck) -> dict[tuple, tuple]:
    from metricflow.engine.metricflow_engine import MetricFlowQueryRequest

    request = MetricFlowQueryRequest.create(
        metric_names=list(check.metrics),
        group_by_names=list(check.group_by),
        where_constraints=list(check.where) or None,
        time_constraint_start=datetime.fromisoformat(check.time_start) if check.time_start else None,
        time_constraint_end=datetime.fromisoformat(check.time_end) if check.time_end else None,
    )
    table = config.mf.query(request).result_df
    names = [c.lower() for c in table.column_names]
    keys = [names.index(_column(g)) for g in check.group_by]
    values = [names.index(m) for m in check.metrics]
    out = {}
    for row in table.rows:
        key = tuple(_key(row[i]) for i in keys)
        assert key not in out, (check.name, key)
        out[key] = tuple(row[i] for i in values)
    return out


def _column(group_by: str) -> str:
    return group_by.lower()


def _key(value):
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, Decimal):
        return int(value)
    return value


def _equal(a, b, null_is_zero: bool = False) -> bool:
    if null_is_zero:
        a, b = (0 if a is None else a), (0 if b is None else b)
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-6)


def compare(config, serving_con, check: MetricCheck) -> int:
    """Asserts MetricFlow equals the mart; returns the number of mart rows compared."""
    metricflow = query(config, check)
    n_keys = len(check.group_by)
    mart = {}
    for row in serving_con.execute(check.mart_sql).fetchall():
        mart[tuple(_key(v) for v in row[:n_keys])] = row[n_keys:]
    assert mart, f"{check.name}: the mart is empty, nothing compared"
    mismatches = []
    for key, figures in mart.items():
        got = metricflow.get(key)
        if got is None and check.null_is_zero:
            got = (None,) * len(check.metrics)
        if got is None or not all(_equal(a, b, check.null_is_zero) for a, b in zip(got, figures)):
            mismatches.append((key, figures, got))
    assert not mismatches, f"{check.name}: {len(mismatches)} of {len(mart)} rows differ, e.g. {mismatches[:3]}"
    extra = [
        (key, got)
        for key, got in metricflow.items()
        if key not in mart
        and any(got[check.metrics.index(m)] not in (0, None) for m in check.absent_means_zero or check.metrics)
    ]
    assert not extra, f"{check.name}: MetricFlow has {len(extra)} rows the mart lacks, e.g. {extra[:3]}"
    return len(mart)

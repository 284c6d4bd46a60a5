"""The dashboards' only door to the warehouse: every SQL statement of the app lives here.

* It reads the published serving database only (schema ``marts``), read-only. Its path:
  ``--serving-db PATH`` after ``--`` on the ``streamlit run`` command line, else ``$SERVING_DB``,
  else ``$WAREHOUSE_DIR/serving.duckdb`` (``WAREHOUSE_DIR`` defaults to ``warehouse``; relative
  paths are relative to the working directory).
* A run publishes by writing a new file and ``os.replace``-ing it onto serving.duckdb. The file's
  identity (device, inode, mtime, size) is checked before every query: one read-only connection
  (an in-memory DuckDB with the file ATTACHed READ_ONLY) is kept for the current file and reopened
  as soon as the identity changes, so the next query or refresh reads the new file; nothing ever
  holds a write lock, so a publishing run is never blocked. Queries share that connection under
  a lock.
* Results are cached with ``st.cache_data`` keyed on (path, file identity, SQL, parameters):
  a new publish means new keys, never a stale answer.
* Filter values are always bound as named parameters (``$name``); only column and table names
  chosen by this module (never by the user) are spliced into SQL text.
"""

from __future__ import annotations

import operator as _op
import os
import sys
import threading
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import streamlit as st

# --------------------------------------------------------------------------------------------
# Where the serving database is, and whether it is there
# --------------------------------------------------------------------------------------------


class ServingMissing(Exception):
    """serving.duckdb does not exist (nothing published yet)."""

    def __init__(self, path: Path):
        super().__init__(f"No published warehouse at {path}")
        self.path = path


class ServingError(Exception):
    """The serving database exists but cannot answer (unreadable, or a mart is missing)."""


class _FileChanged(Exception):
    """serving.duckdb was replaced between the identity check and the connection: retry."""


def _argv_option(name: str) -> str | None:
    args = sys.argv[1:]
    for i, arg in enumerate(args):
        if arg == name and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return None


def serving_path() -> Path:
    """``--serving-db`` > ``$SERVING_DB`` > ``--warehouse-dir``/``$WAREHOUSE_DIR`` (default
    ``warehouse``) + ``/serving.duckdb``."""
    explicit = _argv_option("--serving-db") or os.environ.get("SERVING_DB")
    if explicit:
        return Path(explicit).expanduser().absolute()
    wdir = _argv_option("--warehouse-dir") or os.environ.get("WAREHOUSE_DIR") or "warehouse"
    return (Path(wdir).expanduser() / "serving.duckdb").absolute()


def file_identity(path: Path) -> tuple[int, int, int, int] | None:
    """(device, inode, mtime_ns, size) of the file, or None when it does not exist."""
    try:
        s = os.stat(path)
    except FileNotFoundError:
        return None
    return (s.st_dev, s.st_ino, s.st_mtime_ns, s.st_size)


_lock = threading.Lock()
_con: duckdb.DuckDBPyConnection | None = None
_con_key: tuple[str, tuple] | None = None


def close() -> None:
    """Close the kept connection (tests; the next query reopens)."""
    global _con, _con_key
    with _lock:
        if _con is not None:
            _con.close()
        _con, _con_key = None, None


def _connection(path: str, ident: tuple) -> duckdb.DuckDBPyConnection:
    """The read-only connection to the file with this identity (caller holds _lock)."""
    global _con, _con_key
    if _con is not None and _con_key == (path, ident):
        return _con
    if _con is not None:  # the file was replaced: let go of the old one first
        _con.close()
        _con, _con_key = None, None
    try:
        # An in-memory DuckDB with serving.duckdb ATTACHed READ_ONLY, not duckdb.connect(path):
        # DuckDB caches database instances per path inside a process, and connect(path) while any
        # other connection to that path is open returns the instance of the old, replaced file.
        con = duckdb.connect(":memory:")
        con.execute(f"ATTACH {_sql_string(path)} AS serving (READ_ONLY)")
        con.execute("USE serving")
    except duckdb.Error as exc:
        if file_identity(Path(path)) != ident:
            raise _FileChanged() from exc
        raise ServingError(f"Cannot open {path} read-only: {exc}") from exc
    if file_identity(Path(path)) != ident:  # replaced while we opened it: we may hold either
        con.close()
        raise _FileChanged()
    _con, _con_key = con, (path, ident)
    return con


def _sql_string(text: str) -> str:
    """A SQL string literal (the path of the file to ATTACH, which takes no parameters)."""
    return "'" + text.replace("'", "''") + "'"


def _execute(path: str, ident: tuple, sql: str, params: dict) -> pd.DataFrame:
    with _lock:
        con = _connection(path, ident)
        try:
            return con.execute(sql, params).df()
        except duckdb.CatalogException as exc:
            raise ServingError(
                f"The published warehouse {path} lacks a table or column the dashboards read "
                f"({str(exc).splitlines()[0]}). Publish a current build with `make run`.") from exc


@st.cache_data(max_entries=2000, show_spinner=False)
def _cached(path: str, ident: tuple, sql: str, params: dict) -> pd.DataFrame:
    return _execute(path, ident, sql, params)


def query(sql: str, params: dict | None = None) -> pd.DataFrame:
    """Run one SELECT on the current serving file (cached per file identity)."""
    path = serving_path()
    for _ in range(5):
        ident = file_identity(path)
        if ident is None:
            raise ServingMissing(path)
        try:
            return _cached(str(path), ident, sql, dict(params or {}))
        except _FileChanged:
            continue
    raise ServingError(f"{path} kept being replaced while it was read; try again")


def scalar(sql: str, params: dict | None = None) -> Any:
    df = query(sql, params)
    if df.empty:
        return None
    value = df.iat[0, 0]
    return None if pd.isna(value) else value


# --------------------------------------------------------------------------------------------
# Filters and the SQL they become
# --------------------------------------------------------------------------------------------

ALL_CURRENCIES = None  # Filters.currency: None = every currency, amounts converted to EUR


@dataclass(frozen=True)
class Filters:
    """The sidebar's global filters. Empty tuples mean "all"."""

    operators: tuple[str, ...] = ()
    teams: tuple[str, ...] = ()
    sites: tuple[str, ...] = ()
    charging_types: tuple[str, ...] = ()
    access: tuple[str, ...] = ()
    plans: tuple[str, ...] = ()
    currency: str | None = ALL_CURRENCIES
    start: date | None = None  # first day of the first month in range
    end: date | None = None  # first day of the last month in range (inclusive)
    granularity: str = "month"  # "month" or "year"
    full_range: bool = True  # start..end covers every month the page has data for

    def cp_level(self) -> bool:
        """Filters only the charge-point-grain marts carry (AC/DC, public/private)."""
        return bool(self.charging_types or self.access)

    def with_(self, **kw) -> Filters:
        return replace(self, **kw)


@dataclass
class _Sql:
    """Collects named parameters while conditions are generated."""

    params: dict = field(default_factory=dict)

    def bind(self, name: str, value) -> str:
        if isinstance(value, tuple):
            value = list(value)
        self.params[name] = value
        return f"${name}"

    def conds(self, f: Filters, *, operator: str | None = None, team: str | None = None,
              site: str | None = None, charging_type: str | None = None,
              access: str | None = None, plan: str | None = None, currency: str | None = None,
              month: str | None = None) -> list[str]:
        """SQL conditions for the filters whose column is given (None = not applied here)."""
        out = []
        for values, col, name in ((f.operators, operator, "operators"), (f.teams, team, "teams"),
                                  (f.sites, site, "sites"),
                                  (f.charging_types, charging_type, "charging_types"),
                                  (f.access, access, "access"), (f.plans, plan, "plans")):
            if values and col:
                out.append(f"list_contains({self.bind(name, values)}::VARCHAR[], {col})")
        if f.currency and currency:
            out.append(f"{currency} = {self.bind('currency', f.currency)}")
        if month and f.start is not None:
            out.append(f"{month} >= {self.bind('start', f.start)}::DATE")
        if month and f.end is not None:
            out.append(f"{month} <= {self.bind('end', f.end)}::DATE")
        return out


def _where(conds: list[str], prefix: str = "WHERE") -> str:
    return f"{prefix} " + " AND ".join(conds) if conds else ""


def _period(col: str, f: Filters) -> str:
    return col if f.granularity == "month" else f"CAST(date_trunc('year', {col}) AS DATE)"


CP_COLS = dict(operator="operator_id", team="team_id", site="site_id",
               charging_type="charging_type", access="access")
SITE_COLS = dict(operator="operator_id", team="team_id", site="site_id")


# --------------------------------------------------------------------------------------------
# Publish info, filter lists, date domains
# --------------------------------------------------------------------------------------------


def publish_info() -> dict | None:
    """The published run (marts._publish_info), or None if the file has none."""
    try:
        df = query("SELECT run_id, as_of_date, published_at FROM marts._publish_info "
                   "ORDER BY published_at DESC LIMIT 1")
    except ServingError:
        return None
    return None if df.empty else df.iloc[0].to_dict()


def as_of_date() -> date | None:
    """The published run's logical date; else the marts' "current month"."""
    info = publish_info()
    if info and info.get("as_of_date") is not None and not pd.isna(info["as_of_date"]):
        return pd.Timestamp(info["as_of_date"]).date()
    value = scalar("SELECT max(as_of_month) FROM marts.cp_team_summary")
    return None if value is None else pd.Timestamp(value).date()


def current_month() -> date | None:
    d = as_of_date()
    return None if d is None else d.replace(day=1)


def operators() -> pd.DataFrame:
    return query("SELECT operator_id, operator_name, parent_operator_id, parent_operator_name, "
                 "currency FROM marts.dim_operators ORDER BY operator_name, operator_id")


def teams(operator_ids: tuple[str, ...] = ()) -> pd.DataFrame:
    s = _Sql()
    w = _where(s.conds(Filters(operators=operator_ids), operator="operator_id"))
    return query(f"SELECT team_id, team_name, operator_id FROM marts.dim_teams {w} "
                 "ORDER BY team_name, team_id", s.params)


def sites(operator_ids: tuple[str, ...] = (), team_ids: tuple[str, ...] = ()) -> pd.DataFrame:
    s = _Sql()
    w = _where(s.conds(Filters(operators=operator_ids, teams=team_ids), **SITE_COLS))
    return query(f"SELECT site_id, site_name, operator_id, team_id, city, country_code "
                 f"FROM marts.dim_sites {w} ORDER BY site_name, site_id", s.params)


def plans(operator_ids: tuple[str, ...] = ()) -> pd.DataFrame:
    s = _Sql()
    w = _where(s.conds(Filters(operators=operator_ids), operator="operator_id"))
    return query(f"SELECT plan_id, plan_name, operator_id, currency FROM marts.dim_plans {w} "
                 "ORDER BY plan_name, plan_id", s.params)


_CURRENCY_SQL = {
    "revenue": "SELECT DISTINCT currency FROM marts.revenue_monthly",
    "team_revenue": "SELECT DISTINCT currency FROM marts.team_revenue_monthly "
                    "UNION SELECT DISTINCT currency FROM marts.team_revenue_teams",
    "invoices": "SELECT DISTINCT currency FROM marts.invoices",
    "roaming": "SELECT DISTINCT currency FROM marts.roaming_daily",
}


def currencies(page: str) -> list[str]:
    df = query(f"SELECT currency FROM ({_CURRENCY_SQL[page]}) WHERE currency IS NOT NULL "
               "ORDER BY currency")
    return df["currency"].tolist()


_DOMAIN_SQL = {
    "charge_points": "SELECT month FROM marts.cp_counts_monthly UNION ALL "
                     "SELECT month FROM marts.cp_activity_monthly UNION ALL "
                     "SELECT month FROM marts.cp_ratings_monthly",
    "revenue": "SELECT month FROM marts.revenue_monthly",
    "team_revenue": "SELECT month FROM marts.team_revenue_monthly",
    "invoices": "SELECT CAST(date_trunc('month', issued_at) AS DATE) AS month FROM marts.invoices",
    "roaming": "SELECT month FROM marts.roaming_daily UNION ALL "
               "SELECT month FROM marts.roaming_sessions_daily",
    "failed_charges": "SELECT month FROM marts.failed_charges_daily UNION ALL "
                      "SELECT month FROM marts.ocpp_errors_daily",
    "site_utilization": "SELECT month FROM marts.site_utilization_monthly",
    "reliability": "SELECT month FROM marts.connector_uptime_daily UNION ALL "
                   "SELECT month FROM marts.site_operations_daily WHERE sessions > 0",
}


# Where a page's marts reach back before any session was loaded (charge points and CP-days exist
# from commissioning), the default range starts at the first month with session activity.
_ACTIVITY_START_SQL = {
    "charge_points": "SELECT min(month) FROM marts.cp_activity_monthly WHERE sessions > 0",
    "site_utilization": "SELECT min(month) FROM marts.site_utilization_monthly "
                        "WHERE sessions > 0 OR kwh > 0",
}


def month_domain(page: str) -> tuple[date, date] | None:
    """First and last month (first days) the page's marts have data for; None when empty."""
    df = query(f"SELECT min(month) AS lo, max(month) AS hi FROM ({_DOMAIN_SQL[page]}) "
               "WHERE month IS NOT NULL")
    if df.empty or pd.isna(df.at[0, "lo"]):
        return None
    return pd.Timestamp(df.at[0, "lo"]).date(), pd.Timestamp(df.at[0, "hi"]).date()


def default_range(page: str) -> tuple[date, date] | None:
    """The page's default date range: from the first month with activity (else the first month
    with data) to the as-of month (else the last month with data)."""
    domain = month_domain(page)
    if domain is None:
        return None
    lo, hi = domain
    start = scalar(_ACTIVITY_START_SQL[page]) if page in _ACTIVITY_START_SQL else None
    start = pd.Timestamp(start).date() if start is not None else lo
    cm = current_month()
    end = cm if cm is not None and start <= cm <= hi else hi
    return max(lo, min(start, end)), end


# --------------------------------------------------------------------------------------------
# Charge points
# --------------------------------------------------------------------------------------------


def cp_splits(f: Filters) -> pd.DataFrame:
    """Charge points by roaming / active / access (cp_status_splits): split, value, charge_points."""
    s = _Sql()
    w = _where(s.conds(f, **CP_COLS))
    return query(f"""
        WITH c AS (SELECT * FROM marts.cp_status_splits {w})
        SELECT 'Roaming' AS split, CASE WHEN roaming_enabled THEN 'Roaming' ELSE 'Non-roaming' END
               AS value, sum(charge_points)::BIGINT AS charge_points FROM c GROUP BY ALL
        UNION ALL
        SELECT 'Active', CASE WHEN is_active THEN 'Active' ELSE 'Inactive' END,
               sum(charge_points)::BIGINT FROM c GROUP BY ALL
        UNION ALL
        SELECT 'Access', CASE WHEN access = 'public' THEN 'Public' ELSE 'Private' END,
               sum(charge_points)::BIGINT FROM c GROUP BY ALL
        ORDER BY 1, 2""", s.params)


_CP_TABLE_ORDER = "sessions_this_month DESC, charge_points DESC, total_sessions DESC"


def cp_teams_table(f: Filters) -> pd.DataFrame:
    """The Teams table: cp_team_summary; under site / AC-DC / access filters the same figures
    re-aggregated from cp_status_splits and cp_activity_monthly (the as_of month)."""
    s = _Sql()
    tw = _where(s.conds(f, operator="t.operator_id", team="t.team_id"))
    base = """SELECT t.team_name, o.operator_name, {cols}, t.team_id, t.operator_id
              FROM marts.cp_team_summary t LEFT JOIN marts.dim_operators o USING (operator_id)"""
    if not (f.sites or f.cp_level()):
        return query(base.format(cols="t.charge_points, t.active_charge_points, "
                                 "t.sessions_this_month, t.completed_sessions_this_month, "
                                 "t.total_sessions") + f" {tw} ORDER BY {_CP_TABLE_ORDER}, t.team_name, t.team_id",
                     s.params)
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
        {base.format(cols='''coalesce(cps.charge_points, 0)::BIGINT AS charge_points,
                             coalesce(cps.active, 0)::BIGINT AS active_charge_points,
                             coalesce(act.tm, 0)::BIGINT AS sessions_this_month,
                             coalesce(act.ctm, 0)::BIGINT AS completed_sessions_this_month,
                             coalesce(act.total, 0)::BIGINT AS total_sessions''')}
        LEFT JOIN cps USING (team_id) LEFT JOIN act USING (team_id)
        {_where(s.conds(f, operator="t.operator_id", team="t.team_id")
                + ["(cps.team_id IS NOT NULL OR act.team_id IS NOT NULL)"])}
        ORDER BY {_CP_TABLE_ORDER}, t.team_name, t.team_id"""
    return query(sql, s.params)


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
        return query(base.format(cols="c.charge_points, c.active_charge_points, "
                                 "c.sessions_this_month, c.completed_sessions_this_month, "
                                 "c.total_sessions") + f" {w} ORDER BY {_CP_TABLE_ORDER}, c.site_name, c.site_id",
                     s.params)
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
        {base.format(cols='''coalesce(cps.charge_points, 0)::BIGINT AS charge_points,
                             coalesce(cps.active, 0)::BIGINT AS active_charge_points,
                             coalesce(act.tm, 0)::BIGINT AS sessions_this_month,
                             coalesce(act.ctm, 0)::BIGINT AS completed_sessions_this_month,
                             coalesce(act.total, 0)::BIGINT AS total_sessions''')}
        LEFT JOIN cps USING (site_id) LEFT JOIN act USING (site_id)
        {_where(s.conds(f, operator="c.operator_id", team="c.team_id", site="c.site_id")
                + ["(cps.site_id IS NOT NULL OR act.site_id IS NOT NULL)"])}
        ORDER BY {_CP_TABLE_ORDER}, c.site_name, c.site_id"""
    return query(sql, s.params)


def cp_counts_over_time(f: Filters) -> pd.DataFrame:
    """New vs total charge points per period (cp_counts_monthly; total = at the period's end)."""
    s = _Sql()
    w = _where(s.conds(f, **CP_COLS, month="month"))
    return query(f"""
        WITH m AS (SELECT month, sum(new_charge_points) AS n,
                          sum(decommissioned_charge_points) AS d, sum(total_charge_points) AS t
                   FROM marts.cp_counts_monthly {w} GROUP BY month)
        SELECT {_period('month', f)} AS period, sum(n)::BIGINT AS new_charge_points,
               sum(d)::BIGINT AS decommissioned_charge_points,
               arg_max(t, month)::BIGINT AS total_charge_points
        FROM m GROUP BY 1 ORDER BY 1""", s.params)


def cp_activity_over_time(f: Filters) -> pd.DataFrame:
    """Sessions, completed sessions, kWh per period and the accumulated totals at each period's
    end (cp_activity_monthly)."""
    s = _Sql()
    w = _where(s.conds(f, **CP_COLS, month="month"))
    return query(f"""
        WITH m AS (SELECT month, sum(sessions) AS se, sum(completed_sessions) AS co,
                          sum(failed_sessions) AS fa, sum(kwh) AS kwh,
                          sum(running_completed_sessions) AS rco, sum(running_kwh) AS rkwh
                   FROM marts.cp_activity_monthly {w} GROUP BY month)
        SELECT {_period('month', f)} AS period, sum(se)::BIGINT AS sessions,
               sum(co)::BIGINT AS completed_sessions, sum(fa)::BIGINT AS failed_sessions,
               sum(kwh) AS kwh, arg_max(rco, month)::BIGINT AS running_completed_sessions,
               arg_max(rkwh, month) AS running_kwh
        FROM m GROUP BY 1 ORDER BY 1""", s.params)


def cp_ratings_over_time(f: Filters) -> pd.DataFrame:
    """Ratings and average stars per period (cp_ratings_monthly: sum(total_stars)/sum(ratings))."""
    s = _Sql()
    w = _where(s.conds(f, **CP_COLS, month="month"))
    return query(f"""
        SELECT {_period('month', f)} AS period, sum(ratings)::BIGINT AS ratings,
               sum(total_stars)::BIGINT AS total_stars,
               sum(total_stars) / nullif(sum(ratings), 0) AS average_stars
        FROM marts.cp_ratings_monthly {w} GROUP BY 1 ORDER BY 1""", s.params)


# --------------------------------------------------------------------------------------------
# Revenue
# --------------------------------------------------------------------------------------------


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
    return query(f"""
        WITH src AS (SELECT month, {amt} AS amount FROM {src} {w}),
        months AS (SELECT CAST(range AS DATE) AS month
                   FROM range((SELECT coalesce(min(month), {start}::DATE) FROM src)::TIMESTAMP,
                              ({end}::DATE + INTERVAL 1 MONTH)::TIMESTAMP, INTERVAL 1 MONTH)),
        m AS (SELECT months.month, coalesce(sum(src.amount), 0) AS revenue
              FROM months LEFT JOIN src USING (month) GROUP BY months.month),
        r AS (SELECT month, revenue, sum(revenue) OVER (ORDER BY month) AS running FROM m)
        SELECT {_period('month', f)} AS period, sum(revenue) AS revenue,
               arg_max(running, month) AS running_revenue
        FROM r WHERE month BETWEEN {start}::DATE AND {end}::DATE GROUP BY 1 ORDER BY 1""",
                 s.params)


def revenue_kpis(f: Filters) -> dict:
    s = _Sql()
    src = _revenue_source(f, s)
    amt = _amount(f, "revenue", "revenue_eur")
    w = _where(s.conds(f, **_REV_COLS))
    start, end = s.bind("start", f.start), s.bind("end", f.end)
    cm = s.bind("current_month", current_month())
    df = query(f"""
        SELECT sum({amt}) FILTER (WHERE month BETWEEN {start}::DATE AND {end}::DATE) AS period_revenue,
               coalesce(sum({amt}) FILTER (WHERE month = {cm}::DATE), 0) AS current_month_revenue,
               count(DISTINCT team_id) FILTER (WHERE month BETWEEN {start}::DATE AND {end}::DATE)
                   AS paying_teams
        FROM {src} {w}""", s.params)
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
                 FROM {src} {w} {'AND' if w else 'WHERE'} month BETWEEN {start}::DATE AND {end}::DATE
                 GROUP BY ALL"""
    if not (f.teams or f.plans or f.sites or f.cp_level()):
        mw = _where(s.conds(f, operator="r.operator_id", currency="r.currency"))
        return query(f"""
            WITH p AS ({period})
            SELECT r.operator_name, r.parent_operator_name, r.currency, r.revenue_current_month,
                   r.revenue_past_months, r.total_revenue, p.revenue_selected_period,
                   r.revenue_current_month_eur, r.revenue_past_months_eur, r.total_revenue_eur,
                   p.revenue_selected_period_eur, r.operator_id
            FROM marts.revenue_operators r LEFT JOIN p USING (operator_id, currency) {mw}
            ORDER BY r.total_revenue_eur DESC NULLS LAST, r.operator_id, r.currency""", s.params)
    cm = s.bind("current_month", current_month())
    return query(f"""
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
        ORDER BY a.total_revenue_eur DESC NULLS LAST, a.operator_id, a.currency""", s.params)


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
        return query(f"""
            WITH p AS ({period})
            SELECT r.team_name, r.operator_name, r.currency, r.revenue_current_month,
                   r.total_revenue, p.revenue_selected_period, r.revenue_current_month_eur,
                   r.total_revenue_eur, p.revenue_selected_period_eur, r.team_id, r.operator_id
            FROM marts.revenue_paying_teams r LEFT JOIN p USING (team_id, currency) {mw}
            ORDER BY r.total_revenue_eur DESC NULLS LAST, r.team_id, r.currency""", s.params)
    cm = s.bind("current_month", current_month())
    return query(f"""
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
        ORDER BY a.total_revenue_eur DESC NULLS LAST, a.team_id, a.currency""", s.params)


def revenue_plans_table(f: Filters) -> pd.DataFrame:
    """The Plans table (revenue_plans), filtered by operator, plan and currency."""
    s = _Sql()
    w = _where(s.conds(f, operator="operator_id", plan="plan_id", currency="currency"))
    return query(f"""
        SELECT plan_name, operator_name, subscriptions, active_subscriptions_this_month, price,
               currency, billing_period, plan_id, operator_id
        FROM marts.revenue_plans {w}
        ORDER BY active_subscriptions_this_month DESC, subscriptions DESC, plan_name""", s.params)


# --------------------------------------------------------------------------------------------
# Team revenue
# --------------------------------------------------------------------------------------------

REVENUE_KINDS = {  # team_revenue_monthly column -> ledger kind
    "fees": "fee", "charges": "charge", "subscriptions": "subscription",
    "write_offs": "write_off", "intercompany_transfers": "intercompany_transfer",
    "tax_refunds": "tax_refund",
}


def team_revenue_over_time(f: Filters) -> pd.DataFrame:
    """Per period: revenue of paying teams by kind and in total, and the running revenue at the
    period's end (team_revenue_monthly.running_revenue summed over the selected teams). With one
    currency selected everything comes from team_revenue_monthly; for all currencies (EUR) the
    kinds come from revenue_monthly (entries with a paying team), because team_revenue_monthly
    has EUR only for the total."""
    s = _Sql()
    tw = _where(s.conds(f, operator="operator_id", team="team_id", currency="currency",
                        month="month"))
    per = _period("month", f)
    if f.currency:
        kinds = ", ".join(f"sum({c}) AS {c}" for c in REVENUE_KINDS)
        bars = f"""SELECT {per} AS period, {kinds}, sum(total_revenue) AS total_revenue
                   FROM marts.team_revenue_monthly {tw} GROUP BY 1"""
        running = "running_revenue"
    else:
        kinds = ", ".join(f"coalesce(sum(revenue_eur) FILTER (WHERE kind = '{k}'), 0) AS {c}"
                          for c, k in REVENUE_KINDS.items())
        rw = _where(s.conds(f, team="team_id", month="month") + ["team_id IS NOT NULL"] + (
            [f"team_id IN (SELECT team_id FROM marts.dim_teams WHERE "
             f"list_contains({s.bind('operators', f.operators)}::VARCHAR[], operator_id))"]
            if f.operators else []))
        bars = f"""SELECT {per} AS period, {kinds}, sum(revenue_eur) AS total_revenue
                   FROM marts.revenue_monthly {rw} GROUP BY 1"""
        running = "running_revenue_eur"
    return query(f"""
        WITH bars AS ({bars}),
        run AS (SELECT {per} AS period, arg_max(r, month) AS running_revenue
                FROM (SELECT month, sum({running}) AS r FROM marts.team_revenue_monthly {tw}
                      GROUP BY month) GROUP BY 1)
        SELECT period, bars.* EXCLUDE (period), run.running_revenue
        FROM bars FULL JOIN run USING (period) ORDER BY period""", s.params)


def team_revenue_teams_table(f: Filters) -> pd.DataFrame:
    """The Teams table (team_revenue_teams): every team with its current-month and total revenue."""
    s = _Sql()
    w = _where(s.conds(f, operator="operator_id", team="team_id", currency="currency"))
    return query(f"""
        SELECT team_name, operator_name, currency, revenue_current_month, total_revenue,
               revenue_current_month_eur, total_revenue_eur, has_revenue, team_id, operator_id
        FROM marts.team_revenue_teams {w}
        ORDER BY revenue_current_month_eur DESC NULLS LAST, total_revenue_eur DESC NULLS LAST,
                 team_name, currency""", s.params)


def team_paying_teams_table(f: Filters) -> pd.DataFrame:
    """Paying teams (revenue_paying_teams) with the selected period's revenue from
    team_revenue_monthly."""
    s = _Sql()
    w = _where(s.conds(f, operator="r.operator_id", team="r.team_id", currency="r.currency"))
    pw = _where(s.conds(f, operator="operator_id", team="team_id", currency="currency",
                        month="month"))
    return query(f"""
        WITH p AS (SELECT team_id, currency, sum(total_revenue) AS revenue_selected_period,
                          sum(total_revenue_eur) AS revenue_selected_period_eur
                   FROM marts.team_revenue_monthly {pw} GROUP BY ALL)
        SELECT r.team_name, r.operator_name, r.currency, r.total_revenue,
               coalesce(p.revenue_selected_period, 0) AS revenue_selected_period,
               r.total_revenue_eur, coalesce(p.revenue_selected_period_eur, 0)
                   AS revenue_selected_period_eur, r.team_id, r.operator_id
        FROM marts.revenue_paying_teams r LEFT JOIN p USING (team_id, currency) {w}
        ORDER BY r.total_revenue_eur DESC NULLS LAST, r.team_id, r.currency""", s.params)


# --------------------------------------------------------------------------------------------
# Invoices
# --------------------------------------------------------------------------------------------

INVOICE_STATUSES = ("paid", "settled", "unpaid")


def _invoice_conds(f: Filters, s: _Sql) -> list[str]:
    conds = s.conds(f, operator="operator_id", currency="currency",
                    month="CAST(date_trunc('month', issued_at) AS DATE)")
    if f.teams:
        conds.append(f"customer_type = 'team' AND list_contains("
                     f"{s.bind('teams', f.teams)}::VARCHAR[], customer_id)")
    return conds


def invoices_table(f: Filters) -> pd.DataFrame:
    """The invoice table (marts.invoices), the dashboard's 13 columns and the customer type."""
    s = _Sql()
    w = _where(_invoice_conds(f, s))
    return query(f"""
        SELECT operator_name, parent_operator_name, customer_name, customer_type, invoice_id,
               status, wallet_id, currency, wallet_balance, due_at, days_overdue, payable_amount,
               period_from, period_to, wallet_currency, issued_at, operator_id, customer_id
        FROM marts.invoices {w}
        ORDER BY days_overdue DESC, due_at DESC NULLS LAST, invoice_id""", s.params)


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
    return query(f"""
        SELECT currency, status, sum(invoice_count)::BIGINT AS invoice_count,
               sum(payable_amount) AS payable_amount,
               sum(overdue_invoice_count)::BIGINT AS overdue_invoice_count,
               sum(overdue_amount) AS overdue_amount, max(max_days_overdue) AS max_days_overdue
        FROM ({src}) GROUP BY ALL ORDER BY currency, status""", s.params)


# --------------------------------------------------------------------------------------------
# Roaming charges
# --------------------------------------------------------------------------------------------


def _roaming_cdr_source(f: Filters, s: _Sql) -> str:
    """CDR totals (net of credits): roaming_daily, or roaming_charge_points_daily under an
    AC/DC or public/private filter. Both have date, month, site_id, operator_id, team_id,
    provider, emsp_party, currency, cdrs, kwh, revenue, revenue_eur."""
    table = "marts.roaming_charge_points_daily" if f.cp_level() else "marts.roaming_daily"
    w = _where(s.conds(f, **CP_COLS if f.cp_level() else SITE_COLS, currency="currency",
                       month="month"))
    return f"(SELECT * FROM {table} {w})"


def _roaming_session_source(f: Filters, s: _Sql) -> str:
    """Finished roaming sessions: roaming_sessions_daily, or fct_charge_sessions under an AC/DC
    or public/private filter (the session mart has no charge point attributes)."""
    if not f.cp_level():
        w = _where(s.conds(f, **SITE_COLS, month="month"))
        return f"""(SELECT month, site_id, roaming_sessions, successful_sessions
                    FROM marts.roaming_sessions_daily {w})"""
    w = _where(s.conds(f, **CP_COLS, month="plugged_in_month")
               + ["is_roaming", "is_finished", "site_id IS NOT NULL"])
    return f"""(SELECT plugged_in_month AS month, site_id, 1 AS roaming_sessions,
                       CASE WHEN is_completed THEN 1 ELSE 0 END AS successful_sessions
                FROM marts.fct_charge_sessions {w})"""


def roaming_kpis(f: Filters) -> dict:
    s = _Sql()
    cdr, ses = _roaming_cdr_source(f, s), _roaming_session_source(f, s)
    amt = _amount(f, "revenue", "revenue_eur")
    df = query(f"""
        SELECT (SELECT coalesce(sum(roaming_sessions), 0) FROM {ses}) AS sessions,
               (SELECT coalesce(sum(successful_sessions), 0) FROM {ses}) AS successful_sessions,
               (SELECT coalesce(sum(cdrs), 0) FROM {cdr}) AS cdrs,
               (SELECT coalesce(sum(kwh), 0) FROM {cdr}) AS kwh,
               (SELECT coalesce(sum({amt}), 0) FROM {cdr}) AS revenue""", s.params)
    out = df.iloc[0].to_dict()
    out["success_pct"] = (100.0 * out["successful_sessions"] / out["sessions"]
                          if out["sessions"] else None)
    return out


def roaming_over_time(f: Filters) -> pd.DataFrame:
    s = _Sql()
    cdr, ses = _roaming_cdr_source(f, s), _roaming_session_source(f, s)
    amt = _amount(f, "revenue", "revenue_eur")
    per = _period("month", f)
    return query(f"""
        WITH a AS (SELECT {per} AS period, sum(roaming_sessions) AS sessions,
                          sum(successful_sessions) AS successful_sessions FROM {ses} GROUP BY 1),
        b AS (SELECT {per} AS period, sum(cdrs) AS cdrs, sum(kwh) AS kwh, sum({amt}) AS revenue
              FROM {cdr} GROUP BY 1)
        SELECT period, coalesce(a.sessions, 0)::BIGINT AS sessions,
               coalesce(a.successful_sessions, 0)::BIGINT AS successful_sessions,
               100.0 * a.successful_sessions / nullif(a.sessions, 0) AS success_pct,
               coalesce(b.cdrs, 0)::BIGINT AS cdrs, coalesce(b.kwh, 0) AS kwh,
               coalesce(b.revenue, 0) AS revenue
        FROM a FULL JOIN b USING (period) ORDER BY period""", s.params)


def roaming_locations(f: Filters) -> pd.DataFrame:
    """Sites with roaming CDRs in the selection and their coordinates (roaming_locations)."""
    s = _Sql()
    cdr = _roaming_cdr_source(f, s)
    amt = _amount(f, "revenue", "revenue_eur")
    return query(f"""
        WITH t AS (SELECT site_id, sum(cdrs) AS cdrs, sum(kwh) AS kwh, sum({amt}) AS revenue
                   FROM {cdr} GROUP BY site_id),
        loc AS (SELECT site_id, any_value(site_name) AS site_name, any_value(city) AS city,
                       any_value(country_code) AS country_code, any_value(latitude) AS latitude,
                       any_value(longitude) AS longitude
                FROM marts.roaming_locations GROUP BY site_id)
        SELECT coalesce(loc.site_name, t.site_id) AS site_name, loc.city, loc.country_code,
               loc.latitude, loc.longitude, t.cdrs, t.kwh, t.revenue, t.site_id
        FROM t LEFT JOIN loc USING (site_id) ORDER BY t.kwh DESC, t.site_id""", s.params)


def roaming_breakdown(f: Filters, by: str) -> pd.DataFrame:
    """CDRs, kWh and revenue by roaming provider ("provider") or paying eMSP ("emsp_party")."""
    col = {"provider": "provider", "emsp_party": "emsp_party"}[by]
    s = _Sql()
    cdr = _roaming_cdr_source(f, s)
    amt = _amount(f, "revenue", "revenue_eur")
    return query(f"""
        SELECT {col}, sum(cdrs)::BIGINT AS cdrs, sum(kwh) AS kwh, sum({amt}) AS revenue,
               count(DISTINCT site_id) AS sites
        FROM {cdr} GROUP BY 1 ORDER BY revenue DESC, {col}""", s.params)


# --------------------------------------------------------------------------------------------
# Failed charges
# --------------------------------------------------------------------------------------------


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
    return query(f"""
        SELECT {_period('month', f)} AS period, sum(total_sessions)::BIGINT AS total_sessions,
               sum(failed_sessions)::BIGINT AS failed_sessions,
               100.0 * sum(failed_sessions) / nullif(sum(total_sessions), 0) AS failed_pct
        FROM {src} GROUP BY 1 ORDER BY 1""", s.params)


def failed_kpis(f: Filters) -> dict:
    s = _Sql()
    src = _failed_source(f, s)
    ow = _where(s.conds(f, **CP_COLS, month="month"))
    df = query(f"""
        SELECT coalesce(sum(total_sessions), 0)::BIGINT AS total_sessions,
               coalesce(sum(failed_sessions), 0)::BIGINT AS failed_sessions,
               100.0 * sum(failed_sessions) / nullif(sum(total_sessions), 0) AS failed_pct,
               (SELECT coalesce(sum(error_count), 0) FROM marts.ocpp_errors_daily {ow})::BIGINT
                   AS ocpp_errors
        FROM {src}""", s.params)
    return df.iloc[0].to_dict()


def failed_breakdown(f: Filters, by: str) -> pd.DataFrame:
    """Sessions, failed sessions and % failed by operator, team or site (names from the dims)."""
    key, name_sql, join = {
        "operator": ("operator_id", "o.operator_name",
                     "LEFT JOIN marts.dim_operators o ON o.operator_id = a.operator_id"),
        "team": ("team_id", "t.team_name", "LEFT JOIN marts.dim_teams t ON t.team_id = a.team_id"),
        "site": ("site_id", "x.site_name", "LEFT JOIN marts.dim_sites x ON x.site_id = a.site_id"),
    }[by]
    s = _Sql()
    src = _failed_source(f, s)
    return query(f"""
        WITH a AS (SELECT {key}, sum(total_sessions) AS total_sessions,
                          sum(failed_sessions) AS failed_sessions FROM {src} GROUP BY 1)
        SELECT coalesce({name_sql}, a.{key}, '(unknown)') AS name,
               a.total_sessions::BIGINT AS total_sessions,
               a.failed_sessions::BIGINT AS failed_sessions,
               100.0 * a.failed_sessions / nullif(a.total_sessions, 0) AS failed_pct, a.{key} AS id
        FROM a {join} ORDER BY failed_pct DESC NULLS LAST, name""", s.params)


def failed_by_hardware(f: Filters) -> pd.DataFrame:
    """By brand, model and firmware valid at plug-in: failed_charges_by_hardware, or
    failed_charges_by_charge_point_daily when operator / team / site / AC-DC / access is set."""
    s = _Sql()
    if f.operators or f.teams or f.sites or f.cp_level():
        w = _where(s.conds(f, **CP_COLS, month="month"))
        src = f"marts.failed_charges_by_charge_point_daily {w}"
    else:
        src = f"marts.failed_charges_by_hardware {_where(s.conds(f, month='month'))}"
    return query(f"""
        SELECT brand, model, firmware_version, sum(total_sessions)::BIGINT AS total_sessions,
               sum(failed_sessions)::BIGINT AS failed_sessions,
               100.0 * sum(failed_sessions) / nullif(sum(total_sessions), 0) AS failed_pct
        FROM {src} GROUP BY ALL
        ORDER BY failed_sessions DESC, brand, model, firmware_version""", s.params)


def failure_reasons(f: Filters) -> pd.DataFrame:
    """Failed sessions by failure reason (failed_charges_by_reason_monthly)."""
    s = _Sql()
    w = _where(s.conds(f, **CP_COLS, month="month"))
    return query(f"""
        SELECT failure_reason, sum(failed_sessions)::BIGINT AS failed_sessions
        FROM marts.failed_charges_by_reason_monthly {w} GROUP BY 1
        ORDER BY failed_sessions DESC, failure_reason""", s.params)


def ocpp_errors(f: Filters) -> pd.DataFrame:
    """OCPP StatusNotification errors by error code (ocpp_errors_daily)."""
    s = _Sql()
    w = _where(s.conds(f, **CP_COLS, month="month"))
    return query(f"""
        SELECT error_code, sum(error_count)::BIGINT AS error_count,
               count(DISTINCT charge_point_id) AS charge_points
        FROM marts.ocpp_errors_daily {w} GROUP BY 1 ORDER BY error_count DESC, error_code""",
                 s.params)


# --------------------------------------------------------------------------------------------
# Site utilization
# --------------------------------------------------------------------------------------------


def benchmarks() -> pd.DataFrame:
    """The benchmark rules (site_utilization_benchmarks), in evaluation order."""
    return query("SELECT metric, tier, comparison, threshold, evaluation_order "
                 "FROM marts.site_utilization_benchmarks ORDER BY metric, evaluation_order")


_COMPARE = {">": _op.gt, ">=": _op.ge, "<": _op.lt, "<=": _op.le}


def tier(value: float | None, metric: str, rules: pd.DataFrame) -> str | None:
    """The benchmark tier of a value: the first rule (in evaluation_order) that matches."""
    if value is None or pd.isna(value):
        return None
    for r in rules[rules["metric"] == metric].sort_values("evaluation_order").itertuples():
        if r.comparison == "otherwise":
            return r.tier
        if r.comparison in _COMPARE and r.threshold is not None and not pd.isna(r.threshold) \
                and _COMPARE[r.comparison](value, r.threshold):
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
    df = query(f"""
        WITH a AS (SELECT site_id, {_UTIL_MEASURES} FROM {src} GROUP BY site_id)
        SELECT coalesce(d.site_name, a.site_id) AS site_name, d.operator_name, d.team_name,
               a.* FROM a LEFT JOIN marts.dim_sites d USING (site_id)
        ORDER BY a.kwh_per_cp_day DESC NULLS LAST, site_name""", s.params)
    return _with_tiers(df)


def utilization_over_time(f: Filters) -> pd.DataFrame:
    s = _Sql()
    src = _util_source(f, s)
    return _with_tiers(query(f"""SELECT {_period('month', f)} AS period, {_UTIL_MEASURES}
                                 FROM {src} GROUP BY 1 ORDER BY 1""", s.params))


def utilization_totals(f: Filters) -> dict:
    s = _Sql()
    src = _util_source(f, s)
    df = _with_tiers(query(f"SELECT {_UTIL_MEASURES}, count(DISTINCT site_id) AS sites FROM {src}",
                           s.params))
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
    return query(f"""
        SELECT date, sum(active_charge_points)::BIGINT AS active_charge_points, sum(kwh) AS kwh,
               sum(kwh) / nullif(sum(active_charge_points), 0) AS kwh_per_cp_day,
               100.0 * sum(occupied_hours) / nullif(sum(available_hours), 0) AS time_utilised_pct
        FROM {src} GROUP BY date ORDER BY date""", s.params)


def _with_tiers(df: pd.DataFrame) -> pd.DataFrame:
    rules = benchmarks()
    df = df.copy()
    df["kwh_tier"] = [tier(v, "kwh_per_cp_day", rules) for v in df["kwh_per_cp_day"]]
    df["time_tier"] = [tier(v, "time_utilised_pct", rules) for v in df["time_utilised_pct"]]
    return df


# --------------------------------------------------------------------------------------------
# Reliability and operations
# --------------------------------------------------------------------------------------------

# The lines the pages draw; the marts' meets_nevi_97 / meets_uk_99 flags apply the same rules.
NEVI_UPTIME_PCT = 97.0  # 23 CFR 680.116(b): every charging port > 97 % over the trailing 365 days
UK_RAPID_UPTIME_PCT = 99.0  # UK Public Charge Point Regulations 2023: rapid network average >= 99 %

# uptime % of summed minutes: (period - (outage - excluded)) / period x 100 (DESIGN section 5)
_POOLED_UPTIME = ("100.0 * (sum(period_minutes) - (sum(outage_minutes) - sum(excluded_minutes))) "
                  "/ nullif(sum(period_minutes), 0)")


def ports_trailing(f: Filters) -> pd.DataFrame:
    """Every charging port's NEVI uptime over the trailing 365 days (charge_point_uptime_trailing),
    worst first, with its site name."""
    s = _Sql()
    w = _where(s.conds(f, **CP_COLS))
    return query(f"""
        SELECT coalesce(d.site_name, u.site_id) AS site_name,
               u.charge_point_id || ' #' || CAST(u.connector_id AS VARCHAR) AS port,
               u.charging_type, u.access, u.max_power_kw, u.active_days, u.period_minutes,
               u.outage_minutes, u.excluded_minutes, u.uptime_pct, u.meets_nevi_97,
               u.charge_point_id, u.connector_id, u.site_id, u.operator_id, u.as_of_date,
               u.window_start
        FROM (SELECT * FROM marts.charge_point_uptime_trailing {w}) u
        LEFT JOIN (SELECT site_id, site_name FROM marts.dim_sites) d USING (site_id)
        ORDER BY u.uptime_pct, u.charge_point_id, u.connector_id""", s.params)


def rapid_reliability(f: Filters) -> pd.DataFrame:
    """The UK view (network_reliability_yearly): each operator's rapid charge points per calendar
    year, the years of the selected range. Per operator: team, site and access filters do not apply."""
    s = _Sql()
    conds = s.conds(f, operator="operator_id")
    if f.start is not None:
        conds.append(f"year >= {s.bind('start_year', f.start.year)}")
    if f.end is not None:
        conds.append(f"year <= {s.bind('end_year', f.end.year)}")
    return query(f"""
        SELECT n.year, coalesce(o.operator_name, n.operator_id) AS operator_name, n.rapid_charge_points,
               n.average_uptime_pct, n.meets_uk_99, n.lowest_uptime_pct, n.charge_points_below_99,
               n.is_complete_year, n.first_date, n.last_date, n.operator_id
        FROM (SELECT * FROM marts.network_reliability_yearly {_where(conds)}) n
        LEFT JOIN (SELECT operator_id, operator_name FROM marts.dim_operators) o USING (operator_id)
        ORDER BY n.year, operator_name""", s.params)


def reliability_kpis(f: Filters) -> dict:
    """Ports and ports meeting NEVI (trailing 365 days), their pooled uptime, the rapid charge
    points' reliability in the latest year (mean over all of them across the selected operators:
    the operators' means weighted by their counts) and idle time per session in the period."""
    s = _Sql()
    pw = _where(s.conds(f, **CP_COLS))
    rw = _where(s.conds(f, operator="operator_id"))
    ops = _ops_source(f, s)
    df = query(f"""
        WITH p AS (SELECT * FROM marts.charge_point_uptime_trailing {pw}),
        r AS (SELECT * FROM marts.network_reliability_yearly {rw}),
        ry AS (SELECT * FROM r WHERE year = (SELECT max(year) FROM r))
        SELECT (SELECT count(*) FROM p) AS ports,
               (SELECT count(*) FILTER (WHERE meets_nevi_97) FROM p) AS ports_meeting_nevi,
               (SELECT {_POOLED_UPTIME} FROM p) AS port_uptime_pct,
               (SELECT max(year) FROM ry) AS rapid_year,
               (SELECT sum(rapid_charge_points) FROM ry) AS rapid_charge_points,
               (SELECT sum(average_uptime_pct * rapid_charge_points) / nullif(sum(rapid_charge_points), 0)
                FROM ry) AS rapid_uptime_pct,
               (SELECT bool_and(is_complete_year) FROM ry) AS rapid_year_complete,
               (SELECT sum(sessions) FROM {ops}) AS sessions,
               (SELECT sum(idle_hours) FROM {ops}) AS idle_hours,
               (SELECT sum(sessions_idle_over_1h) FROM {ops}) AS sessions_idle_over_1h""", s.params)
    out = df.iloc[0].to_dict()
    out["idle_minutes_per_session"] = (60.0 * out["idle_hours"] / out["sessions"]
                                       if out["sessions"] else None)
    return out


def uptime_over_time(f: Filters) -> pd.DataFrame:
    """Uptime of the selected ports per local day (connector_uptime_daily, minutes summed)."""
    s = _Sql()
    w = _where(s.conds(f, **CP_COLS, month="month"))
    return query(f"""
        SELECT date, count(*) AS ports, sum(outage_minutes) / 60.0 AS outage_hours,
               sum(excluded_minutes) / 60.0 AS excluded_hours, {_POOLED_UPTIME} AS uptime_pct
        FROM marts.connector_uptime_daily {w} GROUP BY date ORDER BY date""", s.params)


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
    return query(f"""
        WITH a AS (SELECT site_id, sum(sessions) AS sessions, sum(idle_hours) AS idle_hours,
                          sum(sessions_idle_over_1h) AS sessions_idle_over_1h FROM {src} GROUP BY site_id)
        SELECT coalesce(d.site_name, a.site_id) AS site_name, a.sessions::BIGINT AS sessions,
               a.idle_hours, 60.0 * a.idle_hours / nullif(a.sessions, 0) AS idle_minutes_per_session,
               a.sessions_idle_over_1h::BIGINT AS sessions_idle_over_1h,
               100.0 * a.sessions_idle_over_1h / nullif(a.sessions, 0) AS idle_over_1h_pct, a.site_id
        FROM a {_SITE_NAMES} WHERE a.sessions > 0
        ORDER BY a.idle_hours DESC, site_name""", s.params)


def idle_over_time(f: Filters, sites: int = 8) -> pd.DataFrame:
    """Idle hours per period of the sites with the most idle time (the rest summed as 'Other')."""
    s = _Sql()
    src = _ops_source(f, s)
    top = s.bind("top_sites", sites)
    return query(f"""
        WITH a AS (SELECT {_period('month', f)} AS period, site_id, sum(sessions) AS sessions,
                          sum(idle_hours) AS idle_hours FROM {src} GROUP BY 1, 2),
        t AS (SELECT site_id FROM a GROUP BY site_id HAVING sum(sessions) > 0
              ORDER BY sum(idle_hours) DESC, site_id LIMIT {top})
        SELECT a.period, CASE WHEN t.site_id IS NULL THEN 'Other sites'
                              ELSE coalesce(d.site_name, a.site_id) END AS site_name,
               sum(a.sessions)::BIGINT AS sessions, sum(a.idle_hours) AS idle_hours,
               60.0 * sum(a.idle_hours) / nullif(sum(a.sessions), 0) AS idle_minutes_per_session
        FROM a LEFT JOIN t USING (site_id) {_SITE_NAMES}
        GROUP BY 1, 2 ORDER BY 1, 2""", s.params)


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
    return query(f"""
        WITH a AS (SELECT site_id, max(peak_demand_kw) AS peak_demand_kw,
                          arg_max(peak_slot_start, peak_demand_kw) AS peak_slot_start,
                          avg(peak_demand_kw) FILTER (WHERE peak_demand_kw > 0) AS average_daily_peak_kw,
                          max(installed_power_kw) AS installed_power_kw
                   FROM {src} GROUP BY site_id)
        SELECT coalesce(d.site_name, a.site_id) AS site_name, a.peak_demand_kw, a.peak_slot_start,
               a.average_daily_peak_kw, a.installed_power_kw,
               100.0 * a.peak_demand_kw / nullif(a.installed_power_kw, 0) AS peak_of_installed_pct, a.site_id
        FROM a {_SITE_NAMES} WHERE a.peak_demand_kw > 0
        ORDER BY a.peak_demand_kw DESC, site_name""", s.params)


def peak_demand_daily(f: Filters, sites: int = 12) -> pd.DataFrame:
    """Daily peak demand of the sites with the highest peaks in the period (a day x site grid)."""
    s = _Sql()
    src = _demand_source(f, s)
    top = s.bind("top_sites", sites)
    return query(f"""
        WITH t AS (SELECT site_id FROM {src} GROUP BY site_id HAVING max(peak_demand_kw) > 0
                   ORDER BY max(peak_demand_kw) DESC, site_id LIMIT {top})
        SELECT x.date, coalesce(d.site_name, x.site_id) AS site_name, x.peak_demand_kw,
               x.peak_slot_start, x.installed_power_kw, x.site_id
        FROM {src} x JOIN t USING (site_id) {_SITE_NAMES}
        ORDER BY x.date, site_name""", s.params)

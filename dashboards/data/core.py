"""The dashboards' only door to the warehouse (with the page modules beside it: every SQL
statement of the app lives in this package): the connection, the filters and the lookups every
page shares.

* It reads the published serving database only (schema ``marts``), read-only, and computes no
  metric: a ratio, percentage or tier over the page's filters is the published formula (SQL
  macro) over summed additive columns, e.g. ``marts.failed_pct(sum(failed_sessions),
  sum(total_sessions))`` (macros/serving/serving_macros.sql). Its path:
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
                f"({str(exc).splitlines()[0]}). Publish a current build with `make run`."
            ) from exc


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

    def conds(
        self,
        f: Filters,
        *,
        operator: str | None = None,
        team: str | None = None,
        site: str | None = None,
        charging_type: str | None = None,
        access: str | None = None,
        plan: str | None = None,
        currency: str | None = None,
        month: str | None = None,
    ) -> list[str]:
        """SQL conditions for the filters whose column is given (None = not applied here)."""
        out = []
        for values, col, name in (
            (f.operators, operator, "operators"),
            (f.teams, team, "teams"),
            (f.sites, site, "sites"),
            (f.charging_types, charging_type, "charging_types"),
            (f.access, access, "access"),
            (f.plans, plan, "plans"),
        ):
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


CP_COLS = dict(operator="operator_id", team="team_id", site="site_id", charging_type="charging_type", access="access")
SITE_COLS = dict(operator="operator_id", team="team_id", site="site_id")


# --------------------------------------------------------------------------------------------
# Publish info, filter lists, date domains
# --------------------------------------------------------------------------------------------


def publish_info() -> dict | None:
    """The published run (marts._publish_info), or None if the file has none."""
    try:
        df = query(
            "SELECT run_id, as_of_date, published_at FROM marts._publish_info ORDER BY published_at DESC LIMIT 1"
        )
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
    return query(
        "SELECT operator_id, operator_name, parent_operator_id, parent_operator_name, "
        "currency FROM marts.dim_operators ORDER BY operator_name, operator_id"
    )


def teams(operator_ids: tuple[str, ...] = ()) -> pd.DataFrame:
    s = _Sql()
    w = _where(s.conds(Filters(operators=operator_ids), operator="operator_id"))
    return query(
        f"SELECT team_id, team_name, operator_id FROM marts.dim_teams {w} ORDER BY team_name, team_id", s.params
    )


def sites(operator_ids: tuple[str, ...] = (), team_ids: tuple[str, ...] = ()) -> pd.DataFrame:
    s = _Sql()
    w = _where(s.conds(Filters(operators=operator_ids, teams=team_ids), **SITE_COLS))
    return query(
        f"SELECT site_id, site_name, operator_id, team_id, city, country_code "
        f"FROM marts.dim_sites {w} ORDER BY site_name, site_id",
        s.params,
    )


def plans(operator_ids: tuple[str, ...] = ()) -> pd.DataFrame:
    s = _Sql()
    w = _where(s.conds(Filters(operators=operator_ids), operator="operator_id"))
    return query(
        f"SELECT plan_id, plan_name, operator_id, currency FROM marts.dim_plans {w} ORDER BY plan_name, plan_id",
        s.params,
    )


_CURRENCY_SQL = {
    "revenue": "SELECT DISTINCT currency FROM marts.revenue_monthly",
    "team_revenue": "SELECT DISTINCT currency FROM marts.team_revenue_monthly "
    "UNION SELECT DISTINCT currency FROM marts.team_revenue_teams",
    "invoices": "SELECT DISTINCT currency FROM marts.invoices",
    "roaming": "SELECT DISTINCT currency FROM marts.roaming_daily",
}


def currencies(page: str) -> list[str]:
    df = query(f"SELECT currency FROM ({_CURRENCY_SQL[page]}) WHERE currency IS NOT NULL ORDER BY currency")
    return df["currency"].tolist()


_DOMAIN_SQL = {
    "charge_points": "SELECT month FROM marts.cp_counts_monthly UNION ALL "
    "SELECT month FROM marts.cp_activity_monthly UNION ALL "
    "SELECT month FROM marts.cp_ratings_monthly",
    "revenue": "SELECT month FROM marts.revenue_monthly",
    "team_revenue": "SELECT month FROM marts.team_revenue_monthly",
    "invoices": "SELECT CAST(date_trunc('month', issued_at) AS DATE) AS month FROM marts.invoices",
    "roaming": "SELECT month FROM marts.roaming_daily UNION ALL SELECT month FROM marts.roaming_sessions_daily",
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
    "site_utilization": "SELECT min(month) FROM marts.site_utilization_monthly WHERE sessions > 0 OR kwh > 0",
}


def month_domain(page: str) -> tuple[date, date] | None:
    """First and last month (first days) the page's marts have data for; None when empty."""
    df = query(f"SELECT min(month) AS lo, max(month) AS hi FROM ({_DOMAIN_SQL[page]}) WHERE month IS NOT NULL")
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

"""Where things are and how big they may get: one place that reads the environment.

WAREHOUSE_LANDING_DIR   landing zone (default data/landing)
WAREHOUSE_DIR           build/serving databases, Dagster home, docs (default warehouse)
WAREHOUSE_AS_OF         the run's logical date YYYY-MM-DD (default: today in UTC)
WAREHOUSE_MAX_BAD_SHARE share of bad records that refuses a file (default 0.05)
WAREHOUSE_MAX_LINE_BYTES     a longer landing line is quarantined as such (default 16 MiB)
WAREHOUSE_MAX_SESSION_DAYS   a longer session (plug-in to its last timestamp) is quarantined (default 14)
WAREHOUSE_GX_SAMPLE_ROWS     rows of each loaded batch Great Expectations re-validates (default 2000)
WAREHOUSE_THREADS, WAREHOUSE_MEMORY_LIMIT   DuckDB limits (dbt's profiles/profiles.yml; memory also
                        loader and publish, default 4GB)
WAREHOUSE_DBT_PROJECT_DIR   the dbt project (default: this repository)
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
PROFILES_DIR = PROJECT_DIR / "profiles"


def dbt_project_dir() -> Path:
    """The dbt project (this repository's root unless WAREHOUSE_DBT_PROJECT_DIR points elsewhere,
    e.g. at a copy with extra tests)."""
    return Path(os.environ.get("WAREHOUSE_DBT_PROJECT_DIR") or PROJECT_DIR).resolve()


def landing_dir() -> Path:
    return Path(os.environ.get("WAREHOUSE_LANDING_DIR", "data/landing")).resolve()


def warehouse_dir() -> Path:
    return Path(os.environ.get("WAREHOUSE_DIR", "warehouse")).resolve()


def max_bad_share() -> float:
    return float(os.environ.get("WAREHOUSE_MAX_BAD_SHARE", "0.05"))


def max_line_bytes() -> int:
    return int(os.environ.get("WAREHOUSE_MAX_LINE_BYTES") or 16 * 1024 * 1024)


def max_session_days() -> int:
    return int(os.environ.get("WAREHOUSE_MAX_SESSION_DAYS") or 14)


def gx_sample_rows() -> int:
    return int(os.environ.get("WAREHOUSE_GX_SAMPLE_ROWS") or 2000)


def memory_limit() -> str:
    """DuckDB's memory ceiling for every process that writes a warehouse database (loader, publish;
    dbt's profile reads the same variable with the same default)."""
    return os.environ.get("WAREHOUSE_MEMORY_LIMIT") or "4GB"


def today_utc() -> date:
    return datetime.now(UTC).date()


def as_of_date(value: str | None = None) -> date:
    value = value or os.environ.get("WAREHOUSE_AS_OF") or ""
    return date.fromisoformat(value) if value else today_utc()


def build_db(warehouse: Path) -> Path:
    return warehouse / "build.duckdb"


def serving_db(warehouse: Path) -> Path:
    return warehouse / "serving.duckdb"


def dbt_runs_dir(warehouse: Path) -> Path:
    """Where the job's dbt invocations write their artifacts (one folder per run, the newest
    DBT_RUNS_KEPT kept) and the parse state the next run reuses."""
    return warehouse / "dbt_runs"


DBT_RUNS_KEPT = 14


def logs_dir(warehouse: Path) -> Path:
    """Where each CLI run writes its full log (orchestration/progress.py; the newest LOGS_KEPT kept)."""
    return warehouse / "logs"


LOGS_KEPT = 30


def dagster_home(warehouse: Path) -> Path:
    return Path(os.environ.get("DAGSTER_HOME") or warehouse / "dagster_home").resolve()

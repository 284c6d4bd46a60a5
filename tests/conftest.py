"""Shared fixtures: a parsed dbt manifest (the Dagster code location needs it) and a helper that
runs the CLI exactly as a scheduler would."""

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

PROJECT = Path(__file__).resolve().parents[1]

# The tests' warehouses are tiny: there dbt's time is its own per-node overhead, which four
# threads overlap better than two (about 20 % less per dbt build). Production keeps the default.
os.environ.setdefault("WAREHOUSE_THREADS", "4")
# The daily partitions start at the earliest date in the landing zone's file names, read when the
# definitions are imported: before a test has written its landing zone. Every test landing zone
# (hand-made, generated, the real datasets) is dated after 2000; tests/defs/test_partitions_start.py
# checks the default itself.
os.environ.setdefault("WAREHOUSE_PARTITIONS_START", "2000-01-01")


def pytest_configure(config):
    """Parse the dbt project before any test module is imported: the Dagster definitions load
    target/manifest.json at import time (a fresh clone has none). Serialised by a file lock."""
    from orchestration.cli import ensure_dbt_manifest
    ensure_dbt_manifest()


@dataclass
class CliRun:
    returncode: int
    output: str


def run_cli(*args: str, env: dict | None = None, timeout: int = 900) -> CliRun:
    """`python -m orchestration ARGS` in a subprocess, as schedulers and scripts run it."""
    proc = subprocess.run(
        [sys.executable, "-m", "orchestration", *args], cwd=PROJECT,
        env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=timeout)
    return CliRun(proc.returncode, proc.stdout + proc.stderr)


@pytest.fixture
def cli():
    return run_cli


def read_serving(path: Path, sql: str, params=None) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def table_fingerprints(path: Path) -> dict[str, str]:
    """A content hash of every published table (order-independent), for replay comparisons.
    DOUBLE columns are rounded to 9 decimals first: a parallel sum of doubles may differ in its
    last bits from one run to the next (kWh, hours and percentages are DOUBLE in the marts)."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = [t for (t,) in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts' AND table_name <> '_publish_info' "
            "ORDER BY 1").fetchall()]
        out = {}
        for t in tables:
            cols = con.execute("SELECT column_name, data_type FROM duckdb_columns() WHERE schema_name = 'marts' "
                               "AND table_name = ? ORDER BY column_index", [t]).fetchall()
            exprs = ", ".join(f'round("{c}", 9)' if d in ("DOUBLE", "FLOAT") else f'"{c}"' for c, d in cols)
            out[t] = con.execute(
                f'SELECT count(*) || \':\' || coalesce(sum(hash({exprs})), 0) FROM marts."{t}"').fetchall()[0][0]
        return out
    finally:
        con.close()

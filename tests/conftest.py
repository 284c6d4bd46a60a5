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


@pytest.fixture(scope="session", autouse=True)
def dbt_manifest():
    from orchestration.cli import ensure_dbt_manifest
    return ensure_dbt_manifest()


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
    """A content hash of every published table (order-independent), for replay comparisons."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = [t for (t,) in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts' AND table_name <> '_publish_info' "
            "ORDER BY 1").fetchall()]
        return {t: con.execute(
            f'SELECT count(*) || \':\' || coalesce(sum(hash(t)), 0) FROM marts."{t}" AS t').fetchone()[0]
            for t in tables}
    finally:
        con.close()

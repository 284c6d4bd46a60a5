"""Shared fixtures: a parsed dbt manifest (the Dagster code location needs it) and a helper that
runs the CLI exactly as a scheduler would."""

import fcntl
import json
import os
import shutil
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
# definitions are imported: before a test has written its landing zone. Every test run's logical
# date is in 2023 or later (the earliest: the real datasets', 2023-07-31); tests/defs/
# test_partitions_start.py checks the default itself. Not earlier: Dagster lists every daily
# partition of the raw assets ~77 times per run (the data versions of the dbt and publish steps'
# inputs); from 2000 (~9,800 partitions) the hand-made run took 30.5 s of CPU, from 2023 (~1,400)
# 23.7 s.
os.environ.setdefault("WAREHOUSE_PARTITIONS_START", "2023-01-01")


def pytest_configure(config):
    """Parse the dbt project before any test module is imported: the Dagster definitions load
    target/manifest.json at import time (a fresh clone has none). Serialised by a file lock."""
    from orchestration.cli import ensure_dbt_manifest

    ensure_dbt_manifest()


# `make test` runs the files on two xdist workers (--dist loadfile), handing out files in the
# order below (--no-loadscope-reorder): the slowest first, so that the two workers finish
# together instead of one running the longest file while the other is idle. Slowest as measured
# with --durations (set-up included, `make test` on 2 cores); then the other files with e2e
# tests; then the rest, in their usual order.
SLOW_FIRST = [
    "tests/spark/test_spark_check.py",
    "tests/reliability/test_crash.py",
    "tests/dbt/test_incremental.py",
    "tests/reliability/test_replay_and_readers.py",
    "tests/defs/test_partitions.py",
    "tests/reliability/test_injection.py",
    "tests/bench/test_bench_small.py",
    "tests/e2e/test_generated_run.py",
    "tests/cli/test_one_writer.py",
    "tests/e2e/test_real_datasets.py",
    "tests/defs/test_gates.py",
    "tests/defs/test_operations.py",
    "tests/dashboards/test_browser.py",
]


def pytest_collection_modifyitems(config, items):
    rank = {path: n for n, path in enumerate(SLOW_FIRST)}
    e2e_files = {item.nodeid.split("::")[0] for item in items if item.get_closest_marker("e2e")}

    def key(item):
        path = item.nodeid.split("::")[0]
        return (0, rank[path]) if path in rank else (1 if path in e2e_files else 2, 0)

    items.sort(key=key)  # stable: a file's tests stay together and in order


@dataclass
class CliRun:
    returncode: int
    output: str


def run_cli(*args: str, env: dict | None = None, timeout: int = 900) -> CliRun:
    """`python -m orchestration ARGS` in a subprocess, as schedulers and scripts run it."""
    proc = subprocess.run(
        [sys.executable, "-m", "orchestration", *args],
        cwd=PROJECT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
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
        tables = [
            t
            for (t,) in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts' AND table_name <> '_publish_info' "
                "ORDER BY 1"
            ).fetchall()
        ]
        out = {}
        for t in tables:
            cols = con.execute(
                "SELECT column_name, data_type FROM duckdb_columns() WHERE schema_name = 'marts' "
                "AND table_name = ? ORDER BY column_index",
                [t],
            ).fetchall()
            exprs = ", ".join(f'round("{c}", 9)' if d in ("DOUBLE", "FLOAT") else f'"{c}"' for c, d in cols)
            out[t] = con.execute(
                f"SELECT count(*) || ':' || coalesce(sum(hash({exprs})), 0) FROM marts.\"{t}\""
            ).fetchall()[0][0]
        return out
    finally:
        con.close()


@dataclass
class HandmadeRun:
    """One `run` of the hand-made landing zone on a fresh warehouse, as a user starts it."""

    landing: Path
    warehouse: Path
    output: str
    timeline: dict  # phase boundaries in seconds from the start (tests/reliability/helpers.Timeline)


@pytest.fixture(scope="session")
def handmade_run(tmp_path_factory) -> HandmadeRun:
    """The hand-made landing zone (tests/e2e/test_handmade_marts.py) run once for the whole test
    session, by whichever xdist worker asks first (the others wait on a file lock and reuse it),
    with its phases timed as it runs. Tests only read it: a test that runs more on the warehouse
    or changes the landing zone works on a copy (copy_handmade_run)."""
    from tests.e2e.test_handmade_marts import AS_OF, write_landing
    from tests.reliability.helpers import fast_dagster_home, run_observed

    base = tmp_path_factory.getbasetemp()
    # xdist workers' temporary directories share a parent, the session's
    root = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "handmade_run"
    done = root / "run.json"
    root.parent.mkdir(parents=True, exist_ok=True)
    with open(str(root) + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not done.exists():
            shutil.rmtree(root, ignore_errors=True)  # what a failed attempt left
            landing, warehouse = root / "landing", root / "wh"
            write_landing(landing)
            fast_dagster_home(warehouse)
            rc, out, timeline = run_observed(root / "run.log", warehouse, landing, AS_OF)
            assert rc == 0, out[-5000:]
            assert "PUBLISHED" in out, out[-5000:]
            done.write_text(json.dumps({"output": out, "timeline": vars(timeline)}))
    saved = json.loads(done.read_text())
    return HandmadeRun(root / "landing", root / "wh", saved["output"], saved["timeline"])


def copy_handmade_run(run: HandmadeRun, dest: Path) -> tuple[Path, Path]:
    """A private copy of the shared run's landing zone and warehouse: (landing, warehouse)."""
    shutil.copytree(run.landing, dest / "landing")
    shutil.copytree(run.warehouse, dest / "wh")
    return dest / "landing", dest / "wh"

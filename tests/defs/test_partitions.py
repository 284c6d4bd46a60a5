"""Partitions through Dagster: a warehouse refreshed partition by partition — a backfill of the
first days as one run, then one run per daily partition, each loading only the event files dated
up to its day — publishes exactly the tables of one run on the whole landing zone.

The day-by-day side runs the incremental dbt models on their incremental path (tests/dbt/
test_incremental.py checks the late-arriving cases at the dbt level, tests/plan the planner's
rules); here the whole job is run: raw assets with the partition's file filter, the run plan,
`dbt build` as planned, the blocking checks and the (delta) publish step."""

from __future__ import annotations

import subprocess
import sys
from datetime import date, timedelta

import dagster as dg
import pytest

from orchestration.config import PROJECT_DIR
from orchestration.run import run_job
from tests.conftest import read_serving, table_fingerprints

pytestmark = pytest.mark.e2e  # the whole job on a landing zone

FIRST, BACKFILL_LAST, LAST = date(2025, 3, 27), date(2025, 3, 29), date(2025, 3, 30)  # DST change on 03-30


@pytest.fixture(scope="module")
def warehouses(tmp_path_factory):
    root = tmp_path_factory.mktemp("partitions")
    landing = root / "landing"
    gen = subprocess.run(
        [
            sys.executable,
            "-m",
            "orchestration",
            "generate",
            "--out",
            str(landing),
            "--sessions",
            "1500",
            "--start",
            FIRST.isoformat(),
            "--end",
            LAST.isoformat(),
        ],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
    )
    assert gen.returncode == 0, gen.stdout[-3000:] + gen.stderr[-3000:]
    outcomes = {}
    with dg.instance_for_test() as instance:
        full = root / "full"
        outcomes["full"] = run_job(landing=landing, warehouse=full, as_of=LAST, instance=instance)
        daily = root / "daily"
        outcomes["backfill"] = run_job(
            landing=landing, warehouse=daily, as_of=BACKFILL_LAST, instance=instance, days=(FIRST, BACKFILL_LAST)
        )
        day = BACKFILL_LAST + timedelta(days=1)
        while day <= LAST:
            outcomes[day.isoformat()] = run_job(landing=landing, warehouse=daily, as_of=day, instance=instance)
            day += timedelta(days=1)
    return {"full": full, "daily": daily, "outcomes": outcomes}


def test_every_partition_run_published(warehouses):
    failed = {name: o.report_lines() for name, o in warehouses["outcomes"].items() if not o.published}
    assert not failed, failed


def test_each_partition_loaded_only_its_due_event_files(warehouses):
    """The backfill loaded the sessions files of its three days, each daily run one more."""
    loads = warehouses["outcomes"]
    assert loads["backfill"].loads["sessions"]["files_loaded"] >= 3
    for n in range(1, (LAST - BACKFILL_LAST).days + 1):
        day = (BACKFILL_LAST + timedelta(days=n)).isoformat()
        assert loads[day].loads["sessions"]["files_loaded"] >= 1, (day, loads[day].loads["sessions"])
    runs = read_serving(
        warehouses["daily"] / "build.duckdb",
        "SELECT count(DISTINCT run_id) FROM raw._load_audit WHERE source = 'sessions'",
    )
    assert runs == [(1 + (LAST - BACKFILL_LAST).days,)]


def test_day_by_day_publishes_the_tables_of_one_full_run(warehouses):
    daily = table_fingerprints(warehouses["daily"] / "serving.duckdb")
    full = table_fingerprints(warehouses["full"] / "serving.duckdb")
    assert set(daily) == set(full)
    assert {t: (daily[t], full[t]) for t in full if daily[t] != full[t]} == {}
    sessions = read_serving(warehouses["daily"] / "serving.duckdb", "SELECT count(*) FROM marts.fct_charge_sessions")
    assert sessions[0][0] > 1000  # the comparison is over real content
    info = read_serving(warehouses["daily"] / "serving.duckdb", "SELECT as_of_date FROM marts._publish_info")
    assert info == [(LAST,)]


def test_daily_runs_were_incremental_and_published_as_deltas(warehouses):
    """The backfill is the first build (full); each daily run's plan rebuilt only what its files
    touched, dbt built incrementally, and the publish replaced only those rows."""
    plans = read_serving(
        warehouses["daily"] / "build.duckdb", "SELECT as_of_date, mode, status FROM run_plan.plans ORDER BY planned_at"
    )
    assert plans == [(BACKFILL_LAST, "full", "built")] + [
        (BACKFILL_LAST + timedelta(days=n), "incremental", "built") for n in range(1, (LAST - BACKFILL_LAST).days + 1)
    ]
    info = read_serving(warehouses["daily"] / "serving.duckdb", "SELECT publish_mode FROM marts._publish_info")
    assert info == [("delta",)]


def test_daily_runs_reuse_dbt_parse_state(warehouses):
    """A new day does not make dbt re-parse the project (the window is not passed as --vars), and
    the job's dbt artifacts stay in the warehouse."""
    runs = sorted((warehouses["daily"] / "dbt_runs").glob("*/dbt.log"), key=lambda p: p.stat().st_mtime)
    assert len(runs) == 1 + (LAST - BACKFILL_LAST).days
    assert (warehouses["daily"] / "dbt_runs" / "partial_parse.msgpack").exists()
    log = runs[-1].read_text()
    assert "Unable to do partial parsing" not in log
    assert "Partial parsing enabled" in log or "skipping partial parsing" in log

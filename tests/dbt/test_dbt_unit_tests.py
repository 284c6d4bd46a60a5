"""dbt's own unit tests (`unit_tests:` in the model YAML) and a compile of every model: each
metric's edge cases, checked against hand-worked rows, on an empty build database."""

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import pytest

from orchestration.config import PROFILES_DIR, PROJECT_DIR
from orchestration.defs.dbt import dbt_run_env
from orchestration.load.schema import ensure_raw_schema
from orchestration.plan import ensure_schema as ensure_plan_schema

DBT = str(Path(sys.executable).parent / "dbt")


def dbt(*args: str, warehouse: Path, as_of_date: str = "2025-06-30") -> subprocess.CompletedProcess:
    """dbt on `warehouse` with the run's date passed as the Dagster job passes it (an environment
    variable read while executing, orchestration.defs.dbt.dbt_run_env): the five invocations share
    one parse of the project, where --vars would re-parse it whenever the date changes."""
    env = {
        **os.environ,
        "WAREHOUSE_DIR": str(warehouse),
        "DBT_PROFILES_DIR": str(PROFILES_DIR),
        "DBT_TARGET_PATH": str(warehouse / "target"),
        "DBT_LOG_PATH": str(warehouse / "logs"),
        "DBT_USE_COLORS": "false",
        **dbt_run_env(date.fromisoformat(as_of_date)),
    }
    return subprocess.run(
        [DBT, *args],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
    )


@pytest.fixture(scope="module")
def empty_warehouse(tmp_path_factory) -> Path:
    """Every model built with --empty on empty raw tables (and the seed)."""
    warehouse = tmp_path_factory.mktemp("unit")
    con = duckdb.connect(str(warehouse / "build.duckdb"))
    ensure_raw_schema(con)  # the raw tables, empty: unit tests need their upstream relations
    ensure_plan_schema(con)  # and the run plan's (the incremental models' source run_plan)
    con.close()
    seeded = dbt("seed", warehouse=warehouse)
    assert seeded.returncode == 0, seeded.stdout[-4000:]
    built = dbt("run", "--empty", warehouse=warehouse)
    assert built.returncode == 0, built.stdout[-4000:]
    return warehouse


def test_every_dbt_unit_test_passes(empty_warehouse):
    unit = dbt("test", "--select", "test_type:unit", warehouse=empty_warehouse)
    assert unit.returncode == 0, unit.stdout[-6000:]
    summary = [line for line in unit.stdout.splitlines() if "PASS=" in line]
    assert summary and "ERROR=0" in summary[-1], summary
    passed = int(summary[-1].split("PASS=")[1].split()[0])
    assert passed >= 30, summary  # every unit test in the project ran


def test_unit_tests_do_not_depend_on_the_runs_date(empty_warehouse):
    """An analyst's `dbt build` runs the unit tests with today's date (or the date they pass): each
    test that needs a logical date sets its own, so they pass on any as_of_date."""
    unit = dbt("test", "--select", "test_type:unit", warehouse=empty_warehouse, as_of_date="2024-01-01")
    assert unit.returncode == 0, unit.stdout[-6000:]


def test_valid_rows_finds_each_broken_rule(empty_warehouse):
    """The one-pass row test of a model (macros/tests/valid_rows.sql) fails on a duplicate key, a
    NULL in a not-null column and a value outside the accepted ones — and passes once they are gone."""
    con = duckdb.connect(str(empty_warehouse / "build.duckdb"))
    con.execute("""INSERT INTO intermediate.int_roaming_cdrs (cpo_country_code, cpo_party_id, cdr_id, is_credit,
                       cdr_sign, site_id, currency, reporting_date)
                   VALUES ('NO', 'EVW', 'c1', false, 1, 's1', 'NOK', DATE '2025-06-01'),
                          ('NO', 'EVW', 'c1', false, 1, 's1', 'NOK', DATE '2025-06-01'),
                          ('NO', 'EVW', 'c2', false, 1, NULL, 'NOK', DATE '2025-06-01'),
                          ('NO', 'EVW', 'c3', false, 7, 's1', 'NOK', DATE '2025-06-01')""")
    con.close()
    failed = dbt("test", "--select", "valid_rows_int_roaming_cdrs", "--store-failures", warehouse=empty_warehouse)
    assert failed.returncode == 1 and "Got 3 results" in failed.stdout, failed.stdout[-3000:]
    con = duckdb.connect(str(empty_warehouse / "build.duckdb"), read_only=True)
    rows = con.execute(
        "SELECT cdr_id, rows_with_key, null__site_id, not_accepted__cdr_sign "
        "FROM dbt_test__audit.valid_rows_int_roaming_cdrs ORDER BY cdr_id"
    ).fetchall()
    con.close()
    assert rows == [("c1", 2, 0, 0), ("c2", 1, 1, 0), ("c3", 1, 0, 1)]

"""dbt's own unit tests (`unit_tests:` in the model YAML) and a compile of every model: each
metric's edge cases, checked against hand-worked rows, on an empty build database."""

import os
import subprocess
import sys
from pathlib import Path

import duckdb

from orchestration.config import PROFILES_DIR, PROJECT_DIR
from orchestration.load.schema import ensure_raw_schema

DBT = str(Path(sys.executable).parent / "dbt")


def dbt(*args: str, warehouse: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "WAREHOUSE_DIR": str(warehouse), "DBT_PROFILES_DIR": str(PROFILES_DIR),
           "DBT_TARGET_PATH": str(warehouse / "target"), "DBT_LOG_PATH": str(warehouse / "logs"),
           "DBT_USE_COLORS": "false"}
    return subprocess.run([DBT, *args, "--vars", "{as_of_date: 2025-06-30}"], cwd=PROJECT_DIR, env=env,
                          capture_output=True, text=True)


def test_every_dbt_unit_test_passes(tmp_path):
    con = duckdb.connect(str(tmp_path / "build.duckdb"))
    ensure_raw_schema(con)  # the raw tables, empty: unit tests need their upstream relations
    con.close()
    seeded = dbt("seed", warehouse=tmp_path)
    assert seeded.returncode == 0, seeded.stdout[-4000:]
    built = dbt("run", "--empty", warehouse=tmp_path)
    assert built.returncode == 0, built.stdout[-4000:]
    unit = dbt("test", "--select", "test_type:unit", warehouse=tmp_path)
    assert unit.returncode == 0, unit.stdout[-6000:]
    summary = [line for line in unit.stdout.splitlines() if "PASS=" in line]
    assert summary and "ERROR=0" in summary[-1], summary
    passed = int(summary[-1].split("PASS=")[1].split()[0])
    assert passed >= 30, summary  # every unit test in the project ran

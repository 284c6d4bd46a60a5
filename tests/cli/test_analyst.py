"""An analyst's session from an empty warehouse, exactly as README.md's "Analysts" section says:
`python -m orchestration load`, then `dbt build`, then `dbt source freshness` — on a demo landing
zone (dated up to today, as `make run` generates it). Every command of the README's first code
block in that section is run as written (its `export` line is replaced by this test's directories)."""

from __future__ import annotations

import os
import re
import subprocess
from datetime import UTC, datetime, timedelta

import duckdb
import pytest

from orchestration import config
from orchestration.generate import generate
from tests.conftest import PROJECT

README = PROJECT / "README.md"


def analyst_commands() -> list[str]:
    section = README.read_text().split("## Analysts", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
    lines = [ln.split("  #")[0].strip() for ln in block.splitlines()]
    return [ln for ln in lines if ln and not ln.startswith(("export ", "#"))]


def test_the_readme_session_starts_from_an_empty_warehouse():
    commands = analyst_commands()
    assert commands[:3] == [
        ".venv/bin/python -m orchestration load",
        ".venv/bin/dbt build",
        ".venv/bin/dbt source freshness",
    ], commands


@pytest.mark.e2e
def test_load_then_dbt_build_then_source_freshness(tmp_path):
    today = datetime.now(UTC).date()
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse"
    generate(landing, seed=3, sessions=1500, start=today - timedelta(days=13), end=today, progress=False)
    env = {
        **os.environ,
        "WAREHOUSE_LANDING_DIR": str(landing),
        "WAREHOUSE_DIR": str(warehouse),
        "DBT_PROFILES_DIR": str(config.PROFILES_DIR),
        # dbt's artifacts and logs go beside the test, not into the repository's target/ and logs/
        "DBT_TARGET_PATH": str(tmp_path / "target"),
        "DBT_LOG_PATH": str(tmp_path / "dbt_logs"),
    }
    for name in list(env):  # the defaults, as for an analyst
        if name in ("WAREHOUSE_PARTITIONS_START", "WAREHOUSE_AS_OF") or name.startswith("WAREHOUSE_DBT_"):
            env.pop(name, None)
    assert not warehouse.exists()
    outputs = {}
    for command in analyst_commands():
        proc = subprocess.run(command, shell=True, cwd=PROJECT, env=env, capture_output=True, text=True, timeout=900)
        outputs[command] = proc.stdout + proc.stderr
        assert proc.returncode == 0, f"{command}\n{outputs[command][-4000:]}"
    load = outputs[".venv/bin/python -m orchestration load"]
    assert load.strip().splitlines()[-1] == "LOADED: raw layer of build.duckdb (nothing published)"
    freshness = outputs[".venv/bin/dbt source freshness"]
    assert len(re.findall(r"PASS freshness of ", freshness)) == 14, freshness[-3000:]
    assert not re.search(r"(WARN|ERROR|STALE) freshness of ", freshness), freshness[-3000:]
    con = duckdb.connect(str(warehouse / "build.duckdb"), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM marts.fct_charge_sessions").fetchone()[0] > 1000
    finally:
        con.close()
    assert not (warehouse / "serving.duckdb").exists()  # an analyst's build publishes nothing
